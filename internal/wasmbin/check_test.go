package wasmbin

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// section builds a module holding one section.
func section(id byte, body ...byte) []byte {
	return Join([]RawSection{{ID: id, Body: body}})
}

func TestCheckRejectsImpossibleCounts(t *testing.T) {
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0x07} // 2^31-1
	for name, tc := range map[string]struct {
		wasm []byte
		want string
	}{
		"exports":         {section(SectionExport, huge...), "export section: 2147483647 entries cannot fit"},
		"imports":         {section(SectionImport, huge...), "import section: 2147483647 entries"},
		"types":           {section(SectionType, huge...), "type section: 2147483647 types"},
		"type parameters": {section(SectionType, append([]byte{1, 0x60}, huge...)...), "type 0: 2147483647 parameters"},
		"functions":       {section(SectionCode, huge...), "code section: 2147483647 function bodies"},
		"body size":       {section(SectionCode, 1, 0x7f, 0), "function 0: body of 127 bytes past"},
		"locals":          {section(SectionCode, 1, 8, 2, 0xff, 0xff, 0x03, 0x7f, 0xff, 0xff, 0x03), "function 0: more than 50000 locals"},
		"elements":        {section(SectionElement, append([]byte{1, 1, 0x00}, huge...)...), "segment 0: 2147483647 elements"},
		"data size":       {section(SectionData, 1, 1, 0x7f), "data section"},
		"function names":  {section(SectionCustom, append([]byte{4, 'n', 'a', 'm', 'e', 1, 5}, huge...)...), "name subsection 1: 2147483647 function names"},
		"local names":     {section(SectionCustom, 4, 'n', 'a', 'm', 'e', 2, 8, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x07, 0), "name subsection 2: 2147483647 local names"},
	} {
		err := Check(tc.wasm)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Check = %v, want an error containing %q", name, err, tc.want)
		}
	}
}

func TestCheckAcceptsRealModules(t *testing.T) {
	for _, pkg := range []string{"examples/hello-world", "examples/http-call"} {
		b, err := os.ReadFile(testwasm.Build(t, pkg))
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(b); err != nil {
			t.Errorf("%s: %v", pkg, err)
		}
	}
}

// FuzzCheck: Check never panics, and wazero decodes what Check accepts
// without allocating by impossible counts (a module that makes it allocate
// gigabytes ends the fuzzing process).
func FuzzCheck(f *testing.F) {
	f.Add(tiny)
	f.Add(richer)
	f.Add(section(SectionExport, 0xff, 0xff, 0xff, 0xff, 0x07))
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { r.Close(ctx) })
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b) != nil {
			return
		}
		if cm, err := r.CompileModule(ctx, b); err == nil {
			cm.Close(ctx)
		}
	})
}
