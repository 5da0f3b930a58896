package host

import (
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func TestSharedDataCAS(t *testing.T) {
	e := newTestEngine(t, EngineConfig{})
	script := `{"request_headers":[
		{"op":"shared_get","key":"k"},
		{"op":"shared_set","key":"k","val":"v1","cas":99},
		{"op":"shared_get","key":"k"},
		{"op":"shared_set","key":"k","val":"v2","cas":5},
		{"op":"shared_set","key":"k","val":"v2","cas":1},
		{"op":"shared_get","key":"k"},
		{"op":"shared_set","key":"k","val":"v3","cas":0},
		{"op":"shared_get","key":"k"}]}`
	p, rec := scripted(t, e, false, script, withCfg(func(c *PluginConfig) { c.VMID = "shared" }))
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	got := strings.Join(rec.wasmLines(), "\n")
	want := "shared_get k st=1 val= cas=0\nshared_set k st=0\nshared_get k st=0 val=v1 cas=1\nshared_set k st=8\nshared_set k st=0\nshared_get k st=0 val=v2 cas=2\nshared_set k st=0\nshared_get k st=0 val=v3 cas=3"
	if !strings.Contains(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Another plugin with the same vm_id sees the data; another vm_id does not.
	p2, rec2 := scripted(t, e, false, `{"configure":[{"op":"shared_get","key":"k"}]}`, withCfg(func(c *PluginConfig) { c.VMID = "shared" }))
	rec2.mustHave(t, "shared_get k st=0 val=v3 cas=3")
	_, rec3 := scripted(t, e, false, `{"configure":[{"op":"shared_get","key":"k"}]}`, withCfg(func(c *PluginConfig) { c.VMID = "other" }))
	rec3.mustHave(t, "shared_get k st=1")
	// The data goes away with the last plugin of the vm_id.
	p.Close(t.Context())
	p2.Close(t.Context())
	if _, _, ok := e.shared.get("shared", "k"); ok {
		t.Fatal("shared data survived its vm_id")
	}
}

func TestSharedQueues(t *testing.T) {
	e := newTestEngine(t, EngineConfig{})
	vmid := withCfg(func(c *PluginConfig) { c.VMID = "q" })
	consumer, crec := scripted(t, e, false, `{"configure":[{"op":"queue_register","name":"jobs"},{"op":"queue_register","name":"jobs"}],
		"queue_ready":[{"op":"dequeue"},{"op":"dequeue"}]}`, vmid)
	if !strings.Contains(strings.Join(crec.wasmLines(), "\n"), "queue_register st=0 id=1\nqueue_register st=0 id=1") {
		t.Fatal(crec.wasmLines())
	}
	_, prec := scripted(t, e, false, `{"configure":[{"op":"queue_resolve","vm_id":"","name":"jobs"},{"op":"queue_resolve","vm_id":"q","name":"nope"},{"op":"queue_resolve","vm_id":"other","name":"jobs"},
		{"op":"enqueue","val":"job-1"},{"op":"enqueue","id":77,"val":"x"},{"op":"dequeue","id":77}]}`, vmid)
	prec.mustHave(t, "queue_resolve st=0 id=1", "queue_resolve st=1", "enqueue st=0", "enqueue st=1", "dequeue st=1")
	crec.waitFor(t, "cb:queue_ready ctx=1 a=1")
	crec.mustHave(t, "dequeue st=0 val=job-1", "dequeue st=7")
	_ = consumer
}

func TestMetrics(t *testing.T) {
	e := newTestEngine(t, EngineConfig{})
	_, rec := scripted(t, e, false, `{"configure":[
		{"op":"define_metric","type":0,"name":"requests"},{"op":"increment_metric","delta":2},{"op":"increment_metric","delta":0},{"op":"increment_metric","delta":-1},
		{"op":"record_metric","delta":3},{"op":"get_metric"},
		{"op":"define_metric","type":0,"name":"requests"},{"op":"increment_metric","delta":1},{"op":"get_metric"},
		{"op":"define_metric","type":1,"name":"inflight"},{"op":"increment_metric","delta":5},{"op":"increment_metric","delta":-7},{"op":"get_metric"},{"op":"record_metric","delta":9},{"op":"get_metric"},
		{"op":"define_metric","type":2,"name":"latency"},{"op":"record_metric","delta":7},{"op":"record_metric","delta":700},{"op":"increment_metric","delta":1},{"op":"get_metric"},
		{"op":"define_metric","type":3,"name":"bad"},{"op":"get_metric","id":4000},{"op":"increment_metric","id":4000,"delta":1}]}`)
	got := strings.Join(rec.wasmLines(), "\n")
	want := strings.Join([]string{
		"define_metric st=0 id=4", "increment_metric st=0", "increment_metric st=2", "increment_metric st=2", "record_metric st=0", "get_metric st=0 val=5",
		"define_metric st=0 id=8", "increment_metric st=0", "get_metric st=0 val=6",
		"define_metric st=0 id=5", "increment_metric st=0", "increment_metric st=0", "get_metric st=0 val=-2", "record_metric st=0", "get_metric st=0 val=9",
		"define_metric st=0 id=6", "record_metric st=0", "record_metric st=0", "increment_metric st=2", "get_metric st=2 val=0",
		"define_metric st=2 id=6", "get_metric st=1 val=0", "increment_metric st=1"}, "\n")
	if !strings.Contains(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	ms := e.Metrics()
	if len(ms) != 3 || ms[0].Name != "requests" || ms[0].Value != 6 || ms[1].Type != types.MetricTypeGauge || ms[1].Value != 9 {
		t.Fatalf("%+v", ms)
	}
	h := ms[2].Histogram
	if h == nil || h.Count != 2 || h.Sum != 707 || h.Buckets[3] != 1 || h.Buckets[len(h.Buckets)-1] != 2 {
		t.Fatalf("%+v", h)
	}
}

func TestTicks(t *testing.T) {
	clock := newManualClock()
	e := newTestEngine(t, EngineConfig{Clock: clock})
	p, rec := scripted(t, e, false, `{"configure":[{"op":"tick","ms":100}],"tick":[{"op":"time"}]}`, withPool(2))
	if clock.pending() != 2 {
		t.Fatalf("one tick timer per root context expected, got %d", clock.pending())
	}
	clock.Advance(99 * time.Millisecond)
	if rec.has("cb:tick") {
		t.Fatal("tick before one full period")
	}
	clock.Advance(time.Millisecond)
	clock.Advance(100 * time.Millisecond)
	n := rec.count("cb:tick ctx=1")
	if n != 4 {
		t.Fatalf("%d ticks, want 2 per VM:\n%s", n, strings.Join(rec.wasmLines(), "\n"))
	}
	rec.mustHave(t, "time st=0 ns="+itoa(int(clock.Now().UnixNano())))
	p.Close(t.Context())
	if clock.pending() != 0 {
		t.Fatal("tick timers survive Close")
	}
}

func TestTickPeriodZeroStops(t *testing.T) {
	clock := newManualClock()
	e := newTestEngine(t, EngineConfig{Clock: clock})
	_, rec := scripted(t, e, false, `{"configure":[{"op":"tick","ms":10}],"tick":[{"op":"tick","ms":0}]}`)
	clock.Advance(100 * time.Millisecond)
	n := rec.count("cb:tick")
	if n != 1 || clock.pending() != 0 {
		t.Fatalf("%d ticks, %d timers", n, clock.pending())
	}
}

func TestForeignFunctions(t *testing.T) {
	e := testEngine(t)
	_, rec := scripted(t, e, false, `{"configure":[
		{"op":"foreign","name":"compress","data":"hello world!"},
		{"op":"foreign","name":"uncompress","hex":"789ccb48cdc9c95728cf2fca495104001e89047e"},
		{"op":"foreign","name":"uncompress","data":"garbage"},
		{"op":"foreign","name":"get_log_level"},
		{"op":"foreign","name":"set_global_max_requests_per_io_cycle","hex":"0a00000000000000"},
		{"op":"foreign","name":"nope"}]}`, withLevel(types.LogLevelDebug))
	rec.mustHave(t,
		"foreign compress st=0 len=",
		"foreign uncompress st=0 len=12 data="+hexOf("hello world!"),
		"foreign uncompress st=3",
		"foreign get_log_level st=0 len=4 data=01000000",
		"foreign set_global_max_requests_per_io_cycle st=0 len=0",
		"foreign nope st=1")
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(out)
}

func TestLogLevels(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"log_level"},{"op":"log","level":1,"msg":"debug-msg"},{"op":"log","level":3,"msg":"warn-msg"},{"op":"log","level":9,"msg":"x"},{"op":"log","level":5,"msg":"crit-msg"}]}`,
		withLevel(types.LogLevelInfo))
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	rec.mustHave(t, "log_level st=0 level=2", "warn-msg", "log st=2", "crit-msg")
	rec.mustNotHave(t, "debug-msg")
	for _, r := range rec.all() {
		if r.Msg == "warn-msg" && (r.Level != SlogLevel(types.LogLevelWarn) || r.Attrs["plugin"] != "scripted") {
			t.Fatalf("%+v", r)
		}
		if r.Msg == "crit-msg" && r.Level != LevelCritical {
			t.Fatalf("%+v", r)
		}
	}
	p.SetLogLevel(types.LogLevelDebug)
	s = p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	rec.mustHave(t, "debug-msg", "log_level st=0 level=1")
}
