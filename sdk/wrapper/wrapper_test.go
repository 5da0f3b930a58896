//go:build !wasm

package wrapper

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/internal/fakehost"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/resp"
)

type testConfig struct {
	Name  string
	Count int64
}

func parseTestConfig(json gjson.Result, c *testConfig) error {
	if json.Get("fail").Bool() {
		return errors.New("asked to fail")
	}
	c.Name = json.Get("name").String()
	c.Count = json.Get("count").Int()
	return nil
}

// start registers a plugin, installs a fake host and starts it with config.
func start(t *testing.T, config string, options ...CtxOption[testConfig]) (*fakehost.Host, types.OnPluginStartStatus) {
	t.Helper()
	vmstate.Reset()
	log.SetPluginLog(nil)
	h := fakehost.New()
	t.Cleanup(h.Close)
	SetCtx("test-plugin", options...)
	return h, h.Start(config)
}

func TestConfigParsing(t *testing.T) {
	cases := []struct {
		name   string
		config string
		ok     bool
		want   testConfig
		errLog string
	}{
		{"empty config is parsed as global", "", true, testConfig{}, ""},
		{"empty object", "{}", true, testConfig{}, ""},
		{"global fields", `{"name":"a","count":3}`, true, testConfig{"a", 3}, ""},
		{"invalid JSON", `{"name":`, false, testConfig{}, "config is not valid json"},
		{"parser error", `{"fail":true}`, false, testConfig{}, "asked to fail"},
		{"plugin id stripped", `{"_plugin_id_":"p-1","name":"x"}`, true, testConfig{"x", 0}, ""},
		{"rule without match key", `{"_rules_":[{"name":"r"}]}`, false, testConfig{}, "at least one of"},
		{"rules only", `{"_rules_":[{"_match_route_":["r1"],"name":"r"}]}`, true, testConfig{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st := start(t, c.config, ParseConfig(parseTestConfig))
			if bool(st) != c.ok {
				t.Fatalf("start = %v, want %v; logs %v", st, c.ok, h.Logs)
			}
			if c.errLog != "" && !h.HasLog(types.LogLevelError, c.errLog) {
				t.Errorf("no error log containing %q: %v", c.errLog, h.Logs)
			}
			if c.ok && !h.HasLog(types.LogLevelInfo, "plugin start successfully") {
				t.Errorf("no start log: %v", h.Logs)
			}
		})
	}
}

func TestPluginIDAppearsInLogLines(t *testing.T) {
	h, st := start(t, `{"_plugin_id_":"pid-7","name":"x"}`, ParseConfig(parseTestConfig))
	if !st {
		t.Fatal("start failed")
	}
	if !h.HasLog(types.LogLevelInfo, "[test-plugin] [pid-7] [nil] plugin start successfully") {
		t.Fatalf("log lines: %v", h.Logs)
	}
}

func TestRuleMatchingPerRequest(t *testing.T) {
	var seen []string
	config := `{"name":"global","_rules_":[
		{"_match_route_":["default/api-route"],"name":"route"},
		{"_match_domain_":["*.example.com"],"name":"domain"}]}`
	h, st := start(t, config, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			seen = append(seen, c.Name)
			return types.HeaderContinue
		}))
	if !st {
		t.Fatalf("start failed: %v", h.Logs)
	}
	req := func(host, route string) {
		h.Properties["route_name"] = []byte(route)
		s := h.NewStream()
		s.RequestHeaders([][2]string{{":authority", host}, {":path", "/"}, {":method", "GET"}}, true)
		s.Done()
	}
	req("foo.com", "default/api-route")
	req("a.example.com:8080", "other")
	req("foo.com", "other")
	want := []string{"route", "domain", "global"}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("configs seen = %v, want %v", seen, want)
	}
}

func TestNoMatchSkipsPlugin(t *testing.T) {
	called := false
	h, st := start(t, `{"_rules_":[{"_match_domain_":["only.example.com"],"name":"x"}]}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(HttpContext, testConfig) types.Action { called = true; return types.HeaderStopIteration }))
	if !st {
		t.Fatal("start failed")
	}
	s := h.NewStream()
	if a := s.RequestHeaders([][2]string{{":authority", "other.com"}}, true); a != types.ActionContinue {
		t.Fatalf("action = %d", a)
	}
	if called {
		t.Fatal("handler ran for a request matching no rule")
	}
}

func TestDeprecatedOptionsReceiveLogger(t *testing.T) {
	var gotLog log.Log
	h, st := start(t, `{"name":"n"}`,
		ParseConfigBy(func(json gjson.Result, c *testConfig, l log.Log) error {
			gotLog = l
			c.Name = json.Get("name").String()
			return nil
		}),
		ProcessRequestHeadersBy(func(ctx HttpContext, c testConfig, l Log) types.Action {
			l.Infof("hello %s %d", c.Name, 42)
			return types.HeaderContinue
		}))
	if !st || gotLog == nil {
		t.Fatalf("start = %v, logger %v", st, gotLog)
	}
	s := h.NewStream()
	s.RequestHeaders([][2]string{{":authority", "h"}, {"x-request-id", "rid-1"}}, true)
	if !h.HasLog(types.LogLevelInfo, "[test-plugin] [nil] [rid-1] hello n 42") {
		t.Fatalf("logs: %v", h.Logs)
	}
}

func TestLogLevelFiltersWithoutHostCalls(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			log.Debug("debug line")
			log.Warn("warn line")
			return types.HeaderContinue
		}))
	h.LogLevel = types.LogLevelWarn
	h.NewStream().RequestHeaders([][2]string{{":authority", "h"}}, true)
	if h.HasLog(types.LogLevelDebug, "debug line") || !h.HasLog(types.LogLevelWarn, "warn line") {
		t.Fatalf("logs: %v", h.Logs)
	}
}

func TestLogLevelReadOnlyByRequestsThatLog(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			if ctx.Path() == "/log" {
				log.Debug("first line")
				log.Warn("second line")
			}
			return types.HeaderContinue
		}))
	h.LogLevel = types.LogLevelWarn
	before := h.LogLevelReads
	s := h.NewStream()
	s.RequestHeaders([][2]string{{":authority", "h"}, {":path", "/quiet"}}, true)
	s.ResponseHeaders([][2]string{{":status", "200"}}, true)
	s.Done()
	if n := h.LogLevelReads - before; n != 0 {
		t.Fatalf("a request that logs nothing read the log level %d times", n)
	}
	h.NewStream().RequestHeaders([][2]string{{":authority", "h"}, {":path", "/log"}}, true)
	if n := h.LogLevelReads - before; n != 1 {
		t.Fatalf("a request with two log lines read the log level %d times, want 1", n)
	}
	if h.HasLog(types.LogLevelDebug, "first line") || !h.HasLog(types.LogLevelWarn, "second line") {
		t.Fatalf("logs: %v", h.Logs)
	}
	// A level changed between requests applies to the next request.
	h.LogLevel = types.LogLevelDebug
	h.NewStream().RequestHeaders([][2]string{{":authority", "h"}, {":path", "/log"}}, true)
	if !h.HasLog(types.LogLevelDebug, "first line") {
		t.Fatalf("the new log level was not read: %v", h.Logs)
	}
}

func TestEmptyConfigTypeNeedsNoParser(t *testing.T) {
	vmstate.Reset()
	h := fakehost.New()
	defer h.Close()
	type empty struct{}
	SetCtx("empty", ProcessRequestHeaders(func(HttpContext, empty) types.Action { return types.HeaderContinue }))
	if !h.Start("") {
		t.Fatalf("start failed: %v", h.Logs)
	}
	if h.HasLog(types.LogLevelWarn, "config is empty") {
		t.Fatal("warned about an empty config for a plugin without config")
	}
}

func TestMissingParserPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a non-empty config type without a parser")
		}
	}()
	NewCommonVmCtx[testConfig]("x")
}

func TestWrongJSONParameterTypePanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "gjson.Result") {
			t.Fatalf("recover = %v", r)
		}
	}()
	ParseConfig(func(json string, c *testConfig) error { return nil })
}

func TestBufferedBodies(t *testing.T) {
	var reqBody, respBody string
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestBody(func(ctx HttpContext, c testConfig, body []byte) types.Action {
			reqBody = string(body)
			return types.DataContinue
		}),
		ProcessResponseBody(func(ctx HttpContext, c testConfig, body []byte) types.Action {
			respBody = string(body)
			return types.DataContinue
		}))
	s := h.NewStream()
	s.RequestHeaders([][2]string{{":authority", "h"}, {"content-type", "text/plain"}}, false)
	if a := s.RequestBody([]byte("hel"), false); a != types.DataStopIterationAndBuffer {
		t.Fatalf("first chunk action = %d", a)
	}
	s.RequestBody([]byte("lo"), true)
	s.ResponseHeaders([][2]string{{":status", "200"}}, false)
	s.ResponseBody([]byte("wor"), false)
	s.ResponseBody([]byte("ld"), true)
	if reqBody != "hello" || respBody != "world" {
		t.Fatalf("request body %q, response body %q", reqBody, respBody)
	}
}

func TestStreamingBodyReplacesChunks(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessStreamingResponseBody(func(ctx HttpContext, c testConfig, chunk []byte, last bool) []byte {
			return []byte(strings.ToUpper(string(chunk)))
		}))
	s := h.NewStream()
	s.RequestHeaders([][2]string{{":authority", "h"}}, true)
	s.ResponseHeaders([][2]string{{":status", "200"}}, false)
	delete(h.Buffers, types.BufferTypeHttpResponseBody)
	if a := s.ResponseBody([]byte("abc"), false); a != types.DataContinue {
		t.Fatalf("action = %d", a)
	}
	if got := string(h.Buffers[types.BufferTypeHttpResponseBody]); got != "ABC" {
		t.Fatalf("chunk = %q", got)
	}
}

func TestBinaryBodyIsNotRead(t *testing.T) {
	called := false
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestBody(func(HttpContext, testConfig, []byte) types.Action { called = true; return types.DataContinue }))
	s := h.NewStream()
	s.RequestHeaders([][2]string{{":authority", "h"}, {"content-type", "application/octet-stream"}}, false)
	s.RequestBody([]byte{1, 2, 3}, true)
	if called {
		t.Fatal("body handler ran for a binary body")
	}
}

func TestPanicInHandlerIsRecovered(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(HttpContext, testConfig) types.Action { panic("boom") }))
	a := h.NewStream().RequestHeaders([][2]string{{":authority", "h"}}, true)
	if a != types.ActionContinue || !h.HasLog(types.LogLevelError, "recovered from panic in request headers: boom") {
		t.Fatalf("action %d, logs %v", a, h.Logs)
	}
}

func TestPanicInResponseAndDoneHandlersIsRecovered(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessResponseHeaders(func(HttpContext, testConfig) types.Action { panic("headers boom") }),
		ProcessResponseBody(func(HttpContext, testConfig, []byte) types.Action { panic("body boom") }),
		ProcessStreamDone(func(HttpContext, testConfig) { panic("done boom") }))
	s := h.NewStream()
	s.RequestHeaders([][2]string{{":authority", "h"}}, true)
	if a := s.ResponseHeaders([][2]string{{":status", "200"}}, false); a != types.ActionContinue {
		t.Fatalf("response headers action %d", a)
	}
	if a := s.ResponseBody([]byte("x"), true); a != types.ActionContinue {
		t.Fatalf("response body action %d", a)
	}
	s.Done()
	for _, want := range []string{"recovered from panic in response headers: headers boom",
		"recovered from panic in response body: body boom", "recovered from panic in stream done: done boom"} {
		if !h.HasLog(types.LogLevelError, want) {
			t.Fatalf("no log %q in %v", want, h.Logs)
		}
	}
}

func TestHttpContextsStayDistinctAcrossSlabs(t *testing.T) {
	var ctxs []HttpContext
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			ctx.SetContext("n", len(ctxs))
			ctxs = append(ctxs, ctx)
			return types.HeaderContinue
		}))
	for i := 0; i < 3*httpSlabSize+1; i++ {
		s := h.NewStream()
		s.RequestHeaders([][2]string{{":authority", "h"}}, true)
		s.Done()
	}
	seen := map[HttpContext]bool{}
	for i, ctx := range ctxs {
		if seen[ctx] {
			t.Fatalf("stream %d got a context already handed out", i)
		}
		seen[ctx] = true
		if n := ctx.GetContext("n"); n != i {
			t.Fatalf("stream %d's context holds %v", i, n)
		}
	}
}

func TestHttpCallDeliversHeadersAndResumes(t *testing.T) {
	var status int
	var token string
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			client := NewClusterClient(FQDNCluster{FQDN: "token.dns", Port: 8080})
			err := client.Get("/token?x=1", [][2]string{{"X-A", "b"}}, func(code int, headers map[string][]string, body []byte) {
				status = code
				if v := headers["X-Token"]; len(v) > 0 {
					token = v[0]
				}
				_ = proxywasm.ResumeHttpRequest()
			})
			if err != nil {
				t.Errorf("get: %v", err)
			}
			return types.HeaderStopAllIterationAndWatermark
		}))
	s := h.NewStream()
	if a := s.RequestHeaders([][2]string{{":authority", "client.example"}}, true); a != types.HeaderStopAllIterationAndWatermark {
		t.Fatalf("action = %d", a)
	}
	if len(h.HttpCalls) != 1 {
		t.Fatalf("calls = %+v", h.HttpCalls)
	}
	call := h.HttpCalls[0]
	if call.Cluster != "outbound|8080||token.dns" || call.Timeout != DefaultHttpCallTimeout {
		t.Fatalf("call = %+v", call)
	}
	want := map[string]string{":method": "GET", ":path": "/token?x=1", ":authority": "token.dns", "X-A": "b"}
	for k, v := range want {
		found := false
		for _, p := range call.Headers {
			if p[0] == k && p[1] == v {
				found = true
			}
		}
		if !found {
			t.Errorf("header %s: %s missing in %v", k, v, call.Headers)
		}
	}
	h.RespondHttpCall(call.Token, [][2]string{{":status", "200"}, {"x-token", "t-1"}}, []byte("ok"))
	if status != 200 || token != "t-1" || len(h.Continued) != 1 || h.Continued[0] != types.StreamTypeRequest {
		t.Fatalf("status %d token %q continued %v", status, token, h.Continued)
	}
}

func TestHttpCallRejectsWrongCallbackAndUnknownCluster(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig))
	h.UnknownCluster["outbound|80||missing.dns"] = true
	c := NewClusterClient(DnsCluster{ServiceName: "missing", Port: 80})
	if err := c.Get("/", nil, func(int) {}); err == nil {
		t.Fatal("wrong callback type accepted")
	}
	if err := c.Get("/", nil, func(int, map[string][]string, []byte) {}); err == nil {
		t.Fatal("unknown cluster accepted")
	}
}

func TestRedisClient(t *testing.T) {
	var got []string
	h, st := start(t, `{}`, ParseConfig(func(json gjson.Result, c *testConfig) error {
		return nil
	}), ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
		client := NewRedisClusterClient(FQDNCluster{FQDN: "redis.static", Port: 80})
		if err := client.Get("k", func(resp.Value) {}); err == nil {
			t.Error("command before Init accepted")
		}
		if err := client.Init("u", "p", 500, WithDataBase(2)); err != nil {
			t.Fatal(err)
		}
		_ = client.Incr("counter", func(v resp.Value) { got = append(got, "incr:"+v.String()) })
		_ = client.Expire("counter", 60, func(status int, v resp.Value) {
			got = append(got, "expire:"+v.String()+":"+string(rune('0'+status)))
		})
		return types.HeaderStopAllIterationAndWatermark
	}))
	if !st {
		t.Fatal("start failed")
	}
	h.NewStream().RequestHeaders([][2]string{{":authority", "h"}}, true)
	if len(h.RedisInits) != 1 || h.RedisInits[0] != "outbound|80||redis.static?db=2&buffer_flush_timeout=3&max_buffer_size_before_flush=1024" {
		t.Fatalf("inits = %v", h.RedisInits)
	}
	if len(h.RedisCalls) != 2 || string(h.RedisCalls[0].Query) != "*2\r\n$4\r\nincr\r\n$7\r\ncounter\r\n" ||
		string(h.RedisCalls[1].Query) != "*3\r\n$6\r\nexpire\r\n$7\r\ncounter\r\n$2\r\n60\r\n" {
		t.Fatalf("calls = %q", h.RedisCalls)
	}
	h.RespondRedisCall(h.RedisCalls[0].Token, 0, []byte(":5\r\n"))
	h.RespondRedisCall(h.RedisCalls[1].Token, 1, nil)
	if strings.Join(got, ",") != "incr:5,expire:cannot connect to redis cluster:1" {
		t.Fatalf("got = %v", got)
	}
}

func TestRedisInitFailureRetriesLazily(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig))
	h.UnknownCluster["outbound|6379||r.dns"] = true
	c := NewRedisClusterClient(DnsCluster{ServiceName: "r", Port: 6379})
	if err := c.Init("", "", 100); err != nil || c.Ready() {
		t.Fatalf("init err %v ready %v", err, c.Ready())
	}
	if err := c.Get("k", func(resp.Value) {}); err == nil {
		t.Fatal("command on an unready client accepted")
	}
	delete(h.UnknownCluster, "outbound|6379||r.dns")
	if err := c.Get("k", func(resp.Value) {}); err != nil || !c.Ready() {
		t.Fatalf("retry: err %v ready %v", err, c.Ready())
	}
}

func TestTickFunctionsAndLeaderElection(t *testing.T) {
	ticks := 0
	h, st := start(t, `{}`, ParseConfigWithContext(func(ctx PluginContext, json gjson.Result, c *testConfig) error {
		RegisterTickFunc(200, func() { ticks++ })
		return nil
	}))
	if !st || h.TickPeriod != 100 {
		t.Fatalf("start %v, tick period %d", st, h.TickPeriod)
	}
	h.NowNanos = 1_000_000_000
	h.Tick()
	h.NowNanos += 100_000_000
	h.Tick() // only 100 ms later: not due
	h.NowNanos += 100_000_000
	h.Tick()
	if ticks != 2 {
		t.Fatalf("ticks = %d, want 2", ticks)
	}
}

func TestClusterNames(t *testing.T) {
	cases := []struct {
		c    Cluster
		name string
		host string
	}{
		{K8sCluster{ServiceName: "foo", Namespace: "bar", Port: 8080, Version: "1.0"}, "outbound|8080|1.0|foo.bar.svc.cluster.local", "foo.bar.svc.cluster.local"},
		{K8sCluster{ServiceName: "foo", Port: 80}, "outbound|80||foo.default.svc.cluster.local", "foo..svc.cluster.local"}, // as Higress
		{NacosCluster{ServiceName: "foo", Group: "DEFAULT_GROUP", NamespaceID: "xxxx", Port: 8080, Version: "1.0"}, "outbound|8080|1.0|foo.DEFAULT-GROUP.xxxx.nacos", "foo"},
		{NacosCluster{ServiceName: "foo", NamespaceID: "ns", Port: 80, IsExtRegistry: true, Host: "h"}, "outbound|80||foo.DEFAULT-GROUP.ns.nacos-ext", "h"},
		{StaticIpCluster{ServiceName: "svc", Port: 80}, "outbound|80||svc.static", "svc"},
		{DnsCluster{ServiceName: "redis-svc", Domain: "redis.local", Port: 6379}, "outbound|6379||redis-svc.dns", "redis.local"},
		{ConsulCluster{ServiceName: "api", Datacenter: "dc1", Port: 8500}, "outbound|8500||api.dc1.consul", "api"},
		{FQDNCluster{FQDN: "httpbin.org", Port: 80}, "outbound|80||httpbin.org", "httpbin.org"},
		{FQDNCluster{FQDN: "x.dns", Port: 80, Host: "override"}, "outbound|80||x.dns", "override"},
		{TargetCluster{Cluster: "my|cluster", Host: "h"}, "my|cluster", "h"},
	}
	for _, c := range cases {
		if got := c.c.ClusterName(); got != c.name {
			t.Errorf("%#v.ClusterName() = %q, want %q", c.c, got, c.name)
		}
		if got := c.c.HostName(); got != c.host {
			t.Errorf("%#v.HostName() = %q, want %q", c.c, got, c.host)
		}
	}
}

func TestRouteClusterReadsProperty(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig))
	h.Properties["cluster_name"] = []byte("outbound|80||route.dns")
	if got := (RouteCluster{}).ClusterName(); got != "outbound|80||route.dns" {
		t.Fatalf("RouteCluster = %q", got)
	}
}

func TestCanonicalHeaderKey(t *testing.T) {
	for in, want := range map[string]string{"content-type": "Content-Type", "x-token": "X-Token", ":status": ":status", "ALL-CAPS": "All-Caps", "a b": "a b"} {
		if got := canonicalHeaderKey(in); got != want {
			t.Errorf("canonicalHeaderKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseURLAsNetURL: the callouts split URLs exactly as net/url does,
// because Higress's SDK builds :path from url.Parse.
func TestParseURLAsNetURL(t *testing.T) {
	inputs := []string{
		"/api/auth", "api/auth?x=1#frag", "http://auth.local:8080/p?q=1", "/a b", "https://h",
		"/p a/b%2Fc?q=1 2", "/p%20a/b%2Fc", "/%zz", "/a%2", "//host/x", "///x", "http:opaque?q",
		"a:b/c", "1a:b", ":x", "/x?", "/x??", "/x#a%20b", "/x#%zz", "HTTP://Up.Example/Path",
		"http://user:pw@h:80/p", "http://h:port/p", "http://[::1]:8080/p", "http://[::1/p", "*",
		"/é/ü?ä=1", "/a;b=c/d", "/~user/$x/(y)", "http://h/a%2fb", "", "?only=query", "http://h?q",
		"http://bad host/p", "/a\\b", "/{x}|y",
	}
	for _, in := range inputs {
		want, wantErr := url.Parse(in)
		got, err := parseURL(in)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("parseURL(%q): err %v, net/url %v", in, err, wantErr)
			continue
		}
		if err != nil {
			continue
		}
		httpPath := "/" + strings.TrimPrefix(want.Path, "/")
		if want.RawQuery != "" {
			httpPath += "?" + want.RawQuery
		}
		routePath := "/" + strings.TrimPrefix(want.EscapedPath(), "/")
		if want.RawQuery != "" {
			routePath += "?" + want.RawQuery
		}
		if want.Fragment != "" {
			routePath += "#" + want.Fragment
		}
		if got.host != want.Host || got.httpCallPath() != httpPath || got.routeCallPath() != routePath {
			t.Errorf("parseURL(%q) = host %q, http %q, route %q; net/url gives %q, %q, %q",
				in, got.host, got.httpCallPath(), got.routeCallPath(), want.Host, httpPath, routePath)
		}
	}
	// The case users hit: HttpClient sends the unescaped path.
	if u, _ := parseURL("/p a/b%2Fc?q=1 2"); u.httpCallPath() != "/p a/b/c?q=1 2" {
		t.Errorf("http call path %q", u.httpCallPath())
	}
}

func TestUserAttributesToLog(t *testing.T) {
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			ctx.SetUserAttribute("model", "gpt")
			ctx.SetUserAttribute("tokens", 12)
			if err := ctx.WriteUserAttributeToLog(); err != nil {
				t.Error(err)
			}
			return types.HeaderContinue
		}))
	h.Properties["custom_log"] = []byte(MarshalStr(`{"old":"v","tokens":1}`))
	h.NewStream().RequestHeaders([][2]string{{":authority", "h"}}, true)
	got := UnmarshalStr(`"` + string(h.Properties["custom_log"]) + `"`)
	if got != `{"old":"v","tokens":12,"model":"gpt"}` {
		t.Fatalf("custom_log = %s", got)
	}
}

func TestMarshalStrRoundTrip(t *testing.T) {
	raw := "a\"b\\c\n\u00e9"
	if got := UnmarshalStr(`"` + MarshalStr(raw) + `"`); got != raw {
		t.Fatalf("round trip = %q", got)
	}
}

func TestRedisNOAUTHRetriesOnce(t *testing.T) {
	var got []string
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			client := NewRedisClusterClient(FQDNCluster{FQDN: "redis.static", Port: 80})
			_ = client.Init("", "secret", 500)
			_ = client.Get("k", func(v resp.Value) { got = append(got, v.String()) })
			return types.HeaderStopAllIterationAndWatermark
		}))
	h.NewStream().RequestHeaders([][2]string{{":authority", "h"}}, true)
	h.RespondRedisCall(h.RedisCalls[0].Token, 0, []byte("-NOAUTH Authentication required.\r\n"))
	if len(h.RedisInits) != 2 || len(h.RedisCalls) != 2 || string(h.RedisCalls[1].Query) != string(h.RedisCalls[0].Query) {
		t.Fatalf("inits %v calls %q", h.RedisInits, h.RedisCalls)
	}
	if len(got) != 0 {
		t.Fatalf("callback ran before the retry answered: %v", got)
	}
	h.RespondRedisCall(h.RedisCalls[1].Token, 0, []byte("$5\r\nvalue\r\n"))
	if strings.Join(got, ",") != "value" {
		t.Fatalf("got %v", got)
	}
}
