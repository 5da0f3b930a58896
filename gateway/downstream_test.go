package gateway

import (
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"
)

func TestLowerNameIsToLower(t *testing.T) {
	for _, k := range []string{"Content-Type", "Content-Length", "Date", "Server", "Cache-Control",
		"Content-Encoding", "Etag", "Last-Modified", "Vary", "Set-Cookie", "Location",
		"X-Content-Type-Options", "X-Custom", "content-type", "ETAG", ""} {
		if got := lowerName(k); got != strings.ToLower(k) {
			t.Errorf("lowerName(%q) = %q", k, got)
		}
	}
	for k := range (http.Header{"Content-Type": nil, "X-A": nil}) {
		if lowerName(k) != strings.ToLower(k) {
			t.Errorf("lowerName(%q)", k)
		}
	}
}

func TestStatusTextIsDecimal(t *testing.T) {
	for code := -1; code < 1000; code++ {
		if got := statusText(code); got != strconv.Itoa(code) {
			t.Fatalf("statusText(%d) = %q", code, got)
		}
	}
}

// wrapped is a connection layer that, like *tls.Conn, gives the one below.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

func TestRemoteAddrUnwrapsToThePooledConnection(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	pc := &pooledConn{Conn: a, remote: "192.0.2.7:8080"}
	remoteAddr := func(conn net.Conn) string {
		return (&upstreamCall{}).gotConn(httptrace.GotConnInfo{Conn: conn})
	}
	if got := remoteAddr(wrapped{pc}); got != "192.0.2.7:8080" {
		t.Fatalf("through a wrapper: %q", got)
	}
	if got := remoteAddr(pc); got != "192.0.2.7:8080" {
		t.Fatalf("pooled: %q", got)
	}
	if got := remoteAddr(a); got != a.RemoteAddr().String() {
		t.Fatalf("plain: %q", got)
	}
}
