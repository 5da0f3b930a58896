package host

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func TestPanicIsOneRecord(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"trap","kind":"panic"}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	var panics []logRec
	for _, r := range rec.all() {
		if r.Wasm && strings.Contains(r.Msg, "scripted panic") {
			panics = append(panics, r)
		}
	}
	if len(panics) != 1 {
		t.Fatalf("%d panic records: %+v", len(panics), rec.all())
	}
	r := panics[0]
	if r.Level != slog.LevelError || !strings.HasPrefix(r.Msg, "panic: scripted panic") || !strings.Contains(r.Msg, "goroutine") {
		t.Fatalf("%+v", r)
	}
}

func TestLogLimitsDropAndCut(t *testing.T) {
	e := testEngine(t)
	big := strings.Repeat("x", 300)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"log","level":2,"msg":"`+big+`","times":100}]}`,
		withCfg(func(c *PluginConfig) {
			c.LogLimits = LogLimits{RecordsPerSecond: 10, BytesPerSecond: -1, MaxRecordBytes: 100}
		}))
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	n := 0
	for _, r := range rec.all() {
		if r.Wasm && strings.HasPrefix(r.Msg, "xxx") {
			n++
			if r.Msg != strings.Repeat("x", 100)+"… [200 bytes cut]" {
				t.Fatalf("record %q", r.Msg)
			}
		}
	}
	st := p.LogStats()
	// A burst of two seconds' worth (20 records) passes, start-up records included.
	if n == 0 || n > 20 || st.Dropped < 80 || st.Truncated != uint64(n) {
		t.Fatalf("%d records written, stats %+v", n, st)
	}
	warned := false
	for _, r := range rec.all() {
		warned = warned || (!r.Wasm && strings.HasPrefix(r.Msg, "plugin log records dropped"))
	}
	if !warned {
		t.Fatal("no warning about dropped records")
	}
}

func TestWasmLoggerSeparate(t *testing.T) {
	e := testEngine(t)
	wasm := newRecorder()
	_, rec := scripted(t, e, false, `{"configure":[{"op":"log","level":0,"msg":"trace line"}]}`,
		withCfg(func(c *PluginConfig) { c.WasmLogger = wasm.logger() }))
	wasm.mustHave(t, "trace line")
	if rec.has("trace line") {
		t.Fatal("plugin record went to the engine logger")
	}
	if LevelName(SlogLevel(types.LogLevelCritical)) != "critical" || LevelName(SlogLevel(types.LogLevelTrace)) != "trace" ||
		LevelName(SlogLevel(types.LogLevelWarn)) != "warn" {
		t.Fatal("level names")
	}
	a := ReplaceLevelNames(nil, slog.Any(slog.LevelKey, LevelCritical))
	if a.Value.String() != "critical" {
		t.Fatalf("%v", a)
	}
}
