package gateway

import (
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// tunnel copies bytes between the client's connection and up once a
	// tunnel's response head was written (see tunnel.go); it returns the
	// bytes sent to the client and received from it.
	tunnel(up *tunnelConn, idle time.Duration) (sent, received int64)
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
	h := host.NewHeaderMap(":status", statusText(resp.StatusCode))
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
	var buf [16]string // most responses: no allocation for the names
	keys := buf[:0]
	for k := range hdr {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		lk := lowerName(k)
		if !keep(lk) {
			continue
		}
		for _, v := range hdr[k] {
			h.Add(lk, v)
		}
	}
}

// lowerName returns a header name in lower case, without an allocation
// for the names most responses carry (in the canonical form Go's HTTP
// client gives them).
func lowerName(k string) string {
	switch k {
	case "Content-Type":
		return "content-type"
	case "Content-Length":
		return "content-length"
	case "Date":
		return "date"
	case "Server":
		return "server"
	case "Cache-Control":
		return "cache-control"
	case "Content-Encoding":
		return "content-encoding"
	case "Etag":
		return "etag"
	case "Last-Modified":
		return "last-modified"
	case "Vary":
		return "vary"
	case "Set-Cookie":
		return "set-cookie"
	case "Location":
		return "location"
	case "X-Content-Type-Options":
		return "x-content-type-options"
	}
	return strings.ToLower(k)
}

// statusText returns the decimal form of an HTTP status code, without an
// allocation for the codes in use.
func statusText(code int) string {
	if code >= 100 && code < 600 {
		return statusTexts[code-100]
	}
	return strconv.Itoa(code)
}

var statusTexts = func() (t [500]string) {
	for i := range t {
		t[i] = strconv.Itoa(100 + i)
	}
	return t
}()

func headerMapFrom(hdr http.Header) *host.HeaderMap {
	h := host.NewHeaderMap()
	for k, vs := range hdr {
		for _, v := range vs {
			h.Add(lowerName(k), v)
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
