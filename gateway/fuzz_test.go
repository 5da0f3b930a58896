package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// FuzzRequestPath writes arbitrary bytes to a listener, as a client would,
// and closes its side: the gateway answers with well-formed responses or
// nothing, and ends the connection soon after (no hang, no panic).
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{
		"GET /get HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /get HTTP/1.1\r\nHost: x\r\n\r\nGET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: v\r\n\r\n",
		"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HEAD /get HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://h/anything?q HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
		"GET /get HTTP/1.0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	gw, err := New(ctx, Options{Logger: log, Listen: "127.0.0.1:0", PoolSize: 1, CacheDir: testCacheDir(f), Admin: "off"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_ = gw.Shutdown(sctx)
	})
	if _, err := gw.LoadAndApply(ctx, pathConfig{cluster: builtinEcho}.source()); err != nil {
		f.Fatal(err)
	}
	addr := gw.Addr("")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(data); err != nil {
			return // the gateway already closed: nothing more to check
		}
		_ = c.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the connection was still open 30 s after %q", data)
		}
		if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
			t.Fatalf("%q answered with %q", data, out)
		}
	})
}
