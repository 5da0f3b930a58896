package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/flags"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type testGateway struct {
	gw    *Server
	url   string
	admin string
	logs  *logBuffer
}

func startGateway(t *testing.T, src Source, opts ...func(*Options)) *testGateway {
	t.Helper()
	logs := &logBuffer{}
	level := &slog.LevelVar{}
	level.Set(slog.LevelDebug)
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: level}))
	ctx := context.Background()
	o := Options{Logger: log, LogLevel: level, Listen: "127.0.0.1:0", PoolSize: 2, PoolStart: 2, CacheDir: testCacheDir(t)}
	for _, f := range opts {
		f(&o)
	}
	gw, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := gw.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if _, err := gw.LoadAndApply(ctx, src); err != nil {
		t.Fatalf("apply: %v\n%s", err, logs)
	}
	admin, err := gw.ServeAdmin("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &testGateway{gw: gw, url: "http://" + gw.Addr(""), admin: "http://" + admin, logs: logs}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testCacheDir(_ testing.TB) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "off"
	}
	return dir + "/wasmgate-test/wazero"
}

func flagsSource(opts flags.Options) Source {
	return SourceFunc(func() *config.Result { return flags.Build(opts) })
}

func get(t *testing.T, url string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// echoHeaders decodes the echo upstream's view of the request headers.
func echoHeaders(t *testing.T, body string) map[string]string {
	t.Helper()
	var v struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("echo body %q: %v", body, err)
	}
	return v.Headers
}

func TestMyPluginAddsHeaderOrMocks(t *testing.T) {
	wasm := testwasm.Build(t, "examples/my-plugin")
	t.Run("mockEnable false", func(t *testing.T) {
		g := startGateway(t, flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: wasm, Config: `{"mockEnable":false}`}}}))
		status, _, body := get(t, g.url+"/get")
		if status != 200 || echoHeaders(t, body)["Hello"] != "world" {
			t.Fatalf("status %d body %s", status, body)
		}
	})
	t.Run("mockEnable true", func(t *testing.T) {
		g := startGateway(t, flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: wasm, Config: `{"mockEnable":true}`}}}))
		status, h, body := get(t, g.url+"/get")
		if status != 200 || body != "hello world" || h.Get("Content-Type") != "text/plain" {
			t.Fatalf("status %d headers %v body %q", status, h, body)
		}
		waitFor(t, "access log line", func() bool { return strings.Contains(g.logs.String(), "msg=access") })
	})
}

func TestHelloWorld(t *testing.T) {
	wasm := testwasm.Build(t, "examples/hello-world")
	g := startGateway(t, flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: wasm}}}))
	for i := 0; i < 3; i++ {
		status, _, body := get(t, g.url+"/anything")
		if status != 200 || body != "hello world" {
			t.Fatalf("status %d body %q", status, body)
		}
	}
}

func TestNoPluginProxiesBodiesAndStatus(t *testing.T) {
	g := startGateway(t, flagsSource(flags.Options{}))
	resp, err := http.Post(g.url+"/post", "text/plain", strings.NewReader(strings.Repeat("x", 300000)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v struct{ Data string }
	if err := json.Unmarshal(b, &v); err != nil || len(v.Data) != 300000 {
		t.Fatalf("status %d, echoed %d bytes (%v)", resp.StatusCode, len(v.Data), err)
	}
	if status, _, _ := get(t, g.url+"/status/418"); status != 418 {
		t.Fatalf("status = %d", status)
	}
}

func TestStreamingResponseReachesClientBeforeUpstreamEnds(t *testing.T) {
	wasm := testwasm.Build(t, "examples/my-plugin")
	g := startGateway(t, flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: wasm}}}))
	start := time.Now()
	resp, err := http.Get(g.url + "/sse/3?interval=700")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	rest, _ := io.ReadAll(rd)
	total := time.Since(start)
	if !strings.HasPrefix(line, "id:") && !strings.HasPrefix(line, "data:") && !strings.HasPrefix(line, "event:") {
		t.Fatalf("first line %q", line)
	}
	if first >= total-500*time.Millisecond {
		t.Fatalf("first event after %v, stream ended after %v: not streamed (rest %q)", first, total, rest)
	}
}

func TestUnknownUpstreamAnswers503(t *testing.T) {
	ln := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(ln.URL, "http://")
	ln.Close() // nothing listens there now
	g := startGateway(t, flagsSource(flags.Options{Upstream: "http://" + addr}))
	status, _, body := get(t, g.url+"/x")
	if status != 503 || !strings.Contains(body, "upstream connect error") {
		t.Fatalf("status %d body %q", status, body)
	}
	waitAccess(t, g, "/x", "status=503", "details=upstream_reset_before_response_started{remote_connection_failure}", "flags=UF")
}

func TestAdminEndpoints(t *testing.T) {
	wasm := testwasm.Build(t, "examples/my-plugin")
	g := startGateway(t, flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: wasm, Config: `{"mockEnable":false}`}}}))
	if status, _, body := get(t, g.admin+"/ready"); status != 200 || strings.TrimSpace(body) != "LIVE" {
		t.Fatalf("ready: %d %q", status, body)
	}
	_, _, dump := get(t, g.admin+"/config_dump")
	var d struct {
		Plugins []struct {
			Name          string
			State         string
			Configuration json.RawMessage
		}
		Clusters []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(dump), &d); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	_ = json.Unmarshal(d.Plugins[0].Configuration, &cfg)
	if len(d.Plugins) != 1 || d.Plugins[0].State != "loaded" || cfg["mockEnable"] != false {
		t.Fatalf("config_dump plugins: %s", dump)
	}
	resp, err := http.Post(g.admin+"/logging?wasm=debug", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "wasm: debug") {
		t.Fatalf("logging: %s", b)
	}
	resp, err = http.Post(g.admin+"/logging?gateway=warning", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "gateway: warn") || !strings.Contains(string(b), "wasm: debug") {
		t.Fatalf("logging: %s", b)
	}
	if resp, err = http.Post(g.admin+"/logging?nosuch=info", "", nil); err != nil || resp.StatusCode != 400 {
		t.Fatalf("unknown logger accepted: %v", err)
	}
	resp.Body.Close()
	get(t, g.url+"/get")
	// The request is counted when its exchange ends, just after the client has the response.
	waitFor(t, "the request counter", func() bool {
		_, _, prom := get(t, g.admin+"/stats/prometheus")
		return strings.Contains(prom, `wasmgate_http_requests_total{code_class="2xx"} 1`)
	})
	_, _, plugins := get(t, g.admin+"/plugins")
	if !strings.Contains(plugins, `"vms": 2`) || strings.Contains(plugins, `"memoryBytes": 0`) || !strings.Contains(plugins, `"memoryBytes": `) {
		t.Fatalf("plugins: %s", plugins)
	}
}

func itoaT(n int) string { return strconv.Itoa(n) }

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
