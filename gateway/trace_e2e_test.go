package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/internal/testservers"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// tracedChain starts a gateway in dev mode with the traced test plugin
// five times: header changes, an HTTP callout (to a loopback server that
// answers after 30 ms), a Redis call (real redis-server), a body rewrite,
// and a local reply or trap depending on the path.
func tracedChain(t *testing.T, opts ...func(*Options)) *testGateway {
	t.Helper()
	wasm := testwasm.Build(t, "gateway/testdata/plugins/traced")
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(auth.Close)
	r := testservers.StartRedis(t)
	var plugins []config.Plugin
	for _, mode := range []string{"headers", "callout", "redis", "body", "final"} {
		plugins = append(plugins, filePlugin("trace-"+mode, wasm, mode))
	}
	opts = append([]func(*Options){func(o *Options) { o.Trace.Dev = true }}, opts...)
	return startGateway(t, staticConfig(plugins,
		loopbackCluster("outbound|80||auth.static", auth),
		redisCluster("outbound|6379||redis.static", r)), opts...)
}

func lastTrace(t *testing.T, g *testGateway, path string) *trace.Request {
	t.Helper()
	var found *trace.Request
	waitFor(t, "the trace of "+path, func() bool {
		for _, s := range g.gw.Traces().List(trace.Filter{Path: path}, 1) {
			if s.Path == path {
				found = g.gw.Traces().Get(s.ID)
				return true
			}
		}
		return false
	})
	return found
}

// find returns the index of the first event from i on matching.
func findEvent(tr *trace.Request, from int, match func(e *trace.Event) bool) int {
	for i := from; i < len(tr.Events); i++ {
		if match(&tr.Events[i]) {
			return i
		}
	}
	return -1
}

func callbackOf(plugin, name string) func(e *trace.Event) bool {
	return func(e *trace.Event) bool {
		return e.Kind == trace.KindCallback && e.Plugin == plugin && e.Name == name
	}
}

func dumpTrace(tr *trace.Request) string {
	b, _ := json.MarshalIndent(tr, "", "  ")
	return string(b)
}

func TestTraceRecordsEveryPluginStepInOrder(t *testing.T) {
	g := tracedChain(t)
	req, _ := http.NewRequest("POST", g.url+"/anything/ok", strings.NewReader("hello world"))
	req.Header.Set("Authorization", "Bearer original-secret")
	req.Header.Set("X-Drop", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "HELLO WORLD") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	tr := lastTrace(t, g, "/anything/ok")
	dump := dumpTrace(tr)
	if strings.Contains(dump, "original-secret") || strings.Contains(dump, "replaced-secret") {
		t.Fatalf("authorization not redacted:\n%s", dump)
	}
	if tr.Status != 200 || tr.Method != "POST" || tr.Route != "default/api-route" || tr.Cluster != config.EchoClusterName {
		t.Fatalf("request fields: %+v", tr)
	}
	if got := strings.Join(tr.Plugins, ","); got != "trace-headers,trace-callout,trace-redis,trace-body,trace-final" {
		t.Fatalf("plugins %s", got)
	}

	at := 0
	step := func(what string, match func(e *trace.Event) bool) *trace.Event {
		t.Helper()
		i := findEvent(tr, at, match)
		if i < 0 {
			t.Fatalf("no %s after event %d:\n%s", what, at, dump)
		}
		at = i + 1
		return &tr.Events[i]
	}
	step("route", func(e *trace.Event) bool { return e.Kind == trace.KindRoute && e.Name == "default/api-route" })

	hdr := step("header callback", callbackOf("trace-headers", "proxy_on_request_headers"))
	if hdr.Action != "HeaderContinue" {
		t.Fatalf("headers action %q", hdr.Action)
	}
	changes := map[string]trace.HeaderChange{}
	for _, c := range hdr.Headers {
		changes[c.Op+" "+c.Name] = c
	}
	if c, ok := changes["added x-traced"]; !ok || c.Value != "yes" {
		t.Fatalf("x-traced not added: %+v", hdr.Headers)
	}
	if c, ok := changes["replaced authorization"]; !ok || c.Old != "[redacted]" || c.Value != "[redacted]" {
		t.Fatalf("authorization not replaced and redacted: %+v", hdr.Headers)
	}
	if _, ok := changes["removed x-drop"]; !ok {
		t.Fatalf("x-drop not removed: %+v", hdr.Headers)
	}
	prop := step("property", func(e *trace.Event) bool { return e.Kind == trace.KindProperty && e.Plugin == "trace-headers" })
	if prop.Key != "trace_mark" || prop.Message != "marked" {
		t.Fatalf("property %+v", prop)
	}
	step("log", func(e *trace.Event) bool {
		return e.Kind == trace.KindLog && e.Plugin == "trace-headers" && e.Message == "headers done"
	})

	cb := step("callout plugin headers", callbackOf("trace-callout", "proxy_on_request_headers"))
	if cb.Action != "HeaderStopAllIterationAndWatermark" {
		t.Fatalf("callout plugin action %q", cb.Action)
	}
	call := step("http callout", func(e *trace.Event) bool { return e.Kind == trace.KindCallout && e.Plugin == "trace-callout" })
	if c := call.Callout; c.Type != "http" || c.Status != 202 || !c.Answered || c.Target != "GET auth.local/auth" || c.Cluster != "outbound|80||auth.static" {
		t.Fatalf("callout %+v", c)
	}
	if call.DurUS < 30000 {
		t.Fatalf("callout took %d µs, the server waits 30 ms", call.DurUS)
	}
	pause := step("pause", func(e *trace.Event) bool { return e.Kind == trace.KindPause && e.Plugin == "trace-callout" })
	if pause.ResumedBy != "proxy_on_http_call_response" || pause.DurUS < 30000 {
		t.Fatalf("pause %+v", pause)
	}
	resp1 := step("callout answer", callbackOf("trace-callout", "proxy_on_http_call_response"))
	if len(resp1.Headers) != 1 || resp1.Headers[0].Name != "x-auth-status" || resp1.Headers[0].Value != "202" {
		t.Fatalf("callout answer header changes %+v", resp1.Headers)
	}
	if resp1.AtUS < call.AtUS+call.DurUS {
		t.Fatalf("answer callback at %d before the answer at %d", resp1.AtUS, call.AtUS+call.DurUS)
	}

	step("redis plugin headers", callbackOf("trace-redis", "proxy_on_request_headers"))
	rc := step("redis call", func(e *trace.Event) bool { return e.Kind == trace.KindCallout && e.Plugin == "trace-redis" })
	if c := rc.Callout; c.Type != "redis" || c.Target != "INCR trace-hits" || c.Reply != ":1" || !c.Answered {
		t.Fatalf("redis call %+v", c)
	}
	rp := step("redis pause", func(e *trace.Event) bool { return e.Kind == trace.KindPause && e.Plugin == "trace-redis" })
	if rp.ResumedBy != "proxy_on_redis_call_response" {
		t.Fatalf("redis pause %+v", rp)
	}
	rr := step("redis answer", callbackOf("trace-redis", "proxy_on_redis_call_response"))
	if len(rr.Headers) != 1 || rr.Headers[0].Name != "x-hits" || rr.Headers[0].Value != "1" {
		t.Fatalf("redis answer header changes %+v", rr.Headers)
	}

	step("body plugin headers", callbackOf("trace-body", "proxy_on_request_headers"))
	// the headers pass every plugin before the body reaches the body plugin
	step("final plugin headers", callbackOf("trace-final", "proxy_on_request_headers"))
	mark := at // the upstream starts with the headers, the body follows
	var last *trace.Event
	for {
		i := findEvent(tr, at, callbackOf("trace-body", "proxy_on_request_body"))
		if i < 0 {
			break
		}
		last, at = &tr.Events[i], i+1
	}
	if last == nil || last.Body == nil || !last.Body.Changed || last.Body.Before != "hello world" || last.Body.Now != "HELLO WORLD" || last.Body.Seen != 11 {
		t.Fatalf("body rewrite: %+v\n%s", last, dump)
	}
	at = mark
	up := step("upstream", func(e *trace.Event) bool { return e.Kind == trace.KindUpstream })
	if up.Status != 200 || up.Cluster != config.EchoClusterName || up.Key == "" {
		t.Fatalf("upstream %+v", up)
	}
	step("response", func(e *trace.Event) bool { return e.Kind == trace.KindResponse && e.Status == 200 })
	step("on_log", callbackOf("trace-headers", "proxy_on_log"))
	for i := 1; i < len(tr.Events); i++ {
		if tr.Events[i].Kind == trace.KindCallback && tr.Events[i].AtUS < tr.Events[i-1].AtUS {
			t.Fatalf("event %d starts before event %d:\n%s", i, i-1, dump)
		}
	}
	if tr.DurationUS < pause.AtUS+pause.DurUS {
		t.Fatalf("request duration %d shorter than its pause", tr.DurationUS)
	}
}

func TestTraceRecordsLocalReplyAndTrap(t *testing.T) {
	g := tracedChain(t)
	code, _, body := get(t, g.url+"/anything/reply")
	if code != 418 || body != "short and stout" {
		t.Fatalf("reply: %d %q", code, body)
	}
	tr := lastTrace(t, g, "/anything/reply")
	i := findEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.KindLocalReply })
	if i < 0 {
		t.Fatalf("no local reply:\n%s", dumpTrace(tr))
	}
	if e := tr.Events[i]; e.Plugin != "trace-final" || e.Reply.Status != 418 || e.Reply.Details != "traced_teapot" || e.Reply.Body != "short and stout" {
		t.Fatalf("local reply %+v", e)
	}
	if findEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.KindUpstream }) >= 0 {
		t.Fatalf("a local reply went upstream:\n%s", dumpTrace(tr))
	}
	if tr.Status != 418 || tr.Details != "traced_teapot" {
		t.Fatalf("reply trace: %d %s", tr.Status, tr.Details)
	}

	code, _, _ = get(t, g.url+"/anything/trap")
	if code != 503 {
		t.Fatalf("trap: %d", code)
	}
	tr = lastTrace(t, g, "/anything/trap")
	i = findEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.KindCallback && e.Error != "" })
	if i < 0 || tr.Errors == 0 {
		t.Fatalf("no failed callback:\n%s", dumpTrace(tr))
	}
	if e := tr.Events[i]; e.Plugin != "trace-final" || e.Name != "proxy_on_request_headers" || !strings.Contains(e.Error, "wasm") {
		t.Fatalf("failed callback %+v", e)
	}
	j := findEvent(tr, i, func(e *trace.Event) bool { return e.Kind == trace.KindLocalReply })
	if j < 0 || tr.Events[j].Reply.Status != 503 || tr.Events[j].Reply.Details != "wasm_fail_stream" {
		t.Fatalf("no fail-closed reply after the trap:\n%s", dumpTrace(tr))
	}
}

// A pause a tick resumes names the tick; a callback stopped by the CPU
// deadline carries the deadline's error.
func TestTraceRecordsTickResumeAndDeadline(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/traced")
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("trace-tick", wasm, "tick")}),
		func(o *Options) { o.Trace.Dev = true })
	if code, _, _ := get(t, g.url+"/anything/ticked"); code != 200 {
		t.Fatalf("ticked: %d", code)
	}
	tr := lastTrace(t, g, "/anything/ticked")
	i := findEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.KindPause && e.Plugin == "trace-tick" })
	if i < 0 || tr.Events[i].ResumedBy != "proxy_on_tick" || tr.Events[i].DurUS <= 0 {
		t.Fatalf("no pause resumed by the tick:\n%s", dumpTrace(tr))
	}

	s := startGateway(t, staticConfig([]config.Plugin{filePlugin("trace-spin", wasm, "spin")}),
		func(o *Options) { o.Trace.Dev = true; o.CallTimeout = 200 * time.Millisecond })
	if code, _, _ := get(t, s.url+"/anything/spin"); code != 503 {
		t.Fatalf("spin: %d", code)
	}
	tr = lastTrace(t, s, "/anything/spin")
	i = findEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.KindCallback && e.Error != "" })
	if i < 0 || !strings.Contains(tr.Events[i].Error, "per-callback CPU deadline") || tr.Events[i].DurUS < 200000 {
		t.Fatalf("no callback stopped by the deadline:\n%s", dumpTrace(tr))
	}
}

// A plugin that changes the path makes the router choose again: the trace
// shows both routes.
func TestTraceRecordsRouteChosenAgain(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/traced")
	src := SourceFunc(func() *config.Result {
		return &config.Result{Config: &config.Config{
			Source: "test",
			Listeners: []config.Listener{{
				Name: "test", Address: "127.0.0.1:0",
				VirtualHosts: []config.VirtualHost{{Name: "all", Domains: []string{"*"}, Routes: []config.Route{
					{Name: "rerouted", Match: config.PathMatch{Kind: config.PathPrefix, Value: "/anything/rerouted"}, Cluster: config.EchoClusterName},
					{Name: "default", Match: config.PathMatch{Kind: config.PathPrefix, Value: "/"}, Cluster: config.EchoClusterName},
				}}},
				Plugins: []config.Plugin{filePlugin("trace-reroute", wasm, "reroute")},
			}},
			Clusters: []config.Cluster{{Name: config.EchoClusterName, Discovery: config.DiscoveryBuiltin, Builtin: config.BuiltinEcho}},
		}}
	})
	g := startGateway(t, src, func(o *Options) { o.Trace.Dev = true })
	if code, _, _ := get(t, g.url+"/anything/first"); code != 200 {
		t.Fatalf("status %d", code)
	}
	tr := lastTrace(t, g, "/anything/first")
	first := findEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.KindRoute && e.Name == "default" })
	again := findEvent(tr, first+1, func(e *trace.Event) bool {
		return e.Kind == trace.KindRoute && e.Name == "rerouted" && strings.Contains(e.Message, "again")
	})
	cb := findEvent(tr, 0, callbackOf("trace-reroute", "proxy_on_request_headers"))
	if first < 0 || again < 0 || cb < first || cb > again || tr.Route != "rerouted" {
		t.Fatalf("routes not both traced in order:\n%s", dumpTrace(tr))
	}
}
