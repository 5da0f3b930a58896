package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/attributes"
	"github.com/wasmgate/wasmgate/internal/http1"
)

// connServer serves one listener's HTTP/1.1 connections with the http1
// codec: one goroutine per connection reads a request, runs its exchange
// and writes the response, then waits for the next request (keep-alive)
// under the connection's timeouts and limits, read from the snapshot
// current when each request begins.
type connServer struct {
	gw   *Server
	name string
	ln   net.Listener
	// lt is the listener's TLS (nil for plaintext); codec the HTTP versions
	// it serves. HTTP/2 connections go to h2 (see h2.go).
	lt    *listenerTLS
	codec config.Codec
	h2    *h2Server

	mu       sync.Mutex
	conns    map[*serverConn]struct{}
	draining bool
	closed   chan struct{} // closed when the last connection ended after Shutdown or Close
}

func newConnServer(gw *Server, name string, ln net.Listener, lt *listenerTLS, codec config.Codec) *connServer {
	s := &connServer{gw: gw, name: name, ln: ln, lt: lt, codec: codec, conns: map[*serverConn]struct{}{}}
	if codec != config.CodecHTTP1 {
		s.h2 = newH2Server(gw, name, lt)
	}
	return s
}

// serve accepts connections until the listener closes.
func (s *connServer) serve() error {
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.mu.Lock()
			draining := s.draining
			s.mu.Unlock()
			if draining || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		delay = 0
		sc := &serverConn{srv: s, rwc: c, accepted: time.Now()}
		s.mu.Lock()
		if s.draining {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[sc] = struct{}{}
		s.mu.Unlock()
		go sc.serve()
	}
}

// Shutdown stops accepting, closes idle connections, lets active ones
// finish their request (their response says Connection: close) and waits
// for them until ctx ends.
func (s *connServer) Shutdown(ctx context.Context) error {
	if s.h2 != nil {
		// GOAWAY to HTTP/2 connections: their streams finish, new ones are refused.
		go func() { _ = s.h2.base.Shutdown(ctx) }()
	}
	s.mu.Lock()
	s.draining = true
	s.ln.Close()
	for c := range s.conns {
		c.closeIfIdle()
	}
	s.mu.Unlock()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			c.closeIfIdle()
		}
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes the listener and every connection at once.
func (s *connServer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	s.ln.Close()
	for c := range s.conns {
		c.rwc.Close()
	}
}

func (s *connServer) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// serverConn is one client connection.
type serverConn struct {
	srv     *connServer
	rwc     net.Conn
	tlsInfo *attributes.TLS // the TLS connection's attributes, once described
	// remote and local are the connection's addresses, formatted once for
	// all its requests.
	remote, local string
	accepted      time.Time
	br            *bufio.Reader
	bw            *bufio.Writer
	w             http1.Writer

	mu   sync.Mutex
	idle bool // waiting for a request: Shutdown may close it

	// linger is set when an exchange ends the connection after its
	// response went out whole: the connection closes as Envoy's delayed
	// close does, waiting this long (closeAfterResponse).
	linger time.Duration

	// background read: after the request body, a one-byte read tells
	// when the client goes away while its response is prepared.
	bgDone    chan struct{}
	bgStopped atomic.Bool
	bgByte    [1]byte
	bgHave    bool
}

var (
	connReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}
	connWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}
)

// Read implements io.Reader under the connection's bufio.Reader: a byte
// the background read took comes first.
func (c *serverConn) Read(p []byte) (int, error) {
	if c.bgHave && len(p) > 0 {
		p[0], c.bgHave = c.bgByte[0], false
		return 1, nil
	}
	return c.rwc.Read(p)
}

// remoteAddr is the client's address as host:port.
func (c *serverConn) remoteAddr() string {
	if c.remote == "" {
		c.remote = c.rwc.RemoteAddr().String()
	}
	return c.remote
}

// localAddr is the address the client connected to, as host:port.
func (c *serverConn) localAddr() string {
	if c.local == "" {
		c.local = c.rwc.LocalAddr().String()
	}
	return c.local
}

func (c *serverConn) setIdle(idle bool) {
	c.mu.Lock()
	c.idle = idle
	c.mu.Unlock()
}

func (c *serverConn) closeIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.rwc.Close()
	}
}

func (c *serverConn) serve() {
	clean := false
	defer func() {
		if c.linger > 0 {
			c.closeAfterResponse()
		}
		if clean {
			c.br.Reset(nil)
			c.bw.Reset(nil)
			connReaders.Put(c.br)
			connWriters.Put(c.bw)
		}
		c.rwc.Close()
		s := c.srv
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	c.br = connReaders.Get().(*bufio.Reader)
	c.br.Reset(c)
	c.bw = connWriters.Get().(*bufio.Writer)
	c.bw.Reset(c.rwc)
	c.w.Reset(c.bw)
	gw := c.srv.gw
	if c.srv.lt != nil || c.srv.h2 != nil {
		switch c.negotiate() {
		case protoClose:
			return
		case protoH2:
			c.srv.h2.serve(c)
			return
		}
	}
	for served := 0; ; served++ {
		snap := gw.snap.Load()
		if snap == nil || snap.listeners[c.srv.name] == nil {
			return
		}
		o := &snap.listeners[c.srv.name].cfg.HTTP
		end := c.end(o)
		if !c.waitRequest(o, end) {
			clean = true
			return
		}
		if d := o.EffectiveRequestHeadersTimeout(); d > 0 {
			_ = c.rwc.SetReadDeadline(time.Now().Add(d))
		} else {
			_ = c.rwc.SetReadDeadline(time.Time{})
		}
		lim := http1.Limits{MaxHeaderBytes: o.EffectiveMaxRequestHeadersBytes(), MaxHeaders: o.EffectiveMaxHeadersCount(),
			AllowChunkedLength: o.AllowChunkedLength}
		req, err := http1.ReadRequest(c.br, lim)
		_ = c.rwc.SetReadDeadline(time.Time{})
		var perr *http1.Error
		if err != nil && !errors.As(err, &perr) {
			return // gone, timed out or idle
		}
		ok := c.exchange(req, perr, served, end, lim)
		if !ok {
			return
		}
	}
}

// closeAfterResponse ends a connection whose last response went out: the
// response is flushed, the write side closes (FIN, or TLS close_notify),
// and whatever the client still sends, such as the rest of a body the
// gateway refused, is read and dropped until the client closes or the
// listener's delayed_close_timeout passes. Closing at once with unread bytes would make the
// kernel send a reset, which can destroy the response before the client
// reads it. The connection is idle meanwhile: shutdown closes it at once.
func (c *serverConn) closeAfterResponse() {
	_ = c.rwc.SetWriteDeadline(time.Now().Add(c.linger))
	if c.bw.Flush() != nil || !closeWrite(c.rwc) {
		return
	}
	c.setIdle(true)
	if c.srv.isDraining() {
		return
	}
	_ = c.rwc.SetReadDeadline(time.Now().Add(c.linger))
	_, _ = io.Copy(io.Discard, c.rwc)
}

// end is when the connection's max_connection_duration ends it (zero: never).
func (c *serverConn) end(o *config.HTTPSettings) time.Time {
	if d := o.EffectiveMaxConnectionDuration(); d > 0 {
		return c.accepted.Add(d)
	}
	return time.Time{}
}

// waitRequest waits for the first byte of the next request under the idle
// timeout and the connection's duration; false ends the connection. While
// it waits the connection is idle: a drain or shutdown closes it.
func (c *serverConn) waitRequest(o *config.HTTPSettings, end time.Time) bool {
	if c.br.Buffered() > 0 {
		return true
	}
	c.setIdle(true)
	if c.srv.isDraining() {
		return false
	}
	var deadline time.Time
	if d := o.EffectiveIdleTimeout(); d > 0 {
		deadline = time.Now().Add(d)
	}
	if !end.IsZero() && (deadline.IsZero() || end.Before(deadline)) {
		deadline = end
	}
	_ = c.rwc.SetReadDeadline(deadline)
	_, err := c.br.Peek(1)
	c.setIdle(false)
	return err == nil
}

// exchange serves one request; false ends the connection.
func (c *serverConn) exchange(req *http1.Request, perr *http1.Error, served int, end time.Time, lim http1.Limits) (keep bool) {
	gw := c.srv.gw
	var snap *snapshot
	for {
		snap = gw.snap.Load()
		if snap == nil {
			return false
		}
		if snap.acquire() {
			break
		}
	}
	defer snap.release()
	ln := snap.listeners[c.srv.name]
	if ln == nil {
		return false
	}
	o := &ln.cfg.HTTP
	ds := &connStream{c: c, req: req, goneCh: make(chan struct{}), end: end}
	defer func() {
		if !keep && ds.headSent && !ds.reset {
			c.linger = o.EffectiveDelayedCloseTimeout()
		}
	}()
	if req == nil {
		req = &http1.Request{Method: "GET", Target: "/", Minor: 1}
		ds.req = req
	}
	ds.keepAlive = req.KeepAlive && perr == nil && req.Minor == 1
	if m := o.MaxRequestsPerConnection; m > 0 && served+1 >= int(m) {
		ds.keepAlive = false
	}
	if req.Minor == 0 && req.Host == "" {
		req.Host = o.DefaultHostForHTTP10
	}
	rq := connRequest(c, req)
	if perr != nil {
		gw.rejectRequest(ln, snap, ds, rq, perr.Status, perr.Details, flagDownstreamProtocolError)
		return false
	}
	if req.Minor == 0 && !o.AcceptHTTP10 {
		gw.rejectRequest(ln, snap, ds, rq, 426, "low_version", flagDownstreamProtocolError)
		return false
	}
	if rq.upgrade != "" && !o.AllowsUpgrade(rq.upgrade) {
		// Envoy's connection manager: an upgrade no upgrade_configs entry
		// enables is refused, and the connection closes.
		ds.keepAlive = false
		gw.rejectRequest(ln, snap, ds, rq, http.StatusForbidden, "upgrade_failed", 0)
		return false
	}
	if req.HasBody() {
		ds.body = http1.NewBody(c.br, req, lim)
		if req.Expect100 {
			// Envoy's connection manager answers 100-continue itself.
			if err := c.w.WriteInterim(100); err != nil {
				return false
			}
		}
	} else {
		c.startBackgroundRead(ds.goneCh)
	}
	gw.serveExchange(ln, snap, ds, rq)
	if ds.body != nil && !ds.bodyDone.Load() {
		// The body reader may still be reading: the connection cannot
		// carry another request.
		return false
	}
	c.stopBackgroundRead()
	return ds.keepAlive && !ds.reset && !ds.closeSent
}

// connRequest is the request as Envoy's filters see it: pseudo-headers
// first (an absolute-form target gives :authority and :path, as Envoy's
// codec does), then the fields in the order they came, minus the
// connection-level ones, plus what the connection manager adds.
func connRequest(c *serverConn, req *http1.Request) *inbound {
	authority, path := req.Host, req.Target
	if a, p, ok := absoluteForm(req.Target); ok {
		authority, path = a, p
	}
	scheme := "http"
	tc, isTLS := c.rwc.(*tls.Conn)
	if isTLS {
		scheme = "https"
	}
	h := host.NewHeaderMap(":authority", authority, ":path", path, ":method", req.Method, ":scheme", scheme)
	if req.Method == "CONNECT" {
		// A CONNECT target is an authority; the request has no path
		// (Envoy's HTTP/1 codec gives it :authority only).
		h = host.NewHeaderMap(":authority", req.Target, ":method", req.Method, ":scheme", scheme)
	}
	var connection, upgrade string
	for _, f := range req.Fields {
		switch f.Name {
		case "connection":
			connection += "," + f.Value
		case "upgrade":
			upgrade = f.Value
		}
		if f.Name == "host" || (hopByHop(f.Name) && f.Name != "te") {
			continue
		}
		h.Add(f.Name, f.Value)
	}
	up := upgradeType(req.Method, connection, upgrade)
	if up != "" && up != "connect" {
		// Filters see an upgrade request's connection headers, as in Envoy.
		h.Add("connection", "Upgrade")
		h.Add("upgrade", upgrade)
	}
	addConnectionManagerHeaders(h, scheme)
	proto := "HTTP/1.1"
	if req.Minor == 0 {
		proto = "HTTP/1.0"
	}
	rq := &inbound{headers: h, hasBody: req.HasBody(), protocol: proto, upgrade: up,
		remote: c.remoteAddr(), local: c.localAddr()}
	if isTLS {
		cs := tc.ConnectionState()
		rq.tls, rq.serverName = true, cs.ServerName
		// The TLS state is the connection's: described once, shared by its requests.
		if c.tlsInfo == nil {
			c.tlsInfo = connectionTLS(&cs, c.srv.lt.local(cs.ServerName))
		}
		rq.tlsInfo = c.tlsInfo
	}
	return rq
}

// absoluteForm splits an absolute-form request target (RFC 9112 §3.2.2)
// into its authority and its path with the query.
func absoluteForm(target string) (authority, path string, ok bool) {
	i := strings.Index(target, "://")
	if i <= 0 || target[0] == '/' {
		return "", "", false
	}
	scheme := strings.ToLower(target[:i])
	if scheme != "http" && scheme != "https" {
		return "", "", false
	}
	rest := target[i+3:]
	j := strings.IndexAny(rest, "/?")
	if j < 0 {
		return rest, "/", rest != ""
	}
	authority, path = rest[:j], rest[j:]
	if path[0] == '?' {
		path = "/" + path
	}
	return authority, path, authority != ""
}

func (c *serverConn) startBackgroundRead(gone chan struct{}) {
	if c.br.Buffered() > 0 || c.bgHave {
		return // the client already sent more: it is there
	}
	c.bgStopped.Store(false)
	done := make(chan struct{})
	c.bgDone = done
	go func() {
		defer close(done)
		n, err := c.rwc.Read(c.bgByte[:])
		if n > 0 {
			c.bgHave = true
			return
		}
		if err != nil && !c.bgStopped.Load() {
			close(gone)
		}
	}()
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *serverConn) stopBackgroundRead() {
	if c.bgDone == nil {
		return
	}
	c.bgStopped.Store(true)
	_ = c.rwc.SetReadDeadline(aLongTimeAgo)
	<-c.bgDone
	_ = c.rwc.SetReadDeadline(time.Time{})
	c.bgDone = nil
}

// connStream is the downstream of one exchange on a serverConn.
type connStream struct {
	c         *serverConn
	req       *http1.Request
	body      *http1.Body
	bodyDone  atomic.Bool
	goneCh    chan struct{}
	end       time.Time // the connection's max duration ends here (zero: none)
	keepAlive bool
	closeSent bool
	reset     bool
	headSent  bool
}

func (s *connStream) readBody(p []byte) (int, error) {
	n, err := s.body.Read(p)
	switch {
	case err == io.EOF:
		s.c.startBackgroundRead(s.goneCh)
		s.bodyDone.Store(true) // after: the connection's goroutine sees the background read
	case err != nil:
		var pe *http1.Error
		if errors.As(err, &pe) {
			err = &protocolError{status: pe.Status, details: pe.Details, msg: pe.Msg}
		}
	}
	return n, err
}

func (s *connStream) requestTrailers() *host.HeaderMap {
	t := s.body.Trailers()
	if len(t) == 0 {
		return nil
	}
	h := host.NewHeaderMap()
	for _, f := range t {
		h.Add(f.Name, f.Value)
	}
	return h
}

func (s *connStream) writeHead(status int, h *host.HeaderMap, eos, closeConn bool) error {
	if closeConn || (!s.end.IsZero() && !time.Now().Before(s.end)) || s.c.srv.isDraining() {
		s.keepAlive = false
	}
	framing, length := http1.Chunked, int64(0)
	tunnel := status == 101 || (s.req.Method == "CONNECT" && status/100 == 2)
	noBody := s.req.Method == "HEAD" || status == 204 || status == 304 || (status >= 100 && status < 200) || tunnel
	if tunnel {
		s.keepAlive = true // the connection goes on as the tunnel: no "connection: close"
	}
	cl, hasCL := h.Get("content-length")
	switch {
	case noBody:
		framing = http1.NoBody
	case hasCL:
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			framing, length = http1.Length, n
		}
	case eos:
		framing = http1.Length
	case s.req.Minor == 0:
		framing = http1.UntilClose
		s.keepAlive = false
	}
	head := s.c.w.StartHead(status)
	for _, f := range h.Fields {
		if strings.HasPrefix(f.Key, ":") || (hopByHop(f.Key) && !keepsTunnelHeaders(status, f.Key)) {
			continue
		}
		if f.Key == "content-length" && (framing != http1.NoBody || status == 204 || status < 200 || tunnel) {
			continue
		}
		head.Field(f.Key, f.Value)
	}
	if !s.keepAlive {
		head.Field("connection", "close")
		s.closeSent = true
	}
	s.headSent = true
	// Headers go out at once only for a response of unknown length;
	// otherwise they leave with the first body chunk.
	if err := head.End(framing, length, !eos && framing != http1.Length); err != nil {
		return err
	}
	if eos {
		return s.c.w.End(nil)
	}
	return nil
}

func (s *connStream) writeBody(p []byte, eos bool) error {
	if err := s.c.w.Body(p, !eos); err != nil {
		return err
	}
	if eos {
		return s.c.w.End(nil)
	}
	return nil
}

func (s *connStream) writeTrailers(t *host.HeaderMap) error {
	fields := make([]http1.Field, 0, len(t.Fields))
	for _, f := range t.Fields {
		fields = append(fields, http1.Field{Name: f.Key, Value: f.Value})
	}
	return s.c.w.End(fields)
}

func (s *connStream) setWriteDeadline(t time.Time) { _ = s.c.rwc.SetWriteDeadline(t) }

func (s *connStream) gone() <-chan struct{} { return s.goneCh }

// tunnel runs the connection as a tunnel to up: the head went out, the
// background read stops (a byte it took is read first), and the client's
// bytes and the upstream's are copied both ways. The connection then ends.
func (s *connStream) tunnel(up *tunnelConn, idle time.Duration) (int64, int64) {
	s.keepAlive = false
	if err := s.c.bw.Flush(); err != nil {
		up.close()
		return 0, 0
	}
	s.c.stopBackgroundRead()
	return splice(s.c.rwc, s.c.br, up, idle)
}

// abort resets the stream: for HTTP/1 the connection closes without
// completing the response.
func (s *connStream) abort() {
	s.reset = true
	if s.headSent {
		// What the access log says went out does: a head still in the
		// buffer leaves before the connection closes.
		_ = s.c.rwc.SetWriteDeadline(time.Now().Add(time.Second))
		_ = s.c.bw.Flush()
	}
	_ = s.c.rwc.Close()
}
