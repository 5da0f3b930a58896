package interrupt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/wasmgate/wasmgate/internal/testwasm"
	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

func wat2wasm(t testing.TB, src string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm (Debian wabt) is not installed; scripts/deps.sh installs it: %v", err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "--enable-all", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A module with an imported global, its own globals and exports, loops with
// parameters and results, SIMD, bulk memory and br_table.
const testModule = `(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (import "env" "g" (global $imp i32))
  (memory 1)
  (global $own (mut i32) (i32.const 7))
  (func (export "sum") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 16))
    (drop (i32x4.extract_lane 0 (v128.load (i32.const 0))))
    (block $a (block $b (br_table $a $b $a (i32.const 1))))
    (i32.add (local.get $acc) (i32.add (global.get $own) (global.get $imp))))
  (func (export "spin") (param i32) (result i32)
    (local.get 0)
    (loop $l (param i32) (result i32)
      (i32.add (i32.const 1))
      (br $l)))
  (func (export "own") (result i32) (global.get $own)))`

// newRuntime has a wasi_snapshot_preview1 module whose sched_yield counts calls.
func newRuntime(t *testing.T, yields *atomic.Int64) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	_, err := r.NewHostModuleBuilder("wasi_snapshot_preview1").NewFunctionBuilder().
		WithFunc(func() uint32 { yields.Add(1); return 0 }).Export("sched_yield").Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// instantiate instruments the module in WebAssembly text src and
// instantiates it on r.
func instantiate(t *testing.T, r wazero.Runtime, src string, yields ...Yield) api.Module {
	t.Helper()
	bin, err := Instrument(wat2wasm(t, src), yields...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Instantiate(context.Background(), bin)
	if err != nil {
		t.Fatalf("instrumented module does not instantiate: %v", err)
	}
	return m
}

// stopSpin calls the export "spin" of m on a goroutine, runs whileSpinning,
// sets the interrupt flag and wants the call to end with an unreachable trap.
func stopSpin(t *testing.T, m api.Module, whileSpinning func(), params ...uint64) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := m.ExportedFunction("spin").Call(context.Background(), params...)
		done <- err
	}()
	if whileSpinning != nil {
		whileSpinning()
	}
	flag, ok := m.ExportedGlobal(GlobalName).(api.MutableGlobal)
	if !ok {
		t.Fatal("no mutable interrupt global exported")
	}
	flag.Set(1)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("spin ended with %v, want an unreachable trap", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("setting the flag did not stop the loop")
	}
}

// until waits for cond, yielding the processor.
func until(cond func() bool) func() {
	return func() {
		for !cond() {
			runtime.Gosched()
		}
	}
}

func TestInstrumentedModuleRunsAndStops(t *testing.T) {
	ctx := context.Background()
	// The imported global comes from a module named "env".
	envBin := wat2wasm(t, `(module (global (export "g") i32 (i32.const 100)))`)
	var yields atomic.Int64
	r := newRuntime(t, &yields)
	defer r.Close(ctx)
	if _, err := r.InstantiateWithConfig(ctx, envBin, wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	m := instantiate(t, r, testModule)
	res, err := m.ExportedFunction("sum").Call(ctx, 10)
	if err != nil || res[0] != 55+7+100 {
		t.Fatalf("sum = %v, %v", res, err)
	}
	if res, _ := m.ExportedFunction("own").Call(ctx); res[0] != 7 {
		t.Fatalf("own global = %v", res)
	}
	stopSpin(t, m, until(func() bool { return yields.Load() > 0 }), 0)
}

// A garbage collection waits for every goroutine to reach a safe point; a
// spinning loop reaches one at each sched_yield, so collections proceed and
// the goroutine that sets the flag gets to run.
func TestSpinningLoopDoesNotBlockGC(t *testing.T) {
	ctx := context.Background()
	var yields atomic.Int64
	r := newRuntime(t, &yields)
	defer r.Close(ctx)
	m := instantiate(t, r, `(module
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (func (export "spin") (loop $l (br $l))))`)
	stopSpin(t, m, func() {
		until(func() bool { return yields.Load() > 0 })()
		testwasm.CollectsGarbage(t, "the loop spun")
	})
}

func TestInstrumentNeedsSchedYield(t *testing.T) {
	if _, err := Instrument(wat2wasm(t, `(module (func (loop $l (br $l))))`)); err != ErrNoYield {
		t.Fatalf("err = %v, want ErrNoYield", err)
	}
}

func TestInstrumentAddsSections(t *testing.T) {
	// No global and no export section at all.
	var yields atomic.Int64
	r := newRuntime(t, &yields)
	defer r.Close(context.Background())
	m := instantiate(t, r, `(module
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (func (loop $l (br $l))))`)
	if m.ExportedGlobal(GlobalName) == nil {
		t.Fatal("no interrupt global")
	}
}

func TestInstrumentRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("\x00asm\x01\x00\x00\x00\x0a\x05\x01\x03\x00\xff\x0b"), []byte("notwasm!")} {
		if _, err := Instrument(b); err == nil {
			t.Errorf("Instrument(%q) succeeded", b)
		}
	}
}

// Every kind of backward branch, and tail calls, pass the check.
func TestEveryBackEdgeIsChecked(t *testing.T) {
	ctx := context.Background()
	var yields atomic.Int64
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2|experimental.CoreFeaturesTailCall))
	defer r.Close(ctx)
	if _, err := r.NewHostModuleBuilder("wasi_snapshot_preview1").NewFunctionBuilder().
		WithFunc(func() uint32 { yields.Add(1); return 0 }).Export("sched_yield").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	const yield = `(import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))`
	for name, body := range map[string]string{
		"br":          `(func (export "spin") (loop $l (br $l)))`,
		"br_if":       `(func (export "spin") (loop $l (br_if $l (i32.const 1))))`,
		"br_table":    `(func (export "spin") (block $out (loop $l (block $in (br_table $in $l $out (i32.const 1))))))`,
		"nested":      `(func (export "spin") (loop $l (block $b (if (i32.const 1) (then (br $l))))))`,
		"return_call": `(func $f (export "spin") (return_call $f))`,
	} {
		t.Run(name, func(t *testing.T) { stopSpin(t, instantiate(t, r, "(module "+yield+body+")"), nil) })
	}
}

// Entering a loop is not a check: a call that passes through loops without
// iterating runs to its end even with the flag set.
func TestLoopEntryIsNotChecked(t *testing.T) {
	ctx := context.Background()
	var yields atomic.Int64
	r := newRuntime(t, &yields)
	defer r.Close(ctx)
	m := instantiate(t, r, `(module
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (func $leaf (result i32) (loop $l (result i32) (i32.const 7)))
  (func (export "run") (result i32)
    (loop $l (result i32) (call $leaf))))`)
	m.ExportedGlobal(GlobalName).(api.MutableGlobal).Set(1)
	if res, err := m.ExportedFunction("run").Call(ctx); err != nil || res[0] != 7 {
		t.Fatalf("run = %v, %v; want 7 and no trap", res, err)
	}
}

// A module without sched_yield yields through another import the caller
// names, with the arguments given; one whose type does not match is not
// a candidate.
func TestYieldThroughOtherImport(t *testing.T) {
	ctx := context.Background()
	src := `(module
  (import "env" "other" (func $o (param i32 i32) (result i32)))
  (import "env" "noop" (func $n (param i32 i32) (result i32)))
  (func (export "spin") (loop $l (br $l))))`
	if _, err := Instrument(wat2wasm(t, src), Yield{Module: "env", Name: "noop", Args: []uint32{1}}); err != ErrNoYield {
		t.Fatalf("a two-parameter import with one argument: err = %v, want ErrNoYield", err)
	}
	var calls, badArgs atomic.Int64
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	_, err := r.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(uint32, uint32) uint32 { t.Error("other called"); return 0 }).Export("other").
		NewFunctionBuilder().WithFunc(func(a, b uint32) uint32 {
		calls.Add(1)
		if a != 0xFFFFFFFF || b != 7 {
			badArgs.Add(1)
		}
		return 2
	}).Export("noop").Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := instantiate(t, r, src, Yield{Module: "env", Name: "absent"}, Yield{Module: "env", Name: "noop", Args: []uint32{0xFFFFFFFF, 7}})
	stopSpin(t, m, until(func() bool { return calls.Load() >= 3 }))
	if badArgs.Load() != 0 {
		t.Fatalf("%d yield calls with other arguments", badArgs.Load())
	}
}

// FuzzInstrument: Instrument never panics, and a module wazero accepts
// stays one it accepts once instrumented.
func FuzzInstrument(f *testing.F) {
	for _, src := range []string{testModule,
		`(module (import "wasi_snapshot_preview1" "sched_yield" (func (result i32))) (func (loop $l (br_if $l (i32.const 0)))))`,
		`(module (import "env" "noop" (func (param i32 i32) (result i32))) (func (export "f") (block $b (loop $l (br_table $b $l (i32.const 0))))))`,
	} {
		f.Add(wat2wasm(f, src))
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2|experimental.CoreFeaturesTailCall))
	f.Cleanup(func() { r.Close(ctx) })
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Instrument(in, append(SchedYield, Yield{Module: "env", Name: "noop", Args: []uint32{1, 2}})...)
		if err != nil {
			return
		}
		if wasmbin.Check(in) == nil { // the engine refuses the others before compiling
			testwasm.StaysValid(t, r, "instrumentation", in, out)
		}
	})
}
