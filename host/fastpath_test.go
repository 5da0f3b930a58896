package host

import (
	"context"
	"strings"
	"testing"
)

// The SDK's fast path (host/fastpath.go) is invisible to the plugin: the
// same module, on an engine that announces the extension and on one that
// does not (as Envoy and Higress do not), reads the same header values, of
// every size around the SDK's buffer, one by one, all at once and as a
// property, and the host writes results into the
// module's buffer only when the module turned the extension on.
func TestFastPathSameResultsOnBothPaths(t *testing.T) {
	wasm := goPlugin(t, "fastpath")
	run := func(cfg EngineConfig) (*HeaderMap, *HeaderMap, uint64) {
		e := newTestEngine(t, cfg)
		m, err := e.Compile(context.Background(), wasm)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.NewPlugin(context.Background(), m, PluginConfig{Name: "fastpath", PoolSize: 1, Configuration: []byte("{}"), Logger: newRecorder().logger()})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		// Headers small enough for all of them to pass through the
		// module's buffer at once.
		small := reqHeaders()
		small.Add("x-in-short", "v1")
		s0 := p.NewStream(StreamOptions{})
		if r := s0.RequestHeaders(small, true); r.Action != ActionContinue {
			t.Fatalf("%+v", r)
		}
		s0.Done()
		h := reqHeaders()
		h.Add("x-in-short", "v1")
		h.Add("x-in-empty", "")
		h.Add("x-in-exact", strings.Repeat("e", 1024))
		h.Add("x-in-long", strings.Repeat("l", 5000))
		s := p.NewStream(StreamOptions{})
		if r := s.RequestHeaders(h, true); r.Action != ActionContinue {
			t.Fatalf("%+v", r)
		}
		writes := s.v.fastWrites
		s.Done()
		return h, small, writes
	}
	fast, fastSmall, fastWrites := run(EngineConfig{})
	abi, abiSmall, abiWrites := run(EngineConfig{NoFastPath: true})
	if a, b := dump(fastSmall), dump(abiSmall); strings.Replace(a, "x-fast-path: true", "x-fast-path: false", 1) != b {
		t.Errorf("small headers differ:\n%s\nwith the extension,\n%s\nwithout", a, b)
	}
	if got, _ := fastSmall.Get("x-out-pair-x-in-short"); got != "v1" {
		t.Errorf("x-out-pair-x-in-short = %q", got)
	}
	if got, _ := fast.Get("x-fast-path"); got != "true" {
		t.Fatalf("fast path not taken: x-fast-path %q", got)
	}
	if got, _ := abi.Get("x-fast-path"); got != "false" {
		t.Fatalf("fast path taken on a host without it: x-fast-path %q", got)
	}
	if fastWrites == 0 || abiWrites != 0 {
		t.Fatalf("results written into the module's buffer: %d with the extension, %d without", fastWrites, abiWrites)
	}
	path, _ := fast.Get(":path")
	want := map[string]string{
		"x-out-short":           "v1|" + path,
		"x-out-empty":           "|" + path,
		"x-out-exact":           strings.Repeat("e", 1024) + "|" + path,
		"x-out-long":            strings.Repeat("l", 5000) + "|" + path,
		"x-out-missing":         "error: error status returned by host: not found|" + path,
		"x-out-plugin-name":     "fastpath",
		"x-out-pair-x-in-exact": strings.Repeat("e", 1024),
		"x-out-pair-:path":      path,
	}
	if fast.Len() != abi.Len() {
		t.Errorf("%d headers with the extension, %d without", fast.Len(), abi.Len())
	}
	for i, f := range fast.Fields {
		if i < abi.Len() && f != abi.Fields[i] && f.Key != "x-fast-path" {
			t.Errorf("header %d: %.40q with the extension, %.40q without", i, f, abi.Fields[i])
		}
	}
	for k, w := range want {
		f, _ := fast.Get(k)
		a, _ := abi.Get(k)
		if f != a {
			t.Errorf("%s differs: %.40q with the extension, %.40q without", k, f, a)
		}
		if f != w {
			t.Errorf("%s = %.60q, want %.60q", k, f, w)
		}
	}
}

// A module that does not turn the extension on gets the ABI's behaviour
// even when it leaves a buffer address in the result slots.
func TestFastPathOnlyWhenTurnedOn(t *testing.T) {
	e := testEngine(t)
	p := benchPlugin(t, e, "get1")
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	if s.v.fastPath || s.v.fastWrites != 0 {
		t.Fatalf("fast path on for a module that did not ask: %v, %d writes", s.v.fastPath, s.v.fastWrites)
	}
	s.Done()
}

func dump(h *HeaderMap) string {
	var b strings.Builder
	for _, f := range h.Fields {
		b.WriteString(f.Key + ": " + f.Value + "\n")
	}
	return b.String()
}

// The SDK's header setters allocate nothing in the guest, and a getter
// allocates one string (the value), with the fast path and without.
// Counted in the guest with runtime.MemStats.
func TestSDKHeaderCallsAllocations(t *testing.T) {
	wasm := goPlugin(t, "fastpath")
	for _, cfg := range []EngineConfig{{}, {NoFastPath: true}} {
		e := newTestEngine(t, cfg)
		m, err := e.Compile(context.Background(), wasm)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.NewPlugin(context.Background(), m, PluginConfig{Name: "fastpath", PoolSize: 1, Configuration: []byte("{}"), Logger: newRecorder().logger()})
		if err != nil {
			t.Fatal(err)
		}
		h := reqHeaders()
		h.Add("x-count-allocs", "1")
		s := p.NewStream(StreamOptions{})
		if r := s.RequestHeaders(h, true); r.Action != ActionContinue {
			t.Fatalf("%+v", r)
		}
		s.Done()
		p.Close(context.Background())
		set, _ := h.Get("x-allocs-set")
		get, _ := h.Get("x-allocs-get")
		// Without the fast path the allocator's list of live buffers also
		// grows (once per VM, its capacity is kept across callbacks).
		want := map[string]bool{"10": true}
		if cfg.NoFastPath {
			want = map[string]bool{"10": true, "11": true, "12": true, "13": true, "14": true}
		}
		if set != "0" || !want[get] {
			t.Errorf("NoFastPath=%v: 30 adds, replaces and removes allocated %s times, 10 gets %s times (want 0 and 10)", cfg.NoFastPath, set, get)
		}
	}
}
