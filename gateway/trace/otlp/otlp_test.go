package otlp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/host"
)

// receiver is an OTLP/HTTP trace receiver on loopback: it decodes what the
// exporter posts to /v1/traces.
type receiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	svc   []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "unexpected "+r.URL.Path+" "+r.Header.Get("Content-Type"), http.StatusBadRequest)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.Resource.GetAttributes() {
			if a.Key == "service.name" {
				rc.svc = append(rc.svc, a.Value.GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			rc.spans = append(rc.spans, ss.Spans...)
		}
	}
	rc.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func attr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.GetStringValue()
		}
	}
	return ""
}

func TestExportSendsOneSpanPerCallback(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ctx := context.Background()
	exp, err := New(ctx, srv.URL, "gw-test")
	if err != nil {
		t.Fatal(err)
	}
	store := trace.NewStore(trace.Options{Export: exp.Export})
	r := store.Start(trace.Begin{Method: "GET", Path: "/x"})
	r.Routed("r1", "c1", false)
	for _, name := range []string{"auth", "cache"} {
		p := r.Plugin(name)
		h := host.NewHeaderMap(":path", "/x")
		c := &host.CallbackInfo{Name: "proxy_on_request_headers", Headers: h}
		p.CallbackStart(c)
		time.Sleep(time.Millisecond)
		h.Add("x-"+name, "1")
		p.CallbackEnd(c)
	}
	r.UpstreamStart("c1")
	r.UpstreamEnd(200, "127.0.0.1:9", nil)
	r.Finish(200, "via_upstream", "", false)
	if err := exp.Shutdown(ctx); err != nil { // flushes the batch
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	byName := map[string]*tracepb.Span{}
	for _, s := range rc.spans {
		byName[s.Name] = s
	}
	root := byName["GET r1"]
	if root == nil || len(rc.spans) != 4 {
		t.Fatalf("spans: %v", names(rc.spans))
	}
	for _, n := range []string{"auth proxy_on_request_headers", "cache proxy_on_request_headers", "upstream c1"} {
		s := byName[n]
		if s == nil {
			t.Fatalf("no span %q in %v", n, names(rc.spans))
		}
		if string(s.ParentSpanId) != string(root.SpanId) || string(s.TraceId) != string(root.TraceId) {
			t.Fatalf("span %q is not a child of the request's span", n)
		}
		if s.StartTimeUnixNano < root.StartTimeUnixNano || s.EndTimeUnixNano > root.EndTimeUnixNano {
			t.Fatalf("span %q outside the request's span", n)
		}
	}
	cb := byName["auth proxy_on_request_headers"]
	if attr(cb, "wasmgate.plugin") != "auth" || attr(cb, "wasmgate.changes") != "+x-auth=1" || cb.EndTimeUnixNano-cb.StartTimeUnixNano < uint64(time.Millisecond) {
		t.Fatalf("callback span: %v", cb)
	}
	if len(rc.svc) == 0 || rc.svc[0] != "gw-test" {
		t.Fatalf("service names %v", rc.svc)
	}
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func TestNewRejectsBadEndpoint(t *testing.T) {
	if _, err := New(context.Background(), "127.0.0.1:4318", ""); err == nil {
		t.Fatal("endpoint without scheme accepted")
	}
}
