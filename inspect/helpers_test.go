package inspect

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goBuild builds package pkg of the module in dir for wasip1; cshared
// selects -buildmode=c-shared (a reactor) over the default command.
func goBuild(t *testing.T, dir, pkg string, cshared bool, tags ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "m.wasm")
	args := []string{"build", "-o", out}
	if cshared {
		args = append(args, "-buildmode=c-shared")
	}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOPROXY=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFiles writes name → content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wat compiles WebAssembly text with wat2wasm (Debian package wabt);
// names keeps the function names in a name section.
func wat(t *testing.T, src string, names bool) []byte {
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
	args := []string{"-o", out, in}
	if names {
		args = append([]string{"--debug-names"}, args...)
	}
	if msg, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// producers encodes a producers custom section (field → name, version pairs)
// and appends it to a module, as LLVM-based toolchains write it.
func withProducers(b []byte, fields [][3]string) []byte {
	byField := map[string][][2]string{}
	var order []string
	for _, f := range fields {
		if _, ok := byField[f[0]]; !ok {
			order = append(order, f[0])
		}
		byField[f[0]] = append(byField[f[0]], [2]string{f[1], f[2]})
	}
	var p []byte
	p = uleb(p, uint32(len(order)))
	for _, name := range order {
		p = str(p, name)
		p = uleb(p, uint32(len(byField[name])))
		for _, v := range byField[name] {
			p = str(str(p, v[0]), v[1])
		}
	}
	body := append(str(nil, "producers"), p...)
	out := append(bytes.Clone(b), 0)
	out = uleb(out, uint32(len(body)))
	return append(out, body...)
}

func uleb(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func str(b []byte, s string) []byte { return append(uleb(b, uint32(len(s))), s...) }

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func warned(r *Report, sub string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}
