// Package otlp sends request traces as OpenTelemetry spans over OTLP/HTTP:
// one span per traced request, with one child span per plugin callback,
// callout, pause and upstream attempt, so Jaeger, Tempo or any OTLP
// collector shows what each plugin did.
package otlp

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/wasmgate/wasmgate/gateway/trace"
)

// Exporter turns finished request traces into spans.
type Exporter struct {
	provider *sdktrace.TracerProvider
	tracer   oteltrace.Tracer
}

// New starts an exporter to endpoint, an OTLP/HTTP URL
// ("http://127.0.0.1:4318", the path defaults to /v1/traces). Spans are
// batched and sent in the background; Shutdown flushes them.
func New(ctx context.Context, endpoint, service string) (*Exporter, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("otlp endpoint %q: want http://HOST:PORT[/path] or https://…", endpoint)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host)}
	if u.Scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	if p := strings.TrimRight(u.Path, "/"); p != "" {
		opts = append(opts, otlptracehttp.WithURLPath(p))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	if service == "" {
		service = "wasmgate"
	}
	res := resource.NewSchemaless(semconv.ServiceName(service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()))
	return &Exporter{provider: tp, tracer: tp.Tracer("github.com/wasmgate/wasmgate/gateway/trace")}, nil
}

// Export records one finished request (use it as trace.Options.Export).
func (e *Exporter) Export(r *trace.Request) {
	start := r.Start
	at := func(us int64) time.Time { return start.Add(time.Duration(us) * time.Microsecond) }
	ctx, root := e.tracer.Start(context.Background(), r.Method+" "+r.Route,
		oteltrace.WithTimestamp(start), oteltrace.WithSpanKind(oteltrace.SpanKindServer),
		oteltrace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.Path),
			attribute.String("server.address", r.Authority),
			attribute.Int("http.response.status_code", r.Status),
			attribute.String("wasmgate.route", r.Route),
			attribute.String("wasmgate.cluster", r.Cluster),
			attribute.String("wasmgate.response_code_details", r.Details),
			attribute.StringSlice("wasmgate.plugins", r.Plugins),
		))
	if r.RequestID != "" {
		root.SetAttributes(attribute.String("wasmgate.request_id", r.RequestID))
	}
	if r.Status >= 500 || r.Errors > 0 {
		root.SetStatus(codes.Error, r.Details)
	}
	for i := range r.Events {
		ev := &r.Events[i]
		var name string
		attrs := []attribute.KeyValue{attribute.String("wasmgate.plugin", ev.Plugin)}
		switch ev.Kind {
		case trace.KindCallback:
			name = ev.Plugin + " " + ev.Name
			attrs = append(attrs, attribute.String("wasmgate.callback", ev.Name), attribute.String("wasmgate.action", ev.Action))
			if c := trace.Changes(ev); c != "" {
				attrs = append(attrs, attribute.String("wasmgate.changes", c))
			}
		case trace.KindCallout:
			name = ev.Plugin + " " + ev.Callout.Type + " callout"
			attrs = append(attrs, attribute.String("wasmgate.callout.cluster", ev.Callout.Cluster),
				attribute.String("wasmgate.callout.target", ev.Callout.Target), attribute.Int("wasmgate.callout.status", ev.Callout.Status))
		case trace.KindPause:
			name = ev.Plugin + " paused"
			attrs = append(attrs, attribute.String("wasmgate.resumed_by", ev.ResumedBy))
		case trace.KindUpstream:
			name = "upstream " + ev.Cluster
			attrs = append(attrs, attribute.String("server.address", ev.Key), attribute.Int("http.response.status_code", ev.Status))
		default:
			// logs, properties, routes, replies: events on the request's span
			root.AddEvent(trace.Describe(ev), oteltrace.WithTimestamp(at(ev.AtUS)), oteltrace.WithAttributes(attrs...))
			continue
		}
		_, sp := e.tracer.Start(ctx, name, oteltrace.WithTimestamp(at(ev.AtUS)), oteltrace.WithAttributes(attrs...))
		if ev.Error != "" {
			sp.SetStatus(codes.Error, ev.Error)
		}
		sp.End(oteltrace.WithTimestamp(at(ev.AtUS + ev.DurUS)))
	}
	root.End(oteltrace.WithTimestamp(at(r.DurationUS)))
}

// Shutdown sends the spans still batched and stops the exporter.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.provider.Shutdown(ctx) }
