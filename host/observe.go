package host

import (
	"time"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Observer watches one stream for tracing (StreamOptions.Observer). The
// engine calls it only when it is set: a stream without one pays a nil
// check per callback and nothing else.
//
// CallbackStart, CallbackEnd, Callout, Log, PropertySet and Async run with
// the stream's VM lock held, on whatever goroutine drives the VM (the
// embedder's, or the one delivering a callout answer or a tick); Result
// runs on the goroutine that called the Stream method. An Observer must be
// safe for that, quick, and must not call back into the stream. The values
// it receives (header maps, body slices) are valid only during the call:
// copy what it keeps.
type Observer interface {
	// CallbackStart is called before a plugin callback of the stream runs.
	CallbackStart(c *CallbackInfo)
	// CallbackEnd is called after it returned (or failed: c.Err), with
	// Headers and Body as the plugin left them.
	CallbackEnd(c *CallbackInfo)
	// Callout reports an HTTP or Redis call the plugin started from this
	// stream (Answered false) and its answer (Answered true).
	Callout(c *CalloutInfo)
	// Log reports a record the plugin logged while running for this stream
	// (only records at or above the plugin's log level).
	Log(level types.LogLevel, msg []byte)
	// PropertySet reports proxy_set_property on the stream.
	PropertySet(key string, value []byte)
	// Async reports an effect on the stream that is not the result of a
	// Stream call: a resume, local reply, reset or injected data from a
	// callout answer, a tick or a queue callback, or the VM failing while
	// the stream waits.
	Async(a *AsyncInfo)
	// Result reports what a Stream phase method returned to the embedder.
	Result(call string, dir Direction, r *Result)
}

// CallbackInfo describes one plugin callback for an Observer.
type CallbackInfo struct {
	// Name is the ABI export ("proxy_on_request_headers", …).
	Name string
	// Dir is the direction the callback is about (for callout answers, the
	// direction the stream holds).
	Dir Direction
	// Headers are the direction's headers (trailers for a trailers
	// callback), nil when the callback has none.
	Headers *HeaderMap
	// Body is the body the callback sees (body callbacks only).
	Body []byte
	// EndStream is the end_of_stream argument of header and body callbacks.
	EndStream bool
	// Token is the callout token of an HTTP or Redis answer callback.
	Token uint32
	// Raw is what the callback returned (a types.Action for header, body
	// and trailer callbacks); set at the end.
	Raw uint32
	// Err is the trap or deadline that ended the callback (set at the end).
	Err error
}

// CalloutInfo describes an HTTP or Redis call for an Observer.
type CalloutInfo struct {
	// Kind is "http" or "redis".
	Kind  string
	Token uint32
	// Cluster is the cluster the plugin named.
	Cluster string
	// Request is the HTTP callout (Kind "http").
	Request *CalloutRequest
	// Query is the RESP-encoded Redis query (Kind "redis").
	Query []byte
	// Answered: this reports the answer, after Elapsed.
	Answered bool
	Elapsed  time.Duration
	// Response is the HTTP answer (nil for Redis).
	Response *CalloutResponse
	// Reply is the RESP-encoded Redis reply; Err the Redis error.
	Reply []byte
	Err   error
}

// AsyncInfo describes an asynchronous effect for an Observer.
type AsyncInfo struct {
	Kind EventKind
	Dir  Direction
	// Cause is the callback whose call produced the effect
	// ("proxy_on_http_call_response", "proxy_on_tick", …), or "vm_failed".
	Cause string
	// Reply is the local reply (EventLocalReply).
	Reply *LocalReply
}

var callbackNames = [...]string{
	cbNone:          "",
	cbStart:         "_start",
	cbContextCreate: "proxy_on_context_create",
	cbVMStart:       "proxy_on_vm_start",
	cbConfigure:     "proxy_on_configure",
	cbReqHeaders:    "proxy_on_request_headers",
	cbReqBody:       "proxy_on_request_body",
	cbReqTrailers:   "proxy_on_request_trailers",
	cbRespHeaders:   "proxy_on_response_headers",
	cbRespBody:      "proxy_on_response_body",
	cbRespTrailers:  "proxy_on_response_trailers",
	cbLog:           "proxy_on_log",
	cbDone:          "proxy_on_done",
	cbDelete:        "proxy_on_delete",
	cbTick:          "proxy_on_tick",
	cbHTTPResponse:  "proxy_on_http_call_response",
	cbRedisResponse: "proxy_on_redis_call_response",
	cbQueueReady:    "proxy_on_queue_ready",
	cbForeign:       "proxy_on_foreign_function",
}

func (k cbKind) String() string {
	if int(k) < len(callbackNames) {
		return callbackNames[k]
	}
	return "unknown"
}

// observeCallback builds the CallbackInfo of a stream callback of kind on
// dir and reports its start.
func (s *Stream) observeCallback(o Observer, dir Direction, kind cbKind, eos bool) *CallbackInfo {
	c := &CallbackInfo{Name: kind.String(), Dir: dir, EndStream: eos}
	s.fillCallback(c, kind)
	o.CallbackStart(c)
	return c
}

// fillCallback sets the headers and body the callback sees now.
func (s *Stream) fillCallback(c *CallbackInfo, kind cbKind) {
	d := s.dir(c.Dir)
	switch kind {
	case cbReqTrailers, cbRespTrailers:
		c.Headers, c.Body = d.trailers, nil
	case cbReqBody, cbRespBody:
		c.Headers, c.Body = d.headers, d.buf
	default:
		c.Headers, c.Body = d.headers, nil
	}
}

// observeEnd reports the end of a callback begun with observeCallback.
func (s *Stream) observeEnd(o Observer, c *CallbackInfo, kind cbKind, raw uint64, err error) {
	s.fillCallback(c, kind)
	c.Raw, c.Err = uint32(raw), err
	o.CallbackEnd(c)
}

// heldDir is the direction a stream waits in (request unless only the
// response is held).
func (s *Stream) heldDir() Direction {
	if s.req.iter == iterContinue && s.resp.headersSeen {
		return Response
	}
	return Request
}

// observer returns the observer of the stream the current call runs for.
func (v *vm) observer() (*Stream, Observer) {
	if t := v.target(); t != nil && t.opts.Observer != nil {
		return t, t.opts.Observer
	}
	return nil, nil
}

// observeResult reports r when the stream is observed. The report is a
// separate function so that r escapes to the heap only then.
func (s *Stream) observeResult(call string, dir Direction, r Result) Result {
	if o := s.opts.Observer; o != nil {
		reportResult(o, call, dir, r)
	}
	return r
}

//go:noinline
func reportResult(o Observer, call string, dir Direction, r Result) { o.Result(call, dir, &r) }

// observeAsync reports an asynchronous action on the stream.
func (s *Stream) observeAsync(o Observer, a action) {
	ai := &AsyncInfo{Dir: a.dir, Cause: a.cause.String()}
	switch a.kind {
	case actResume:
		ai.Kind = EventResume
	case actLocalReply:
		ai.Kind, ai.Reply = EventLocalReply, a.reply
	case actReset:
		ai.Kind = EventReset
	case actInject:
		ai.Kind = EventInject
	}
	o.Async(ai)
}

// observeCall reports a callout the current stream started and remembers
// it for its answer.
func (v *vm) observeCall(tok uint32, info *CalloutInfo) {
	t, o := v.observer()
	if o == nil {
		return
	}
	c := v.calls[tok]
	if c == nil {
		return
	}
	c.obs = &observedCall{s: t, info: info, start: time.Now()}
	o.Callout(info)
}

// answered reports the answer of an observed call.
func (c *observedCall) answered(resp *CalloutResponse, reply []byte, err error) {
	if c.s.done {
		return
	}
	a := *c.info
	a.Answered, a.Elapsed = true, time.Since(c.start)
	a.Response, a.Reply, a.Err = resp, reply, err
	c.s.opts.Observer.Callout(&a)
}

// callbackStart reports the start of the answer callback of an observed
// call; nil when the call is not observed.
func (c *observedCall) callbackStart(kind cbKind, tok uint32) *CallbackInfo {
	if c == nil || c.s.done {
		return nil
	}
	ci := &CallbackInfo{Name: kind.String(), Dir: c.s.heldDir(), Token: tok}
	ci.Headers = c.s.dir(ci.Dir).headers
	c.s.opts.Observer.CallbackStart(ci)
	return ci
}

func (c *observedCall) callbackEnd(ci *CallbackInfo, err error) {
	if ci == nil {
		return
	}
	ci.Headers, ci.Err = c.s.dir(ci.Dir).headers, err
	c.s.opts.Observer.CallbackEnd(ci)
}
