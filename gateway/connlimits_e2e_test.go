package gateway

import (
	"bufio"
	"io"
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
