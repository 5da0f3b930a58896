package plugintest_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/internal/testservers"
	"github.com/wasmgate/wasmgate/plugintest"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// probe loads the test plugin in testdata/probe (see its doc comment).
func probe(t *testing.T, opts ...plugintest.Option) *plugintest.Plugin {
	t.Helper()
	return plugintest.Load(t, "testdata/probe", opts...)
}

func steps(r *plugintest.Result) string {
	s := make([]string, len(r.Steps))
	for i, st := range r.Steps {
		s[i] = st.String()
	}
	return strings.Join(s, " ")
}

func TestRequestAndResponse(t *testing.T) {
	p := probe(t,
		plugintest.Route("route-a"), plugintest.Cluster("outbound|80||backend.dns"),
		plugintest.Env("PROBE_ENV", "from-env"), plugintest.Property("node.id", "node-1"),
		plugintest.Upstream(plugintest.Respond(201, http.Header{"X-Up": {"1"}}, []byte("created"))))
	res := p.Do(t, plugintest.Get("/a?b=c").WithHeader("X-Client", "c1"))

	u := res.Upstream
	if u == nil {
		t.Fatalf("the request did not reach the upstream; local %+v", res.Local)
	}
	want := map[string]string{
		"x-probe-seen": "1", "x-route": "route-a", "x-cluster": "outbound|80||backend.dns",
		"x-source": "127.0.0.1:40000", "x-req-path": "/a?b=c", "x-node": "node-1",
		"x-plugin": "probe", "x-env": "from-env", "x-client": "c1",
		"x-now": strconv.FormatInt(plugintest.DefaultStartTime.Unix(), 10),
	}
	for k, v := range want {
		if got := u.Header.Get(k); got != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	if id := u.Header.Get("x-request-id"); id == "" || u.Header.Get("x-req-id") != id {
		t.Errorf("request.id = %q, x-request-id = %q", u.Header.Get("x-req-id"), id)
	}
	if u.Method != "GET" || u.Path != "/a?b=c" || u.Host != plugintest.DefaultDomain || u.Scheme != "http" {
		t.Errorf("upstream request line = %s %s host %s scheme %s", u.Method, u.Path, u.Host, u.Scheme)
	}
	var pseudo []string
	for _, f := range u.Fields[:4] {
		pseudo = append(pseudo, f[0])
	}
	if strings.Join(pseudo, " ") != ":authority :path :method :scheme" {
		t.Errorf("the request does not start with the pseudo-headers: %v", u.Fields)
	}
	if res.Status != 201 || string(res.Body) != "created" || res.Header.Get("x-up") != "1" {
		t.Errorf("client got %d %q %v", res.Status, res.Body, res.Header)
	}
	if res.Header.Get("x-probe-resp") != "201" || res.Header.Get("x-probe-details") != "via_upstream" {
		t.Errorf("the response callbacks did not see the upstream response: %v", res.Header)
	}
	if res.Details != "via_upstream" || res.Local != nil || res.Reset {
		t.Errorf("details %q local %+v reset %v", res.Details, res.Local, res.Reset)
	}
	if got := steps(res); got != "request_headers:continue response_headers:continue response_body:continue" {
		t.Errorf("steps = %s", got)
	}
	if res.Properties["probe.logged"] != "201" {
		t.Errorf("properties = %v, want probe.logged=201 (set in proxy_on_log)", res.Properties)
	}
	if !res.RouteCacheCleared {
		t.Error("the plugin changed the request headers but the route cache was not cleared")
	}
}

func TestRequestOverrides(t *testing.T) {
	p := probe(t, plugintest.Route("default-route"), plugintest.Domain("api.example.org"))
	res := p.Do(t, plugintest.Get("/").Route("special").Cluster("c2").From("10.1.2.3:5555").
		Property("node.id", "per-request"))
	u := res.Upstream
	if u.Header.Get("x-route") != "special" || u.Header.Get("x-cluster") != "c2" || u.Header.Get("x-source") != "10.1.2.3:5555" ||
		u.Header.Get("x-node") != "per-request" || u.Host != "api.example.org" {
		t.Fatalf("upstream = %+v", u)
	}
	res = p.Do(t, plugintest.Get("/").WithHost("other.example.org"))
	if res.Upstream.Host != "other.example.org" || res.Upstream.Header.Get("x-route") != "default-route" {
		t.Fatalf("upstream = %+v", res.Upstream)
	}
	if got := res.Upstream.Header.Get("x-cluster"); !strings.Contains(got, "not found") {
		t.Fatalf("cluster_name without Cluster = %q, want not found", got)
	}
}

func TestLocalReplyFromRequestPhase(t *testing.T) {
	p := probe(t)
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "deny"))
	if res.Upstream != nil {
		t.Fatal("the request reached the upstream")
	}
	l := res.Local
	if l == nil || l.Status != 403 || string(l.Body) != "denied" || l.Details != "probe_denied" ||
		l.Header.Get("x-denied") != "yes" || l.Phase != plugintest.RequestHeaders || l.GRPCStatus != -1 {
		t.Fatalf("local reply = %+v", l)
	}
	// As in Envoy, the reply runs through the plugin's own response callbacks.
	if res.Status != 403 || string(res.Body) != "denied" || res.Header.Get("x-probe-resp") != "403" ||
		res.Header.Get("x-probe-details") != "probe_denied" {
		t.Fatalf("client got %d %q %v", res.Status, res.Body, res.Header)
	}
	if got := steps(res); got != "request_headers:local_reply response_headers:continue response_body:continue" {
		t.Fatalf("steps = %s", got)
	}
	if res.Details != "probe_denied" || res.Properties["probe.logged"] != "403" {
		t.Fatalf("details %q properties %v", res.Details, res.Properties)
	}
}

func TestLocalReplyFromResponsePhase(t *testing.T) {
	p := probe(t, plugintest.Upstream(plugintest.Respond(200, nil, []byte("upstream body"))))
	res := p.Do(t, plugintest.Get("/").WithHeader("x-resp", "deny"))
	if res.Upstream == nil {
		t.Fatal("the request did not reach the upstream")
	}
	if res.Local == nil || res.Local.Phase != plugintest.ResponseHeaders {
		t.Fatalf("local reply = %+v", res.Local)
	}
	// The reply replaces the upstream response; it does not run through the
	// response callbacks again.
	if res.Status != 503 || string(res.Body) != "upstream refused" || res.Header.Get("x-replaced") != "yes" ||
		res.Header.Get("x-probe-resp") != "" {
		t.Fatalf("client got %d %q %v", res.Status, res.Body, res.Header)
	}
}

func TestHTTPCalloutScripted(t *testing.T) {
	p := probe(t, plugintest.Config(`{"cluster": "outbound|80||checker.dns"}`),
		plugintest.HTTPCluster("outbound|80||checker.dns", func(c plugintest.HTTPCall) plugintest.HTTPReply {
			return plugintest.HTTPReply{Status: 200, Body: []byte("ok-" + c.Header.Get("x-probe-id"))}
		}))
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "call").WithHeader("x-request-id", "r1"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-check") != "ok-r1" {
		t.Fatalf("upstream = %+v, local = %+v", res.Upstream, res.Local)
	}
	if got := steps(res); !strings.HasPrefix(got, "request_headers:stop resume_request:continue ") {
		t.Fatalf("steps = %s", got)
	}
	calls := p.HTTPCalls("outbound|80||checker.dns")
	if len(calls) != 1 {
		t.Fatalf("calls = %+v", calls)
	}
	c := calls[0]
	if c.Method != "POST" || c.Path != "/check?id=r1" || c.Authority != "checker" || string(c.Body) != "who?" ||
		c.Timeout != time.Second || c.Header.Get("content-length") != "4" {
		t.Fatalf("call = %+v", c)
	}
}

func TestHTTPCalloutFailures(t *testing.T) {
	cfg := plugintest.Config(`{"cluster": "checker"}`)
	for _, tc := range []struct {
		name  string
		h     plugintest.HTTPHandler
		reply string
	}{
		{"status", plugintest.Reply(500, nil, []byte("boom")), "check failed: 500"},
		{"reset", plugintest.ResetCallout(), "check failed: reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := probe(t, cfg, plugintest.HTTPCluster("checker", tc.h))
			res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "call"))
			if res.Local == nil || res.Local.Status != 502 || string(res.Local.Body) != tc.reply {
				t.Fatalf("local reply = %+v", res.Local)
			}
			if res.Local.Phase != plugintest.RequestHeaders || res.Upstream != nil {
				t.Fatalf("phase %s, upstream %+v", res.Local.Phase, res.Upstream)
			}
		})
	}
}

func TestHTTPCalloutUnknownCluster(t *testing.T) {
	p := probe(t, plugintest.Config(`{"cluster": "nowhere"}`))
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "call"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-check") != "" {
		t.Fatalf("upstream = %+v, local = %+v", res.Upstream, res.Local)
	}
	errs := p.Logs(plugintest.LevelError)
	if len(errs) != 1 || !strings.Contains(errs[0], `dispatch to "nowhere"`) || !strings.Contains(errs[0], "bad argument") {
		t.Fatalf("error logs = %q", errs)
	}
	if calls := p.HTTPCalls("nowhere"); len(calls) != 0 {
		t.Fatalf("calls to an unknown cluster were recorded: %+v", calls)
	}
}

func TestHTTPCalloutTimeout(t *testing.T) {
	p := probe(t, plugintest.Config(`{"cluster": "checker"}`), plugintest.HTTPCluster("checker", plugintest.NoAnswer()))
	call := p.Go(plugintest.Get("/").WithHeader("x-probe", "call").WithHeader("x-timeout-ms", "250"))
	p.Advance(249 * time.Millisecond)
	select {
	case <-call.Done():
		r, err := call.Result()
		t.Fatalf("the request ended before the timeout: %+v %v", r, err)
	default:
	}
	p.Advance(time.Millisecond)
	res := call.Wait(t)
	if res.Local == nil || string(res.Local.Body) != "check failed: 504" {
		t.Fatalf("local reply = %+v", res.Local)
	}
	if got := p.Now().Sub(plugintest.DefaultStartTime); got != 250*time.Millisecond {
		t.Fatalf("the clock moved %s", got)
	}
}

// A delayed answer arrives while the request body flows: the engine buffers
// it and hands it to the plugin once it resumes.
func TestHTTPCalloutDelayedWhileBodyArrives(t *testing.T) {
	p := probe(t, plugintest.Config(`{"cluster": "checker"}`),
		plugintest.HTTPCluster("checker", plugintest.Reply(200, nil, []byte("late")).After(300*time.Millisecond)))
	call := p.Go(plugintest.Post("/up", "text/plain", []byte("abcdefghi")).InChunks(3).
		WithHeader("x-probe", "call").WithHeader("x-body", "stream"))
	p.Advance(300 * time.Millisecond)
	res := call.Wait(t)
	u := res.Upstream
	if u == nil || u.Header.Get("x-check") != "late" {
		t.Fatalf("upstream = %+v, local = %+v", u, res.Local)
	}
	// The three chunks arrived while the plugin held the request: the
	// plugin sees them as one buffered body when it resumes.
	if string(u.Body) != "[abcdefghi]" || u.Frames != 1 {
		t.Fatalf("upstream body %q in %d frames", u.Body, u.Frames)
	}
	if got := steps(res); !strings.HasPrefix(got, "request_headers:stop request_body:stop request_body:stop request_body:stop resume_request:continue") {
		t.Fatalf("steps = %s", got)
	}
}

func TestHTTPCalloutRealServer(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	var body []byte
	url := plugintest.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, body = r, b
		mu.Unlock()
		fmt.Fprintf(w, "real-%s", r.URL.Query().Get("id"))
	}))
	p := probe(t, plugintest.Config(`{"cluster": "checker"}`), plugintest.RealHTTPCluster("checker", url))
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "call").WithHeader("x-request-id", "r9"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-check") != "real-r9" {
		t.Fatalf("upstream = %+v, local = %+v", res.Upstream, res.Local)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Method != "POST" || got.Host != "checker" || got.URL.Path != "/check" || string(body) != "who?" ||
		got.Header.Get("x-probe-id") != "r9" {
		t.Fatalf("server got %s %s host %s body %q header %v", got.Method, got.URL, got.Host, body, got.Header)
	}
}

func TestHTTPCalloutRealServerDown(t *testing.T) {
	url := "http://127.0.0.1:" + strconv.Itoa(testservers.FreePort(t))
	p := probe(t, plugintest.Config(`{"cluster": "checker"}`), plugintest.RealHTTPCluster("checker", url))
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "call"))
	if res.Local == nil || string(res.Local.Body) != "check failed: 503" {
		t.Fatalf("local reply = %+v", res.Local)
	}
}

func TestRedisScripted(t *testing.T) {
	store := map[string]string{"k1": "v1"}
	p := probe(t,
		plugintest.Config(`{"redis": "outbound|6379||redis.dns", "redis_user": "u", "redis_password": "pw", "redis_db": 2}`),
		plugintest.RedisCluster("outbound|6379||redis.dns", func(cmd []string) plugintest.RedisReply {
			if len(cmd) == 2 && cmd[0] == "GET" {
				if v, ok := store[cmd[1]]; ok {
					return plugintest.RedisString(v)
				}
				return plugintest.RedisNil()
			}
			return plugintest.RedisError("ERR unexpected")
		}))
	for _, kv := range [][2]string{{"k1", "v1"}, {"missing", "nil"}} {
		res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "redis").WithHeader("x-key", kv[0]))
		if res.Upstream == nil || res.Upstream.Header.Get("x-redis") != kv[1] {
			t.Fatalf("key %s: upstream = %+v", kv[0], res.Upstream)
		}
	}
	calls := p.RedisCalls("outbound|6379||redis.dns")
	if len(calls) != 2 || !reflect.DeepEqual(calls[0].Command, []string{"GET", "k1"}) {
		t.Fatalf("calls = %+v", calls)
	}
	inits := p.RedisInits("outbound|6379||redis.dns")
	if len(inits) != 1 || inits[0].Params != "db=2" || inits[0].Username != "u" || inits[0].Password != "pw" ||
		inits[0].Timeout != 500*time.Millisecond {
		t.Fatalf("inits = %+v", inits)
	}
}

func TestRedisFailureAndDelay(t *testing.T) {
	p := probe(t, plugintest.Config(`{"redis": "r"}`), plugintest.RedisCluster("r", plugintest.RedisFailure()))
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "redis").WithHeader("x-key", "k"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-redis") != "failed" {
		t.Fatalf("upstream = %+v", res.Upstream)
	}

	p = probe(t, plugintest.Config(`{"redis": "r"}`), plugintest.RedisCluster("r", func([]string) plugintest.RedisReply {
		return plugintest.RedisInt(7).After(time.Second)
	}))
	call := p.Go(plugintest.Get("/").WithHeader("x-probe", "redis").WithHeader("x-key", "k"))
	p.Advance(time.Second)
	res = call.Wait(t)
	if res.Upstream == nil || res.Upstream.Header.Get("x-redis") != ":7" {
		t.Fatalf("upstream = %+v", res.Upstream)
	}
}

func TestRedisRealServer(t *testing.T) {
	r := testservers.StartRedis(t)
	r.Do(t, "SET greeting hello")
	p := probe(t, plugintest.Config(`{"redis": "outbound|6379||redis.dns"}`), plugintest.RealRedisCluster("outbound|6379||redis.dns", r.Addr))
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "redis").WithHeader("x-key", "greeting"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-redis") != "hello" {
		t.Fatalf("upstream = %+v, local = %+v", res.Upstream, res.Local)
	}
	if calls := p.RedisCalls("outbound|6379||redis.dns"); len(calls) != 1 || calls[0].Command[1] != "greeting" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestPausedRequestFails(t *testing.T) {
	p := probe(t, plugintest.PauseTimeout(200*time.Millisecond))
	start := time.Now()
	_, err := p.Send(plugintest.Get("/held").WithHeader("x-probe", "pause"))
	if err == nil {
		t.Fatal("a request the plugin never resumes completed")
	}
	msg := err.Error()
	for _, want := range []string{"GET /held made no progress for 200ms", "never reached the upstream", "request_headers:stop", "no timer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the request failed after %s", d)
	}
}

func TestTicks(t *testing.T) {
	p := probe(t, plugintest.Config(`{"tick_ms": 100}`))
	p.Advance(time.Second)
	m, ok := p.Metric("probe_ticks_total")
	if !ok || m.Value != 10 {
		t.Fatalf("ticks after 1s = %+v", m)
	}
	logs := p.Logs(plugintest.LevelInfo)
	wantLast := fmt.Sprintf("tick 10 at %d", plugintest.DefaultStartTime.Add(time.Second).UnixMilli())
	if logs[len(logs)-1] != wantLast {
		t.Fatalf("last log = %q, want %q", logs[len(logs)-1], wantLast)
	}
	if d, ok := p.Tick(); !ok || d != 100*time.Millisecond {
		t.Fatalf("Tick moved %s %v", d, ok)
	}
	// A request the plugin holds until its next tick.
	call := p.Go(plugintest.Get("/").WithHeader("x-probe", "wait-tick"))
	if d, ok := p.Tick(); !ok || d != 100*time.Millisecond {
		t.Fatalf("Tick moved %s %v", d, ok)
	}
	res := call.Wait(t)
	if res.Upstream == nil || res.Upstream.Header.Get("x-tick") != "12" {
		t.Fatalf("upstream = %+v", res.Upstream)
	}
}

func TestMetrics(t *testing.T) {
	p := probe(t)
	for i := 0; i < 3; i++ {
		p.Do(t, plugintest.Post("/", "text/plain", []byte("12345")))
	}
	if m, _ := p.Metric("probe_requests_total"); m.Value != 3 || m.Type != types.MetricTypeCounter {
		t.Fatalf("requests = %+v", m)
	}
	if m, _ := p.Metric("probe_inflight"); m.Value != 0 || m.Type != types.MetricTypeGauge {
		t.Fatalf("inflight = %+v", m)
	}
	h, _ := p.Metric("probe_body_bytes")
	if h.Histogram == nil || h.Histogram.Count != 3 || h.Histogram.Sum != 15 {
		t.Fatalf("body sizes = %+v", h.Histogram)
	}
	if _, ok := p.Metric("nope"); ok {
		t.Fatal("an undefined metric was found")
	}
	if n := len(p.Metrics()); n != 4 {
		t.Fatalf("%d metrics", n)
	}
}

func TestLogsByLevel(t *testing.T) {
	p := probe(t, plugintest.LogLevel(plugintest.LevelTrace))
	p.Do(t, plugintest.Get("/").WithHeader("x-probe", "log"))
	for _, l := range []struct {
		level types.LogLevel
		msg   string
	}{
		{plugintest.LevelTrace, "probe trace"}, {plugintest.LevelDebug, "probe debug"}, {plugintest.LevelInfo, "probe info"},
		{plugintest.LevelWarn, "probe warn"}, {plugintest.LevelError, "probe error"}, {plugintest.LevelCritical, "probe critical"},
	} {
		if !contains(p.Logs(l.level), l.msg) {
			t.Errorf("level %v logs = %q, want %q", l.level, p.Logs(l.level), l.msg)
		}
	}

	p = probe(t) // info by default
	p.Do(t, plugintest.Get("/").WithHeader("x-probe", "log"))
	if d := p.Logs(plugintest.LevelDebug); len(d) != 0 {
		t.Fatalf("debug logs at level info: %q", d)
	}
	if !contains(p.Logs(plugintest.LevelWarn), "probe warn") {
		t.Fatalf("warn logs = %q", p.Logs(plugintest.LevelWarn))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRequestBodyInChunks(t *testing.T) {
	p := probe(t)
	res := p.Do(t, plugintest.Post("/", "text/plain", []byte("abcdefg")).InChunks(3).WithHeader("x-body", "stream"))
	u := res.Upstream
	if string(u.Body) != "[abc][de][fg]" || u.Frames != 3 {
		t.Fatalf("upstream body %q in %d frames", u.Body, u.Frames)
	}
	if got := res.Actions(plugintest.RequestBody); len(got) != 3 || got[2] != plugintest.ActionContinue {
		t.Fatalf("body actions = %v", got)
	}
	if res.Properties["probe.body_calls"] != "3" {
		t.Fatalf("properties = %v", res.Properties)
	}
	if u.Header.Get("content-length") != "7" {
		t.Fatalf("content-length = %q", u.Header.Get("content-length"))
	}
}

func TestRequestBodyBuffered(t *testing.T) {
	p := probe(t)
	res := p.Do(t, plugintest.Post("/", "text/plain", []byte("hello, world")).InChunks(4).WithHeader("x-body", "upper"))
	u := res.Upstream
	if string(u.Body) != "HELLO, WORLD" || u.Frames != 1 || u.Header.Get("content-length") != "" {
		t.Fatalf("upstream body %q in %d frames, header %v", u.Body, u.Frames, u.Header)
	}
	want := []plugintest.Action{plugintest.ActionStop, plugintest.ActionStop, plugintest.ActionStop, plugintest.ActionContinue}
	if got := res.Actions(plugintest.RequestBody); !reflect.DeepEqual(got, want) {
		t.Fatalf("body actions = %v", got)
	}
}

func TestRequestBodyLocalReply(t *testing.T) {
	p := probe(t)
	res := p.Do(t, plugintest.Post("/", "text/plain", []byte("a forbidden word")).WithChunks([]byte("a forb"), []byte("idden word")).
		WithHeader("x-body", "deny"))
	if res.Local == nil || res.Local.Status != 451 || res.Local.Phase != plugintest.RequestBody || res.Status != 451 {
		t.Fatalf("local reply = %+v, client status %d", res.Local, res.Status)
	}
	if res.Upstream == nil || len(res.Upstream.Body) != 0 {
		t.Fatalf("the upstream got %+v: the headers went on, the body never", res.Upstream)
	}
}

func TestBufferLimit(t *testing.T) {
	p := probe(t, plugintest.BufferLimit(8))
	res := p.Do(t, plugintest.Post("/", "text/plain", []byte("0123456789abcdef")).InChunks(4).WithHeader("x-body", "upper"))
	if res.Local == nil || res.Local.Status != 413 || res.Local.Details != "request_payload_too_large" {
		t.Fatalf("local reply = %+v", res.Local)
	}
}

func TestTrailers(t *testing.T) {
	p := probe(t, plugintest.Upstream(func(*plugintest.UpstreamRequest) *plugintest.Response {
		return plugintest.NewResponse(200, nil, []byte("body")).WithTrailer("grpc-status", "0")
	}))
	res := p.Do(t, plugintest.Post("/", "application/grpc", []byte("payload")).WithTrailer("x-sum", "42"))
	u := res.Upstream
	if string(u.Body) != "payload" || u.Trailer.Get("x-sum") != "42" || u.Trailer.Get("x-probe-trailer") != "seen" {
		t.Fatalf("upstream = %+v", u)
	}
	if u.Header.Get("content-length") != "" {
		t.Fatal("a request with trailers announced a content-length")
	}
	if string(res.Body) != "body" || res.Trailer.Get("grpc-status") != "0" || res.Trailer.Get("x-probe-trailer") != "seen" {
		t.Fatalf("client got %q trailers %v", res.Body, res.Trailer)
	}
	if _, ok := res.Action(plugintest.ResponseTrailers); !ok {
		t.Fatalf("steps = %s", steps(res))
	}
}

func TestResponseBodyBuffered(t *testing.T) {
	p := probe(t)
	res := p.Do(t, plugintest.Get("/").WithHeader("x-resp", "upper").
		Upstream(plugintest.RespondWith(plugintest.NewResponse(200, http.Header{"Content-Type": {"text/plain"}}, []byte("hello there")).InChunks(3))))
	if string(res.Body) != "HELLO THERE" || res.Header.Get("content-length") != "" {
		t.Fatalf("client got %q %v", res.Body, res.Header)
	}
	want := []plugintest.Action{plugintest.ActionStop, plugintest.ActionStop, plugintest.ActionContinue}
	if got := res.Actions(plugintest.ResponseBody); !reflect.DeepEqual(got, want) {
		t.Fatalf("response body actions = %v", got)
	}
}

func TestResponsePhaseCallout(t *testing.T) {
	p := probe(t, plugintest.Config(`{"cluster": "checker"}`), plugintest.HTTPCluster("checker", plugintest.Reply(200, nil, []byte("checked"))))
	res := p.Do(t, plugintest.Get("/").WithHeader("x-resp", "call"))
	if res.Status != 200 || res.Header.Get("x-resp-check") != "checked" {
		t.Fatalf("client got %d %v", res.Status, res.Header)
	}
	if got := steps(res); !strings.Contains(got, "response_headers:stop resume_response:continue") {
		t.Fatalf("steps = %s", got)
	}
	if calls := p.HTTPCalls("checker"); len(calls) != 1 || calls[0].Path != "/late" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestReset(t *testing.T) {
	p := probe(t)
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "reset"))
	if !res.Reset || res.Status != 0 || res.Upstream != nil || res.Details != "wasm_close_stream" {
		t.Fatalf("result = %+v", res)
	}
}

func TestFailClosedAndRecovery(t *testing.T) {
	p := probe(t)
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "panic"))
	if res.Local == nil || res.Local.Status != 503 || res.Local.Details != "wasm_fail_stream" || res.Upstream != nil {
		t.Fatalf("local reply = %+v", res.Local)
	}
	if !hasHostLog(p, "wasm VM failed") {
		t.Fatalf("no host log about the failure: %v", p.AllLogs())
	}
	// Until the engine replaces the VM (after the reload backoff of the
	// simulated clock), requests fail closed.
	if res := p.Do(t, plugintest.Get("/")); res.Local == nil || res.Local.Status != 503 {
		t.Fatalf("without a VM: local reply = %+v", res.Local)
	}
	p.Advance(time.Second)
	if n := p.Host().VMCount(); n != 1 {
		t.Fatalf("%d VMs after the backoff", n)
	}
	if res := p.Do(t, plugintest.Get("/")); res.Upstream == nil || res.Upstream.Header.Get("x-probe-seen") != "1" {
		t.Fatalf("after the replacement: upstream = %+v, local = %+v", res.Upstream, res.Local)
	}
}

func hasHostLog(p *plugintest.Plugin, msg string) bool {
	for _, e := range p.AllLogs() {
		if !e.Plugin && strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

func TestFailOpen(t *testing.T) {
	p := probe(t, plugintest.FailOpen())
	res := p.Do(t, plugintest.Get("/").WithHeader("x-probe", "panic"))
	if res.Local != nil || res.Upstream == nil || res.Status != 200 {
		t.Fatalf("local reply = %+v, upstream = %+v", res.Local, res.Upstream)
	}
}

func TestConcurrentRequests(t *testing.T) {
	const n = 40
	p := probe(t, plugintest.PoolSize(2))
	var wg sync.WaitGroup
	hits := make([]int, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := p.Send(plugintest.Get("/").WithHeader("x-probe", "shared"))
			if err != nil {
				errs <- err
				return
			}
			if res.Upstream == nil {
				errs <- fmt.Errorf("request %d: local reply %+v", i, res.Local)
				return
			}
			hits[i], _ = strconv.Atoi(res.Upstream.Header.Get("x-hits"))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Ints(hits)
	for i, h := range hits {
		if h != i+1 {
			t.Fatalf("shared counter values %v: not 1..%d (compare-and-swap across VMs)", hits, n)
		}
	}
	if m, _ := p.Metric("probe_requests_total"); m.Value != n {
		t.Fatalf("requests = %d", m.Value)
	}
}

func TestRejectedConfiguration(t *testing.T) {
	_, err := plugintest.Start("testdata/probe", plugintest.Config(`{"reject": true}`))
	if err == nil || !strings.Contains(err.Error(), "rejected its configuration") || !strings.Contains(err.Error(), "configuration rejected on purpose") {
		t.Fatalf("err = %v", err)
	}
	_, err = plugintest.Start("testdata/probe", plugintest.ConfigYAML("a: [unclosed"))
	if err == nil || !strings.Contains(err.Error(), "ConfigYAML") {
		t.Fatalf("err = %v", err)
	}
}

func TestStartAndClose(t *testing.T) {
	p, err := plugintest.Start("testdata/probe")
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Send(plugintest.Get("/"))
	if err != nil || res.Upstream == nil {
		t.Fatalf("%+v %v", res, err)
	}
	if p.Name() != "probe" || p.Module().ABI().String() != "0_2_100" {
		t.Fatalf("name %q abi %s", p.Name(), p.Module().ABI())
	}
	p.Close()
	if _, err := p.Send(plugintest.Get("/")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("after Close: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := plugintest.Start(dir); err == nil {
		t.Fatal("an empty directory built")
	}
	if _, err := plugintest.Start(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("err = %v", err)
	}
	if _, err := plugintest.Start("testdata/wat/tagger.wat"); err == nil || !strings.Contains(err.Error(), "LoadWasm") {
		t.Fatalf("err = %v", err)
	}
}

// A module built without our SDK (here written by hand in the text format).
func TestLoadWasmOtherSDK(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm (Debian wabt) is not installed; scripts/deps.sh installs it: %v", err)
	}
	out := filepath.Join(t.TempDir(), "tagger.wasm")
	if msg, err := exec.Command(wat2wasm, "testdata/wat/tagger.wat", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	p := plugintest.LoadWasm(t, out)
	res := p.Do(t, plugintest.Get("/"))
	if res.Upstream.Header.Get("x-wat") != "request" || res.Header.Get("x-wat") != "response" {
		t.Fatalf("upstream %v, client %v", res.Upstream.Header, res.Header)
	}
	if p.Name() != "tagger" || p.Module().ABI().String() != "0_2_1" {
		t.Fatalf("name %q abi %s", p.Name(), p.Module().ABI())
	}
	if _, err := plugintest.StartWasm(filepath.Join(t.TempDir(), "none.wasm")); err == nil {
		t.Fatal("a missing module file loaded")
	}
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	if err := os.WriteFile(bad, []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := plugintest.StartWasm(bad); err == nil {
		t.Fatal("a file that is not wasm loaded")
	}
}

// The Higress rule matchers read the route, domain and cluster of the
// simulated request (my-plugin is built on the SDK's wrapper).
func TestRulesWithYAML(t *testing.T) {
	p := plugintest.Load(t, "../examples/my-plugin", plugintest.ConfigYAML(`
mockEnable: false
_rules_:
- _match_route_: [route-a]
  mockEnable: true
  content: route rule
- _match_domain_: ["*.mock.example.com"]
  mockEnable: true
  content: domain rule
- _match_service_: [backend.default.svc.cluster.local]
  mockEnable: true
  content: service rule
`))
	for _, tc := range []struct {
		req  *plugintest.Request
		want string
	}{
		{plugintest.Get("/").Route("route-a"), "route rule"},
		{plugintest.Get("/").WithHost("api.mock.example.com"), "domain rule"},
		{plugintest.Get("/").Cluster("outbound|8080||backend.default.svc.cluster.local"), "service rule"},
		{plugintest.Get("/").Route("route-b"), ""},
	} {
		res := p.Do(t, tc.req)
		got := ""
		if res.Local != nil {
			got = string(res.Local.Body)
		}
		if got != tc.want {
			t.Errorf("%+v: local reply %q, want %q", tc.req, got, tc.want)
		}
		if tc.want == "" && (res.Upstream == nil || res.Upstream.Header.Get("hello") != "world") {
			t.Errorf("no rule: upstream = %+v", res.Upstream)
		}
	}
}
