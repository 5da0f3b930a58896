package gateway

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http2"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/host"
)

// HTTP/2 connections are served by net/http's HTTP/2 server
// (golang.org/x/net/http2) with an http.Handler that runs the same
// exchange as the HTTP/1.1 codec: a TLS connection that negotiated h2
// through ALPN, or a plaintext one that opens with the HTTP/2 preface
// (prior knowledge) when the listener's codec allows HTTP/2.

// h2Preface opens every HTTP/2 connection (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

type protoChoice int

const (
	protoH1 protoChoice = iota
	protoH2
	protoClose
)

// negotiate finishes the TLS handshake and picks the connection's HTTP
// version: h2 from ALPN, or from the preface on plaintext; HTTP/1.1
// otherwise. A connection the codec cannot serve is closed.
func (c *serverConn) negotiate() protoChoice {
	o := c.srv.gw.listenerHTTP(c.srv.name)
	timeout := config.DefaultHeadersReadTimeout
	if o != nil {
		if d := o.EffectiveRequestHeadersTimeout(); d > 0 {
			timeout = d
		}
	}
	_ = c.rwc.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.rwc.SetReadDeadline(time.Time{}) }()
	if tc, ok := c.rwc.(*tls.Conn); ok {
		_ = tc.SetWriteDeadline(time.Now().Add(timeout))
		// A connection still in its handshake has no stream: a drain or
		// shutdown closes it.
		c.setIdle(true)
		if c.srv.isDraining() {
			return protoClose
		}
		err := tc.Handshake()
		c.setIdle(false)
		_ = tc.SetWriteDeadline(time.Time{})
		if err != nil {
			c.srv.gw.log.Debug("TLS handshake failed", "listener", c.srv.name, "remote", c.rwc.RemoteAddr().String(), "error", err)
			return protoClose
		}
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			return protoH2
		}
		if c.srv.codec == config.CodecHTTP2 {
			return protoClose
		}
		return protoH1
	}
	if c.srv.h2 == nil {
		return protoH1
	}
	// Until its first byte a connection is idle, as between requests: it
	// waits under the idle timeout, and a drain or shutdown closes it.
	if o == nil || !c.waitRequest(o, c.end(o)) {
		return protoClose
	}
	_ = c.rwc.SetReadDeadline(time.Now().Add(timeout))
	// HTTP/1 methods never start with "PRI ", so a mismatch shows within
	// the first bytes, and a short HTTP/1 request is not waited on.
	for i := 1; i <= len(h2Preface); i++ {
		b, err := c.br.Peek(i)
		if err != nil {
			return protoClose
		}
		if b[i-1] != h2Preface[i-1] {
			if c.srv.codec == config.CodecHTTP2 {
				return protoClose
			}
			return protoH1
		}
	}
	return protoH2
}

// listenerHTTP returns a listener's settings in the current snapshot.
func (gw *Server) listenerHTTP(name string) *config.HTTPSettings {
	snap := gw.snap.Load()
	if snap == nil || snap.listeners[name] == nil {
		return nil
	}
	return &snap.listeners[name].cfg.HTTP
}

// h2Server serves one listener's HTTP/2 connections.
type h2Server struct {
	base *http.Server
	srv  *http2.Server
}

func newH2Server(gw *Server, name string, lt *listenerTLS) *h2Server {
	h := &h2Server{
		base: &http.Server{Handler: gw.handler(name, lt), ErrorLog: slog.NewLogLogger(gw.log.Handler(), slog.LevelDebug)},
		srv:  &http2.Server{},
	}
	// Registers the HTTP/2 server with base, so base.Shutdown sends GOAWAY.
	_ = http2.ConfigureServer(h.base, h.srv)
	return h
}

// serve runs an HTTP/2 connection until it ends. The bytes the HTTP/1
// reader already holds (the preface of an h2c connection) are read first.
func (h *h2Server) serve(c *serverConn) {
	var conn net.Conn = &bufferedConn{Conn: c.rwc, r: c.br}
	if tc, ok := c.rwc.(*tls.Conn); ok {
		conn = &bufferedTLSConn{bufferedConn{Conn: c.rwc, r: c.br}, tc}
	}
	h.srv.ServeConn(conn, &http2.ServeConnOpts{BaseConfig: h.base, Handler: h.base.Handler})
}

// bufferedConn is a connection whose reads drain a bufio.Reader first.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// bufferedTLSConn is a bufferedConn over TLS: net/http reads the TLS
// state through ConnectionState.
type bufferedTLSConn struct {
	bufferedConn
	tc *tls.Conn
}

func (b *bufferedTLSConn) ConnectionState() tls.ConnectionState { return b.tc.ConnectionState() }

// handler serves one listener's HTTP/2 requests from the current snapshot.
func (gw *Server) handler(name string, lt *listenerTLS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for {
			snap := gw.snap.Load()
			if snap == nil {
				http.Error(w, "no configuration", http.StatusServiceUnavailable)
				return
			}
			if !snap.acquire() {
				continue // swapped meanwhile: take the new one
			}
			defer snap.release()
			ln := snap.listeners[name]
			if ln == nil {
				http.Error(w, "listener removed", http.StatusServiceUnavailable)
				return
			}
			ds, rq := newHandlerStream(w, r), handlerRequest(r, lt)
			if status, details := checkHandlerRequest(r, &ln.cfg.HTTP); status != 0 {
				gw.rejectRequest(ln, snap, ds, rq, status, details, flagDownstreamProtocolError)
				return
			}
			gw.serveExchange(ln, snap, ds, rq)
			return
		}
	})
}

// handlerStream serves an exchange through net/http's ResponseWriter.
type handlerStream struct {
	w  http.ResponseWriter
	r  *http.Request
	rc *http.ResponseController
}

func newHandlerStream(w http.ResponseWriter, r *http.Request) *handlerStream {
	s := &handlerStream{w: w, r: r, rc: http.NewResponseController(w)}
	_ = s.rc.EnableFullDuplex()
	return s
}

func (s *handlerStream) readBody(p []byte) (int, error) {
	n, err := s.r.Body.Read(p)
	if err != nil && err != io.EOF {
		if msg := err.Error(); strings.Contains(msg, "chunk") || strings.Contains(msg, "invalid byte") {
			err = &protocolError{status: http.StatusBadRequest, details: "http1.codec_error", msg: msg}
		}
	}
	return n, err
}

func (s *handlerStream) requestTrailers() *host.HeaderMap {
	if len(s.r.Trailer) == 0 {
		return nil
	}
	return headerMapFrom(s.r.Trailer)
}

func (s *handlerStream) writeHead(status int, h *host.HeaderMap, eos, closeConn bool) error {
	hdr := s.w.Header()
	for _, f := range h.Fields {
		if strings.HasPrefix(f.Key, ":") || hopByHop(f.Key) {
			continue
		}
		hdr.Add(f.Key, f.Value)
	}
	if _, ok := hdr["Content-Type"]; !ok {
		hdr["Content-Type"] = nil // no content sniffing: the upstream said nothing
	}
	if closeConn {
		hdr.Set("Connection", "close")
	}
	s.w.WriteHeader(status)
	// Headers go out at once only for a response of unknown length
	// (SSE, chunked streams); otherwise they leave with the first body
	// chunk, saving a write per request.
	if _, sized := hdr["Content-Length"]; !eos && !sized {
		return s.rc.Flush()
	}
	return nil
}

func (s *handlerStream) writeBody(p []byte, eos bool) error {
	if len(p) > 0 {
		if _, err := s.w.Write(p); err != nil {
			return err
		}
	}
	if !eos {
		return s.rc.Flush()
	}
	return nil
}

func (s *handlerStream) writeTrailers(t *host.HeaderMap) error {
	for _, f := range t.Fields {
		s.w.Header().Add(http.TrailerPrefix+f.Key, f.Value)
	}
	return nil
}

func (s *handlerStream) setWriteDeadline(t time.Time) { _ = s.rc.SetWriteDeadline(t) }

func (s *handlerStream) gone() <-chan struct{} { return s.r.Context().Done() }

func (s *handlerStream) abort() { panic(http.ErrAbortHandler) }

// tunnel is not offered over HTTP/2, which has no Upgrade (and the HTTP/2
// server answers CONNECT itself): an upstream tunnel is closed.
func (s *handlerStream) tunnel(up *tunnelConn, _ time.Duration) (int64, int64) {
	up.close()
	return 0, 0
}

// handlerRequest is the request as Envoy's filters see it: pseudo-headers
// first, then the headers with lower-case names, plus x-request-id and
// x-forwarded-proto as Envoy's connection manager adds them.
func handlerRequest(r *http.Request, lt *listenerTLS) *inbound {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h := host.NewHeaderMap(":authority", r.Host, ":path", r.RequestURI, ":method", r.Method, ":scheme", scheme)
	addSorted(h, r.Header, func(k string) bool { return !hopByHop(k) || k == "te" })
	addConnectionManagerHeaders(h, scheme)
	rq := &inbound{headers: h, protocol: envoyProtocol(r.Proto), remote: r.RemoteAddr, tls: r.TLS != nil,
		hasBody: r.ContentLength != 0 || len(r.TransferEncoding) > 0}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		rq.local = la.String()
	}
	if r.TLS != nil {
		rq.serverName = r.TLS.ServerName
		rq.tlsInfo = connectionTLS(r.TLS, lt.local(r.TLS.ServerName))
	}
	return rq
}

// checkHandlerRequest applies the checks of Envoy's HTTP/1 codec that a
// net/http request still allows: the header count (431
// http1.too_many_headers) and HTTP/1.0 without accept_http_10 (426
// low_version).
func checkHandlerRequest(r *http.Request, o *config.HTTPSettings) (int, string) {
	n := 0
	for _, vs := range r.Header {
		n += len(vs)
	}
	if r.Host != "" {
		n++ // Host is a header on the wire
	}
	if n > o.EffectiveMaxHeadersCount() {
		return http.StatusRequestHeaderFieldsTooLarge, "http1.too_many_headers"
	}
	if r.ProtoMajor == 1 && r.ProtoMinor == 0 && !o.AcceptHTTP10 {
		return http.StatusUpgradeRequired, "low_version"
	}
	return 0, ""
}
