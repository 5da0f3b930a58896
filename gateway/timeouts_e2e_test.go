package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// rawServer is an upstream on loopback that runs serve for every
// connection; the connections close when the test ends.
func rawServer(t *testing.T, name string, serve func(c net.Conn)) config.Cluster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go serve(c)
		}
	}()
	host, port := splitAddr(ln.Addr().String())
	return config.Cluster{Name: name, Discovery: config.DiscoveryStatic, Endpoints: []config.Endpoint{{Host: host, Port: port}}}
}

// readRequestHead reads a request's line and headers from an upstream connection.
func readRequestHead(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if line == "\r\n" {
			return b.String(), nil
		}
	}
}

// pathConfig is a one-listener configuration whose route goes to cluster.
type pathConfig struct {
	cluster  config.Cluster
	plugins  []config.Plugin
	http     config.HTTPOptions
	settings config.HTTPSettings
	route    config.Route
	extra    []config.Cluster
	tls      *config.DownstreamTLS
}

func (pc pathConfig) source() Source {
	return SourceFunc(func() *config.Result {
		r := pc.route
		r.Name, r.Match, r.Cluster = "route", config.PathMatch{Kind: config.PathPrefix, Value: "/"}, pc.cluster.Name
		cfg := &config.Config{
			Source: "test",
			Listeners: []config.Listener{{
				Name: "test", Address: "127.0.0.1:0", HTTP: pc.httpSettings(), Plugins: pc.plugins, TLS: pc.tls,
				VirtualHosts: []config.VirtualHost{{Name: "all", Domains: []string{"*"}, Routes: []config.Route{r}}},
			}},
			Clusters: append([]config.Cluster{pc.cluster}, pc.extra...),
		}
		return &config.Result{Config: cfg}
	})
}

// accessLines returns the access log lines of requests to path.
func accessLines(g *testGateway, path string) []string {
	var out []string
	for _, l := range strings.Split(g.logs.String(), "\n") {
		if strings.Contains(l, "msg=access") && strings.Contains(l, " path="+path+" ") {
			out = append(out, l)
		}
	}
	return out
}

// waitAccess waits for the access log line of path and checks it holds every want.
func waitAccess(t *testing.T, g *testGateway, path string, want ...string) string {
	t.Helper()
	var line string
	waitFor(t, "the access log line of "+path, func() bool {
		ls := accessLines(g, path)
		if len(ls) == 0 {
			return false
		}
		line = ls[len(ls)-1]
		return true
	})
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Fatalf("access log %q lacks %q", line, w)
		}
	}
	return line
}

// within fails t unless d is between lo and hi times the timeout.
func within(t *testing.T, what string, d, timeout time.Duration, lo, hi float64) {
	t.Helper()
	if d < time.Duration(lo*float64(timeout)) || d > time.Duration(hi*float64(timeout)) {
		t.Errorf("%s after %v; want between %.1f× and %.1f× of %v", what, d, lo, hi, timeout)
	}
}

// holdUpstream accepts requests and never answers.
func holdUpstream(t *testing.T) config.Cluster {
	return rawServer(t, "hold", func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
	})
}

func TestRouteTimeoutAnswersEveryWaitingClient(t *testing.T) {
	const timeout = 1500 * time.Millisecond
	g := startGateway(t, pathConfig{cluster: holdUpstream(t), route: config.Route{Timeout: timeout}}.source())
	const n = 20
	type result struct {
		status  int
		body    string
		elapsed time.Duration
		err     error
	}
	results := make(chan result, n)
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < n; i++ {
		go func(i int) {
			start := time.Now()
			resp, err := client.Get(fmt.Sprintf("%s/wait/%d", g.url, i))
			if err != nil {
				results <- result{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{status: resp.StatusCode, body: string(b), elapsed: time.Since(start)}
		}(i)
	}
	for i := 0; i < n; i++ {
		r := <-results
		if r.err != nil || r.status != 504 || r.body != "upstream request timeout" {
			t.Fatalf("request %d: %+v", i, r)
		}
		within(t, "504", r.elapsed, timeout, 0.9, 3)
	}
	for i := 0; i < n; i++ {
		waitAccess(t, g, fmt.Sprintf("/wait/%d", i), "status=504", "details=upstream_response_timeout", "flags=UT")
	}
}

func TestStalledResponseIsResetAtTheRouteTimeout(t *testing.T) {
	const timeout = time.Second
	up := rawServer(t, "stall", func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readRequestHead(br); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
		_, _ = io.Copy(io.Discard, br)
	})
	g := startGateway(t, pathConfig{cluster: up, route: config.Route{Timeout: timeout}}.source())
	start := time.Now()
	resp, err := http.Get(g.url + "/stall")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if resp.StatusCode != 200 || string(b) != "hello" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("status %d body %q err %v: want the 200 cut after the first bytes", resp.StatusCode, b, err)
	}
	within(t, "reset", elapsed, timeout, 0.9, 3)
	waitAccess(t, g, "/stall", "status=200", "details=upstream_response_timeout", "flags=UT", "reset=true", "bytes_sent=5")
}

// pausePlugin is the scripted test plugin holding request headers (Envoy's
// StopAllIterationAndWatermark) with ops run before it returns.
func pausePlugin(t *testing.T, ops ...string) config.Plugin {
	wasm := testwasm.Build(t, "host/testdata/goplugin/scripted")
	ops = append(ops, `{"op":"return","value":4}`)
	return filePlugin("pauser", wasm, `{"request_headers":[`+strings.Join(ops, ",")+`]}`)
}

func TestPluginThatNeverResumesEndsAtTheStreamIdleTimeout(t *testing.T) {
	const idle = time.Second
	g := startGateway(t, pathConfig{cluster: holdUpstream(t), plugins: []config.Plugin{pausePlugin(t)},
		http: config.HTTPOptions{StreamIdleTimeout: idle}}.source(),
		func(o *Options) { o.PauseWarning = 300 * time.Millisecond })

	// The whole request arrived: Envoy answers 504.
	start := time.Now()
	status, _, body := get(t, g.url+"/complete")
	if status != 504 || body != "stream timeout" {
		t.Fatalf("complete request: %d %q", status, body)
	}
	within(t, "504", time.Since(start), idle, 0.9, 3)
	waitAccess(t, g, "/complete", "status=504", "details=stream_idle_timeout", "flags=SI")
	if !strings.Contains(g.logs.String(), "it never resumes?") || !strings.Contains(g.logs.String(), "callback=on_request_headers") ||
		!strings.Contains(g.logs.String(), "plugin=pauser") {
		t.Fatalf("no warning naming the plugin and callback:\n%s", g.logs)
	}

	// Part of the body is still to come: 408, and the connection closes.
	c, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start = time.Now()
	_, _ = io.WriteString(c, "POST /partial HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || string(b) != "stream timeout" || !resp.Close {
		t.Fatalf("partial request: %d %q close=%v", resp.StatusCode, b, resp.Close)
	}
	within(t, "408", time.Since(start), idle, 0.9, 3)
	waitAccess(t, g, "/partial", "status=408", "details=stream_idle_timeout", "flags=SI")
}

func TestPausedPluginWithACalloutPendingIsNotWarnedAbout(t *testing.T) {
	const idle = time.Second
	hold := holdUpstream(t)
	call := fmt.Sprintf(`{"op":"http_call","cluster":%q,"timeout":60000,"pairs":[[":method","GET"],[":path","/"],[":authority","hold"]]}`, hold.Name)
	g := startGateway(t, pathConfig{cluster: hold, plugins: []config.Plugin{pausePlugin(t, call)},
		http: config.HTTPOptions{StreamIdleTimeout: idle}}.source(),
		func(o *Options) { o.PauseWarning = 200 * time.Millisecond })
	if status, _, _ := get(t, g.url+"/waiting"); status != 504 {
		t.Fatalf("status %d", status)
	}
	waitAccess(t, g, "/waiting", "details=stream_idle_timeout")
	if !strings.Contains(g.logs.String(), "http_call st=0") {
		t.Fatalf("the callout did not start:\n%s", g.logs)
	}
	if strings.Contains(g.logs.String(), "it never resumes?") {
		t.Fatalf("warned although a callout was pending:\n%s", g.logs)
	}
}

func TestIdleConnectionsCloseAtTheIdleTimeout(t *testing.T) {
	const idle = 600 * time.Millisecond
	g := startGateway(t, pathConfig{cluster: builtinEcho,
		http: config.HTTPOptions{IdleTimeout: idle}}.source())
	const n = 20
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			c, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_, _ = io.WriteString(c, "GET /get HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answered := time.Now()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			if _, err := br.ReadByte(); err != io.EOF {
				errs <- fmt.Errorf("idle connection: read %v, want EOF", err)
				return
			}
			if d := time.Since(answered); d < idle*9/10 || d > idle*3 {
				errs <- fmt.Errorf("closed after %v, want about %v", d, idle)
				return
			}
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func (pc pathConfig) httpSettings() config.HTTPSettings {
	s := pc.settings
	s.HTTPOptions = pc.http
	return s
}
