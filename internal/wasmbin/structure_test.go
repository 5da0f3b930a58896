package wasmbin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// wat compiles WebAssembly text with wat2wasm (Debian package wabt).
func wat(t *testing.T, src string) []byte {
	t.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm (Debian package wabt) is required; scripts/deps.sh installs it: %v", err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(tool, "--debug-names", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// appendCustom appends a custom section to a module.
func appendCustom(b []byte, name string, payload []byte) []byte {
	var body []byte
	body = appendU32(body, uint32(len(name)))
	body = append(body, name...)
	body = append(body, payload...)
	out := append(bytes.Clone(b), SectionCustom)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...)
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

const structureWAT = `(module $demo
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "base" (global $g i32))
  (memory (export "memory") 1)
  (func $init)
  (func $alloc (param i32) (result i32) (i32.const 0))
  (start $init)
  (export "proxy_on_memory_allocate" (func $alloc))
  (data (i32.const 16) "abc")
  (data (i32.const 35) "def")
  (data (i32.const 4096) "far")
  (data "passive")
  (data (global.get $g) "unknown")
  (data (i32.const -1) "x"))`

func TestParseStructure(t *testing.T) {
	m, err := Parse(wat(t, structureWAT))
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasStart || m.Start != 1 {
		t.Errorf("start = %d (%v), want function 1", m.Start, m.HasStart)
	}
	if m.ImportedFuncs() != 1 {
		t.Errorf("imported funcs = %d", m.ImportedFuncs())
	}
	e, ok := m.Export("proxy_on_memory_allocate")
	if !ok || e.Index != 2 || e.Kind != KindFunc {
		t.Errorf("export = %+v %v", e, ok)
	}
	if m.ModuleName != "demo" || m.FuncNames[0] != "log" || m.FuncNames[1] != "init" || m.FuncNames[2] != "alloc" {
		t.Errorf("names = %q %v", m.ModuleName, m.FuncNames)
	}
	if len(m.Data) != 6 {
		t.Fatalf("data = %+v", m.Data)
	}
	if d := m.Data[0]; d.Passive || !d.OffsetKnown || d.Offset != 16 || string(d.Bytes) != "abc" {
		t.Errorf("segment 0 = %+v", d)
	}
	if d := m.Data[3]; !d.Passive || string(d.Bytes) != "passive" {
		t.Errorf("segment 3 = %+v", d)
	}
	if d := m.Data[4]; d.OffsetKnown {
		t.Errorf("global.get offset reported as known: %+v", d)
	}
	if d := m.Data[5]; d.Offset != 0xffffffff {
		t.Errorf("i32.const -1 offset = %#x", d.Offset)
	}

	mem := m.InitialMemory(16)
	if len(mem) != 3 {
		t.Fatalf("runs = %+v", mem)
	}
	want := "abc" + string(make([]byte, 16)) + "def"
	if mem[0].Addr != 16 || string(mem[0].Bytes) != want {
		t.Errorf("run 0 = %d %q", mem[0].Addr, mem[0].Bytes)
	}
	if mem[1].Addr != 4096 || string(mem[1].Bytes) != "far" {
		t.Errorf("run 1 = %+v", mem[1])
	}
	if got := m.InitialMemory(15); len(got) != 4 {
		t.Errorf("gap 15 joined the 16-byte gap: %d runs", len(got))
	}
}

func TestProducers(t *testing.T) {
	b := wat(t, `(module)`)
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := m.Producers(); p != nil || err != nil {
		t.Fatalf("no section: %v %v", p, err)
	}
	var p []byte
	p = appendU32(p, 2)
	p = appendName(p, "language")
	p = appendU32(p, 1)
	p = appendName(appendName(p, "Rust"), "")
	p = appendName(p, "processed-by")
	p = appendU32(p, 2)
	p = appendName(appendName(p, "rustc"), "1.80.0")
	p = appendName(appendName(p, "walrus"), "0.20")
	m, err = Parse(appendCustom(b, "producers", p))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Producers()
	if err != nil {
		t.Fatal(err)
	}
	if len(got["language"]) != 1 || got["language"][0].Name != "Rust" ||
		len(got["processed-by"]) != 2 || got["processed-by"][0] != (Producer{"rustc", "1.80.0"}) {
		t.Fatalf("producers = %+v", got)
	}
	m, err = Parse(appendCustom(b, "producers", p[:len(p)-3]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Producers(); err == nil {
		t.Fatal("truncated producers section accepted")
	}
}

func TestParseRejectsBadData(t *testing.T) {
	b := wat(t, `(module (memory 1) (data (i32.const 8) "abcdef"))`)
	if _, err := Parse(b); err != nil {
		t.Fatal(err)
	}
	// Corrupt the offset expression's opcode (i32.const → unreachable).
	i := bytes.Index(b, []byte{0x41, 0x08, 0x0b})
	if i < 0 {
		t.Fatal("offset expression not found")
	}
	bad := bytes.Clone(b)
	bad[i] = 0x00
	if _, err := Parse(bad); err == nil {
		t.Fatal("bad constant expression accepted")
	}
}

// richer is a hand-written module with a start section, a data section and
// a name section, for fuzzing the readers of those.
var richer = []byte{
	0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00,
	// memory section: 1 memory, min 1
	0x05, 0x03, 0x01, 0x00, 0x01,
	// start section: function 0
	0x08, 0x01, 0x00,
	// data section: an active segment at 16 ("abc"), a passive one ("x")
	0x0b, 0x0c, 0x02, 0x00, 0x41, 0x10, 0x0b, 0x03, 'a', 'b', 'c', 0x01, 0x01, 'x',
	// name section: function 0 is "f"
	0x00, 0x0b, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x04, 0x01, 0x00, 0x01, 'f',
}

func TestParseRicher(t *testing.T) {
	m, err := Parse(richer)
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasStart || m.Start != 0 || m.FuncNames[0] != "f" || len(m.Data) != 2 || string(m.Data[0].Bytes) != "abc" || !m.Data[1].Passive {
		t.Fatalf("module = %+v", m)
	}
	if mem := m.InitialMemory(0); len(mem) != 1 || mem[0].Addr != 16 {
		t.Fatalf("memory = %+v", mem)
	}
}

func FuzzParseRicher(f *testing.F) {
	f.Add(richer)
	f.Add(tiny)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		_ = m.InitialMemory(64)
		_, _ = m.Producers()
	})
}
