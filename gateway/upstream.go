package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/host"
)

// upstream is a cluster the gateway can send HTTP requests to (and open Redis
// connections to): its endpoints and a pooled transport.
type upstream struct {
	cfg       config.Cluster
	transport *http.Transport
	next      atomic.Uint32
	dialer    *net.Dialer
	// firstAddr is the first endpoint's address (host:port), for the
	// requests' upstream attributes.
	firstAddr string
}

// newUpstream prepares a cluster. Built-in clusters are served by the
// gateway's own loopback listeners, whose addresses builtin maps by name.
func newUpstream(c config.Cluster, builtin map[string]config.Endpoint) (*upstream, error) {
	u := &upstream{cfg: c, dialer: &net.Dialer{Timeout: c.EffectiveConnectTimeout(), KeepAlive: 30 * time.Second}}
	if c.Discovery == config.DiscoveryBuiltin {
		ep, ok := builtin[c.Builtin]
		if !ok {
			return nil, fmt.Errorf("cluster %s: unknown built-in upstream %q", c.Name, c.Builtin)
		}
		u.cfg.Endpoints = []config.Endpoint{ep}
	}
	if len(u.cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("cluster %s: no endpoints", c.Name)
	}
	u.firstAddr = u.cfg.Endpoints[0].Address()
	t := &http.Transport{
		DialContext:            u.dialContext,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    1024,
		IdleConnTimeout:        c.Upstream.EffectiveIdleTimeout(),
		MaxResponseHeaderBytes: int64(c.Upstream.EffectiveMaxResponseHeadersBytes()),
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
	}
	if c.TLS != nil {
		tc, err := upstreamTLSConfig(c)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = tc
	}
	t.Protocols = upstreamProtocols(c)
	u.transport = t
	return u, nil
}

// scheme is the URL scheme for requests to this cluster.
func (u *upstream) scheme() string {
	if u.cfg.TLS != nil {
		return "https"
	}
	return "http"
}

// endpoint picks the next endpoint round-robin.
func (u *upstream) endpoint() config.Endpoint {
	n := u.next.Add(1)
	return u.cfg.Endpoints[int(n-1)%len(u.cfg.Endpoints)]
}

// dialContext ignores the URL's host (a stand-in) and dials the cluster's
// endpoints, for the transport's pool.
func (u *upstream) dialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	conn, err := u.dial(ctx)
	if err != nil {
		return nil, err
	}
	return &pooledConn{Conn: conn, remote: conn.RemoteAddr().String()}, nil
}

// pooledConn is a connection of the transport's pool with its endpoint's
// address formatted once, for all the requests that reuse it.
type pooledConn struct {
	net.Conn
	remote string
}

// NetConn returns the connection it wraps.
func (c *pooledConn) NetConn() net.Conn { return c.Conn }

// netConns unwraps conn (a TLS connection, a pooledConn) down to the
// connection the dialer made, calling f with each layer until it returns
// true.
func netConns(conn net.Conn, f func(net.Conn) bool) {
	for range 4 {
		if conn == nil || f(conn) {
			return
		}
		nc, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return
		}
		conn = nc.NetConn()
	}
}

// dial connects to the next endpoint, trying the others on failure.
func (u *upstream) dial(ctx context.Context) (net.Conn, error) {
	var firstErr error
	for range u.cfg.Endpoints {
		ep := u.endpoint()
		conn, err := u.dialer.DialContext(ctx, "tcp", u.resolveFamily(ctx, ep))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// resolveFamily applies the cluster's DNS family to a host name endpoint.
func (u *upstream) resolveFamily(ctx context.Context, ep config.Endpoint) string {
	if net.ParseIP(ep.Host) != nil || u.cfg.DNSFamily == config.DNSAuto || u.cfg.DNSFamily == config.DNSAll {
		return ep.Address()
	}
	network := "ip4"
	if u.cfg.DNSFamily == config.DNSV6Only {
		network = "ip6"
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, network, ep.Host)
	if err != nil || len(ips) == 0 {
		if u.cfg.DNSFamily == config.DNSV4Preferred {
			return ep.Address()
		}
		return ep.Address()
	}
	return net.JoinHostPort(ips[0].String(), fmt.Sprint(ep.Port))
}

func (u *upstream) close() {
	if u.transport != nil {
		u.transport.CloseIdleConnections()
	}
}

// Envoy's router answers these when the upstream fails before responding.
var errUpstreamTimeout = errors.New("upstream request timeout")

// upstreamFailure is how the router answers an upstream that failed before
// its response headers: status, body, response code details and flag, as
// Envoy's router does.
type upstreamFailure struct {
	status  int
	body    string
	details string
	flag    responseFlags
}

func resetFailure(status int, reason string, flag responseFlags) upstreamFailure {
	return upstreamFailure{
		status:  status,
		body:    "upstream connect error or disconnect/reset before headers. reset reason: " + reason,
		details: "upstream_reset_before_response_started{" + strings.ReplaceAll(reason, " ", "_") + "}",
		flag:    flag,
	}
}

// classify maps an upstream error before the response headers to Envoy's
// answer: a refused or timed-out connect is a connection failure (503, UF),
// a malformed response a protocol error (502, UPE), anything else a
// connection termination (503, UC).
func classify(err error) upstreamFailure {
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr) && opErr.Op == "dial":
		if isTimeout(err) {
			return resetFailure(http.StatusServiceUnavailable, "connection timeout", flagUpstreamConnectionFailure)
		}
		return resetFailure(http.StatusServiceUnavailable, "remote connection failure", flagUpstreamConnectionFailure)
	case isProtocolError(err):
		return resetFailure(http.StatusBadGateway, "protocol error", flagUpstreamProtocolError)
	}
	return resetFailure(http.StatusServiceUnavailable, "connection termination", flagUpstreamConnectionTermination)
}

func isProtocolError(err error) bool {
	var pe *protocolError
	if errors.As(err, &pe) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "malformed") || strings.Contains(msg, "invalid")
}

// upstreamMsg is what the upstream call reports to the exchange: the
// response headers, a body chunk, the end (with trailers), or an error.
type upstreamMsg struct {
	// tunnel, with the headers of a 101 (or a 2xx to CONNECT), is the
	// upstream connection the stream continues on as a tunnel.
	tunnel *tunnelConn
	// tls, with the headers, is the TLS state of the upstream connection.
	tls      *tls.ConnectionState
	headers  *host.HeaderMap
	body     []byte
	eos      bool
	trailers *host.HeaderMap
	err      error
}

// upstreamCall is one request to a cluster in flight.
type upstreamCall struct {
	msgs   chan upstreamMsg
	body   *bodyPipe // nil when the request has no body
	cancel context.CancelFunc
	conn   atomic.Pointer[net.TCPConn] // the connection the request went out on
}

// gotConn records the connection the transport chose for the request and
// returns the address (host:port) of the endpoint it goes to: a pooled
// connection's, formatted when it was dialed.
func (c *upstreamCall) gotConn(info httptrace.GotConnInfo) string {
	addr := ""
	netConns(info.Conn, func(conn net.Conn) bool {
		switch conn := conn.(type) {
		case *pooledConn:
			addr = conn.remote
		case *net.TCPConn:
			c.conn.Store(conn)
			return true
		}
		return false
	})
	if addr == "" && info.Conn != nil {
		addr = info.Conn.RemoteAddr().String()
	}
	return addr
}

// reset makes the close of the request's connection a TCP reset (Envoy
// resets the upstream stream, which for HTTP/1 ends the connection): the
// upstream cannot mistake an aborted request for a complete one. Call it
// before the body is aborted or the request cancelled.
func (c *upstreamCall) reset() {
	if tc := c.conn.Load(); tc != nil {
		_ = tc.SetLinger(0)
	}
}

// start sends the request whose headers are h to the cluster; the response
// comes back on the call's msgs until x.done closes.
func (u *upstream) start(x *exchange, h *host.HeaderMap, it item) (*upstreamCall, error) {
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
	c := &upstreamCall{msgs: make(chan upstreamMsg)}
	ctx, cancel := context.WithCancel(x.upstreamContext(c))
	c.cancel = cancel
	var body io.ReadCloser = http.NoBody
	contentLength := int64(0)
	if !it.eos {
		c.body = newBodyPipe()
		body = c.body
		contentLength = -1
		if it.body != nil {
			contentLength = int64(len(it.body))
		} else if cl, ok := h.Get("content-length"); ok {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
				contentLength = n
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, "", body)
	if err != nil {
		cancel()
		return nil, err
	}
	req.URL.Scheme, req.URL.Host = u.scheme(), "upstream"
	if err := setRequestPath(req, path); err != nil {
		cancel()
		return nil, err
	}
	req.Host = authority
	req.ContentLength = contentLength
	// One backing array for the values of all headers, each key's slice
	// capped at its first value (a repeated key appends into a copy).
	req.Header = make(http.Header, len(h.Fields))
	vals := make([]string, 0, len(h.Fields))
	for _, f := range h.Fields {
		if strings.HasPrefix(f.Key, ":") || hopByHop(f.Key) || f.Key == "content-length" {
			continue
		}
		// Names go upstream in lower case, as Envoy sends them; the
		// transport reads these two by their canonical names.
		k := f.Key
		switch k {
		case "user-agent":
			k = "User-Agent"
		case "expect":
			k = "Expect"
		}
		if prev, ok := req.Header[k]; ok {
			req.Header[k] = append(prev, f.Value)
			continue
		}
		vals = append(vals, f.Value)
		req.Header[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	keepUserAgent(req.Header)
	if x.rq.upgrade != "" {
		// A WebSocket upgrade keeps its connection headers and runs on a
		// connection of its own, which becomes the tunnel (tunnel.go).
		if x.rq.upgrade != "connect" {
			req.Header["Connection"] = []string{"Upgrade"}
			req.Header["Upgrade"] = []string{headerValue(h, "upgrade")}
		}
		go u.tunnel(req, c.msgs, x.done)
		return c, nil
	}
	req = withRetry(req, x.route.cfg.Retry)
	head := method == http.MethodHead
	go u.roundTrip(req, c.msgs, x.done, head)
	return c, nil
}

// roundTrip sends the request and streams the response to msgs. Every
// message is delivered unless the exchange is over (done closed): the
// exchange, not this goroutine, decides timeouts.
func (u *upstream) roundTrip(req *http.Request, msgs chan<- upstreamMsg, done <-chan struct{}, head bool) {
	send := sender(msgs, done)
	resp, err := sendWithRetries(u.transport, req)
	if err != nil {
		send(upstreamMsg{err: err})
		return
	}
	defer resp.Body.Close()
	streamResponse(resp, send, head)
}

// sender delivers a message to the exchange, or reports false once the
// exchange is over (done closed).
func sender(msgs chan<- upstreamMsg, done <-chan struct{}) func(upstreamMsg) bool {
	return func(m upstreamMsg) bool {
		select {
		case msgs <- m:
			return true
		case <-done:
			return false
		}
	}
}

// streamResponse sends a response's headers, body and trailers through
// send, which reports false once nobody listens.
func streamResponse(resp *http.Response, send func(upstreamMsg) bool, head bool) {
	eos := resp.Body == http.NoBody || resp.ContentLength == 0 || head
	if !send(upstreamMsg{headers: responseHeaderMap(resp), tls: resp.TLS, eos: eos}) || eos {
		return
	}
	// Buffers are sized to what is left of a body of known length, and its
	// last bytes go with its end: most responses are one message.
	left := resp.ContentLength
	for {
		size := readChunk
		if left >= 0 && left < readChunk {
			size = int(left)
		}
		buf := make([]byte, size)
		n, err := resp.Body.Read(buf)
		if left >= 0 {
			left -= int64(n)
			if left == 0 && (err == nil || err == io.EOF) {
				send(upstreamMsg{body: buf[:n], eos: true})
				return
			}
		}
		if n > 0 && !send(upstreamMsg{body: buf[:n]}) {
			return
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
			send(upstreamMsg{err: err})
			return
		}
	}
}

// setRequestPath puts :path into the request URL. A path of printable
// ASCII goes out exactly as it is; anything else is escaped as net/url
// escapes it.
func setRequestPath(req *http.Request, path string) error {
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	if plainPath(path) {
		p, q, _ := strings.Cut(path, "?")
		req.URL.Opaque, req.URL.RawQuery = p, q
		return nil
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return fmt.Errorf(":path %q: %w", path, err)
	}
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	return nil
}

// plainPath reports whether path can be sent verbatim: printable ASCII
// without a fragment, not starting with "//" (which a URL reads as a host).
func plainPath(path string) bool {
	if strings.HasPrefix(path, "//") {
		return false
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
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
