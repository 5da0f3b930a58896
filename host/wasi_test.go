package host

import (
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func TestWASIBehaviour(t *testing.T) {
	e := testEngine(t)
	start := time.Now()
	_, rec := startPlugin(t, e, compileWat(t, e, "wasi"), PluginConfig{Name: "wasi", Env: map[string]string{"A": "1", "B": "two"}})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("poll_oneoff slept: %v", d)
	}
	var hello, errLine bool
	for _, r := range rec.all() {
		switch {
		case r.Wasm && r.Msg == "hello" && r.Level == SlogLevel(types.LogLevelInfo):
			hello = true
		case r.Wasm && r.Msg == "err" && r.Level == SlogLevel(types.LogLevelError):
			errLine = true
		}
	}
	if !hello || !errLine {
		t.Fatalf("hello=%v err=%v: %+v", hello, errLine, rec.all())
	}
}

func TestWASIGoPlugin(t *testing.T) {
	clock := newManualClock()
	e := newTestEngine(t, EngineConfig{Clock: clock})
	_, rec := scripted(t, e, false, `{"configure":[{"op":"print","fd":1,"msg":"to stdout"},{"op":"print","fd":2,"msg":"to stderr"},
		{"op":"env","name":"GREETING"},{"op":"env","name":"HOME"},{"op":"environ"},{"op":"gonow"},{"op":"time"}]}`,
		withCfg(func(c *PluginConfig) { c.Env = map[string]string{"GREETING": "hi"} }))
	rec.mustHave(t, "to stdout", "to stderr", "env GREETING=hi ok=true", "env HOME= ok=false", "environ GREETING=hi",
		"gonow unix="+itoa(int(clock.Now().Unix())), "time st=0 ns="+itoa(int(clock.Now().UnixNano())))
	for _, r := range rec.all() {
		if r.Msg == "to stderr" && r.Level != SlogLevel(types.LogLevelError) {
			t.Fatalf("%+v", r)
		}
		if r.Msg == "to stdout" && r.Level != SlogLevel(types.LogLevelInfo) {
			t.Fatalf("%+v", r)
		}
	}
}

func TestWASIGoSleepUsesRealClock(t *testing.T) {
	e := testEngine(t)
	start := time.Now()
	_, rec := scripted(t, e, false, `{"configure":[{"op":"sleep","ms":20}]}`)
	rec.mustHave(t, "slept")
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("slept %v", d)
	}
}
