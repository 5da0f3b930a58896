package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// uploadSeen is what a raw upstream saw of a chunked upload.
type uploadSeen struct {
	body     string
	complete bool  // the last chunk arrived: the upload ended cleanly
	err      error // how the connection ended otherwise
}

// uploadUpstream reads one request with a chunked body per connection and
// reports what it saw.
func uploadUpstream(t *testing.T, heads chan<- string, seen chan<- uploadSeen) config.Cluster {
	return rawServer(t, "uploads", func(c net.Conn) {
		br := bufio.NewReader(c)
		head, err := readRequestHead(br)
		if err != nil {
			return
		}
		heads <- head
		if !strings.Contains(strings.ToLower(head), "transfer-encoding: chunked") {
			seen <- uploadSeen{err: fmt.Errorf("not chunked: %q", head)}
			return
		}
		b, err := io.ReadAll(httputil.NewChunkedReader(br))
		s := uploadSeen{body: string(b), complete: err == nil, err: err}
		if err == nil {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		seen <- s
	})
}

func TestBrokenAndAbortedUploadsNeverReachTheUpstreamComplete(t *testing.T) {
	heads, seen := make(chan string, 4), make(chan uploadSeen, 4)
	g := startGateway(t, pathConfig{cluster: uploadUpstream(t, heads, seen)}.source())
	started := func(what string) {
		t.Helper()
		select {
		case <-heads:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s never started upstream", what)
		}
	}

	expectReset := func(what string) {
		t.Helper()
		select {
		case s := <-seen:
			if s.complete {
				t.Fatalf("%s reached the upstream as a complete upload (%q)", what, s.body)
			}
			if !errors.Is(s.err, syscall.ECONNRESET) {
				t.Fatalf("%s: the upstream saw %v after %q, want a connection reset", what, s.err, s.body)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the upstream saw nothing", what)
		}
	}

	// A malformed chunk once the upload is under way: 400 to the client,
	// a reset upstream.
	conn := dialGateway(t, g)
	_, _ = io.WriteString(conn, "POST /broken HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	started("a malformed chunked upload")
	_, _ = io.WriteString(conn, "zz\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !closed(br, conn) {
		t.Fatalf("malformed chunk: %d %q", resp.StatusCode, body)
	}
	expectReset("a malformed chunked upload")
	waitAccess(t, g, "/broken", "status=400", "details=http1.codec_error", "flags=DPE")

	// The client goes away in the middle of the body.
	conn = dialGateway(t, g)
	_, _ = io.WriteString(conn, "POST /aborted HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	started("an aborted chunked upload")
	conn.Close()
	expectReset("an aborted chunked upload")
	waitAccess(t, g, "/aborted", "details=downstream_remote_disconnect", "flags=DC", "reset=true")

	// A complete upload still ends cleanly.
	resp, b, _, _ := rawExchange(t, g, "POST /whole HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	if resp.StatusCode != 200 || b != "ok" {
		t.Fatalf("complete upload: %d %q", resp.StatusCode, b)
	}
	started("a complete upload")
	if s := <-seen; !s.complete || s.body != "hello" {
		t.Fatalf("complete upload seen as %+v", s)
	}
}

// dialGateway opens a client connection to the gateway, closed when the test ends.
func dialGateway(t *testing.T, g *testGateway) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return c
}

func TestLongerBodyWithItsOldLengthIsResetAndSaysSo(t *testing.T) {
	wasm := testwasm.Build(t, "host/testdata/goplugin/scripted")
	p := filePlugin("lengthen", wasm, `{"response_body":[{"op":"set_body","buf":1,"start":0,"size":100000,"data":"a body much longer than the one the upstream sent"},{"op":"return","value":0}]}`)
	up := rawServer(t, "short", func(c net.Conn) {
		if _, err := readRequestHead(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nshort")
	})
	g := startGateway(t, pathConfig{cluster: up, plugins: []config.Plugin{p}}.source())
	resp, err := http.Get(g.url + "/lengthen")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err == nil {
		t.Fatalf("status %d body %q err %v: want the headers, then a reset", resp.StatusCode, b, err)
	}
	waitAccess(t, g, "/lengthen", "status=200", "details=response_content_length_mismatch", "flags=LR", "reset=true", "bytes_sent=0")
	if !strings.Contains(g.logs.String(), "must remove content-length") {
		t.Fatalf("no warning:\n%s", g.logs)
	}
}

// A response body that overflows a buffering plugin's limit after the
// response headers went out cannot become the 500 Envoy sends before them:
// the stream is reset, and the access log keeps the status the client got
// with the reason, response_payload_too_large.
func TestResponseOverflowAfterTheHeadersIsResetAndSaysSo(t *testing.T) {
	wasm := testwasm.Build(t, "host/testdata/goplugin/scripted")
	p := filePlugin("buffering", wasm, `{"response_body":[{"op":"return","value":1}]}`)
	const size = 3 << 20 // over the default 1 MiB buffer limit
	up := rawServer(t, "big", func(c net.Conn) {
		if _, err := readRequestHead(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		_, _ = c.Write(bytes.Repeat([]byte("x"), size))
	})
	g := startGateway(t, pathConfig{cluster: up, plugins: []config.Plugin{p}}.source())
	resp, err := http.Get(g.url + "/overflow")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err == nil {
		t.Fatalf("status %d, %d body bytes, err %v: want the headers, then a reset", resp.StatusCode, len(b), err)
	}
	waitAccess(t, g, "/overflow", "status=200", "details=response_payload_too_large", "reset=true")
}
