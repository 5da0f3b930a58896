package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testservers"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// scriptedWasm is the host's scripted test plugin: its configuration is a
// script of host calls per callback, each logging its result.
func scriptedWasm(t *testing.T) string { return testwasm.Build(t, "host/testdata/goplugin/scripted") }

func onePool(o *Options) { o.PoolSize = 1 }

// On first load, a plugin's on_configure reaches the clusters of the
// configuration it starts with.
func TestCalloutAndRedisFromConfigureOnFirstLoad(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	token := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Write([]byte("tok"))
	}))
	defer token.Close()
	r := testservers.StartRedis(t)
	script := `{"configure":[
		{"op":"http_call","cluster":"outbound|80||token.dns","pairs":[[":method","GET"],[":path","/token"],[":authority","token"]],"timeout":5000},
		{"op":"redis_init","cluster":"outbound|6379||redis.dns","timeout":1000},
		{"op":"redis_call","cluster":"outbound|6379||redis.dns","data":"*1\r\n$4\r\nPING\r\n"}]}`
	demo := `{"serviceName":"redis.dns","servicePort":6379,"qpm":3,"timeout":2000}`
	g := startGateway(t, staticConfig([]config.Plugin{
		filePlugin("scripted", scriptedWasm(t), script),
		filePlugin("redis-demo", testwasm.Build(t, "examples/redis-demo"), demo)},
		loopbackCluster("outbound|80||token.dns", token), redisCluster("outbound|6379||redis.dns", r)), onePool)
	logs := g.logs.String()
	for _, want := range []string{"http_call st=0", "redis_init st=0", "redis_call st=0"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("no %q in the start-up log:\n%s", want, logs)
		}
	}
	waitFor(t, "the callout from on_configure", func() bool { return calls.Load() >= 1 })
	if strings.Contains(logs, "level=WARN") || strings.Contains(logs, "failed to init redis") {
		t.Fatalf("warnings at start-up:\n%s", logs)
	}
}

// A plugin whose on_configure takes 3 s loads under the default start
// deadline, and fails with the deadline named under a 1 s one.
func TestSlowConfigureAndStartDeadline(t *testing.T) {
	t.Parallel()
	wasm := scriptedWasm(t)
	slow := []config.Plugin{filePlugin("slow", wasm, `{"configure":[{"op":"sleep","ms":3000}]}`)}
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		g := startGateway(t, staticConfig(slow), onePool)
		if d := time.Since(start); d < 3*time.Second {
			t.Fatalf("started in %v", d)
		}
		if code, _, body := get(t, g.url+"/get"); code != 200 {
			t.Fatalf("status %d %q", code, body)
		}
	})
	t.Run("1s", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, staticConfig(slow), onePool, func(o *Options) { o.StartTimeout = time.Second })
		if code, _, _ := get(t, g.url+"/get"); code != 503 {
			t.Fatalf("status %d, want 503", code)
		}
		st := g.gw.Plugins()
		if len(st) != 1 || st[0].State != "failed" || !strings.Contains(st[0].Error, "proxy_on_configure stopped by the start deadline of 1s") {
			t.Fatalf("%+v", st)
		}
	})
}

// A plugin logging 1 MiB per request is held to its log limits, and the
// dropped records are counted in /stats/prometheus and /plugins.
func TestPluginLogFloodCapped(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("y", 64<<10)
	script := `{"request_headers":[{"op":"log","level":2,"msg":"` + line + `","times":16}]}`
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("logger", scriptedWasm(t), script)}), onePool)
	before := len(g.logs.String())
	start := time.Now()
	for i := 0; i < 10; i++ {
		if code, _, _ := get(t, g.url+"/get"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	// 10 MiB attempted; the default limits let about 2 MiB (a 2 s burst)
	// plus 1 MiB/s through, for as long as the requests took (a slow,
	// loaded machine lets more through), with one record of slack.
	allowed := 2<<20 + int(time.Since(start).Seconds()*(1<<20)) + 128<<10
	if n := len(g.logs.String()) - before; n > allowed {
		t.Fatalf("%d bytes of log in %v, want at most %d", n, time.Since(start), allowed)
	}
	_, _, metrics := get(t, g.admin+"/stats/prometheus")
	var dropped string
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, `wasmgate_plugin_log_dropped_total{plugin="logger"} `) {
			dropped = strings.Fields(l)[1]
		}
	}
	if dropped == "" || dropped == "0" {
		t.Fatalf("dropped counter %q in:\n%s", dropped, metrics)
	}
	if st := g.gw.Plugins(); st[0].LogDropped == 0 {
		t.Fatalf("%+v", st)
	}
}

// An unnamed route's route_name is found and empty, as in Envoy.
func TestUnnamedRouteName(t *testing.T) {
	t.Parallel()
	script := `{"request_headers":[{"op":"get_property","path":["route_name"]}]}`
	src := SourceFunc(func() *config.Result {
		r := staticConfig([]config.Plugin{filePlugin("props", scriptedWasm(t), script)}).Load()
		r.Config.Listeners[0].VirtualHosts[0].Routes[0].Name = ""
		return r
	})
	g := startGateway(t, src, onePool)
	get(t, g.url+"/get")
	if !strings.Contains(g.logs.String(), "get_property route_name st=0 len=0") {
		t.Fatalf("log:\n%s", g.logs)
	}
}

// Upstream requests and callouts carry the client's headers only: no
// User-Agent is added when the client sent none.
func TestNoUserAgentAdded(t *testing.T) {
	t.Parallel()
	got := make(chan []string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Values("User-Agent")
	}))
	defer up.Close()
	script := `{"request_headers":[{"op":"http_call","cluster":"up","pairs":[[":method","GET"],[":path","/c"],[":authority","up"]],"timeout":5000}]}`
	src := SourceFunc(func() *config.Result {
		r := staticConfig([]config.Plugin{filePlugin("call", scriptedWasm(t), script)}, loopbackCluster("up", up)).Load()
		r.Config.Listeners[0].VirtualHosts[0].Routes[0].Cluster = "up"
		return r
	})
	g := startGateway(t, src, onePool)
	req, _ := http.NewRequest("GET", g.url+"/x", nil)
	req.Header["User-Agent"] = nil // the test client sends none either
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for i := 0; i < 2; i++ {
		select {
		case ua := <-got:
			if len(ua) != 0 {
				t.Fatalf("User-Agent %q reached the upstream", ua)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no request at the upstream")
		}
	}
}

// A reload that changes only a plugin's priority or URL keeps the plugin
// running and shows the new values.
func TestReloadPriorityAndURLShown(t *testing.T) {
	t.Parallel()
	wasm := scriptedWasm(t)
	var prio atomic.Int32
	prio.Store(10)
	url := "first.wasm"
	src := SourceFunc(func() *config.Result {
		p := filePlugin("p", wasm, `{}`)
		p.Priority, p.HasPriority, p.URL = prio.Load(), true, url
		return staticConfig([]config.Plugin{p}).Load()
	})
	g := startGateway(t, src, onePool)
	hp := g.gw.snap.Load().plugins[0].hp
	prio.Store(20)
	url = "second.wasm"
	if _, err := g.gw.LoadAndApply(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	st := g.gw.Plugins()
	if len(st) != 1 || st[0].Priority != 20 || st[0].URL != "second.wasm" {
		t.Fatalf("%+v", st)
	}
	if g.gw.snap.Load().plugins[0].hp != hp {
		t.Fatal("the plugin was restarted")
	}
	_, _, dump := get(t, g.admin+"/config_dump")
	if !strings.Contains(dump, "second.wasm") || strings.Contains(dump, "first.wasm") {
		t.Fatalf("config_dump:\n%s", dump)
	}
}

// twoHostsConfig routes first.test and second.test to two upstreams that
// answer with their name.
func twoHostsConfig(t *testing.T, plugins []config.Plugin) Source {
	named := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(name)) }))
		t.Cleanup(s.Close)
		return s
	}
	a, b := named("upstream-first"), named("upstream-second")
	return SourceFunc(func() *config.Result {
		vh := func(name string) config.VirtualHost {
			return config.VirtualHost{Name: name, Domains: []string{name + ".test"}, Routes: []config.Route{{
				Name: name, Match: config.PathMatch{Kind: config.PathPrefix, Value: "/"}, Cluster: name}}}
		}
		cfg := &config.Config{
			Source: "test",
			Listeners: []config.Listener{{Name: "test", Address: "127.0.0.1:0",
				VirtualHosts: []config.VirtualHost{vh("first"), vh("second")}, Plugins: plugins}},
			Clusters: []config.Cluster{loopbackCluster("first", a), loopbackCluster("second", b)},
		}
		return &config.Result{Config: cfg}
	})
}

// A plugin that rewrites :authority re-routes the request, and a later
// plugin sees the new route; with clear_route_cache off (the SDK's
// DisableReroute) the first route stays.
func TestRouteCacheRules(t *testing.T) {
	t.Parallel()
	wasm := scriptedWasm(t)
	rewrite := func(off bool) string {
		ops := `{"op":"replace_header","map":0,"key":":authority","val":"second.test"}`
		if off {
			ops = `{"op":"set_property","path":["clear_route_cache"],"val":"off"},` + ops
		}
		return `{"request_headers":[` + ops + `]}`
	}
	reader := `{"request_headers":[{"op":"get_property","path":["route_name"]},{"op":"get_property","path":["cluster_name"]}]}`
	for _, tc := range []struct {
		name  string
		off   bool
		route string
	}{{"reroute", false, "second"}, {"disable-reroute", true, "first"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, twoHostsConfig(t, []config.Plugin{
				filePlugin("rewrite", wasm, rewrite(tc.off)), filePlugin("reader", wasm, reader)}), onePool)
			code, _, body := get(t, g.url+"/x", "host", "first.test")
			if code != 200 || body != "upstream-"+tc.route {
				t.Fatalf("status %d body %q", code, body)
			}
			logs := g.logs.String()
			if !strings.Contains(logs, "get_property route_name st=0 len="+itoaT(len(tc.route))+" data="+tc.route) ||
				!strings.Contains(logs, "get_property cluster_name st=0 len="+itoaT(len(tc.route))+" data="+tc.route) {
				t.Fatalf("the later plugin did not see route %s:\n%s", tc.route, logs)
			}
		})
	}
}

// A property one plugin sets is read by the next plugin of the request
// and printed by the access log.
func TestFilterStateSharedAndLogged(t *testing.T) {
	t.Parallel()
	wasm := scriptedWasm(t)
	g := startGateway(t, staticConfig([]config.Plugin{
		filePlugin("a", wasm, `{"request_headers":[{"op":"set_property","path":["ai_log"],"val":"model=m1"},{"op":"set_property","path":["custom"],"val":"c1"}]}`),
		filePlugin("b", wasm, `{"request_headers":[{"op":"get_property","path":["ai_log"]}],"log":[{"op":"get_property","path":["custom"]}]}`),
	}), onePool, func(o *Options) { o.AccessLogFilterState = []string{"wasm.ai_log", "wasm.custom"} })
	if code, _, _ := get(t, g.url+"/get"); code != 200 {
		t.Fatalf("status %d", code)
	}
	waitFor(t, "the access log", func() bool { return strings.Contains(g.logs.String(), "msg=access") })
	logs := g.logs.String()
	for _, want := range []string{"get_property ai_log st=0 len=8 data=model=m1", "get_property custom st=0 len=2 data=c1",
		`wasm.ai_log="model=m1"`, "wasm.custom=c1"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("no %q in:\n%s", want, logs)
		}
	}
}
