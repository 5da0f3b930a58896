package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A start-up call runs under the start deadline, not the per-callback one.
func TestStartDeadlineIsSeparate(t *testing.T) {
	e := newTestEngine(t, EngineConfig{CallTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, rec := scripted(t, e, false, `{"configure":[{"op":"sleep","ms":400}]}`)
	rec.mustHave(t, "slept")
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("configure returned after %v", d)
	}
}

func TestStartDeadlineStopsConfigure(t *testing.T) {
	e := newTestEngine(t, EngineConfig{CallTimeout: 5 * time.Second, StartTimeout: 200 * time.Millisecond})
	cfg := PluginConfig{Name: "slow", Configuration: []byte(`{"configure":[{"op":"loop"}]}`), PoolSize: 1}
	start := time.Now()
	_, err := e.NewPlugin(context.Background(), scriptedModule(t, e, false), cfg)
	var de *DeadlineError
	if !errors.As(err, &de) || !de.Start || de.Limit != 200*time.Millisecond || de.Function != "proxy_on_configure" {
		t.Fatalf("error %v (%#v)", err, de)
	}
	if !strings.Contains(err.Error(), "proxy_on_configure stopped by the start deadline of 200ms") {
		t.Fatalf("message %q", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stopped after %v", d)
	}
	// A per-plugin start deadline overrides the engine's.
	cfg.StartTimeout = 100 * time.Millisecond
	_, err = e.NewPlugin(context.Background(), scriptedModule(t, e, false), cfg)
	if !errors.As(err, &de) || de.Limit != 100*time.Millisecond {
		t.Fatalf("error %v", err)
	}
}

func TestProcExitFailsVM(t *testing.T) {
	e := testEngine(t)
	m, err := e.Compile(context.Background(), watSource(t, `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $exit (i32.const 7))
    (i32.const 0)))`))
	if err != nil {
		t.Fatal(err)
	}
	p, rec := startPlugin(t, e, m, PluginConfig{Name: "exit", ReloadBackoff: time.Hour})
	s := p.NewStream(StreamOptions{})
	r := s.RequestHeaders(pathHeaders("/"), true)
	if r.Action != ActionLocalReply || r.LocalReply.StatusCode != 503 {
		t.Fatalf("%+v", r)
	}
	s.Done()
	if n := p.VMCount(); n != 0 {
		t.Fatalf("%d VMs serve after proc_exit", n)
	}
	found := false
	for _, l := range rec.all() {
		if l.Msg == "wasm VM failed" && strings.Contains(l.Attrs["error"], "exit_code(7)") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no failure record: %+v", rec.all())
	}
}

func TestCompileProgressLogged(t *testing.T) {
	old := compileProgressAfter
	compileProgressAfter = 0
	t.Cleanup(func() { compileProgressAfter = old })
	rec := newRecorder()
	e := newTestEngine(t, EngineConfig{Logger: rec.logger(), CacheDir: "off"})
	if _, err := e.CompileNamed(context.Background(), "traps", wat(t, "traps")); err != nil {
		t.Fatal(err)
	}
	var compiling, compiled bool
	for _, l := range rec.all() {
		compiling = compiling || l.Msg == "compiling traps (0.0 MB)…"
		compiled = compiled || strings.HasPrefix(l.Msg, "compiled traps in ")
	}
	if !compiling || !compiled {
		t.Fatalf("%+v", rec.all())
	}
}

func TestMemoryLimitReplacesVM(t *testing.T) {
	// Growing by 80 MiB can take seconds under the race detector on a busy
	// machine: the per-callback deadline must not be what this test sees.
	e := newTestEngine(t, EngineConfig{CallTimeout: time.Minute})
	const limit = 64 << 20
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"grow","mb":80}]}`,
		withCfg(func(c *PluginConfig) { c.MemoryLimit = limit }))
	if m := p.MemoryBytes(); m >= limit {
		t.Fatalf("starts with %d bytes", m)
	}
	s := p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), true); r.Action != ActionContinue {
		s.Done()
		t.Fatalf("%+v; log: %+v", r, rec.all()) // the stream itself completes on the VM
	}
	s.Done()
	rec.mustHave(t, "grow ok")
	if n := p.MemoryReplacements(); n != 1 {
		t.Fatalf("%d replacements", n)
	}
	waitVMs(t, p, 1)
	deadline := time.Now().Add(20 * time.Second)
	for p.MemoryBytes() >= limit {
		if time.Now().After(deadline) {
			t.Fatalf("still %d bytes", p.MemoryBytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p.MemoryLimit() != limit {
		t.Fatal("limit not reported")
	}
}
