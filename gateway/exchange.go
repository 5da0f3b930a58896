package gateway

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/attributes"
	"github.com/wasmgate/wasmgate/internal/http1"
)

// itemKind is what moves along the chain: headers, a body chunk or trailers.
type itemKind uint8

const (
	itemHeaders itemKind = iota
	itemBody
	itemTrailers
)

type item struct {
	kind    itemKind
	headers *host.HeaderMap
	body    []byte
	eos     bool
}

// stage is one plugin of a request's chain.
type stage struct {
	plugin   *pluginRuntime
	st       *host.Stream
	respSeen bool // response headers reached this plugin
	// holding is set while the plugin holds a direction (its last call
	// returned Stop); pausedIn names the callback that stopped it when the
	// plugin holds headers, trailers or the end of the body, which only it
	// can release, and pausedAt says when.
	holding  [2]bool
	pausedIn string
	pausedAt time.Time
}

// stageEvent is an asynchronous event of one stage.
type stageEvent struct {
	stage int
	ev    host.Event
}

// eventQueue collects events from any goroutine for the request's loop.
type eventQueue struct {
	mu     sync.Mutex
	events []stageEvent
	ready  chan struct{}
}

func (q *eventQueue) push(e stageEvent) {
	q.mu.Lock()
	q.events = append(q.events, e)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *eventQueue) take() []stageEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	ev := q.events
	q.events = nil
	return ev
}

// clientMsg is what the request body reader reports to the loop.
type clientMsg struct {
	data     []byte
	trailers *host.HeaderMap
	eos      bool
	err      error
}

// exchange is one request through a listener, driven the way Envoy's filter
// manager drives HTTP filters: request headers, body and trailers pass
// through the plugins in order, then to the router; the response passes back
// through them in reverse. Everything runs on one goroutine (the request's);
// the client body reader, the upstream call and the plugins' asynchronous
// events report to it over channels that cannot drop a message while the
// exchange runs. The exchange ends with exactly one response or one reset,
// and its access record says which.
type exchange struct {
	// tunnel is the upstream connection a 101 (or a 2xx to CONNECT) came
	// on, until the response head reaches the client and the tunnel runs.
	tunnel *tunnelConn
	gw     *Server
	snap   *snapshot
	ln     *listenerRuntime
	ds     downstream
	opts   *config.HTTPSettings
	start  time.Time
	done   chan struct{} // closed when the exchange is over: helpers stop sending

	route   *routeRuntime
	cluster *upstream
	stages  []*stage
	// stageBuf and stagePtrs hold the stages of a short chain (most
	// chains) with the exchange, instead of an allocation per stage.
	stageBuf  [2]stage
	stagePtrs [2]*stage
	events    eventQueue
	props     *attributes.Request
	rec       accessRecord
	rq        *inbound
	// routing holds the route cache and the request's filter state.
	routing routing
	// reqHeaders are the request headers as last released (for %REQ(…)% in response headers).
	reqHeaders *host.HeaderMap
	// trace records the request when it is traced (nil otherwise).
	trace *trace.Request

	// request direction
	clientBody  chan clientMsg // the reader's channel; nil when the body is done
	clientEnded bool           // the client sent its whole request
	reqStopped  bool           // a local reply or reset ended the request direction
	routerEnded bool           // the request's end reached the router
	up          *upstreamCall
	upIgnored   bool // the upstream's response no longer matters
	upHeaders   bool // the upstream's response headers arrived
	upEnded     bool // the upstream's response ended

	// response direction
	respStarted bool // headers were written to the client
	finished    bool // the response ended (or the stream was reset)
	reset       bool
	closeConn   bool // the connection closes after this response

	// flow control: reading stops above the high watermark until the held
	// bytes drain below the low one
	reqPaused, respPaused bool
	reqLimit, upLimit     int

	// timeouts
	timer           *time.Timer
	idleTimeout     time.Duration
	lastActivity    time.Time
	routeDeadline   time.Time
	requestDeadline time.Time
	pauseWarned     bool
}

// inbound is what a server hands the exchange: the request as Envoy's
// filters see it, and where it came from.
type inbound struct {
	headers  *host.HeaderMap
	hasBody  bool
	protocol string
	remote   string
	local    string
	tls      bool
	// serverName is the TLS server name the client asked for.
	serverName string
	// tlsInfo describes the TLS connection; nil for plaintext.
	tlsInfo *attributes.TLS
	// upgrade is the upgrade the request asks for ("websocket", "connect"
	// for CONNECT), or "".
	upgrade string
}

func (gw *Server) serveExchange(ln *listenerRuntime, snap *snapshot, ds downstream, rq *inbound) {
	x := &exchange{
		gw: gw, snap: snap, ln: ln, ds: ds, opts: &ln.cfg.HTTP, start: time.Now(),
		done: make(chan struct{}),
	}
	x.events.ready = make(chan struct{}, 1)
	x.lastActivity = x.start
	x.reqLimit = x.opts.EffectiveBufferLimit()
	x.idleTimeout = x.opts.EffectiveStreamIdleTimeout()
	if t := x.opts.EffectiveRequestTimeout(); t > 0 {
		x.requestDeadline = x.start.Add(t)
	}
	x.run(rq)
}

// rejectRequest answers a request the connection manager refuses before
// any plugin sees it (Envoy's codec errors): status with its reason phrase
// as the body, details and flags in the access log, and the connection
// closes after the response.
func (gw *Server) rejectRequest(ln *listenerRuntime, snap *snapshot, ds downstream, rq *inbound, status int, details string, flags responseFlags) {
	x := &exchange{gw: gw, snap: snap, ln: ln, ds: ds, opts: &ln.cfg.HTTP, start: time.Now(), done: make(chan struct{})}
	x.rq = rq
	x.rec.start(rq, rq.headers)
	x.props = newRequestAttributes(rq, rq.headers)
	x.routing.start(x, rq.headers)
	x.rec.details, x.rec.flags = details, flags
	x.closeConn = true
	x.clientEnded = !rq.hasBody
	body := http.StatusText(status)
	x.toClient(item{kind: itemHeaders, headers: newReply(status, body, details).Headers})
	x.toClient(item{kind: itemBody, body: []byte(body), eos: true})
	x.finish()
}

func (x *exchange) run(rq *inbound) {
	headers := rq.headers
	x.rq = rq
	x.applyConnectionManager(headers)
	x.rec.start(rq, headers)
	x.props = newRequestAttributes(rq, headers)
	x.startTrace(headers)
	x.selectRoute(headers)
	x.routing.start(x, headers)
	x.stages = x.stagePtrs[:0]
	for _, p := range x.ln.plugins {
		if p.skip() {
			continue
		}
		idx := len(x.stages)
		var s *stage
		if idx < len(x.stageBuf) {
			s = &x.stageBuf[idx]
			s.plugin = p
		} else {
			s = &stage{plugin: p}
		}
		s.st = p.newStream(host.StreamOptions{
			Properties:      routeProperties{x},
			Events:          func(ev host.Event) { x.events.push(stageEvent{stage: idx, ev: ev}) },
			FilterState:     x.routing.fs,
			ClearRouteCache: x.routing.clear,
			BufferLimit:     x.reqLimit,
			Observer:        trace.Observer(x.trace.Plugin(p.cfg.Key())),
		})
		x.stages = append(x.stages, s)
	}
	if rq.hasBody {
		x.clientBody = make(chan clientMsg)
		left := int64(-1)
		if cl, ok := headers.Get("content-length"); ok {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
				left = n
			}
		}
		go x.readClient(x.clientBody, left)
	} else {
		x.clientEnded = true
	}
	x.decode(0, item{kind: itemHeaders, headers: headers, eos: !rq.hasBody})
	for !x.finished {
		x.wait()
	}
	x.finish()
}

// wait handles the next thing that happens: a plugin event, client body,
// an upstream message, a timeout, the client going away or the snapshot's
// drain ending.
func (x *exchange) wait() {
	if evs := x.events.take(); len(evs) > 0 {
		for _, e := range evs {
			x.onEvent(e)
			if x.finished {
				return
			}
		}
		x.checkWatermarks()
		return
	}
	var client chan clientMsg
	if x.clientBody != nil && !x.reqPaused {
		client = x.clientBody
	}
	var upMsgs <-chan upstreamMsg
	var drained <-chan struct{}
	if x.up != nil {
		if !x.upIgnored && !x.respPaused {
			upMsgs = x.up.msgs
		}
		if x.reqPaused && x.up.body != nil {
			drained = x.up.body.drained
		}
	}
	var timeout <-chan time.Time
	if d := x.nextDeadline(); !d.IsZero() {
		wait := time.Until(d)
		if wait <= 0 {
			x.onTimeout(time.Now())
			return
		}
		if x.timer == nil {
			x.timer = time.NewTimer(wait)
		} else {
			x.timer.Reset(wait)
		}
		timeout = x.timer.C
	}
	select {
	case <-x.events.ready:
	case m := <-client:
		x.onClient(m)
	case m := <-upMsgs:
		x.onUpstream(m)
	case <-drained:
		x.checkWatermarks()
	case now := <-timeout:
		x.onTimeout(now)
	case <-x.ds.gone():
		x.rec.flags |= flagDownstreamConnectionTermination
		x.abort("downstream_remote_disconnect")
	case <-x.snap.abort:
		x.abort("downstream_local_disconnect")
	}
	if x.timer != nil && timeout != nil {
		x.timer.Stop()
	}
}

// activity records that headers or body moved: the stream idle timer restarts.
func (x *exchange) activity() { x.lastActivity = time.Now() }

// readClient reads the request body and hands it to the loop chunk by
// chunk; it blocks while the loop does not take them (flow control). left
// is the body's length when known (-1 otherwise), for buffers of its size.
func (x *exchange) readClient(out chan<- clientMsg, left int64) {
	for {
		size := readChunk
		if left >= 0 && left < readChunk {
			size = int(left) + 1 // room to see the end with the last bytes
		}
		buf := make([]byte, size)
		n, err := x.ds.readBody(buf)
		left -= int64(n)
		m := clientMsg{data: buf[:n]}
		switch {
		case err == io.EOF:
			m.eos = true
			m.trailers = x.ds.requestTrailers()
		case err != nil:
			m.err = err
		}
		if n == 0 && err == nil {
			continue
		}
		select {
		case out <- m:
		case <-x.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// readChunk is the size of one read from a peer.
const readChunk = 32 << 10

func (x *exchange) onClient(m clientMsg) {
	x.activity()
	x.rec.bytesReceived += int64(len(m.data))
	switch {
	case m.err != nil:
		x.clientBody = nil
		x.onClientError(m.err)
	case m.eos:
		x.clientBody = nil
		x.clientEnded = true
		if m.trailers != nil && m.trailers.Len() > 0 {
			if len(m.data) > 0 {
				x.decode(0, item{kind: itemBody, body: m.data})
			}
			x.decode(0, item{kind: itemTrailers, headers: m.trailers, eos: true})
		} else {
			x.decode(0, item{kind: itemBody, body: m.data, eos: true})
		}
	default:
		x.decode(0, item{kind: itemBody, body: m.data})
	}
	x.checkWatermarks()
}

// onClientError ends a request whose body failed: a malformed body is
// answered 400 (Envoy's codec error) when nothing was sent yet; a client
// that went away resets the stream. Either way the upstream request is
// aborted, never ended cleanly.
func (x *exchange) onClientError(err error) {
	var pe *protocolError
	if errors.As(err, &pe) {
		x.rec.flags |= flagDownstreamProtocolError
		x.closeConn = true
		x.stopRequest(err)
		if x.respStarted {
			x.abort(pe.details)
			return
		}
		x.hcmReply(pe.status, http.StatusText(pe.status), pe.details)
		return
	}
	x.rec.flags |= flagDownstreamConnectionTermination
	x.abort("downstream_remote_disconnect")
}

// decode feeds a request item to stage i (the router after the last stage).
func (x *exchange) decode(i int, it item) {
	if x.finished || x.reqStopped {
		return
	}
	x.activity()
	if i >= len(x.stages) {
		x.toUpstream(it)
		return
	}
	st := x.stages[i].st
	if st == nil {
		// The plugin failed to load and fails closed: Envoy answers 503.
		if it.kind == itemHeaders {
			x.localReply(i, host.Request, newReply(http.StatusServiceUnavailable, "", "wasm_fail_stream"))
		}
		return
	}
	var res host.Result
	var cb string
	switch it.kind {
	case itemHeaders:
		x.routing.headers(it.headers)
		res, cb = st.RequestHeaders(it.headers, it.eos), "on_request_headers"
	case itemBody:
		res, cb = st.RequestBody(it.body, it.eos), "on_request_body"
	case itemTrailers:
		res, cb = st.RequestTrailers(it.headers), "on_request_trailers"
	}
	x.onResult(i, host.Request, res, cb, it.kind != itemBody || it.eos)
}

// encode feeds a response item to stage i (the client below stage 0).
func (x *exchange) encode(i int, it item) {
	if x.finished {
		return
	}
	x.activity()
	if i < 0 {
		x.toClient(it)
		return
	}
	s := x.stages[i]
	if s.st == nil {
		x.encode(i-1, it)
		return
	}
	var res host.Result
	var cb string
	switch it.kind {
	case itemHeaders:
		s.respSeen = true
		res, cb = s.st.ResponseHeaders(it.headers, it.eos), "on_response_headers"
	case itemBody:
		res, cb = s.st.ResponseBody(it.body, it.eos), "on_response_body"
	case itemTrailers:
		res, cb = s.st.ResponseTrailers(it.headers), "on_response_trailers"
	}
	x.onResult(i, host.Response, res, cb, it.kind != itemBody || it.eos)
}

// onResult acts on what a stage returned from callback cb; final says the
// call delivered headers, trailers or the end of the body.
func (x *exchange) onResult(i int, dir host.Direction, res host.Result, cb string, final bool) {
	s := x.stages[i]
	switch res.Action {
	case host.ActionContinue, host.ActionStop:
		stopped := res.Action == host.ActionStop
		s.holding[dir] = stopped
		switch {
		case !stopped:
			s.pausedIn = ""
		case final && s.pausedIn == "":
			s.pausedIn, s.pausedAt = cb, time.Now()
		}
		x.release(i, dir, res)
	case host.ActionLocalReply:
		x.localReply(i, dir, res.LocalReply)
	case host.ActionReset:
		x.abort("wasm_close_stream")
	}
}

// release passes what a stage released on to the next one.
func (x *exchange) release(i int, dir host.Direction, res host.Result) {
	next := func(it item) {
		if dir == host.Request {
			x.decode(i+1, it)
		} else {
			x.encode(i-1, it)
		}
	}
	tail := res.Trailers != nil
	if res.Headers != nil {
		next(item{kind: itemHeaders, headers: res.Headers, eos: res.EndStream && len(res.Body) == 0 && !tail,
			body: fullBody(res)})
	}
	if len(res.Body) > 0 || (res.EndStream && res.Headers == nil && !tail) {
		next(item{kind: itemBody, body: res.Body, eos: res.EndStream && !tail})
	}
	if tail {
		next(item{kind: itemTrailers, headers: res.Trailers, eos: true})
	}
}

// fullBody returns the whole body when a stage releases headers together with
// the complete body (it buffered it), so the length can be set exactly.
func fullBody(res host.Result) []byte {
	if res.EndStream && res.Trailers == nil && len(res.Body) > 0 {
		return res.Body
	}
	return nil
}

func (x *exchange) onEvent(e stageEvent) {
	s := x.stages[e.stage]
	switch e.ev.Kind {
	case host.EventResume:
		cb := "on_request_headers"
		if e.ev.Dir == host.Response {
			cb = "on_response_headers"
		}
		x.onResult(e.stage, e.ev.Dir, s.st.Resume(e.ev.Dir), cb, false)
	case host.EventLocalReply:
		dir := host.Request
		if s.respSeen {
			dir = host.Response
		}
		x.localReply(e.stage, dir, e.ev.Reply)
	case host.EventReset:
		x.abort("wasm_close_stream")
	case host.EventInject:
		x.encode(e.stage-1, item{kind: itemBody, body: e.ev.Data, eos: e.ev.EndStream})
	}
}

// localReply answers the client from stage i. From the request phase the
// reply runs through the response callbacks of stage i and the stages before
// it; from the response phase it replaces the upstream response.
func (x *exchange) localReply(i int, dir host.Direction, reply *host.LocalReply) {
	if reply == nil || x.finished {
		return
	}
	if isGRPC(x.rq.headers) {
		reply = grpcReply(reply)
	}
	x.mutateResponse(reply.Headers)
	x.rec.details = reply.Details
	x.stopRequest(nil)
	x.stopUpstream()
	if x.respStarted {
		x.abort(reply.Details)
		return
	}
	if dir == host.Response {
		x.toClient(item{kind: itemHeaders, headers: reply.Headers, eos: len(reply.Body) == 0, body: reply.Body})
		if len(reply.Body) > 0 {
			x.toClient(item{kind: itemBody, body: reply.Body, eos: true})
		}
		return
	}
	if i >= len(x.stages) {
		i = len(x.stages) - 1 // the router's reply starts at the last plugin
	}
	x.encode(i, item{kind: itemHeaders, headers: reply.Headers, eos: len(reply.Body) == 0, body: reply.Body})
	if len(reply.Body) > 0 {
		x.encode(i, item{kind: itemBody, body: reply.Body, eos: true})
	}
}

// routerReply is a local reply of the router (after the last plugin): it runs
// through every plugin's response callbacks.
func (x *exchange) routerReply(status int, body, details string) {
	x.localReply(len(x.stages), host.Request, newReply(status, body, details))
}

// hcmReply is a local reply of the connection manager (a timeout, a
// protocol error): it runs through every plugin's response callbacks, or
// replaces a response that plugins hold; after the response started it is
// a reset.
func (x *exchange) hcmReply(status int, body, details string) {
	dir := host.Request
	for _, s := range x.stages {
		if s.respSeen {
			dir = host.Response
		}
	}
	x.localReply(len(x.stages), dir, newReply(status, body, details))
}

func newReply(status int, body, details string) *host.LocalReply {
	h := host.NewHeaderMap(":status", statusText(status))
	if body != "" {
		h.Add("content-length", strconv.Itoa(len(body)))
		h.Add("content-type", "text/plain")
	}
	return &host.LocalReply{StatusCode: status, Headers: h, Body: []byte(body), Details: details, GRPCStatus: -1}
}

// stopRequest ends the request direction: nothing more goes upstream. With
// err the upstream request body is aborted (the upstream sees a reset, not
// the end of the body); without, whatever was sent is the whole request.
func (x *exchange) stopRequest(err error) {
	x.reqStopped = true
	x.clientBody = nil
	if x.up != nil && x.up.body != nil {
		if err == nil && !x.routerEnded {
			err = errRequestAborted
		}
		if err != nil && !x.routerEnded {
			x.up.reset()
		}
		x.up.body.finish(err)
	}
}

var errRequestAborted = errors.New("request aborted")

// stopUpstream cancels the upstream request and ignores its response.
func (x *exchange) stopUpstream() {
	x.upIgnored = true
	x.routeDeadline = time.Time{}
	if x.up != nil {
		if !x.upEnded {
			x.up.reset()
		}
		if x.up.body != nil {
			x.up.body.finish(errRequestAborted)
		}
		x.up.cancel()
	}
}

// abort resets the stream.
func (x *exchange) abort(details string) {
	if x.finished {
		return
	}
	if details != "" {
		x.rec.details = details
	}
	x.stopRequest(errRequestAborted)
	x.stopUpstream()
	x.finished = true
	x.reset = true
}

// selectRoute picks the route and cluster for the request headers as they
// arrived and records them in the request's attributes; later changes go
// through the route cache (routing).
func (x *exchange) selectRoute(h *host.HeaderMap) {
	x.route, x.cluster = x.ln.selectRoute(x.snap, h)
	setRoute(x.props, x.ln, x.route, x.cluster)
	x.traceRoute(false)
	x.routeIdleTimeout()
}

// routeIdleTimeout applies the route's idle_timeout, which replaces the
// listener's stream idle timeout.
func (x *exchange) routeIdleTimeout() {
	if x.route != nil {
		x.idleTimeout = x.route.cfg.EffectiveIdleTimeout(x.opts.EffectiveStreamIdleTimeout())
	}
}

// toUpstream is the router: it sends the request to the route's cluster.
func (x *exchange) toUpstream(it item) {
	switch it.kind {
	case itemHeaders:
		x.startUpstream(it)
		if it.eos {
			x.requestEnded()
		}
	case itemBody:
		if x.up != nil && x.up.body != nil {
			x.up.body.write(it.body)
			if it.eos {
				x.requestEnded()
			}
		}
	case itemTrailers:
		// Request trailers are not forwarded: the body ends.
		x.requestEnded()
	}
}

// requestEnded is the router's end of the request: the body is complete
// upstream and the route timeout starts, as Envoy's does.
func (x *exchange) requestEnded() {
	if x.routerEnded || x.up == nil {
		return
	}
	x.routerEnded = true
	x.requestDeadline = time.Time{}
	if x.up.body != nil {
		x.up.body.finish(nil)
	}
	if t := x.route.cfg.EffectiveTimeout(); t > 0 && !x.upIgnored {
		x.routeDeadline = time.Now().Add(t)
	}
}

func (x *exchange) startUpstream(it item) {
	h := it.headers
	x.props.SetRequestHeaders(h)
	// A plugin that changed the request headers cleared the route cache
	// (unless it set clear_route_cache to off): Envoy picks the route again.
	x.routing.headers(h)
	x.routing.refresh()
	x.routeIdleTimeout()
	if x.route == nil {
		x.rec.flags |= flagNoRouteFound
		x.routerReply(http.StatusNotFound, "", "route_not_found")
		return
	}
	if dr := x.route.cfg.DirectResponse; dr != nil {
		x.routerReply(dr.Status, string(dr.Body), "direct_response")
		return
	}
	if x.cluster == nil {
		x.rec.flags |= flagNoClusterFound
		x.routerReply(http.StatusServiceUnavailable, "no healthy upstream", "cluster_not_found")
		return
	}
	x.beforeUpstream(h)
	x.routerRequestHeaders(h)
	up, err := x.cluster.start(x, h, it)
	if err != nil {
		x.gw.log.Warn("bad upstream request", "error", err, "route", x.route.cfg.Name)
		x.routerReply(http.StatusBadRequest, "", "invalid_upstream_request")
		return
	}
	x.up = up
	x.upLimit = x.cluster.cfg.Upstream.EffectiveBufferLimit()
	x.trace.UpstreamStart(x.cluster.cfg.Name)
}

// routerRequestHeaders applies what the router adds to the request before
// it goes upstream.
func (x *exchange) routerRequestHeaders(h *host.HeaderMap) {
	if t := x.route.cfg.EffectiveTimeout(); t > 0 {
		h.Set("x-envoy-expected-rq-timeout-ms", strconv.FormatInt(t.Milliseconds(), 10))
	}
}

// routerResponseHeaders applies what the router does to the upstream's
// response headers before they enter the chain.
func (x *exchange) routerResponseHeaders(h *host.HeaderMap) {}

func (x *exchange) onUpstream(m upstreamMsg) {
	if x.upIgnored || x.finished {
		return
	}
	x.activity()
	last := len(x.stages) - 1
	switch {
	case m.err != nil:
		x.upIgnored = true
		x.routeDeadline = time.Time{}
		if x.upHeaders {
			x.rec.flags |= flagUpstreamConnectionTermination
			x.abort("upstream_reset_after_response_started{connection_termination}")
			return
		}
		f := classify(m.err)
		x.traceUpstreamEnd(0, m.err)
		x.rec.flags |= f.flag
		x.stopRequest(errRequestAborted)
		x.routerReply(f.status, f.body, f.details)
	case m.headers != nil:
		x.upHeaders = true
		x.tunnel = m.tunnel
		if m.tls != nil {
			x.props.SetUpstreamTLS(connectionTLS(m.tls, x.cluster.clientCert()))
		}
		x.mutateResponse(m.headers)
		x.routerResponseHeaders(m.headers)
		status, _ := strconv.Atoi(headerValue(m.headers, ":status"))
		x.traceUpstreamEnd(status, nil)
		x.props.SetResponse(status, m.headers, "via_upstream")
		x.rec.details = "via_upstream"
		if m.eos {
			x.upstreamEnded()
		}
		x.encode(last, item{kind: itemHeaders, headers: m.headers, eos: m.eos})
	case m.trailers != nil:
		x.upstreamEnded()
		x.props.SetResponseTrailers(m.trailers)
		x.encode(last, item{kind: itemTrailers, headers: m.trailers, eos: true})
	default:
		if m.eos {
			x.upstreamEnded()
		}
		x.encode(last, item{kind: itemBody, body: m.body, eos: m.eos})
	}
	x.checkWatermarks()
}

// upstreamEnded is the end of the upstream response: the route timeout stops.
func (x *exchange) upstreamEnded() {
	x.upEnded = true
	x.upIgnored = true
	x.routeDeadline = time.Time{}
}

func headerValue(h *host.HeaderMap, key string) string {
	v, _ := h.Get(key)
	return v
}

// toClient writes the response.
func (x *exchange) toClient(it item) {
	if x.finished {
		return
	}
	if d := x.idleTimeout; d > 0 {
		x.ds.setWriteDeadline(time.Now().Add(d))
	}
	var err error
	switch it.kind {
	case itemHeaders:
		status := 200
		if s, ok := it.headers.Get(":status"); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 999 {
				status = n
			}
		}
		if it.body != nil {
			it.headers.Set("content-length", strconv.Itoa(len(it.body)))
		}
		x.responseHeadersOut(it.headers)
		x.rec.status = status
		x.trace.Response(status, x.rec.details)
		x.props.SetResponse(status, it.headers, x.rec.details)
		x.requestDeadline = time.Time{} // Envoy's request timeout ends when the response starts
		x.respStarted = true
		err = x.ds.writeHead(status, it.headers, it.eos, x.closeConn)
		if it.eos {
			x.finished = true
		}
		if err == nil && x.tunnel != nil && (status == http.StatusSwitchingProtocols || (x.rq.upgrade == "connect" && status/100 == 2)) {
			x.runTunnel()
			return
		}
	case itemBody:
		if len(it.body) > 0 || it.eos {
			if err = x.ds.writeBody(it.body, it.eos); err == nil {
				x.rec.bytesSent += int64(len(it.body))
			}
		}
		if it.eos {
			x.finished = true
		}
	case itemTrailers:
		err = x.ds.writeTrailers(it.headers)
		x.finished = true
	}
	if err != nil {
		x.finished = false
		switch {
		case isTimeout(err):
			x.rec.flags |= flagStreamIdleTimeout
			x.abort("stream_idle_timeout")
		case errors.Is(err, http1.ErrBodyLength):
			// The client went nowhere: the body does not fit the length the
			// headers announced (a plugin changed it and kept content-length).
			x.gw.log.Warn("response body does not match its content-length; a plugin that changes the body must remove content-length",
				"request_id", x.props.ID, "route", x.routeName())
			x.rec.flags |= flagLocalReset
			x.abort(detailsBodyLengthMismatch)
		default:
			x.rec.flags |= flagDownstreamConnectionTermination
			x.abort("downstream_remote_disconnect")
		}
	}
}

// detailsBodyLengthMismatch is the access log's details for a response
// reset because its body did not match its content-length (Envoy has no
// name for it: its HTTP/1 codec writes whatever it gets).
const detailsBodyLengthMismatch = "response_content_length_mismatch"

func (x *exchange) routeName() string {
	if x.route == nil {
		return ""
	}
	return x.route.cfg.Name
}

// responseHeadersOut is where the response headers leave for the client,
// after every plugin: the connection manager's Server header
// (finalizeResponse) and Date when the response has none.
func (x *exchange) responseHeadersOut(h *host.HeaderMap) {
	x.finalizeResponse(h)
	if _, ok := h.Get("date"); !ok {
		h.Add("date", httpDate())
	}
}

var dateCache atomic.Pointer[cachedDate]

type cachedDate struct {
	sec  int64
	text string
}

// httpDate is the current time in HTTP's date format, formatted once a second.
func httpDate() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.text
	}
	d := &cachedDate{sec: now.Unix(), text: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.text
}

// checkWatermarks stops reading from a side whose data is held above the
// buffer limit and resumes it below half the limit, as Envoy's watermark
// buffers do.
func (x *exchange) checkWatermarks() {
	if x.finished {
		return
	}
	if x.clientBody != nil {
		held, piped := x.held(host.Request), 0
		if x.up != nil && x.up.body != nil {
			piped = x.up.body.buffered()
		}
		switch {
		case !x.reqPaused && (held > x.reqLimit || (x.upLimit > 0 && piped > x.upLimit)):
			x.reqPaused = true
			if x.up != nil && x.up.body != nil {
				x.up.body.notifyBelow(x.upLimit / 2)
			}
		case x.reqPaused && held <= x.reqLimit/2 && piped <= x.upLimit/2:
			x.reqPaused = false
		}
	}
	if x.up != nil && !x.upIgnored {
		held := x.held(host.Response)
		switch {
		case !x.respPaused && held > x.reqLimit:
			x.respPaused = true
		case x.respPaused && held <= x.reqLimit/2:
			x.respPaused = false
		}
	}
}

// held is the body data the plugins hold in dir.
func (x *exchange) held(dir host.Direction) int {
	n := 0
	for _, s := range x.stages {
		if s.st != nil && s.holding[dir] {
			n += s.st.Buffered(dir)
		}
	}
	return n
}

// nextDeadline is the earliest timeout of the stream.
func (x *exchange) nextDeadline() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	consider(x.routeDeadline)
	consider(x.requestDeadline)
	if x.idleTimeout > 0 {
		consider(x.lastActivity.Add(x.idleTimeout))
	}
	if s := x.pausedStage(); s != nil && !x.pauseWarned {
		consider(s.pausedAt.Add(x.gw.pauseWarning()))
	}
	return next
}

func (x *exchange) pausedStage() *stage {
	for _, s := range x.stages {
		if s.pausedIn != "" && s.st != nil {
			return s
		}
	}
	return nil
}

// onTimeout handles every deadline that has passed.
func (x *exchange) onTimeout(now time.Time) {
	if s := x.pausedStage(); s != nil && !x.pauseWarned && !now.Before(s.pausedAt.Add(x.gw.pauseWarning())) {
		x.pauseWarned = true
		if !s.st.Pending() {
			x.gw.log.Warn("a plugin holds the request and nothing is pending that could resume it: it never resumes?",
				"plugin", s.plugin.cfg.Key(), "callback", s.pausedIn, "paused_for", now.Sub(s.pausedAt).Round(time.Millisecond),
				"request_id", x.props.ID)
		}
	}
	switch {
	case !x.routeDeadline.IsZero() && !now.Before(x.routeDeadline):
		x.rec.flags |= flagUpstreamRequestTimeout
		x.stopUpstream()
		x.upIgnored = true
		if x.respStarted || x.upHeaders {
			x.abort("upstream_response_timeout")
			return
		}
		x.routerReply(http.StatusGatewayTimeout, errUpstreamTimeout.Error(), "upstream_response_timeout")
	case !x.requestDeadline.IsZero() && !now.Before(x.requestDeadline):
		x.requestDeadline = time.Time{}
		x.timeoutReply("request timeout", "request_overall_timeout")
	case x.idleTimeout > 0 && !now.Before(x.lastActivity.Add(x.idleTimeout)):
		x.rec.flags |= flagStreamIdleTimeout
		x.timeoutReply("stream timeout", "stream_idle_timeout")
	}
}

// timeoutReply ends the stream for one of the connection manager's
// timeouts: 504 when the whole request was received, 408 before that
// (Envoy's maybeRequestTimeoutCode), a reset once the response started.
func (x *exchange) timeoutReply(body, details string) {
	if x.respStarted {
		x.abort(details)
		return
	}
	status := http.StatusRequestTimeout
	if x.clientEnded {
		status = http.StatusGatewayTimeout
	} else {
		x.closeConn = true
	}
	x.stopRequest(errRequestAborted)
	x.hcmReply(status, body, details)
}

// finish ends every plugin stream (log, done, delete), writes the access
// log and resets the client stream if the exchange was reset.
func (x *exchange) finish() {
	if !x.finished {
		x.abort("")
	}
	if x.tunnel != nil {
		x.tunnel.close() // a tunnel the response did not open
	}
	x.stopRequest(nil)
	if x.up != nil {
		x.up.cancel()
	}
	if x.timer != nil {
		x.timer.Stop()
	}
	close(x.done)
	x.props.SetResponseFlags(uint64(x.rec.flags))
	for _, s := range x.stages {
		if s.st != nil {
			s.st.Done()
		}
	}
	x.rec.reset = x.reset
	x.finishTrace()
	x.gw.writeAccessLog(x)
	if x.reset {
		x.ds.abort()
	}
}

// runTunnel copies bytes between the client and the upstream connection
// of a tunnel (tunnel.go) until either ends or the stream idle timeout
// passes with nothing moving; the exchange then ends.
func (x *exchange) runTunnel() {
	t := x.tunnel
	x.tunnel = nil
	sent, received := x.ds.tunnel(t, x.idleTimeout)
	x.rec.bytesSent += sent
	x.rec.bytesReceived += received
	x.finished = true
}
