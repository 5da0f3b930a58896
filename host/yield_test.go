package host

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/host/internal/wasi"
	"github.com/wasmgate/wasmgate/internal/testwasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Every yield point, called with its arguments from a request callback,
// fails at once and changes nothing: no log line, no header, no byte of
// guest memory outside the results the module stores.
func TestYieldPointsDoNothing(t *testing.T) {
	var imports, calls strings.Builder
	for i, y := range yieldPoints {
		fmt.Fprintf(&imports, "  (import %q %q (func $y%d (param%s) (result i32)))\n", y.Module, y.Name, i, strings.Repeat(" i32", len(y.Args)))
		fmt.Fprintf(&calls, "    (i32.store (i32.const %d) (call $y%d", 1024+4*i, i)
		for _, a := range y.Args {
			fmt.Fprintf(&calls, " (i32.const %d)", int32(a))
		}
		calls.WriteString("))\n")
	}
	src := `(module
` + imports.String() + `  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 8192))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
` + calls.String() + `    (i32.const 0)))`
	e := testEngine(t)
	m, err := e.Compile(t.Context(), watSource(t, src))
	if err != nil {
		t.Fatal(err)
	}
	if !m.interruptible {
		t.Fatal("a module importing the yield points is not instrumented")
	}
	trace := types.LogLevelTrace
	p, rec := startPlugin(t, e, m, PluginConfig{LogLevel: &trace})
	s := p.NewStream(StreamOptions{})
	v := s.v
	before, _ := v.mod.Memory().Read(0, v.mod.Memory().Size())
	before = bytes.Clone(before)
	h := reqHeaders()
	if r := s.RequestHeaders(h, true); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	if h.Len() != reqHeaders().Len() {
		t.Fatalf("headers changed: %+v", h.Fields)
	}
	after, _ := v.mod.Memory().Read(0, v.mod.Memory().Size())
	for i, y := range yieldPoints {
		want := uint32(types.StatusBadArgument)
		switch y.Name {
		case "sched_yield":
			want = wasi.ErrnoSuccess
		case "fd_write":
			want = wasi.ErrnoBadf
		}
		if got := binary.LittleEndian.Uint32(after[1024+4*i:]); got != want {
			t.Errorf("%s.%s returned %d, want %d", y.Module, y.Name, got, want)
		}
	}
	copy(after[1024:1024+4*len(yieldPoints)], before[1024:])
	if !bytes.Equal(before, after) {
		t.Error("a yield point wrote guest memory")
	}
	s.Done()
	for _, l := range rec.all() {
		if l.Attrs["source"] == "wasm" {
			t.Errorf("a yield point logged: %+v", l)
		}
	}
}

// A module importing none of the yield points runs with wazero's context
// checks instead, and its deadline still holds.
func TestDeadlineWithoutYieldPoint(t *testing.T) {
	e := newTestEngine(t, EngineConfig{CallTimeout: 300 * time.Millisecond})
	m, err := e.Compile(t.Context(), watSource(t, `(module
  (import "env" "proxy_get_property" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (loop $l (br $l))
    (i32.const 0)))`))
	if err != nil {
		t.Fatal(err)
	}
	if m.interruptible {
		t.Fatal("instrumented without a yield point")
	}
	p, _ := startPlugin(t, e, m, PluginConfig{})
	s := p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), true); r.Action != ActionLocalReply || r.LocalReply.StatusCode != 503 {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

// A module spinning between calls of a proxy-wasm yield point (traps.wat
// imports only proxy_get_header_map_value) does not hold up garbage
// collections, and the interrupt flag stops it.
func TestSpinningProxyModuleDoesNotBlockGC(t *testing.T) {
	e := newTestEngine(t, EngineConfig{CallTimeout: time.Minute})
	p, _ := trapsPlugin(t, e, PluginConfig{})
	s := p.NewStream(StreamOptions{})
	v := s.v
	done := make(chan Result, 1)
	go func() { done <- s.RequestHeaders(pathHeaders("/loop"), true) }()
	for v.callStart.Load() == 0 {
		runtime.Gosched()
	}
	testwasm.CollectsGarbage(t, "the module spun")
	v.intr.Set(1)
	select {
	case r := <-done:
		if r.Action != ActionLocalReply {
			t.Fatalf("%+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the interrupt flag did not stop the module")
	}
	s.Done()
}
