package gateway

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/host"
)

// downstream is the client side of one exchange: where the request body
// comes from and where the response goes. The exchange calls the write
// methods from its own goroutine and readBody from its body reader.
type downstream interface {
	// readBody reads the request body; io.EOF ends it, a *protocolError
	// says the body was malformed, any other error that the client is gone.
	readBody(p []byte) (int, error)
	// requestTrailers returns the request trailers once readBody returned
	// io.EOF (nil when there are none).
	requestTrailers() *host.HeaderMap
	// writeHead sends the response headers (h holds ":status"); eos says
	// the response has no body; closeConn that the connection closes after
	// this response.
	writeHead(status int, h *host.HeaderMap, eos, closeConn bool) error
	writeBody(p []byte, eos bool) error
	writeTrailers(t *host.HeaderMap) error
	// setWriteDeadline bounds the next writes.
	setWriteDeadline(t time.Time)
	// gone is closed when the client goes away (nil if never known).
	gone() <-chan struct{}
	// abort resets the stream (for HTTP/1, the connection closes without
	// completing the response).
	abort()
}

// protocolError is a request the client got wrong, answered with status and
// Envoy's response code details.
type protocolError struct {
	status  int
	details string
	msg     string
}

func (e *protocolError) Error() string { return e.msg }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
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

// handlerRequest is the request as Envoy's filters see it: pseudo-headers
// first, then the headers with lower-case names, plus x-request-id and
// x-forwarded-proto as Envoy's connection manager adds them.
func handlerRequest(r *http.Request) *inbound {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h := host.NewHeaderMap(":authority", r.Host, ":path", r.RequestURI, ":method", r.Method, ":scheme", scheme)
	addSorted(h, r.Header, func(k string) bool { return !hopByHop(k) || k == "te" })
	addConnectionManagerHeaders(h, scheme)
	rq := &inbound{headers: h, protocol: r.Proto, remote: r.RemoteAddr, tls: r.TLS != nil,
		hasBody: r.ContentLength != 0 || len(r.TransferEncoding) > 0}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		rq.local = la.String()
	}
	if r.TLS != nil {
		rq.serverName = r.TLS.ServerName
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

// addConnectionManagerHeaders adds what Envoy's connection manager adds to
// every request before the filters run.
func addConnectionManagerHeaders(h *host.HeaderMap, scheme string) {
	if _, ok := h.Get("x-forwarded-proto"); !ok {
		h.Add("x-forwarded-proto", scheme)
	}
	if _, ok := h.Get("x-request-id"); !ok {
		h.Add("x-request-id", newRequestID())
	}
}

func responseHeaderMap(resp *http.Response) *host.HeaderMap {
	h := host.NewHeaderMap(":status", strconv.Itoa(resp.StatusCode))
	addSorted(h, resp.Header, func(k string) bool { return !hopByHop(k) })
	if resp.ContentLength > 0 {
		if _, ok := h.Get("content-length"); !ok {
			h.Add("content-length", strconv.FormatInt(resp.ContentLength, 10))
		}
	}
	return h
}

// addSorted adds the headers of hdr that keep accepts (by lower-case name)
// to h, sorted by name: Go's maps do not keep the order they arrived in.
func addSorted(h *host.HeaderMap, hdr http.Header, keep func(string) bool) {
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if !keep(lk) {
			continue
		}
		for _, v := range hdr[k] {
			h.Add(lk, v)
		}
	}
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
