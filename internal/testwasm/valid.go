package testwasm

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

// StaysValid fails t when r compiles the module in but not out, its
// rewrite (what says which rewrite). Modules the engine refuses before
// compiling (wasmbin.Check) are not compiled.
func StaysValid(t testing.TB, r wazero.Runtime, what string, in, out []byte) {
	t.Helper()
	if wasmbin.Check(in) != nil {
		return
	}
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
