package datamerge

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wasmgate/wasmgate/internal/testwasm"
	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

func wat2wasm(t testing.TB, src string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("wat2wasm", "--enable-all", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm (Debian wabt): %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// initialMemory instantiates wasm without running start functions and
// returns its linear memory.
func initialMemory(t *testing.T, wasm []byte) []byte {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	cm, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range cm.ImportedFunctions() {
		mod, name, _ := imp.Import()
		t.Fatalf("test module imports %s.%s", mod, name)
	}
	m, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Memory().Read(0, m.Memory().Size())
	return bytes.Clone(b)
}

func segments(t *testing.T, wasm []byte) int {
	t.Helper()
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return len(m.Data)
}

func TestMergeKeepsInitialMemory(t *testing.T) {
	src := `(module (memory 2)
  (data (i32.const 0) "a")
  (data (i32.const 3) "bc")
  (data (i32.const 4100) "d")
  (data (i32.const 70000) "far away")
  (data (i32.const 70008) "adjacent"))`
	in := wat2wasm(t, src)
	out, saved := Merge(in)
	if saved != 3 || segments(t, out) != 2 {
		t.Fatalf("saved %d, %d segments left; want 3 and 2", saved, segments(t, out))
	}
	if !bytes.Equal(initialMemory(t, in), initialMemory(t, out)) {
		t.Fatal("initial memory differs")
	}
}

func TestMergeLeavesWhatItCannotRewrite(t *testing.T) {
	for name, src := range map[string]string{
		"passive":         `(module (memory 1) (data (i32.const 0) "a") (data "b") (data (i32.const 2) "c") (func (memory.init 1 (i32.const 0) (i32.const 0) (i32.const 1))))`,
		"global":          `(module (import "env" "g" (global $g i32)) (memory 1) (data (i32.const 0) "a") (data (global.get $g) "b"))`,
		"overlapping":     `(module (memory 1) (data (i32.const 4) "ab") (data (i32.const 5) "c"))`,
		"imported memory": `(module (import "env" "memory" (memory 1)) (data (i32.const 0) "a") (data (i32.const 2) "b"))`,
		"data.drop":       `(module (memory 1) (data (i32.const 0) "a") (data (i32.const 2) "b") (func (data.drop 1)))`,
		"one segment":     `(module (memory 1) (data (i32.const 0) "a"))`,
		"no data":         `(module (memory 1))`,
	} {
		in := wat2wasm(t, src)
		if out, saved := Merge(in); saved != 0 || !bytes.Equal(out, in) {
			t.Errorf("%s: rewritten (saved %d)", name, saved)
		}
	}
	if out, saved := Merge([]byte("not wasm")); saved != 0 || string(out) != "not wasm" {
		t.Error("garbage rewritten")
	}
}

// A Go module (tens of thousands of segments) merges into a few, with the
// same initial memory.
func TestMergeGoModule(t *testing.T) {
	in, err := os.ReadFile(testwasm.Build(t, "examples/hello-world"))
	if err != nil {
		t.Fatal(err)
	}
	out, saved := Merge(in)
	before, after := segments(t, in), segments(t, out)
	t.Logf("%d segments → %d, %d → %d bytes", before, after, len(in), len(out))
	if before < 1000 || after > before/100 || saved != before-after {
		t.Fatalf("%d segments → %d (saved %d)", before, after, saved)
	}
	// The zeros between Go's segments (runs of 17 to 32 bytes) are written
	// out: about a fifth more bytes, held once per module.
	if len(out) > len(in)+len(in)/4 {
		t.Fatalf("module grew from %d to %d bytes", len(in), len(out))
	}
	if !bytes.Equal(image(t, in), image(t, out)) {
		t.Fatal("initial memory differs")
	}
}

// image applies the module's data segments to zeroed memory, as
// instantiation does, up to 16 MiB.
func image(t *testing.T, wasm []byte) []byte {
	t.Helper()
	const limit = 16 << 20
	secs, err := wasmbin.Split(wasm)
	if err != nil {
		t.Fatal(err)
	}
	var mem []byte
	for _, sec := range secs {
		if sec.ID != wasmbin.SectionData {
			continue
		}
		segs, err := wasmbin.ReadData(sec.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range segs {
			b := s.Bytes
			if s.Offset >= limit {
				continue
			}
			if s.Offset+uint64(len(b)) > limit {
				b = b[:limit-s.Offset]
			}
			if e := int(s.Offset) + len(b); e > len(mem) {
				mem = append(mem, make([]byte, e-len(mem))...)
			}
			copy(mem[s.Offset:], b)
		}
	}
	return mem
}

// Segments out of order (Go's linker emits some) are sorted; the memory
// they make is the same.
func TestMergeSortsSegments(t *testing.T) {
	in := wat2wasm(t, `(module (memory 1) (data (i32.const 8) "a") (data (i32.const 0) "b") (data (i32.const 4) "c"))`)
	out, saved := Merge(in)
	if saved != 2 || !bytes.Equal(initialMemory(t, in), initialMemory(t, out)) {
		t.Fatalf("saved %d; initial memory equal: %v", saved, bytes.Equal(initialMemory(t, in), initialMemory(t, out)))
	}
}

// FuzzMerge: any input is either returned as it is or rewritten into a
// module whose data segments make the same memory.
func FuzzMerge(f *testing.F) {
	f.Add(wat2wasm(f, `(module (memory 1) (data (i32.const 0) "a") (data (i32.const 3) "bc") (data (i32.const 9000) "d"))`))
	f.Add(wat2wasm(f, `(module (memory 1) (data (i32.const 8) "a") (data (i32.const 0) "b"))`))
	f.Add(wat2wasm(f, `(module (memory 1) (data (i32.const 0) "a") (data (i32.const 2) "b") (func (data.drop 1)))`))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { r.Close(ctx) })
	f.Fuzz(func(t *testing.T, in []byte) {
		out, saved := Merge(in)
		if saved == 0 {
			if !bytes.Equal(out, in) {
				t.Fatal("changed without merging")
			}
			return
		}
		if !bytes.Equal(image(t, in), image(t, out)) {
			t.Fatal("initial memory differs")
		}
		if wasmbin.Check(in) == nil { // the engine refuses the others before compiling
			testwasm.StaysValid(t, r, "merging", in, out)
		}
	})
}
