package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

// getOn sends a GET on an open connection and reads the response.
func getOn(t *testing.T, c io.Writer, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestMaxRequestsPerConnection(t *testing.T) {
	g := startGateway(t, pathConfig{cluster: builtinEcho, http: config.HTTPOptions{MaxRequestsPerConnection: 2}}.source())
	c := dialGateway(t, g)
	br := bufio.NewReader(c)
	if resp := getOn(t, c, br, "/get"); resp.Close {
		t.Fatal("the first response closes the connection")
	}
	if resp := getOn(t, c, br, "/get"); !resp.Close || !closed(br, c) {
		t.Fatalf("the second of max_requests_per_connection 2: close=%v", resp.Close)
	}
}

func TestMaxConnectionDuration(t *testing.T) {
	const d = 800 * time.Millisecond
	g := startGateway(t, pathConfig{cluster: builtinEcho, http: config.HTTPOptions{MaxConnectionDuration: d}}.source())
	c := dialGateway(t, g)
	opened := time.Now()
	br := bufio.NewReader(c)
	if resp := getOn(t, c, br, "/get"); resp.Close {
		t.Fatal("a response within the duration closes the connection")
	}
	// Idle past the duration: the gateway closes the connection.
	if !closed(br, c) {
		t.Fatal("the connection outlived max_connection_duration")
	}
	within(t, "closed", time.Since(opened), d, 0.9, 4)

	// A response that starts after the duration says Connection: close.
	c = dialGateway(t, g)
	br = bufio.NewReader(c)
	_, _ = io.WriteString(c, "GET /delay/1 HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Close {
		t.Fatal("a response after max_connection_duration keeps the connection")
	}
}

func TestRetiredConfigurationResetsStuckRequestsAfterTheDrain(t *testing.T) {
	const drain = time.Second
	src := pathConfig{cluster: holdUpstream(t), route: config.Route{Timeout: time.Minute}}.source()
	g := startGateway(t, src, func(o *Options) { o.DrainTime = drain })
	errs := make(chan error, 1)
	go func() {
		resp, err := http.Get(g.url + "/stuck")
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	waitFor(t, "the request to start", func() bool { return inflight(g.gw.snap.Load()) == 1 })
	retired := time.Now()
	if _, err := g.gw.LoadAndApply(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("the stuck request got a response; want a reset")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stuck request outlived its configuration's drain")
	}
	within(t, "reset", time.Since(retired), drain, 0.9, 4)
	waitAccess(t, g, "/stuck", "details=downstream_local_disconnect", "reset=true")
}

func inflight(s *snapshot) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// silentConns opens n connections that send nothing and waits until the
// gateway has accepted them all.
func silentConns(t *testing.T, g *testGateway, n int) []net.Conn {
	t.Helper()
	cs := make([]net.Conn, n)
	for i := range cs {
		cs[i] = dialGateway(t, g)
	}
	waitFor(t, "the connections to be accepted", func() bool {
		g.gw.applyMu.Lock()
		defer g.gw.applyMu.Unlock()
		accepted := 0
		for _, ls := range g.gw.listeners {
			ls.srv.mu.Lock()
			accepted += len(ls.srv.conns)
			ls.srv.mu.Unlock()
		}
		return accepted == n
	})
	return cs
}

// A connection that has not sent its first byte has no stream: like a
// connection between requests, it is closed at the idle timeout (not at
// the request headers timeout, which starts with the first byte).
func TestSilentConnectionsCloseAtTheIdleTimeout(t *testing.T) {
	const idle = 600 * time.Millisecond
	for _, codec := range []config.Codec{config.CodecAuto, config.CodecHTTP1} {
		t.Run(codec.String(), func(t *testing.T) {
			g := startGateway(t, pathConfig{cluster: builtinEcho, settings: config.HTTPSettings{Codec: codec},
				http: config.HTTPOptions{IdleTimeout: idle, RequestHeadersTimeout: time.Minute}}.source())
			opened := time.Now()
			for _, c := range silentConns(t, g, 3) {
				if !closed(bufio.NewReader(c), c) {
					t.Fatal("a silent connection outlived the idle timeout")
				}
				within(t, "closed", time.Since(opened), idle, 0.9, 4)
			}
		})
	}
}

// Shutdown closes connections that have not sent a byte (or not finished
// their TLS handshake) at once instead of waiting for them through the drain.
func TestShutdownClosesSilentConnections(t *testing.T) {
	pki := newTestPKI(t)
	_, certFile, keyFile := pki.issue(t, "server", "gw.test", "gw.test")
	downstreamTLS := &config.DownstreamTLS{Certificates: []config.Certificate{{
		Chain: config.DataSource{File: certFile}, Key: config.DataSource{File: keyFile}}}}
	for name, pc := range map[string]pathConfig{
		"AUTO":  {cluster: builtinEcho},
		"HTTP1": {cluster: builtinEcho, settings: config.HTTPSettings{Codec: config.CodecHTTP1}},
		"TLS":   {cluster: builtinEcho, tls: downstreamTLS},
	} {
		t.Run(name, func(t *testing.T) {
			g := startGateway(t, pc.source())
			cs := silentConns(t, g, 4)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			if err := g.gw.Shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("shutdown took %v with silent connections open", d)
			}
			for _, c := range cs {
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Fatalf("a silent connection after shutdown: read %v, want EOF", err)
				}
			}
		})
	}
}
