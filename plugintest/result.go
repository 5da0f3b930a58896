package plugintest

import (
	"fmt"
	"net/http"

	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/host"
)

// Action is what the host engine made of a callback: the stream continues,
// stops (the plugin holds it), is answered locally or is reset.
type Action = host.Action

// The actions of a Step.
const (
	ActionContinue   = host.ActionContinue
	ActionStop       = host.ActionStop
	ActionLocalReply = host.ActionLocalReply
	ActionReset      = host.ActionReset
)

// Phase names a point where the host engine hands the stream to the plugin.
type Phase string

// The phases of a Step. ResumeRequest and ResumeResponse are the engine
// continuing a direction after the plugin resumed it; body and trailer
// callbacks for data that arrived meanwhile run inside them.
const (
	RequestHeaders   Phase = "request_headers"
	RequestBody      Phase = "request_body"
	RequestTrailers  Phase = "request_trailers"
	ResponseHeaders  Phase = "response_headers"
	ResponseBody     Phase = "response_body"
	ResponseTrailers Phase = "response_trailers"
	ResumeRequest    Phase = "resume_request"
	ResumeResponse   Phase = "resume_response"
)

// Step is one hand-over of the stream to the plugin and the action that
// came of it.
type Step struct {
	Phase  Phase
	Action Action
}

func (s Step) String() string { return fmt.Sprintf("%s:%s", s.Phase, s.Action) }

// LocalReply is an answer the plugin (or the engine for it) sent instead of
// the upstream's.
type LocalReply struct {
	// Status is the status code.
	Status int
	// Header holds the reply's headers as sent, with content-length and
	// content-type for a body.
	Header http.Header
	// Body is the reply body.
	Body []byte
	// Details is the response code details ("wasm_fail_stream",
	// "request_payload_too_large", or what the plugin gave).
	Details string
	// GRPCStatus is the gRPC status, -1 for none.
	GRPCStatus int
	// Phase is where the reply came from: a request phase when it was sent
	// before the upstream answered (it then runs through the plugin's own
	// response callbacks, as in Envoy), a response phase when it replaced
	// the upstream's response. A reply sent from a callout answer or a tick
	// carries the phase of the stream's last hand-over.
	Phase Phase
}

// Result is the outcome of one request.
type Result struct {
	// Upstream is what the upstream received; nil when the request did not
	// reach it (a local reply or reset before the plugin released the
	// request headers).
	Upstream *UpstreamRequest
	// Local is the plugin's local reply, nil when there was none.
	Local *LocalReply

	// Status, Header, Fields, Body and Trailer are what the client received,
	// after the plugin's response callbacks. Status is 0 when the stream was
	// reset before the response started.
	Status  int
	Header  http.Header
	Fields  [][2]string
	Body    []byte
	Trailer http.Header
	// Reset reports that the stream was reset (by the plugin, or because a
	// local reply came after the response had started).
	Reset bool
	// Details is the response code details: "via_upstream" for the
	// upstream's response, the local reply's otherwise.
	Details string

	// Steps lists every hand-over to the plugin in order.
	Steps []Step
	// Properties holds the values the plugin set with proxy_set_property
	// on this stream, keyed by the dot-joined path.
	Properties map[string]string
	// RouteCacheCleared reports that the plugin changed the request
	// headers (or asked to clear the route cache): Envoy would pick the
	// route again.
	RouteCacheCleared bool
	// UpstreamOverrideHost is the address the plugin set with
	// proxy_set_upstream_override_host (Higress), or "".
	UpstreamOverrideHost string
	// Trace is the request's trace, as the gateway records it: each
	// callback with its action and duration, header and body changes,
	// callouts, pauses and what resumed them, logs, properties and traps.
	Trace *trace.Request
}

// TraceText renders Trace as `wasmgate trace -v` prints it.
func (r *Result) TraceText() string {
	if r.Trace == nil {
		return ""
	}
	s := r.Trace.Summary()
	return trace.Line(&s) + "\n" + trace.Timeline(r.Trace)
}

// Action returns the action of the first step of the given phase.
func (r *Result) Action(phase Phase) (Action, bool) {
	for _, s := range r.Steps {
		if s.Phase == phase {
			return s.Action, true
		}
	}
	return 0, false
}

// Actions returns the actions of every step of the given phase, in order.
func (r *Result) Actions(phase Phase) []Action {
	var out []Action
	for _, s := range r.Steps {
		if s.Phase == phase {
			out = append(out, s.Action)
		}
	}
	return out
}

func headerOf(h *host.HeaderMap) (http.Header, [][2]string) {
	hdr := http.Header{}
	var fields [][2]string
	if h == nil {
		return hdr, fields
	}
	for _, f := range h.Fields {
		fields = append(fields, [2]string{f.Key, f.Value})
		if len(f.Key) > 0 && f.Key[0] == ':' {
			continue
		}
		hdr.Add(f.Key, f.Value)
	}
	return hdr, fields
}
