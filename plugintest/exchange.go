package plugintest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/attributes"
)

// exchange drives one request through the plugin's stream with Envoy's
// filter semantics for a single HTTP filter between the client and the
// router:
//
//   - what the plugin releases in the request direction goes to the
//     upstream; once the upstream has the whole request it answers, and its
//     response runs through the plugin's response callbacks to the client;
//   - data keeps arriving while the plugin holds a direction (the engine
//     buffers it); after each piece, the plugin's asynchronous effects that
//     are already known (a resume from a callout answered at once) are
//     handled before the next piece arrives;
//   - a local reply from the request phase runs through the plugin's own
//     response callbacks; from the response phase it replaces the upstream
//     response, or resets the stream when the response has started;
//   - events (resume, local reply, reset, injected data) are queued from
//     any goroutine and handled on the request's goroutine.
type exchange struct {
	p     *Plugin
	req   *Request
	st    *host.Stream
	props *requestProps
	res   *Result
	start time.Time

	// queue of work for the request's goroutine; guarded by p.qmu
	queue []func()
	ready chan struct{}
	idle  bool
	over  bool // run returned: later events are dropped

	reqStopped    bool // a local reply or reset ended the request direction
	upDone        bool // the upstream has the whole request
	upIgnored     bool // the upstream's response no longer matters
	respSeen      bool // response headers reached the plugin
	clientStarted bool // response headers reached the client
	finished      bool
	lastPhase     Phase
}

// newExchange prepares a request; it counts as busy until it waits.
func (p *Plugin) newExchange(req *Request) *exchange {
	x := &exchange{p: p, req: req, res: &Result{}, ready: make(chan struct{}, 1)}
	p.qmu.Lock()
	p.busy++
	p.qmu.Unlock()
	return x
}

// enqueue adds work for the request's goroutine; callable from anywhere.
func (x *exchange) enqueue(f func()) {
	p := x.p
	p.qmu.Lock()
	if x.over {
		p.qmu.Unlock()
		return
	}
	x.queue = append(x.queue, f)
	if x.idle {
		x.idle = false
		p.busy++
	}
	p.qmu.Unlock()
	select {
	case x.ready <- struct{}{}:
	default:
	}
}

// drain runs the queued work, including work queued meanwhile.
func (x *exchange) drain() {
	p := x.p
	for {
		p.qmu.Lock()
		if len(x.queue) == 0 {
			p.qmu.Unlock()
			return
		}
		f := x.queue[0]
		x.queue[0] = nil
		x.queue = x.queue[1:]
		p.qmu.Unlock()
		f()
	}
}

// run sends the request and waits for the response.
func (x *exchange) run() (res *Result, err error) {
	p := x.p
	defer func() {
		p.qmu.Lock()
		if !x.idle {
			p.busy--
		}
		x.idle, x.over, x.queue = true, true, nil
		p.quiet.Broadcast()
		p.qmu.Unlock()
	}()
	if p.closed.Load() {
		return nil, fmt.Errorf("plugintest: %s %s: the plugin is closed", x.req.method(), x.req.Path)
	}
	h := x.requestHeaders()
	x.props.SetRequestHeaders(h)
	tr := p.traces.Start(trace.Begin{RequestID: x.props.ID, Method: x.req.method(), Authority: headerOr(h, ":authority"), Path: x.req.Path})
	x.st = p.hp.NewStream(host.StreamOptions{
		Observer:   tr.Plugin(p.name),
		Properties: x.props,
		Events: func(ev host.Event) {
			x.enqueue(func() { x.onEvent(ev) })
		},
	})
	frames := x.req.bodyFrames()
	trailers := len(x.req.Trailer) > 0
	x.decode(RequestHeaders, func() host.Result {
		return x.st.RequestHeaders(h, len(frames) == 0 && !trailers)
	})
	x.drain()
	for i, f := range frames {
		if x.reqStopped || x.finished {
			break
		}
		eos := i == len(frames)-1 && !trailers
		chunk := append([]byte(nil), f...)
		x.decode(RequestBody, func() host.Result { return x.st.RequestBody(chunk, eos) })
		x.drain()
	}
	if trailers && !x.reqStopped && !x.finished {
		t := host.NewHeaderMap()
		addSorted(t, x.req.Trailer)
		x.decode(RequestTrailers, func() host.Result { return x.st.RequestTrailers(t) })
		x.drain()
	}
	err = x.wait()
	x.st.Done()
	x.collect()
	tr.Finish(x.res.Status, x.res.Details, "", x.res.Reset)
	x.res.Trace = tr
	return x.res, err
}

// requestHeaders builds the request as Envoy's filters see it:
// pseudo-headers, the headers lower-cased in sorted order, then
// x-forwarded-proto and x-request-id as Envoy's connection manager adds them.
func (x *exchange) requestHeaders() *host.HeaderMap {
	r, s := x.req, x.p.set
	authority := r.Host
	if authority == "" {
		authority = s.domain
	}
	scheme := r.Scheme
	if scheme == "" {
		scheme = "http"
	}
	h := host.NewHeaderMap(":authority", authority, ":path", r.Path, ":method", r.method(), ":scheme", scheme)
	addSorted(h, r.Header)
	if len(r.Body) > 0 && len(r.Trailer) == 0 {
		if _, ok := h.Get("content-length"); !ok {
			if _, chunked := h.Get("transfer-encoding"); !chunked {
				h.Add("content-length", strconv.Itoa(len(r.Body)))
			}
		}
	}
	if _, ok := h.Get("x-forwarded-proto"); !ok {
		h.Add("x-forwarded-proto", scheme)
	}
	seq := x.p.reqSeq.Add(1)
	id, ok := h.Get("x-request-id")
	if !ok {
		id = fmt.Sprintf("00000000-0000-4000-8000-%012d", seq)
		h.Add("x-request-id", id)
	}
	route, cluster := s.route, s.cluster
	if r.route != nil {
		route = *r.route
	}
	if r.cluster != nil {
		cluster = *r.cluster
	}
	source := r.source
	if source == "" {
		source = defaultSource
	}
	x.start = x.p.clock.Now()
	x.props = &requestProps{extra: r.props, Request: attributes.Request{
		ID: id, Start: x.start, Now: x.p.clock.Now, Protocol: "HTTP/1.1",
		Source: source, Destination: defaultDestination, ConnectionID: seq,
	}}
	x.props.SetRoute(route, cluster, "")
	return h
}

// step records a hand-over to the plugin.
func (x *exchange) step(ph Phase, a host.Action) {
	x.res.Steps = append(x.res.Steps, Step{Phase: ph, Action: a})
	x.lastPhase = ph
}

// decode delivers a request item to the plugin.
func (x *exchange) decode(ph Phase, call func() host.Result) {
	if x.finished || x.reqStopped {
		return
	}
	res := call()
	x.step(ph, res.Action)
	x.onResult(ph, host.Request, res)
}

// encode delivers a response item to the plugin.
func (x *exchange) encode(ph Phase, call func() host.Result) {
	if x.finished {
		return
	}
	if ph == ResponseHeaders {
		x.respSeen = true
	}
	res := call()
	x.step(ph, res.Action)
	x.onResult(ph, host.Response, res)
}

// onResult acts on what the engine returned for a hand-over.
func (x *exchange) onResult(ph Phase, dir host.Direction, res host.Result) {
	switch res.Action {
	case host.ActionContinue, host.ActionStop:
		x.release(dir, res)
	case host.ActionLocalReply:
		x.localReply(ph, dir, res.LocalReply)
	case host.ActionReset:
		x.abort("wasm_close_stream")
	}
}

// release passes on what the plugin released: upstream for the request,
// to the client for the response.
func (x *exchange) release(dir host.Direction, res host.Result) {
	tail := res.Trailers != nil
	bodyEnds := res.EndStream && !tail
	if dir == host.Request {
		if res.Headers != nil {
			x.upstreamHeaders(res.Headers, bodyEnds && len(res.Body) == 0)
		}
		if len(res.Body) > 0 || (res.EndStream && res.Headers == nil && !tail) {
			x.upstreamBody(res.Body, bodyEnds)
		}
		if tail {
			x.upstreamTrailers(res.Trailers)
		}
		return
	}
	if res.Headers != nil {
		x.clientHeaders(res.Headers, bodyEnds && len(res.Body) == 0)
	}
	if len(res.Body) > 0 || (res.EndStream && res.Headers == nil && !tail) {
		x.clientBody(res.Body, bodyEnds)
	}
	if tail {
		x.clientTrailers(res.Trailers)
	}
}

func (x *exchange) upstreamHeaders(h *host.HeaderMap, eos bool) {
	if x.res.Upstream != nil || x.upIgnored {
		return
	}
	x.props.SetRequestHeaders(h)
	u := &UpstreamRequest{}
	u.Header, u.Fields = headerOf(h)
	u.Method, _ = h.Get(":method")
	u.Path, _ = h.Get(":path")
	u.Host, _ = h.Get(":authority")
	u.Scheme, _ = h.Get(":scheme")
	x.res.Upstream = u
	if eos {
		x.upstreamComplete()
	}
}

func (x *exchange) upstreamBody(b []byte, eos bool) {
	u := x.res.Upstream
	if u == nil || x.upDone {
		return
	}
	if len(b) > 0 {
		u.Body = append(u.Body, b...)
		u.Frames++
	}
	if eos {
		x.upstreamComplete()
	}
}

func (x *exchange) upstreamTrailers(t *host.HeaderMap) {
	u := x.res.Upstream
	if u == nil || x.upDone {
		return
	}
	u.Trailer, _ = headerOf(t)
	x.upstreamComplete()
}

// upstreamComplete: the upstream has the whole request; its answer comes
// next, on the request's goroutine.
func (x *exchange) upstreamComplete() {
	x.upDone = true
	x.enqueue(x.respond)
}

// respond is the simulated upstream's answer.
func (x *exchange) respond() {
	if x.upIgnored || x.finished {
		return
	}
	handler := x.req.upstream
	if handler == nil {
		handler = x.p.set.upstream
	}
	var r *Response
	if handler != nil {
		up := *x.res.Upstream
		up.Header = up.Header.Clone()
		up.Trailer = up.Trailer.Clone()
		up.Fields = append([][2]string(nil), up.Fields...)
		up.Body = append([]byte(nil), up.Body...)
		r = handler(&up)
	}
	if r == nil {
		r = &Response{}
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	frames := split(r.Body, r.chunks)
	trailers := len(r.Trailer) > 0
	h := host.NewHeaderMap(":status", strconv.Itoa(status))
	addSorted(h, r.Header)
	if len(r.Body) > 0 && len(frames) == 1 && !trailers {
		if _, ok := h.Get("content-length"); !ok {
			h.Add("content-length", strconv.Itoa(len(r.Body)))
		}
	}
	if x.res.Upstream.Method == http.MethodHead {
		frames, trailers = nil, false
	}
	x.props.SetResponse(status, h, "via_upstream")
	if x.res.Details == "" {
		x.res.Details = "via_upstream"
	}
	x.encode(ResponseHeaders, func() host.Result { return x.st.ResponseHeaders(h, len(frames) == 0 && !trailers) })
	x.drain()
	for i, f := range frames {
		if x.finished || x.upIgnored {
			return
		}
		eos := i == len(frames)-1 && !trailers
		chunk := append([]byte(nil), f...)
		x.encode(ResponseBody, func() host.Result { return x.st.ResponseBody(chunk, eos) })
		x.drain()
	}
	if trailers && !x.finished && !x.upIgnored {
		t := host.NewHeaderMap()
		addSorted(t, r.Trailer)
		x.encode(ResponseTrailers, func() host.Result { return x.st.ResponseTrailers(t) })
		x.drain()
	}
}

func (x *exchange) clientHeaders(h *host.HeaderMap, eos bool) {
	if x.finished || x.clientStarted {
		return
	}
	status := 0
	if s, ok := h.Get(":status"); ok {
		status, _ = strconv.Atoi(s)
	}
	x.res.Status = status
	x.res.Header, x.res.Fields = headerOf(h)
	x.clientStarted = true
	x.props.SetResponse(status, h, x.res.Details)
	if eos {
		x.finished = true
	}
}

func (x *exchange) clientBody(b []byte, eos bool) {
	if x.finished || !x.clientStarted {
		return
	}
	x.res.Body = append(x.res.Body, b...)
	if eos {
		x.finished = true
	}
}

func (x *exchange) clientTrailers(t *host.HeaderMap) {
	if x.finished || !x.clientStarted {
		return
	}
	x.res.Trailer, _ = headerOf(t)
	x.finished = true
}

// localReply answers the client instead of the upstream.
func (x *exchange) localReply(ph Phase, dir host.Direction, r *host.LocalReply) {
	if r == nil || x.finished {
		return
	}
	if x.res.Local == nil {
		hdr, _ := headerOf(r.Headers)
		x.res.Local = &LocalReply{
			Status: r.StatusCode, Header: hdr, Body: append([]byte(nil), r.Body...),
			Details: r.Details, GRPCStatus: r.GRPCStatus, Phase: ph,
		}
	}
	if x.res.Details == "" || x.res.Details == "via_upstream" {
		x.res.Details = r.Details
	}
	x.reqStopped, x.upIgnored = true, true
	if x.clientStarted {
		x.abort(r.Details)
		return
	}
	x.props.SetResponse(r.StatusCode, r.Headers, r.Details)
	h := r.Headers.Clone()
	body := append([]byte(nil), r.Body...)
	if dir == host.Response {
		x.clientHeaders(h, len(body) == 0)
		if len(body) > 0 {
			x.clientBody(body, true)
		}
		return
	}
	x.encode(ResponseHeaders, func() host.Result { return x.st.ResponseHeaders(h, len(body) == 0) })
	x.drain()
	if len(body) > 0 {
		x.encode(ResponseBody, func() host.Result { return x.st.ResponseBody(body, true) })
		x.drain()
	}
}

// abort resets the stream.
func (x *exchange) abort(details string) {
	if x.finished {
		return
	}
	if details != "" {
		x.res.Details = details
	}
	x.reqStopped, x.upIgnored = true, true
	x.res.Reset = true
	x.finished = true
}

// onEvent handles an asynchronous effect of the plugin.
func (x *exchange) onEvent(ev host.Event) {
	if x.finished {
		return
	}
	switch ev.Kind {
	case host.EventResume:
		ph, dir := ResumeRequest, host.Request
		if ev.Dir == host.Response {
			ph, dir = ResumeResponse, host.Response
		}
		res := x.st.Resume(dir)
		x.step(ph, res.Action)
		x.onResult(ph, dir, res)
	case host.EventLocalReply:
		dir := host.Request
		if x.respSeen {
			dir = host.Response
		}
		x.localReply(x.lastPhase, dir, ev.Reply)
	case host.EventReset:
		x.abort("wasm_close_stream")
	case host.EventInject:
		if ev.Dir == host.Request {
			x.upstreamBody(ev.Data, ev.EndStream)
		} else {
			x.clientBody(ev.Data, ev.EndStream)
		}
	}
}

// wait handles events until the response is complete. A request that makes
// no progress for the pause timeout fails.
func (x *exchange) wait() error {
	p := x.p
	timeout := p.set.pauseTimeout
	last := time.Now()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		x.drain()
		if x.finished {
			return nil
		}
		p.qmu.Lock()
		if len(x.queue) > 0 {
			p.qmu.Unlock()
			continue
		}
		x.idle = true
		p.busy--
		p.quiet.Broadcast()
		p.qmu.Unlock()

		fired := false
		select {
		case <-x.ready:
		case <-timer.C:
			fired = true
		}
		p.qmu.Lock()
		if x.idle {
			x.idle = false
			p.busy++
		}
		pending := len(x.queue)
		p.qmu.Unlock()
		if pending > 0 {
			last = time.Now()
		}
		if fired {
			idle := time.Since(last)
			if idle >= timeout {
				return x.stuck(timeout)
			}
			timer.Reset(timeout - idle)
		}
	}
}

// stuck explains a request that stopped making progress.
func (x *exchange) stuck(after time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plugintest: %s %s made no progress for %s: ", x.req.method(), x.req.Path, after)
	switch {
	case x.res.Upstream == nil:
		b.WriteString("the plugin holds the request (its headers never reached the upstream)")
	case !x.upDone:
		b.WriteString("the plugin holds the request body or trailers (the upstream never got the whole request)")
	case x.clientStarted:
		b.WriteString("the plugin holds the response body or trailers")
	default:
		b.WriteString("the plugin holds the response (its headers never reached the client)")
	}
	steps := make([]string, len(x.res.Steps))
	for i, s := range x.res.Steps {
		steps[i] = s.String()
	}
	fmt.Fprintf(&b, "\n  steps: %s", strings.Join(steps, " "))
	if pend := x.p.callouts.pending(); len(pend) > 0 {
		fmt.Fprintf(&b, "\n  callouts without an answer: %s", strings.Join(pend, "; "))
	}
	if due := x.p.clock.pending(); len(due) > 0 {
		ds := make([]string, len(due))
		for i, d := range due {
			ds[i] = "+" + d.String()
		}
		sort.Strings(ds)
		fmt.Fprintf(&b, "\n  the simulated clock has timers due at %s: send the request with p.Go and move time with p.Advance or p.Tick", strings.Join(ds, " "))
	} else {
		b.WriteString("\n  the simulated clock has no timer: nothing scheduled will resume the request (did the plugin forget to resume it?)")
	}
	if tail := x.p.logs.tail(5); len(tail) > 0 {
		fmt.Fprintf(&b, "\n  last warnings and errors:\n    %s", strings.Join(tail, "\n    "))
	}
	return fmt.Errorf("%s", b.String())
}

// collect copies the stream's state into the result once it is done.
func (x *exchange) collect() {
	fs := x.st.FilterState()
	if len(fs) > 0 {
		x.res.Properties = make(map[string]string, len(fs))
		for k, v := range fs {
			x.res.Properties[strings.ReplaceAll(k, "\x00", ".")] = string(v)
		}
	}
	x.res.RouteCacheCleared = x.st.RouteCacheCleared()
	x.res.UpstreamOverrideHost = x.st.UpstreamOverrideHost()
}

func headerOr(h *host.HeaderMap, key string) string {
	v, _ := h.Get(key)
	return v
}
