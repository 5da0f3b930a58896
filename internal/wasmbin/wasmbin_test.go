package wasmbin

import (
	"bytes"
	"errors"
	"testing"
)

// A module with one import (env.f), one memory and one export, written by hand.
var tiny = []byte{
	0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00,
	// type section: 1 type, func () -> ()
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
	// import section: env.f func type 0
	0x02, 0x09, 0x01, 0x03, 'e', 'n', 'v', 0x01, 'f', 0x00, 0x00,
	// memory section: 1 memory, min 1
	0x05, 0x03, 0x01, 0x00, 0x01,
	// export section: "memory" memory 0
	0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,
	// custom section "producers" with payload "x"
	0x00, 0x0b, 0x09, 'p', 'r', 'o', 'd', 'u', 'c', 'e', 'r', 's', 'x',
}

func TestParseTiny(t *testing.T) {
	m, err := Parse(tiny)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Imports) != 1 || m.Imports[0] != (Import{Module: "env", Name: "f", Kind: KindFunc}) {
		t.Fatalf("imports = %+v", m.Imports)
	}
	if !m.HasExport("memory") || m.HasExport("f") || !m.HasImport("env", "f") {
		t.Fatalf("exports = %+v", m.Exports)
	}
	if got := string(m.Custom["producers"]); got != "x" {
		t.Fatalf("custom producers = %q", got)
	}
	if len(m.Sections) != 5 || m.Sections[1].Name != "import" || m.Sections[1].Size != 9 {
		t.Fatalf("sections = %+v", m.Sections)
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	if _, err := Parse([]byte("hello, world")); !errors.Is(err, ErrNotWasm) {
		t.Fatalf("err = %v, want ErrNotWasm", err)
	}
	for i := 9; i < len(tiny); i++ {
		if _, err := Parse(tiny[:i]); err == nil {
			// Truncation exactly at a section boundary is a valid shorter module.
			if !boundary(i) {
				t.Errorf("truncated at %d: no error", i)
			}
		}
	}
	bad := bytes.Clone(tiny)
	bad[9] = 0x7f // type section size past the end
	if _, err := Parse(bad); err == nil {
		t.Fatal("oversized section accepted")
	}
}

func boundary(n int) bool {
	for _, b := range []int{8, 14, 25, 30, 42, 55} {
		if n == b {
			return true
		}
	}
	return false
}

func FuzzParse(f *testing.F) {
	f.Add(tiny)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b)
	})
}
