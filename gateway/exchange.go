package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/attributes"
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

// upstreamMsg is what the upstream goroutine reports to the loop.
type upstreamMsg struct {
	resp     *http.Response
	body     []byte
	eos      bool
	trailers *host.HeaderMap
	err      error
	timedOut bool
}

type bodyChunk struct {
	data []byte
	eos  bool
	err  error
}

// exchange is one request: the plugin chain's state, the upstream request and
// the response to the client. Its loop runs on the handler's goroutine; all
// other goroutines (client body reader, upstream, plugin events) report to it
// over channels.
type exchange struct {
	gw    *Server
	snap  *snapshot
	ln    *listenerRuntime
	w     http.ResponseWriter
	r     *http.Request
	ctx   context.Context
	start time.Time

	route   *routeRuntime
	cluster *upstream
	stages  []*stage
	events  eventQueue
	props   *attributes.Request
	// routing holds the route cache and the request's filter state.
	routing routing
	// reqHeaders are the request headers as last released (for %REQ(…)% in response headers).
	reqHeaders *host.HeaderMap

	clientBody <-chan bodyChunk

	// request direction
	reqStopped bool // a local reply or reset ended the request direction
	upStarted  bool
	upBody     *bodyPipe
	upCh       chan upstreamMsg
	upCancel   context.CancelFunc
	upIgnored  bool // the upstream's response no longer matters

	// response direction
	respStarted bool // headers were written to the client
	finished    bool // the response ended (or the stream was reset)
	reset       bool
	status      int
	details     string
	bytesSent   int64
}

func (gw *Server) serveExchange(ln *listenerRuntime, snap *snapshot, w http.ResponseWriter, r *http.Request) {
	x := &exchange{
		gw: gw, snap: snap, ln: ln, w: w, r: r, ctx: r.Context(), start: time.Now(),
		upCh: make(chan upstreamMsg),
	}
	x.events.ready = make(chan struct{}, 1)
	x.run()
}

func (x *exchange) run() {
	headers := requestHeaderMap(x.r)
	x.applyConnectionManager(headers)
	x.props = newRequestAttributes(x.r, headers)
	x.route, x.cluster = x.ln.selectRoute(x.snap, headers)
	setRoute(x.props, x.ln, x.route, x.cluster)
	x.routing.start(x, headers)
	for i, p := range x.ln.plugins {
		if p.skip() {
			continue
		}
		idx := len(x.stages)
		s := &stage{plugin: p}
		s.st = p.newStream(host.StreamOptions{
			Properties:      routeProperties{x},
			Events:          func(ev host.Event) { x.events.push(stageEvent{stage: idx, ev: ev}) },
			FilterState:     x.routing.fs,
			ClearRouteCache: x.routing.clear,
		})
		_ = i
		x.stages = append(x.stages, s)
	}
	hasBody := x.r.ContentLength != 0 || len(x.r.TransferEncoding) > 0
	if hasBody {
		x.clientBody = readBody(x.ctx, x.r.Body)
	}
	x.decode(0, item{kind: itemHeaders, headers: headers, eos: !hasBody})
	x.loop()
	x.finish()
}

func (x *exchange) loop() {
	for !x.finished {
		select {
		case <-x.events.ready:
			for _, e := range x.events.take() {
				x.onEvent(e)
				if x.finished {
					return
				}
			}
		case c, ok := <-x.clientBody:
			if !ok {
				x.clientBody = nil
				continue
			}
			if c.err != nil {
				x.abort("downstream_remote_disconnect")
				return
			}
			if c.eos {
				x.clientBody = nil
			}
			x.decode(0, item{kind: itemBody, body: c.data, eos: c.eos})
		case m := <-x.upCh:
			x.onUpstream(m)
		case <-x.ctx.Done():
			x.abort("downstream_remote_disconnect")
			return
		}
	}
}

// decode feeds a request item to stage i (the router after the last stage).
func (x *exchange) decode(i int, it item) {
	if x.finished || x.reqStopped {
		return
	}
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
	switch it.kind {
	case itemHeaders:
		x.routing.headers(it.headers)
		res = st.RequestHeaders(it.headers, it.eos)
	case itemBody:
		res = st.RequestBody(it.body, it.eos)
	case itemTrailers:
		res = st.RequestTrailers(it.headers)
	}
	x.onResult(i, host.Request, res)
}

// encode feeds a response item to stage i (the client below stage 0).
func (x *exchange) encode(i int, it item) {
	if x.finished {
		return
	}
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
	switch it.kind {
	case itemHeaders:
		s.respSeen = true
		res = s.st.ResponseHeaders(it.headers, it.eos)
	case itemBody:
		res = s.st.ResponseBody(it.body, it.eos)
	case itemTrailers:
		res = s.st.ResponseTrailers(it.headers)
	}
	x.onResult(i, host.Response, res)
}

// onResult acts on what a stage returned.
func (x *exchange) onResult(i int, dir host.Direction, res host.Result) {
	switch res.Action {
	case host.ActionContinue, host.ActionStop:
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
		x.onResult(e.stage, e.ev.Dir, s.st.Resume(e.ev.Dir))
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
	x.mutateResponse(reply.Headers)
	if x.details == "" || x.details == "via_upstream" {
		x.details = reply.Details
	}
	x.stopRequest()
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

func newReply(status int, body, details string) *host.LocalReply {
	h := host.NewHeaderMap(":status", strconv.Itoa(status))
	if body != "" {
		h.Add("content-length", strconv.Itoa(len(body)))
		h.Add("content-type", "text/plain")
	}
	return &host.LocalReply{StatusCode: status, Headers: h, Body: []byte(body), Details: details, GRPCStatus: -1}
}

// stopRequest ends the request direction: nothing more goes upstream.
func (x *exchange) stopRequest() {
	x.reqStopped = true
	x.clientBody = nil
	if x.upBody != nil {
		x.upBody.close()
	}
}

// stopUpstream cancels the upstream request and ignores its response.
func (x *exchange) stopUpstream() {
	x.upIgnored = true
	if x.upCancel != nil {
		x.upCancel()
	}
}

// abort resets the stream.
func (x *exchange) abort(details string) {
	if x.finished {
		return
	}
	if details != "" {
		x.details = details
	}
	x.stopRequest()
	x.stopUpstream()
	x.finished = true
	x.reset = true
}

// toUpstream is the router: it sends the request to the route's cluster.
func (x *exchange) toUpstream(it item) {
	switch it.kind {
	case itemHeaders:
		x.startUpstream(it)
	case itemBody:
		if x.upBody != nil {
			x.upBody.write(it.body)
			if it.eos {
				x.upBody.close()
			}
		}
	case itemTrailers:
		if x.upBody != nil {
			x.upBody.close()
		}
	}
}

func (x *exchange) startUpstream(it item) {
	h := it.headers
	x.props.SetRequestHeaders(h)
	// A plugin that changed the request headers cleared the route cache
	// (unless it set clear_route_cache to off): Envoy picks the route again.
	x.routing.headers(h)
	x.routing.refresh()
	if x.route == nil {
		x.routerReply(http.StatusNotFound, "", "route_not_found")
		return
	}
	if dr := x.route.cfg.DirectResponse; dr != nil {
		x.routerReply(dr.Status, string(dr.Body), "direct_response")
		return
	}
	if x.cluster == nil {
		x.routerReply(http.StatusServiceUnavailable, "no healthy upstream", "cluster_not_found")
		return
	}
	x.beforeUpstream(h)
	req, cancel, err := x.upstreamRequest(h, it)
	if err != nil {
		x.gw.log.Warn("bad upstream request", "error", err, "route", x.route.cfg.Name)
		x.routerReply(http.StatusBadRequest, "", "invalid_upstream_request")
		return
	}
	req = x.traceUpstream(req)
	x.upStarted = true
	x.upCancel = cancel
	up := x.cluster
	ch := x.upCh
	ctx := req.Context()
	go roundTrip(ctx, up, req, ch)
}

// upstreamRequest builds the HTTP request for the cluster from the released headers.
func (x *exchange) upstreamRequest(h *host.HeaderMap, it item) (*http.Request, context.CancelFunc, error) {
	method, _ := h.Get(":method")
	path, _ := h.Get(":path")
	authority, _ := h.Get(":authority")
	if rw := x.route.cfg.PrefixRewrite; rw != "" {
		path = rewritePrefix(x.route, path, rw)
	}
	path = x.rewritePath(path)
	if hr := x.route.cfg.HostRewrite; hr != "" {
		authority = hr
	}
	ctx, cancel := context.WithCancel(context.Background())
	if t := x.route.cfg.EffectiveTimeout(); t > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), t)
	}
	var body io.ReadCloser = http.NoBody
	contentLength := int64(0)
	if !it.eos {
		x.upBody = newBodyPipe()
		body = x.upBody
		contentLength = -1
		if it.body != nil {
			contentLength = int64(len(it.body))
		} else if cl, ok := h.Get("content-length"); ok {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
				contentLength = n
			}
		}
	}
	u := x.cluster.scheme() + "://upstream/"
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if err := setRequestPath(req, path); err != nil {
		cancel()
		return nil, nil, err
	}
	req.Host = authority
	req.ContentLength = contentLength
	for _, f := range h.Fields {
		if strings.HasPrefix(f.Key, ":") || hopByHop(f.Key) || f.Key == "content-length" {
			continue
		}
		req.Header.Add(f.Key, f.Value)
	}
	keepUserAgent(req.Header)
	if t := x.route.cfg.EffectiveTimeout(); t > 0 {
		req.Header.Set("x-envoy-expected-rq-timeout-ms", strconv.FormatInt(t.Milliseconds(), 10))
	}
	return req, cancel, nil
}

// setRequestPath puts :path into the request URL, keeping its escaping.
func setRequestPath(req *http.Request, path string) error {
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return fmt.Errorf(":path %q: %w", path, err)
	}
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	return nil
}

func rewritePrefix(r *routeRuntime, path, rewrite string) string {
	if r.cfg.Match.Kind != 0 { // only prefix-style matches are rewritten
		if !strings.HasPrefix(path, r.cfg.Match.Value) {
			return path
		}
	}
	if strings.HasPrefix(path, r.cfg.Match.Value) {
		return rewrite + path[len(r.cfg.Match.Value):]
	}
	return path
}

// roundTrip sends the request and streams the response to the loop.
func roundTrip(ctx context.Context, up *upstream, req *http.Request, ch chan<- upstreamMsg) {
	send := func(m upstreamMsg) bool {
		select {
		case ch <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	resp, err := up.transport.RoundTrip(req)
	if err != nil {
		send(upstreamMsg{err: err, timedOut: ctx.Err() == context.DeadlineExceeded})
		return
	}
	defer resp.Body.Close()
	if !send(upstreamMsg{resp: resp}) {
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			if !send(upstreamMsg{body: chunk}) {
				return
			}
		}
		if err == io.EOF {
			m := upstreamMsg{eos: true}
			if len(resp.Trailer) > 0 {
				m.trailers = headerMapFrom(resp.Trailer)
			}
			send(m)
			return
		}
		if err != nil {
			send(upstreamMsg{err: err, timedOut: ctx.Err() == context.DeadlineExceeded})
			return
		}
	}
}

func (x *exchange) onUpstream(m upstreamMsg) {
	if x.upIgnored || x.finished {
		return
	}
	last := len(x.stages) - 1
	switch {
	case m.err != nil:
		if x.respStarted {
			x.abort("upstream_reset_after_response_started")
			return
		}
		status, body, details := classify(m.err, m.timedOut)
		x.upIgnored = true
		x.routerReply(status, body, details)
	case m.resp != nil:
		h := responseHeaderMap(m.resp)
		x.mutateResponse(h)
		x.props.SetResponse(m.resp.StatusCode, h, "via_upstream")
		if x.details == "" {
			x.details = "via_upstream"
		}
		eos := m.resp.Body == http.NoBody || m.resp.ContentLength == 0 || x.r.Method == http.MethodHead
		x.encode(last, item{kind: itemHeaders, headers: h, eos: eos})
		if eos {
			x.upIgnored = true
		}
	case m.trailers != nil:
		x.encode(last, item{kind: itemTrailers, headers: m.trailers, eos: true})
	default:
		x.encode(last, item{kind: itemBody, body: m.body, eos: m.eos})
	}
}

// toClient writes the response.
func (x *exchange) toClient(it item) {
	if x.finished {
		return
	}
	switch it.kind {
	case itemHeaders:
		status := 200
		if s, ok := it.headers.Get(":status"); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 999 {
				status = n
			}
		}
		hdr := x.w.Header()
		for _, f := range it.headers.Fields {
			if strings.HasPrefix(f.Key, ":") || hopByHop(f.Key) {
				continue
			}
			hdr.Add(f.Key, f.Value)
		}
		if it.body != nil {
			hdr.Set("content-length", strconv.Itoa(len(it.body)))
		}
		if _, ok := hdr["Content-Type"]; !ok {
			hdr["Content-Type"] = nil // no content sniffing: the upstream said nothing
		}
		x.status = status
		x.props.SetResponse(status, it.headers, x.details)
		x.finalizeResponse(hdr)
		x.w.WriteHeader(status)
		x.respStarted = true
		// Headers go out at once only for a response of unknown length
		// (SSE, chunked streams); otherwise they leave with the first body
		// chunk, saving a write per request.
		if it.eos {
			x.finished = true
		} else if _, sized := hdr["Content-Length"]; !sized {
			if f, ok := x.w.(http.Flusher); ok {
				f.Flush()
			}
		}
	case itemBody:
		if len(it.body) > 0 {
			n, err := x.w.Write(it.body)
			x.bytesSent += int64(n)
			if err != nil {
				x.abort("downstream_remote_disconnect")
				return
			}
			// The last chunk needs no flush: the response ends with it.
			if f, ok := x.w.(http.Flusher); ok && !it.eos {
				f.Flush()
			}
		}
		if it.eos {
			x.finished = true
		}
	case itemTrailers:
		for _, f := range it.headers.Fields {
			x.w.Header().Add(http.TrailerPrefix+f.Key, f.Value)
		}
		x.finished = true
	}
}

// finish ends every plugin stream (log, done, delete), writes the access
// log and resets the client connection if the stream was reset.
func (x *exchange) finish() {
	if !x.finished {
		x.abort("")
	}
	x.stopRequest()
	if x.upCancel != nil {
		x.upCancel()
	}
	for _, s := range x.stages {
		if s.st != nil {
			s.st.Done()
		}
	}
	x.gw.accessLog(x)
	if x.reset {
		panic(http.ErrAbortHandler)
	}
}

// readBody reads the client's body in the background.
func readBody(ctx context.Context, r io.Reader) <-chan bodyChunk {
	ch := make(chan bodyChunk)
	go func() {
		defer close(ch)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			c := bodyChunk{}
			if n > 0 {
				c.data = append([]byte(nil), buf[:n]...)
			}
			switch {
			case err == io.EOF:
				c.eos = true
			case err != nil:
				c.err = err
			}
			if n == 0 && err == nil {
				continue
			}
			select {
			case ch <- c:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// requestHeaderMap is the request as Envoy's filters see it: pseudo-headers
// first, then the headers with lower-case names, plus x-request-id and
// x-forwarded-proto as Envoy's connection manager adds them.
func requestHeaderMap(r *http.Request) *host.HeaderMap {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h := host.NewHeaderMap(":authority", r.Host, ":path", r.RequestURI, ":method", r.Method, ":scheme", scheme)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if hopByHop(lk) && lk != "te" {
			continue
		}
		for _, v := range r.Header[k] {
			h.Add(lk, v)
		}
	}
	if _, ok := h.Get("x-forwarded-proto"); !ok {
		h.Add("x-forwarded-proto", scheme)
	}
	if _, ok := h.Get("x-request-id"); !ok {
		h.Add("x-request-id", newRequestID())
	}
	return h
}

func responseHeaderMap(resp *http.Response) *host.HeaderMap {
	h := host.NewHeaderMap(":status", strconv.Itoa(resp.StatusCode))
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if hopByHop(lk) {
			continue
		}
		for _, v := range resp.Header[k] {
			h.Add(lk, v)
		}
	}
	if resp.ContentLength >= 0 {
		if _, ok := h.Get("content-length"); !ok && resp.ContentLength > 0 {
			h.Add("content-length", strconv.FormatInt(resp.ContentLength, 10))
		}
	}
	return h
}

func headerMapFrom(hdr http.Header) *host.HeaderMap {
	h := host.NewHeaderMap()
	for k, vs := range hdr {
		for _, v := range vs {
			h.Add(strings.ToLower(k), v)
		}
	}
	return h
}

// hopByHop reports the connection-level headers a proxy does not forward.
func hopByHop(k string) bool {
	switch k {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer":
		return true
	}
	return false
}

// accessLog writes one line per request with the response code details.
func (gw *Server) accessLog(x *exchange) {
	route := ""
	if x.route != nil {
		route = x.route.cfg.Name
	}
	cluster := ""
	if x.cluster != nil {
		cluster = x.cluster.cfg.Name
	}
	status := x.status
	if x.reset && !x.respStarted {
		status = 0
	}
	gw.metrics.request(status, time.Since(x.start))
	attrs := []slog.Attr{
		slog.String("method", x.r.Method),
		slog.String("path", x.r.RequestURI),
		slog.String("authority", x.r.Host),
		slog.Int("status", status),
		slog.String("details", x.details),
		slog.String("route", route),
		slog.String("cluster", cluster),
		slog.Int64("bytes_sent", x.bytesSent),
		slog.Duration("duration", time.Since(x.start)),
		slog.String("request_id", x.props.ID),
	}
	attrs = append(attrs, gw.filterStateAttrs(x.routing.fs)...)
	gw.accessLogger.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}
