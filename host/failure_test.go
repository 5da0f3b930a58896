package host

import (
	"context"
	"strings"
	"testing"
	"time"
)

func trapsPlugin(t *testing.T, e *Engine, cfg PluginConfig) (*Plugin, *logRecorder) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "traps"
	}
	if cfg.ReloadBackoff == 0 {
		cfg.ReloadBackoff = 10 * time.Millisecond
	}
	return startPlugin(t, e, compileWat(t, e, "traps"), cfg)
}

func pathHeaders(path string) *HeaderMap {
	return NewHeaderMap(":authority", "h", ":path", path, ":method", "GET")
}

func waitVMs(t *testing.T, p *Plugin, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitVMs(ctx, n); err != nil {
		t.Fatalf("VM pool not healed: %v", err)
	}
}

func TestTrapFailClosed(t *testing.T) {
	e := testEngine(t)
	p, rec := trapsPlugin(t, e, PluginConfig{ReloadBackoff: time.Hour})
	s := p.NewStream(StreamOptions{})
	r := s.RequestHeaders(pathHeaders("/trap"), true)
	if r.Action != ActionLocalReply || r.LocalReply.StatusCode != 503 || r.LocalReply.Details != "wasm_fail_stream" || r.LocalReply.GRPCStatus != 14 {
		t.Fatalf("%+v", r)
	}
	// The local reply passes through; encoder callbacks are skipped.
	if r := s.ResponseHeaders(r.LocalReply.Headers, true); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	s.Done()
	found := false
	for _, l := range rec.all() {
		if l.Msg == "wasm VM failed" && strings.Contains(l.Attrs["function"], "proxy_on_request_headers") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no failure log: %+v", rec.all())
	}
	// No healthy VM until the replacement: new streams get the policy.
	s = p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(pathHeaders("/"), true); r.Action != ActionLocalReply || r.LocalReply.StatusCode != 503 {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestTrapHealsWithReplacement(t *testing.T) {
	e := testEngine(t)
	p, _ := trapsPlugin(t, e, PluginConfig{})
	for i := 0; i < 3; i++ {
		s := p.NewStream(StreamOptions{})
		if r := s.RequestHeaders(pathHeaders("/oob"), true); r.Action != ActionLocalReply {
			t.Fatalf("%+v", r)
		}
		s.Done()
		waitVMs(t, p, 1)
		s = p.NewStream(StreamOptions{})
		if r := s.RequestHeaders(pathHeaders("/fine"), true); r.Action != ActionContinue {
			t.Fatalf("after healing: %+v", r)
		}
		s.Done()
	}
}

func TestTrapFailOpen(t *testing.T) {
	e := testEngine(t)
	p, _ := trapsPlugin(t, e, PluginConfig{FailStrategy: FailOpen, ReloadBackoff: time.Hour})
	s := p.NewStream(StreamOptions{})
	h := pathHeaders("/trap")
	r := s.RequestHeaders(h, false)
	if r.Action != ActionContinue || r.Headers != h {
		t.Fatalf("%+v", r)
	}
	if r := s.RequestBody([]byte("b"), true); r.Action != ActionContinue || string(r.Body) != "b" || !r.EndStream {
		t.Fatalf("%+v", r)
	}
	s.Done()
	s = p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(pathHeaders("/"), true); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestGoPanicFailsVM(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"trap","kind":"panic"}]}`, withCfg(func(c *PluginConfig) { c.ReloadBackoff = time.Hour }))
	s := p.NewStream(StreamOptions{})
	r := s.RequestHeaders(reqHeaders(), true)
	if r.Action != ActionLocalReply || r.LocalReply.StatusCode != 503 {
		t.Fatalf("%+v", r)
	}
	s.Done()
	// The Go runtime's panic message went to the log through fd 2.
	found := false
	for _, l := range rec.all() {
		if l.Wasm && strings.Contains(l.Msg, "scripted panic") && l.Level == SlogLevel(4) {
			found = true
		}
	}
	if !found {
		t.Fatalf("panic message not logged at error level: %v", rec.wasmLines())
	}
}

func TestInfiniteLoopDeadline(t *testing.T) {
	e := newTestEngine(t, EngineConfig{CallTimeout: 300 * time.Millisecond})
	p, rec := trapsPlugin(t, e, PluginConfig{})
	s := p.NewStream(StreamOptions{})
	start := time.Now()
	r := s.RequestHeaders(pathHeaders("/loop"), true)
	if r.Action != ActionLocalReply || r.LocalReply.StatusCode != 503 {
		t.Fatalf("%+v", r)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("loop stopped after %v", d)
	}
	s.Done()
	found := false
	for _, l := range rec.all() {
		if strings.Contains(l.Attrs["error"], "CPU deadline") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no deadline error in %+v", rec.all())
	}
	waitVMs(t, p, 1)
	s = p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(pathHeaders("/fine"), true); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestGoInfiniteLoopDeadline(t *testing.T) {
	e := newTestEngine(t, EngineConfig{CallTimeout: 300 * time.Millisecond})
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"loop"}]}`)
	s := p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), true); r.Action != ActionLocalReply {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestMemoryLimit(t *testing.T) {
	e := newTestEngine(t, EngineConfig{MemoryLimitPages: 512}) // 32 MiB
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"grow","mb":8},{"op":"log","level":2,"msg":"alive"}],"request_body":[{"op":"grow","mb":64}]}`,
		withCfg(func(c *PluginConfig) { c.ReloadBackoff = time.Hour }))
	s := p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), false); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	if r := s.RequestBody([]byte("x"), true); r.Action != ActionLocalReply || r.LocalReply.StatusCode != 503 {
		t.Fatalf("growing past the limit must fail the VM: %+v", r)
	}
	s.Done()
}

func TestPausedStreamsHearAboutFailure(t *testing.T) {
	e := testEngine(t)
	for _, failOpen := range []bool{false, true} {
		up := newFakeHTTP("backend")
		script := `{"request_headers":[{"op":"http_call","cluster":"backend","pairs":[[":method","GET"],[":path","/"],[":authority","a"]],"eos":false},{"op":"return","value":4,"eos":false},{"op":"trap","eos":true}]}`
		opts := []pluginOpt{withHTTP(up), withCfg(func(c *PluginConfig) { c.ReloadBackoff = time.Hour })}
		if failOpen {
			opts = append(opts, withFailOpen())
		}
		p, _ := scripted(t, e, false, script, opts...)
		ev := newEvents()
		paused := p.NewStream(StreamOptions{Events: ev.fn})
		if r := paused.RequestHeaders(reqHeaders(), false); r.Action != ActionStop {
			t.Fatalf("%+v", r)
		}
		other := p.NewStream(StreamOptions{})
		other.RequestHeaders(reqHeaders(), true) // traps
		other.Done()
		got := ev.wait(t)
		if failOpen {
			if got.Kind != EventResume {
				t.Fatalf("%+v", got)
			}
			if r := paused.Resume(Request); r.Action != ActionContinue || r.Headers == nil {
				t.Fatalf("%+v", r)
			}
		} else if got.Kind != EventLocalReply || got.Reply.StatusCode != 503 {
			t.Fatalf("%+v", got)
		}
		// A late callout answer to the failed VM is dropped.
		up.answer(0, ok200(""))
		paused.Done()
	}
}

func TestWasmNeedRebuild(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"set_property","path":["wasm_need_rebuild"],"val":"true"}]}`)
	s := p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), false); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	// The stream keeps its VM while a new one takes new streams.
	if r := s.RequestBody([]byte("x"), true); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	waitVMs(t, p, 1)
	rec.mustNotHave(t, "cb:delete ctx=1")
	s.Done()
	rec.waitFor(t, "cb:delete ctx=1")
	n := rec.count("cb:configure")
	if n != 2 {
		t.Fatalf("configure ran %d times", n)
	}
	s = p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
}

func TestRootShutdownAndProxyDone(t *testing.T) {
	clock := newManualClock()
	e := newTestEngine(t, EngineConfig{Clock: clock})
	p, rec := scripted(t, e, false, `{"done":[{"op":"return","value":0}],"configure":[{"op":"tick","ms":10}],"tick":[{"op":"done"}],"request_headers":[{"op":"done"}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	rec.mustHave(t, "done st=1") // no root waiting for proxy_done yet
	closed := make(chan struct{})
	go func() { p.Close(context.Background()); close(closed) }()
	rec.waitFor(t, "cb:done ctx=1")
	select {
	case <-closed:
		t.Fatal("Close returned before proxy_done")
	case <-time.After(50 * time.Millisecond):
	}
	clock.Advance(10 * time.Millisecond)
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not finish after proxy_done")
	}
	rec.mustHave(t, "done st=0", "cb:delete ctx=1")
}

func TestPluginCloseRunsRootDoneAndDelete(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{}`, withPool(2))
	p.Close(context.Background())
	n := rec.count("cb:delete ctx=1")
	if n != 2 {
		t.Fatalf("root deleted %d times", n)
	}
	s := p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), true); r.Action != ActionLocalReply {
		t.Fatalf("stream on a closed plugin: %+v", r)
	}
	s.Done()
}
