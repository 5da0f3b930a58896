package host

import (
	"strings"
	"unicode"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmgate/wasmgate/host/internal/pairs"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Direction is one side of an HTTP stream. Its values equal the ABI's
// stream types (request 0, response 1).
type Direction uint8

const (
	Request  Direction = Direction(types.StreamTypeRequest)
	Response Direction = Direction(types.StreamTypeResponse)
)

func (d Direction) String() string {
	if d == Response {
		return "response"
	}
	return "request"
}

// Action tells the embedder what to do after a Stream call.
type Action uint8

const (
	// ActionContinue: forward what the Result carries; the direction goes on.
	ActionContinue Action = iota
	// ActionStop: the plugin holds the direction. Forward what the Result
	// carries (usually nothing), keep feeding data, and call Resume after a
	// Resume event.
	ActionStop
	// ActionLocalReply: answer the client with Result.LocalReply. From the
	// request phase the reply goes through the response callbacks of this
	// plugin (and of the plugins before it); from the response phase it
	// replaces the upstream response.
	ActionLocalReply
	// ActionReset: reset the stream (the plugin closed it).
	ActionReset
)

func (a Action) String() string {
	switch a {
	case ActionContinue:
		return "continue"
	case ActionStop:
		return "stop"
	case ActionLocalReply:
		return "local_reply"
	case ActionReset:
		return "reset"
	}
	return "unknown"
}

// Result is the outcome of a Stream call. With ActionContinue or
// ActionStop, the fields say what passes on to the next filter now, in
// order: Headers, then Body, then Trailers.
type Result struct {
	Action Action
	// Headers is set when the direction's headers are released now (the
	// map given to RequestHeaders/ResponseHeaders, as the plugin left it).
	Headers *HeaderMap
	// Body holds body bytes released now.
	Body []byte
	// EndStream reports that this release ends the direction (no trailers).
	EndStream bool
	// Trailers is set when trailers are released now (they end the direction).
	Trailers *HeaderMap
	// LocalReply is set with ActionLocalReply.
	LocalReply *LocalReply
}

// LocalReply is a response produced by the engine or the plugin.
type LocalReply struct {
	StatusCode int
	// Headers holds ":status", the plugin's headers (lower-cased) and, when
	// the body is not empty, "content-length" and "content-type: text/plain"
	// (unless the plugin set a content type).
	Headers *HeaderMap
	Body    []byte
	// Details is the response code details, whitespace replaced by '_'.
	Details string
	// GRPCStatus is 0..16, or -1 for none.
	GRPCStatus int
}

// EventKind identifies an asynchronous stream event.
type EventKind uint8

const (
	// EventResume: the plugin resumed Dir; call Stream.Resume(Dir).
	EventResume EventKind = iota
	// EventLocalReply: the plugin answered the request (Reply), e.g. from a
	// callout callback; handle it like ActionLocalReply.
	EventLocalReply
	// EventReset: the plugin closed the stream.
	EventReset
	// EventInject: the plugin injected Data (response direction, Higress)
	// downstream of itself; EndStream ends the response.
	EventInject
)

// Event is an effect of the plugin that is not the result of a Stream
// call: a resume, local reply or reset from a callout response, tick or
// queue callback, a VM failure while paused, or injected data. Events are
// delivered after the VM call that caused them returns, on whatever
// goroutine drove the VM (possibly inside a Stream method of this stream,
// before it returns); an embedder should queue them and act on them from
// its own request goroutine.
type Event struct {
	Kind      EventKind
	Dir       Direction
	Reply     *LocalReply
	Data      []byte
	EndStream bool
}

// StreamOptions are the embedder's per-stream hooks.
type StreamOptions struct {
	// Properties answers request/response/connection attributes, route and
	// cluster names, and other per-request properties.
	Properties Properties
	// Events receives asynchronous effects (see Event).
	Events func(Event)
	// UpstreamHosts answers proxy_get_upstream_hosts (Higress): pairs of
	// address and metrics text.
	UpstreamHosts func() []HeaderField
	// FilterState is the request's filter state, shared by the streams of
	// every plugin of the request (nil: one of the stream's own).
	FilterState *FilterState
	// ClearRouteCache, when set, is called when the plugin clears the
	// route cache: it modified the request headers (unless it set
	// clear_route_cache to "off") or asked for it. The embedder then
	// selects the route again before the route is next used.
	ClearRouteCache func()
	// BufferLimit, when positive, replaces the plugin's BufferLimit for this
	// stream (the listener's per-connection buffer limit).
	BufferLimit int
	// Observer, when set, watches the stream's callbacks, callouts, logs
	// and results (tracing). Nil costs a nil check per callback.
	Observer Observer
}

type iterState uint8

const (
	iterContinue iterState = iota
	iterStopSingle
	iterStopAll
)

// dirState is Envoy's filter-manager state of one direction, for this filter.
type dirState struct {
	headers  *HeaderMap
	trailers *HeaderMap
	buf      []byte
	limit    int

	headersSeen, headersForwarded   bool
	iter                            iterState
	watermark                       bool // the current stop buffers without the limit
	bodyPending                     bool // body arrived while stopped-all, not yet seen by the plugin
	bufSeen                         bool // buf was seen by the plugin, which asked to buffer it
	eos                             bool
	trailersSeen, trailersForwarded bool
	endForwarded                    bool
	ended                           bool // local reply or reset: nothing more flows
}

// Stream is one HTTP stream through one plugin, pinned to one VM for its
// whole life. Call its phase methods in stream order from one goroutine at
// a time, then Done. Each call returns a Result the caller acts on.
type Stream struct {
	p    *Plugin
	v    *vm
	opts StreamOptions

	id      uint32
	created bool
	done    bool
	req     dirState
	resp    dirState

	routeCacheCleared bool
	keepRouteCache    bool
	overrideHost      string
	resumeNow         bool
	lastResult        uint32 // what the plugin's last stream callback returned
	bypass            bool   // fail-open, or after the fail-closed reply
	failReplied       bool
	failed            bool
}

// NewStream creates a stream on the least busy healthy VM. When no VM is
// healthy the fail strategy applies to the stream right away.
func (p *Plugin) NewStream(opts StreamOptions) *Stream {
	if opts.FilterState == nil {
		opts.FilterState = NewFilterState()
	}
	s := &Stream{p: p, opts: opts}
	s.req.limit = p.cfg.BufferLimit
	if opts.BufferLimit > 0 {
		s.req.limit = opts.BufferLimit
	}
	s.resp.limit = s.req.limit
	s.v = p.pick()
	if s.v == nil {
		s.failed = true
	}
	return s
}

// ID returns the stream's context id (0 until the plugin's context exists).
func (s *Stream) ID() uint32 { return s.id }

// FilterState returns a copy of the properties set on the request's filter
// state (keyed by the NUL-joined path), by this plugin and by others
// sharing StreamOptions.FilterState.
func (s *Stream) FilterState() map[string][]byte { return s.opts.FilterState.copy() }

// clearRouteCache records that the route must be selected again.
func (s *Stream) clearRouteCache() {
	s.routeCacheCleared = true
	if f := s.opts.ClearRouteCache; f != nil {
		f()
	}
}

// LastCallbackResult returns the value the plugin's last header, body or
// trailer callback on this stream returned (a types.Action), before the
// engine interpreted it; 0 before any callback.
func (s *Stream) LastCallbackResult() uint32 {
	if s.v != nil {
		s.v.lock()
		defer s.v.unlock()
	}
	return s.lastResult
}

// RouteCacheCleared reports whether the plugin modified the request headers
// (with route cache clearing left on) or asked to clear the route cache:
// the embedder should re-route.
func (s *Stream) RouteCacheCleared() bool {
	if s.v != nil {
		s.v.lock()
		defer s.v.unlock()
	}
	return s.routeCacheCleared
}

// Buffered returns the body bytes the stream holds in dir: data the plugin
// buffers or that waits while the plugin holds the direction.
func (s *Stream) Buffered(dir Direction) int {
	if s.v == nil {
		return 0
	}
	s.v.lock()
	defer s.v.unlock()
	return len(s.dir(dir).buf)
}

// Pending reports whether anything could still resume a paused stream: an
// HTTP or Redis call in flight on its VM, a tick armed, or a shared queue
// whose deliveries go to the VM.
func (s *Stream) Pending() bool {
	v := s.v
	if v == nil {
		return false
	}
	v.lock()
	defer v.unlock()
	return len(v.calls) > 0 || v.ticking() || v.e.shared.owns(v)
}

// UpstreamOverrideHost returns the address the plugin set with
// proxy_set_upstream_override_host (Higress), or "".
func (s *Stream) UpstreamOverrideHost() string {
	if s.v != nil {
		s.v.lock()
		defer s.v.unlock()
	}
	return s.overrideHost
}

func (s *Stream) dir(d Direction) *dirState {
	if d == Response {
		return &s.resp
	}
	return &s.req
}

// RequestHeaders delivers the request headers; the plugin may modify h.
func (s *Stream) RequestHeaders(h *HeaderMap, endStream bool) Result {
	return s.observeResult("request_headers", Request, s.onHeaders(Request, h, endStream))
}

// RequestBody delivers a request body chunk.
func (s *Stream) RequestBody(chunk []byte, endStream bool) Result {
	return s.observeResult("request_body", Request, s.onBody(Request, chunk, endStream))
}

// RequestTrailers delivers the request trailers.
func (s *Stream) RequestTrailers(t *HeaderMap) Result {
	return s.observeResult("request_trailers", Request, s.onTrailers(Request, t))
}

// ResponseHeaders delivers the response headers (from upstream or from a
// local reply); the plugin may modify h.
func (s *Stream) ResponseHeaders(h *HeaderMap, endStream bool) Result {
	return s.observeResult("response_headers", Response, s.onHeaders(Response, h, endStream))
}

// ResponseBody delivers a response body chunk.
func (s *Stream) ResponseBody(chunk []byte, endStream bool) Result {
	return s.observeResult("response_body", Response, s.onBody(Response, chunk, endStream))
}

// ResponseTrailers delivers the response trailers.
func (s *Stream) ResponseTrailers(t *HeaderMap) Result {
	return s.observeResult("response_trailers", Response, s.onTrailers(Response, t))
}

// begin locks the VM; it reports false for a stream without a VM.
func (s *Stream) begin() bool {
	if s.v == nil {
		return false
	}
	s.v.lock()
	return true
}

func (s *Stream) end() {
	if s.v != nil {
		s.v.unlock()
	}
}

// vmBroken reports whether the stream must apply the fail strategy.
func (s *Stream) vmBroken() bool {
	return s.failed || s.v == nil || s.v.failed.Load() || s.v.closed
}

func (s *Stream) onHeaders(dir Direction, h *HeaderMap, eos bool) Result {
	locked := s.begin()
	defer func() {
		if locked {
			s.end()
		}
	}()
	d := s.dir(dir)
	if s.done || d.ended || d.headersSeen {
		return Result{Action: ActionStop}
	}
	d.headers, d.headersSeen = h, true
	if eos {
		d.eos = true
	}
	if !s.bypass && s.vmBroken() {
		return s.failResult(dir)
	}
	if s.bypass || (dir == Response && !s.created) {
		return s.advance(dir, nil)
	}
	if !s.ensureCreated() {
		return s.failResult(dir)
	}
	v := s.v
	f, kind, bit := v.f.onRequestHeaders, cbReqHeaders, MaskRequestHeaders
	if dir == Response {
		f, kind, bit = v.f.onResponseHeaders, cbRespHeaders, MaskResponseHeaders
	}
	if f == nil {
		return s.advance(dir, nil)
	}
	if s.skipAsContinue(bit) {
		d.iter, d.watermark = iterContinue, false
		return s.afterCall(dir)
	}
	v.stack[0], v.stack[1], v.stack[2] = uint64(s.id), uint64(h.Len()), b2u(eos)
	n := 3
	if v.f.headers2Params {
		n = 2
	}
	raw, term, stop := s.invoke(dir, kind, f, n)
	if stop {
		return term
	}
	d.iter, d.watermark = convertHeaders(uint32(raw), s.p.mod.abi)
	s.applyResume(d)
	return s.afterCall(dir)
}

// convertHeaders maps a header callback result to the filter state, as
// Envoy (and the Higress fork for ABI 0.2.100) does.
func convertHeaders(r uint32, abi ABIVersion) (iterState, bool) {
	switch {
	case r == uint32(types.HeaderContinue) || r == uint32(types.HeaderContinueAndEndStream):
		return iterContinue, false
	case r == uint32(types.HeaderStopIteration) && abi == ABI_0_2_100:
		return iterStopSingle, false
	case r == uint32(types.HeaderStopAllIterationAndBuffer):
		return iterStopAll, false
	default: // 1 under other ABIs, 4, and anything larger
		return iterStopAll, true
	}
}

func (s *Stream) onBody(dir Direction, chunk []byte, eos bool) Result {
	locked := s.begin()
	defer func() {
		if locked {
			s.end()
		}
	}()
	d := s.dir(dir)
	if s.done || d.ended || d.eos {
		return Result{Action: ActionStop}
	}
	if eos {
		d.eos = true
	}
	if !d.headersSeen {
		d.headersSeen, d.headersForwarded = true, true
	}
	if !s.bypass && s.vmBroken() {
		d.buf = append(d.buf, chunk...)
		return s.failResult(dir)
	}
	if s.bypass || !s.created {
		d.buf = append(d.buf, chunk...)
		return s.advance(dir, nil)
	}
	if d.iter == iterStopAll {
		d.buf = append(d.buf, chunk...)
		d.bodyPending = true
		if !d.watermark && len(d.buf) > d.limit {
			return s.tooLarge(dir)
		}
		return Result{Action: ActionStop}
	}
	if d.bufSeen && !d.watermark && len(d.buf)+len(chunk) > d.limit {
		return s.tooLarge(dir)
	}
	d.buf = append(d.buf, chunk...)
	if term, stop := s.callBody(dir, eos); stop {
		return term
	}
	return s.afterCall(dir)
}

// callBody runs the body callback on d.buf and sets the iteration state.
func (s *Stream) callBody(dir Direction, eos bool) (Result, bool) {
	d := s.dir(dir)
	v := s.v
	f, kind, bit := v.f.onRequestBody, cbReqBody, MaskRequestBody
	if dir == Response {
		f, kind, bit = v.f.onResponseBody, cbRespBody, MaskResponseBody
	}
	if f == nil || s.skipAsContinue(bit) {
		d.iter = iterContinue
		return Result{}, false
	}
	v.stack[0], v.stack[1], v.stack[2] = uint64(s.id), uint64(len(d.buf)), b2u(eos)
	raw, term, stop := s.invoke(dir, kind, f, 3)
	if stop {
		return term, true
	}
	r := uint32(raw)
	switch {
	case r == uint32(types.DataContinue):
		d.iter = iterContinue
	case r == uint32(types.DataStopIterationAndBuffer) || r == uint32(types.DataStopIterationAndWatermark):
		d.iter, d.bufSeen = iterStopSingle, true
		d.watermark = r == uint32(types.DataStopIterationAndWatermark)
		if !d.watermark && len(d.buf) > d.limit {
			return s.tooLarge(dir), true
		}
	default: // StopIterationNoBuffer and anything larger
		d.iter, d.bufSeen, d.buf = iterStopSingle, false, nil
	}
	s.applyResume(d)
	return Result{}, false
}

func (s *Stream) onTrailers(dir Direction, t *HeaderMap) Result {
	locked := s.begin()
	defer func() {
		if locked {
			s.end()
		}
	}()
	d := s.dir(dir)
	if s.done || d.ended || d.trailers != nil {
		return Result{Action: ActionStop}
	}
	if t == nil {
		t = &HeaderMap{}
	}
	d.trailers, d.eos = t, true
	if !d.headersSeen {
		d.headersSeen, d.headersForwarded = true, true
	}
	if !s.bypass && s.vmBroken() {
		return s.failResult(dir)
	}
	if s.bypass || !s.created {
		d.trailersSeen = true
		return s.advance(dir, nil)
	}
	if d.iter == iterStopAll {
		return Result{Action: ActionStop}
	}
	d.trailersSeen = true
	if term, stop := s.callTrailers(dir); stop {
		return term
	}
	return s.afterCall(dir)
}

func (s *Stream) callTrailers(dir Direction) (Result, bool) {
	d := s.dir(dir)
	v := s.v
	f, kind, bit := v.f.onRequestTrailers, cbReqTrailers, MaskRequestTrailers
	if dir == Response {
		f, kind, bit = v.f.onResponseTrailers, cbRespTrailers, MaskResponseTrailers
	}
	// A module without the callback answers Continue, as Envoy's context
	// does; so does a skipped one.
	raw := uint64(types.TrailerContinue)
	if f != nil && !s.skipAsContinue(bit) {
		v.stack[0], v.stack[1] = uint64(s.id), uint64(d.trailers.Len())
		var term Result
		var stop bool
		raw, term, stop = s.invoke(dir, kind, f, 2)
		if stop {
			return term, true
		}
	}
	if uint32(raw) == uint32(types.TrailerContinue) {
		if d.iter == iterStopSingle {
			d.iter = iterContinue // Envoy's commonContinue releases everything held
		}
	} else {
		d.iter = iterStopSingle
	}
	s.applyResume(d)
	return Result{}, false
}

// Resume continues dir after a Resume event (or at the embedder's will):
// held headers, body and trailers are released, and body or trailers that
// arrived while the plugin held its headers are delivered to it first. A
// direction that is not stopped is left alone (debug log).
func (s *Stream) Resume(dir Direction) Result {
	return s.observeResult("resume", dir, s.resume(dir))
}

func (s *Stream) resume(dir Direction) Result {
	locked := s.begin()
	defer func() {
		if locked {
			s.end()
		}
	}()
	d := s.dir(dir)
	if s.done || d.ended {
		return Result{Action: ActionStop}
	}
	if d.iter == iterContinue {
		s.p.log.Debug("resume ignored: the stream is not paused", "stream", s.id, "direction", dir.String())
		return Result{Action: ActionContinue}
	}
	if !s.bypass && s.vmBroken() {
		return s.failResult(dir)
	}
	d.iter = iterContinue
	return s.advance(dir, nil)
}

// afterCall applies a same-call continue_stream and advances.
func (s *Stream) afterCall(dir Direction) Result {
	return s.advance(dir, nil)
}

// advance releases everything the direction can pass on, delivering
// pending body and trailers to the plugin as Envoy's commonContinue does.
func (s *Stream) advance(dir Direction, res *Result) Result {
	d := s.dir(dir)
	if res == nil {
		res = &Result{}
	}
	for {
		if d.ended {
			return Result{Action: ActionStop}
		}
		if d.iter != iterContinue {
			res.Action = ActionStop
			return *res
		}
		if d.headersSeen && !d.headersForwarded {
			d.headersForwarded = true
			res.Headers = d.headers
		}
		if d.bodyPending {
			d.bodyPending = false
			if !s.bypass {
				if term, stop := s.callBody(dir, d.eos && d.trailers == nil); stop {
					return term
				}
				continue
			}
		}
		if len(d.buf) > 0 {
			if res.Body == nil {
				res.Body = d.buf
			} else {
				res.Body = append(res.Body, d.buf...)
			}
			d.buf = nil
		}
		d.bufSeen = false
		if d.trailers != nil && !d.trailersSeen {
			d.trailersSeen = true
			if !s.bypass {
				if term, stop := s.callTrailers(dir); stop {
					return term
				}
				continue
			}
		}
		if d.trailers != nil && !d.trailersForwarded {
			d.trailersForwarded = true
			res.Trailers = d.trailers
		}
		if d.eos && d.trailers == nil && !d.endForwarded {
			d.endForwarded = true
			res.EndStream = true
		}
		res.Action = ActionContinue
		return *res
	}
}

// invoke calls a stream callback and applies its deferred actions. A
// terminal Result (local reply, reset, VM failure) is returned with true.
func (s *Stream) invoke(dir Direction, kind cbKind, f api.Function, n int) (uint64, Result, bool) {
	v := s.v
	var oc *CallbackInfo
	o := s.opts.Observer
	if o != nil {
		oc = s.observeCallback(o, dir, kind, n == 3 && v.stack[2] != 0)
	}
	v.streams.use(s)
	raw, err := v.callTop(kind, s.id, f, n, v.e.cfg.CallTimeout)
	if o != nil {
		s.observeEnd(o, oc, kind, raw, err)
	}
	if err != nil {
		v.discardActions()
		return 0, s.failResult(dir), true
	}
	s.lastResult = uint32(raw)
	var reply *LocalReply
	resume := false
	for _, a := range v.dispatchActions(s) {
		switch a.kind {
		case actReset:
			s.doReset()
			return 0, Result{Action: ActionReset}, true
		case actLocalReply:
			if reply == nil {
				reply = a.reply
			}
		case actResume:
			if a.dir == dir {
				resume = true
			} else {
				s.resumeAsync(a.dir)
			}
		case actInject:
			s.emit(Event{Kind: EventInject, Dir: a.dir, Data: a.data, EndStream: a.eos})
		}
	}
	if reply != nil {
		return 0, s.applyLocalReply(reply), true
	}
	// continue_stream in the same callback undoes the stop it returns right
	// after the call, as Envoy's deferred continue does.
	s.resumeNow = resume
	return raw, Result{}, false
}

// applyResume applies a same-call continue_stream after the callback's
// result has set the iteration state.
func (s *Stream) applyResume(d *dirState) {
	if s.resumeNow {
		s.resumeNow = false
		d.iter = iterContinue
	}
}

// asyncAction applies an action recorded during a call that was not this
// stream's own phase call. Runs with the VM lock held.
func (s *Stream) asyncAction(a action) {
	if s.done {
		return
	}
	if o := s.opts.Observer; o != nil {
		s.observeAsync(o, a)
	}
	switch a.kind {
	case actResume:
		s.resumeAsync(a.dir)
	case actLocalReply:
		r := s.applyLocalReply(a.reply)
		if r.Action == ActionLocalReply {
			s.emit(Event{Kind: EventLocalReply, Dir: a.dir, Reply: r.LocalReply})
		}
	case actReset:
		if !s.req.ended || !s.resp.ended {
			s.doReset()
			s.emit(Event{Kind: EventReset})
		}
	case actInject:
		s.emit(Event{Kind: EventInject, Dir: a.dir, Data: a.data, EndStream: a.eos})
	}
}

func (s *Stream) resumeAsync(dir Direction) {
	d := s.dir(dir)
	if d.ended || d.iter == iterContinue {
		s.p.log.Debug("continue_stream ignored: the stream is not paused", "stream", s.id, "direction", dir.String())
		return
	}
	s.emit(Event{Kind: EventResume, Dir: dir})
}

func (s *Stream) emit(ev Event) {
	if s.opts.Events == nil || s.v == nil {
		return
	}
	cb := s.opts.Events
	s.v.event(func() { cb(ev) })
}

func (s *Stream) doReset() {
	s.req.ended, s.resp.ended = true, true
}

// applyLocalReply ends the direction(s) the reply replaces.
func (s *Stream) applyLocalReply(r *LocalReply) Result {
	if s.req.ended && (s.resp.ended || !s.resp.headersSeen) && s.failReplied {
		return Result{Action: ActionStop}
	}
	s.req.ended = true
	if s.resp.headersSeen {
		s.resp.ended = true
	}
	return Result{Action: ActionLocalReply, LocalReply: r}
}

func (s *Stream) tooLarge(dir Direction) Result {
	if dir == Request {
		return s.applyLocalReply(newLocalReply(413, "request_payload_too_large", []byte("Payload Too Large"), nil, -1))
	}
	return s.applyLocalReply(newLocalReply(500, "response_payload_too_large", []byte("Internal Server Error"), nil, -1))
}

// failResult applies the fail strategy to a call on a failed VM.
func (s *Stream) failResult(dir Direction) Result {
	s.failed = true
	if s.p.cfg.FailStrategy == FailOpen {
		s.bypass = true
		return s.advance(dir, nil)
	}
	if !s.failReplied {
		s.failReplied = true
		s.bypass = true
		return s.applyLocalReply(failReply())
	}
	s.bypass = true
	return s.advance(dir, nil)
}

func failReply() *LocalReply {
	r := newLocalReply(503, "wasm_fail_stream", nil, nil, 14)
	return r
}

// onVMFailedLocked tells a paused stream that its VM failed elsewhere.
func (s *Stream) onVMFailedLocked() {
	if s.done || s.failed {
		return
	}
	s.failed = true
	if o := s.opts.Observer; o != nil {
		o.Async(&AsyncInfo{Kind: EventReset, Dir: s.heldDir(), Cause: "vm_failed"})
	}
	if s.p.cfg.FailStrategy == FailOpen {
		s.bypass = true
		for _, dir := range []Direction{Request, Response} {
			if d := s.dir(dir); !d.ended && d.iter != iterContinue {
				s.emit(Event{Kind: EventResume, Dir: dir})
			}
		}
		return
	}
	if (!s.req.ended && s.req.iter != iterContinue) || (!s.resp.ended && s.resp.iter != iterContinue) {
		s.failReplied = true
		s.bypass = true
		r := s.applyLocalReply(failReply())
		s.emit(Event{Kind: EventLocalReply, Reply: r.LocalReply})
	}
}

// ensureCreated creates the plugin's stream context (on_context_create).
func (s *Stream) ensureCreated() bool {
	if s.created {
		return true
	}
	v := s.v
	rc := v.rootOf(s.p)
	if rc == nil {
		return false // the plugin's root context is gone (closed)
	}
	v.nextID++
	s.id = v.nextID
	s.created = true
	v.streams.add(s)
	if f := v.f.onContextCreate; f != nil {
		v.stack[0], v.stack[1] = uint64(s.id), uint64(rc.id)
		if _, err := v.callTop(cbContextCreate, s.id, f, 2, v.e.cfg.CallTimeout); err != nil {
			return false
		}
		v.dispatchActions(nil)
	}
	return true
}

// Done ends the stream: proxy_on_log, proxy_on_done and proxy_on_delete
// run (in Envoy's order), unless the VM failed. Call it exactly once, when
// the stream is over for any reason.
func (s *Stream) Done() {
	if s.v == nil {
		s.done = true
		return
	}
	v := s.v
	v.lock()
	if s.done {
		v.unlock()
		return
	}
	s.done = true
	healthy := !s.vmBroken()
	if healthy && s.ensureCreated() {
		for _, step := range []struct {
			f    api.Function
			kind cbKind
			bit  uint32
		}{{v.f.onLog, cbLog, MaskLog}, {v.f.onDone, cbDone, MaskDone}, {v.f.onDelete, cbDelete, 0}} {
			if step.f == nil || s.skipped(step.bit) {
				continue
			}
			v.stack[0] = uint64(s.id)
			v.streams.use(s)
			var oc *CallbackInfo
			o := s.opts.Observer
			if o != nil && step.kind == cbLog { // on_done and on_delete say nothing about the request
				oc = &CallbackInfo{Name: step.kind.String(), Dir: Response}
				o.CallbackStart(oc)
			}
			_, err := v.callTop(step.kind, s.id, step.f, 1, v.e.cfg.CallTimeout)
			if oc != nil {
				oc.Err = err
				o.CallbackEnd(oc)
			}
			if err != nil {
				healthy = false
				break
			}
			v.dispatchActions(nil)
		}
	}
	if s.created {
		v.streams.remove(s)
	}
	healthy = healthy && !v.failed.Load()
	v.unlock()
	s.p.release(v, healthy)
}

func newLocalReply(status int, details string, body []byte, hdrs []pairs.Pair, grpc int32) *LocalReply {
	h := &HeaderMap{Fields: make([]HeaderField, 0, len(hdrs)+3)}
	h.Add(":status", itoa(status))
	for _, p := range hdrs {
		h.Add(p.Key, p.Value)
	}
	if len(body) > 0 {
		h.Set("content-length", itoa(len(body)))
		if _, ok := h.Get("content-type"); !ok {
			h.Add("content-type", "text/plain")
		}
	}
	if grpc < 0 || grpc > 16 {
		grpc = -1
	}
	return &LocalReply{
		StatusCode: status,
		Headers:    h,
		Body:       body,
		Details: strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return '_'
			}
			return r
		}, details),
		GRPCStatus: int(grpc),
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
