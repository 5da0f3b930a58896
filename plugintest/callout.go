package plugintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/grpccallout"
	"github.com/wasmgate/wasmgate/internal/redisbridge"
	"github.com/wasmgate/wasmgate/sdk/resp"
)

// HTTPCall is an HTTP callout the plugin made (proxy_http_call).
type HTTPCall struct {
	Cluster   string
	Method    string
	Path      string
	Authority string
	// Header holds the headers without pseudo-headers, with canonical keys.
	Header  http.Header
	Body    []byte
	Trailer http.Header
	// Timeout is the plugin's timeout (0: none).
	Timeout time.Duration
}

// HTTPReply is a scripted answer to an HTTP callout.
type HTTPReply struct {
	// Status is the status code (default 200).
	Status int
	Header http.Header
	Body   []byte
	// Trailer holds response trailers.
	Trailer http.Header
	// Delay holds the answer back for this much simulated time: it is
	// delivered when Advance or Tick moves the clock past it.
	Delay time.Duration
	// NoAnswer never answers: the plugin's timeout (504 "upstream request
	// timeout") fires when the clock reaches it.
	NoAnswer bool
	// Reset answers with a reset stream: the plugin's callback gets no
	// headers and proxy_get_status says BrokenConnection.
	Reset bool
}

// HTTPHandler scripts a cluster's answers to HTTP callouts. The handlers of
// a Plugin run one at a time, while the plugin's call is in progress: they
// must not send requests through the plugin.
type HTTPHandler func(call HTTPCall) HTTPReply

// Reply answers every callout with status, header and body.
func Reply(status int, header http.Header, body []byte) HTTPHandler {
	return func(HTTPCall) HTTPReply {
		return HTTPReply{Status: status, Header: header.Clone(), Body: append([]byte(nil), body...)}
	}
}

// After delays h's answers by d of simulated time.
func (h HTTPHandler) After(d time.Duration) HTTPHandler {
	return func(c HTTPCall) HTTPReply {
		r := h(c)
		r.Delay = d
		return r
	}
}

// NoAnswer never answers: the callout times out when the simulated clock
// reaches the plugin's timeout.
func NoAnswer() HTTPHandler { return func(HTTPCall) HTTPReply { return HTTPReply{NoAnswer: true} } }

// ResetCallout answers every callout with a reset stream.
func ResetCallout() HTTPHandler { return func(HTTPCall) HTTPReply { return HTTPReply{Reset: true} } }

// HTTPServer starts a loopback HTTP server for the test, stopped when the
// test ends, and returns its URL for RealHTTPCluster.
func HTTPServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// RedisCall is a Redis command the plugin sent (proxy_redis_call).
type RedisCall struct {
	Cluster string
	// Command holds the command name and arguments as the plugin sent them
	// (the SDK sends lower-case names: "incr", "expire").
	Command []string
}

// RedisInit is a proxy_redis_init call of the plugin.
type RedisInit struct {
	Cluster string
	// Params are the parameters after '?' in the cluster string
	// ("db=1&buffer_flush_timeout=3").
	Params             string
	Username, Password string
	Timeout            time.Duration
}

// RedisReply is a scripted answer to a Redis command.
type RedisReply struct {
	// RESP is the RESP-encoded reply.
	RESP []byte
	// Fail fails the call: the plugin's callback gets a non-zero status
	// and no data (Envoy's answer for an unreachable Redis).
	Fail bool
	// Delay holds the answer back for this much simulated time.
	Delay time.Duration
}

// After delays the reply by d of simulated time.
func (r RedisReply) After(d time.Duration) RedisReply {
	r.Delay = d
	return r
}

// RedisHandler scripts a cluster's answers to Redis commands. The handlers
// of a Plugin run one at a time, while the plugin's call is in progress.
type RedisHandler func(cmd []string) RedisReply

// RedisFailure fails every call to the cluster.
func RedisFailure() RedisHandler { return func([]string) RedisReply { return RedisReply{Fail: true} } }

// RedisValue is a reply holding v.
func RedisValue(v resp.Value) RedisReply {
	b, err := v.MarshalRESP()
	if err != nil {
		panic(fmt.Sprintf("plugintest: RedisValue: %v", err))
	}
	return RedisReply{RESP: b}
}

// RedisInt is an integer reply.
func RedisInt(n int) RedisReply { return RedisValue(resp.IntegerValue(n)) }

// RedisString is a bulk string reply.
func RedisString(s string) RedisReply { return RedisValue(resp.StringValue(s)) }

// RedisStatus is a simple string reply ("OK").
func RedisStatus(s string) RedisReply { return RedisValue(resp.SimpleStringValue(s)) }

// RedisNil is the null bulk string (a missing key).
func RedisNil() RedisReply { return RedisValue(resp.NullValue()) }

// RedisError is an error reply ("ERR wrong type").
func RedisError(msg string) RedisReply { return RedisValue(resp.ErrorValue(errors.New(msg))) }

// RedisArray is an array reply of the given replies.
func RedisArray(items ...RedisReply) RedisReply {
	b := []byte("*" + strconv.Itoa(len(items)) + "\r\n")
	for _, it := range items {
		b = append(b, it.RESP...)
	}
	return RedisReply{RESP: b}
}

// callouts implements host.HTTPCaller and host.RedisCaller for a Plugin:
// scripted clusters answer from their handlers, real ones from servers.
type callouts struct {
	clock *manualClock

	httpScripted  map[string]HTTPHandler
	httpReal      map[string]*url.URL
	redisScripted map[string]RedisHandler
	redisReal     map[string]string
	grpcReal      map[string]string

	grpc      grpccallout.Conns
	transport *http.Transport
	bridge    *redisbridge.Caller

	handlerMu sync.Mutex // handlers run one at a time

	mu         sync.Mutex
	httpCalls  []HTTPCall
	redisCalls []RedisCall
	redisInits []RedisInit
	unanswered map[int]string
	nextID     int
}

func newCallouts(s *settings, clock *manualClock) *callouts {
	c := &callouts{
		clock:         clock,
		httpScripted:  s.httpScripted,
		httpReal:      s.httpReal,
		redisScripted: s.redisScripted,
		redisReal:     s.redisReal,
		grpcReal:      s.grpcReal,
		unanswered:    map[int]string{},
	}
	if len(c.httpReal) > 0 {
		c.transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	}
	if len(c.redisReal) > 0 {
		c.bridge = redisbridge.New(func(cluster string) redisbridge.DialFunc {
			addr, ok := c.redisReal[cluster]
			if !ok {
				return nil
			}
			return func(ctx context.Context) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", addr)
			}
		})
	}
	return c
}

func (c *callouts) close() {
	c.grpc.Close()
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
	if c.bridge != nil {
		c.bridge.Close()
	}
}

// track registers a callout without an answer yet and returns its id.
func (c *callouts) track(desc string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	c.unanswered[c.nextID] = desc
	return c.nextID
}

func (c *callouts) answered(id int) {
	c.mu.Lock()
	delete(c.unanswered, id)
	c.mu.Unlock()
}

// pending describes the callouts still without an answer.
func (c *callouts) pending() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]int, 0, len(c.unanswered))
	for id := range c.unanswered {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = c.unanswered[id]
	}
	return out
}

// HTTPCall implements host.HTTPCaller.
func (c *callouts) HTTPCall(req *host.CalloutRequest, done func(*host.CalloutResponse)) error {
	script, scripted := c.httpScripted[req.Cluster]
	base, isReal := c.httpReal[req.Cluster]
	if !scripted && !isReal {
		return host.ErrUnknownCluster
	}
	call := HTTPCall{Cluster: req.Cluster, Timeout: req.Timeout, Body: append([]byte(nil), req.Body...)}
	call.Method, _ = req.Headers.Get(":method")
	call.Path, _ = req.Headers.Get(":path")
	call.Authority, _ = req.Headers.Get(":authority")
	call.Header, _ = headerOf(req.Headers)
	if req.Trailers.Len() > 0 {
		call.Trailer, _ = headerOf(req.Trailers)
	}
	c.mu.Lock()
	c.httpCalls = append(c.httpCalls, copyHTTPCall(call))
	c.mu.Unlock()
	desc := fmt.Sprintf("HTTP callout to %s (%s %s)", req.Cluster, call.Method, call.Path)

	if isReal {
		return c.realHTTP(base, req, call, desc, done)
	}
	c.handlerMu.Lock()
	r := script(copyHTTPCall(call))
	c.handlerMu.Unlock()
	switch {
	case r.NoAnswer:
		c.track(desc + ", scripted never to answer")
		return nil
	case r.Delay > 0:
		id := c.track(fmt.Sprintf("%s, scripted to answer after %s of simulated time", desc, r.Delay))
		resp := scriptedResponse(r)
		c.clock.AfterFunc(r.Delay, func() {
			c.answered(id)
			done(resp)
		})
		return nil
	}
	done(scriptedResponse(r))
	return nil
}

func copyHTTPCall(c HTTPCall) HTTPCall {
	c.Header = c.Header.Clone()
	c.Trailer = c.Trailer.Clone()
	c.Body = append([]byte(nil), c.Body...)
	return c
}

func scriptedResponse(r HTTPReply) *host.CalloutResponse {
	if r.Reset {
		return &host.CalloutResponse{Reset: true}
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	h := host.NewHeaderMap(":status", strconv.Itoa(status))
	addSorted(h, r.Header)
	if _, ok := h.Get("content-length"); !ok && len(r.Body) > 0 {
		h.Add("content-length", strconv.Itoa(len(r.Body)))
	}
	out := &host.CalloutResponse{Headers: h, Body: append([]byte(nil), r.Body...)}
	if len(r.Trailer) > 0 {
		out.Trailers = host.NewHeaderMap()
		addSorted(out.Trailers, r.Trailer)
	}
	return out
}

// addSorted adds the entries of hdr to h, keys lower-cased and sorted.
func addSorted(h *host.HeaderMap, hdr http.Header) {
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range hdr[k] {
			h.Add(strings.ToLower(k), v)
		}
	}
}

// calloutBodyLimit is the largest real callout response buffered; above it
// the plugin sees a reset, as with Envoy's buffer limit.
const calloutBodyLimit = 4 << 20

// realHTTP sends a callout to a real server, answering as Envoy's router
// would: 503 when the server cannot be reached, 504 after the timeout.
func (c *callouts) realHTTP(base *url.URL, req *host.CalloutRequest, call HTTPCall, desc string, done func(*host.CalloutResponse)) error {
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
	}
	path := call.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := base.Parse(path)
	if err != nil {
		cancel()
		return fmt.Errorf("callout path %q: %w", call.Path, err)
	}
	var body io.Reader = http.NoBody
	if len(call.Body) > 0 {
		body = bytes.NewReader(call.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, call.Method, u.String(), body)
	if err != nil {
		cancel()
		return fmt.Errorf("callout to %s: %w", req.Cluster, err)
	}
	hr.Host = call.Authority
	hr.ContentLength = int64(len(call.Body))
	for k, vs := range call.Header {
		if strings.EqualFold(k, "content-length") || hopByHop(strings.ToLower(k)) {
			continue
		}
		hr.Header[k] = append([]string(nil), vs...)
	}
	id := c.track(desc + ", waiting for the real server")
	go func() {
		defer cancel()
		r := c.roundTrip(ctx, hr)
		c.answered(id)
		done(r)
	}()
	return nil
}

func (c *callouts) roundTrip(ctx context.Context, req *http.Request) *host.CalloutResponse {
	res, err := c.transport.RoundTrip(req)
	if err != nil {
		return routerError(ctx, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, calloutBodyLimit+1))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return synthetic(http.StatusGatewayTimeout, "upstream request timeout")
		}
		return &host.CalloutResponse{Reset: true}
	}
	if len(b) > calloutBodyLimit {
		return &host.CalloutResponse{Reset: true}
	}
	h := host.NewHeaderMap(":status", strconv.Itoa(res.StatusCode))
	addSorted(h, res.Header)
	if _, ok := h.Get("content-length"); !ok && len(b) > 0 {
		h.Add("content-length", strconv.Itoa(len(b)))
	}
	out := &host.CalloutResponse{Headers: h, Body: b}
	if len(res.Trailer) > 0 {
		out.Trailers = host.NewHeaderMap()
		addSorted(out.Trailers, res.Trailer)
	}
	return out
}

// routerError is the response Envoy's router generates for a failed
// upstream request.
func routerError(ctx context.Context, err error) *host.CalloutResponse {
	var opErr *net.OpError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return synthetic(http.StatusGatewayTimeout, "upstream request timeout")
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return synthetic(http.StatusServiceUnavailable, "upstream connect error or disconnect/reset before headers. reset reason: connection failure")
	}
	return synthetic(http.StatusServiceUnavailable, "upstream connect error or disconnect/reset before headers. reset reason: connection termination")
}

func synthetic(status int, body string) *host.CalloutResponse {
	h := host.NewHeaderMap(":status", strconv.Itoa(status), "content-length", strconv.Itoa(len(body)), "content-type", "text/plain")
	return &host.CalloutResponse{Headers: h, Body: []byte(body)}
}

// hopByHop reports the connection-level headers a proxy does not forward.
func hopByHop(k string) bool {
	switch k {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer":
		return true
	}
	return false
}

// RedisInit implements host.RedisCaller.
func (c *callouts) RedisInit(cluster, username, password string, timeout time.Duration) error {
	name, params, _ := strings.Cut(cluster, "?")
	_, scripted := c.redisScripted[name]
	_, isReal := c.redisReal[name]
	if !scripted && !isReal {
		return host.ErrUnknownCluster
	}
	c.mu.Lock()
	c.redisInits = append(c.redisInits, RedisInit{Cluster: name, Params: params, Username: username, Password: password, Timeout: timeout})
	c.mu.Unlock()
	if isReal {
		if err := c.bridge.RedisInit(cluster, username, password, timeout); err != nil {
			return fmt.Errorf("redis init %s: %w", name, err)
		}
	}
	return nil
}

// RedisCall implements host.RedisCaller.
func (c *callouts) RedisCall(cluster string, query []byte, done func(reply []byte, err error)) error {
	script, scripted := c.redisScripted[cluster]
	_, isReal := c.redisReal[cluster]
	if !scripted && !isReal {
		return host.ErrUnknownCluster
	}
	cmd, err := parseCommand(query)
	if err != nil {
		return fmt.Errorf("redis call to %s: %w", cluster, err)
	}
	c.mu.Lock()
	c.redisCalls = append(c.redisCalls, RedisCall{Cluster: cluster, Command: append([]string(nil), cmd...)})
	c.mu.Unlock()
	desc := fmt.Sprintf("Redis call to %s (%s)", cluster, strings.Join(cmd, " "))

	if isReal {
		id := c.track(desc + ", waiting for the real server")
		return c.bridge.RedisCall(cluster, query, func(reply []byte, err error) {
			c.answered(id)
			done(reply, err)
		})
	}
	c.handlerMu.Lock()
	r := script(append([]string(nil), cmd...))
	c.handlerMu.Unlock()
	deliver := func() {
		if r.Fail {
			done(nil, errors.New("scripted redis failure"))
			return
		}
		done(append([]byte(nil), r.RESP...), nil)
	}
	if r.Delay > 0 {
		id := c.track(fmt.Sprintf("%s, scripted to answer after %s of simulated time", desc, r.Delay))
		c.clock.AfterFunc(r.Delay, func() {
			c.answered(id)
			deliver()
		})
		return nil
	}
	deliver()
	return nil
}

// parseCommand decodes a RESP command (an array of bulk strings).
func parseCommand(query []byte) ([]string, error) {
	v, _, err := resp.Parse(query)
	if err != nil {
		return nil, fmt.Errorf("command is not RESP: %w", err)
	}
	items := v.Array()
	if len(items) == 0 {
		return nil, errors.New("command is not a RESP array")
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.String()
	}
	return out, nil
}

func (c *callouts) httpCallsOf(cluster string) []HTTPCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []HTTPCall
	for _, call := range c.httpCalls {
		if call.Cluster == cluster {
			out = append(out, copyHTTPCall(call))
		}
	}
	return out
}

func (c *callouts) redisCallsOf(cluster string) []RedisCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []RedisCall
	for _, call := range c.redisCalls {
		if call.Cluster == cluster {
			call.Command = append([]string(nil), call.Command...)
			out = append(out, call)
		}
	}
	return out
}

func (c *callouts) redisInitsOf(cluster string) []RedisInit {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []RedisInit
	for _, in := range c.redisInits {
		if in.Cluster == cluster {
			out = append(out, in)
		}
	}
	return out
}
