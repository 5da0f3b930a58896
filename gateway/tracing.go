package gateway

import (
	"crypto/subtle"
	"strconv"

	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/host"
)

// Request headers that control tracing.
const (
	// TraceHeader "1" asks for the request to be traced; it is honoured in
	// dev mode, or with TraceTokenHeader carrying the admin token.
	TraceHeader = "x-wasmgate-trace"
	// TraceTokenHeader carries the admin token for TraceHeader outside dev
	// mode. The gateway removes it before any plugin sees the request.
	TraceTokenHeader = "x-wasmgate-trace-token"
)

// TraceOptions configure request tracing (see package trace).
type TraceOptions struct {
	// Dev traces every request and honours TraceHeader without a token
	// (wasmgate run --watch).
	Dev bool
	// SampleRate is the initial share of requests traced (0..1); the admin
	// API's POST /trace?sample= changes it.
	SampleRate float64
	// Store bounds the traces kept and names headers to redact.
	Store trace.Options
}

func newTraceStore(o TraceOptions) *trace.Store {
	s := trace.NewStore(o.Store)
	rate := o.SampleRate
	if o.Dev {
		rate = 1
	}
	s.SetSampleRate(rate)
	return s
}

// Traces returns the gateway's trace store.
func (gw *Server) Traces() *trace.Store { return gw.traces }

// startTrace decides whether the request is traced and begins its trace.
func (x *exchange) startTrace(h *host.HeaderMap) {
	forced := false
	if v, ok := h.Get(TraceHeader); ok && v == "1" {
		tok, _ := h.Get(TraceTokenHeader)
		forced = x.gw.opts.Trace.Dev || (x.gw.opts.AdminToken != "" &&
			subtle.ConstantTimeCompare([]byte(tok), []byte(x.gw.opts.AdminToken)) == 1)
	}
	if _, ok := h.Get(TraceTokenHeader); ok {
		h.Del(TraceTokenHeader)
	}
	if !x.gw.traces.Sample(forced) {
		return
	}
	m, _ := h.Get(":method")
	a, _ := h.Get(":authority")
	p, _ := h.Get(":path")
	x.trace = x.gw.traces.Start(trace.Begin{RequestID: x.props.ID, Method: m, Authority: a, Path: p, Listener: x.ln.cfg.Name})
}

// traceRoute records the route chosen for the request.
func (x *exchange) traceRoute(again bool) {
	if x.trace == nil {
		return
	}
	route, cluster := "", ""
	if x.route != nil {
		route = x.route.cfg.Name
	}
	if x.cluster != nil {
		cluster = x.cluster.cfg.Name
	}
	x.trace.Routed(route, cluster, again)
}

// traceUpstreamEnd records the upstream's answer (status) or failure.
func (x *exchange) traceUpstreamEnd(status int, err error) {
	if x.trace == nil {
		return
	}
	addr, _ := x.props.Property([]string{"upstream", "address"})
	s, _ := addr.(string)
	x.trace.UpstreamEnd(status, s, err)
}

// finishTrace ends the request's trace.
func (x *exchange) finishTrace() {
	if x.trace == nil {
		return
	}
	details := x.rec.details
	flags := x.rec.flags.String()
	if flags == "-" {
		flags = ""
	}
	x.trace.Finish(x.rec.status, details, flags, x.reset)
}

func statusOf(h *host.HeaderMap) int {
	v, _ := h.Get(":status")
	n, _ := strconv.Atoi(v)
	return n
}
