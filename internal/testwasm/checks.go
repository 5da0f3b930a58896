package testwasm

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// StaysValid fails t when r compiles the module in but not out, its
// rewrite (what says which rewrite). Callers leave out modules the engine
// refuses before compiling (wasmbin.Check): wazero may allocate by their
// counts.
func StaysValid(t testing.TB, r wazero.Runtime, what string, in, out []byte) {
	t.Helper()
	ctx := context.Background()
	cm, err := r.CompileModule(ctx, in)
	if err != nil {
		return
	}
	cm.Close(ctx)
	cm, err = r.CompileModule(ctx, out)
	if err != nil {
		t.Fatalf("valid module invalid after %s: %v", what, err)
	}
	cm.Close(ctx)
}

// CollectsGarbage fails t unless 20 garbage collections complete within 30
// seconds: a goroutine running wasm code that never reaches Go code would
// hold them up.
func CollectsGarbage(t testing.TB, while string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 20; i++ {
			runtime.GC()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("garbage collections did not complete while %s", while)
	}
}
