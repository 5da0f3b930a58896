package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHigressDropIn: a plugin written for Higress (Higress import paths, a
// dependency module that itself imports Higress's SDK, main_test.go on
// Higress's pkg/test) builds with wasmgate build and passes its own tests
// with wasmgate test in Go mode and Wasm mode, with no source change; after
// wasmgate compat, plain go test passes too. Offline: everything comes from
// the module cache and the binary.
func TestHigressDropIn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasmgate and plugins")
	}
	authBin = authBuildWasmgate(t)
	cache := filepath.Join(t.TempDir(), "xdg")
	env := []string{"XDG_CACHE_HOME=" + cache}

	work := t.TempDir()
	authCopyTree(t, filepath.Join("testdata", "higress"), work)
	demo := filepath.Join(work, "demo")
	sources := snapshot(t, work)

	out := authMustRun(t, demo, env, "build")
	if !strings.Contains(out, "ABI      0_2_100") || !strings.Contains(out, "env.proxy_http_call") {
		t.Errorf("build:\n%s", out)
	}
	out = authMustRun(t, demo, env, "test", ".", "--", "-count=1", "-v")
	checkBothModes(t, out, "TestParseConfig", "TestDenyAndHeaders", "TestAuthCallout", "TestDomainRulesAsHigress", "TestRedis", "TestTokenUsage")
	// wasmgate build and test left the sources alone (main.wasm aside).
	if got := snapshot(t, work); !sameSnapshot(sources, got, "demo/main.wasm") {
		t.Errorf("build or test changed the plugin's files")
	}

	// A failing expectation fails in both modes.
	broken := filepath.Join(t.TempDir(), "broken")
	authCopyTree(t, filepath.Join("testdata", "higress"), broken)
	replaceInFile(t, filepath.Join(broken, "demo", "main_test.go"), `"x-greeting", "hello"`, `"x-greeting", "bye"`)
	out, _, err := authRun(t, filepath.Join(broken, "demo"), env, "test", ".", "--", "-count=1", "-run", "TestDenyAndHeaders", "-v")
	if err == nil || !strings.Contains(out, "--- FAIL: TestDenyAndHeaders/go") || !strings.Contains(out, "--- FAIL: TestDenyAndHeaders/wasm") {
		t.Errorf("a failing test passed: %v\n%s", err, out)
	}

	// A package the compatibility modules do not have is an error naming it.
	replaceInFile(t, filepath.Join(broken, "demo", "main.go"), `"github.com/higress-group/wasm-go/pkg/log"`,
		"\"github.com/higress-group/wasm-go/pkg/log\"\n\t_ \"github.com/higress-group/wasm-go/pkg/mcp\"")
	if _, errOut, err := authRun(t, filepath.Join(broken, "demo"), env, "build"); err == nil || !strings.Contains(errOut, "github.com/higress-group/wasm-go/pkg/mcp") {
		t.Errorf("build with a missing package: %v\n%s", err, errOut)
	}

	// wasmgate compat writes go.mod; then the plain go commands work,
	// with the go.mod as written (-mod=readonly).
	out = authMustRun(t, demo, env, "compat", ".")
	if !strings.Contains(out, "replaced github.com/higress-group/wasm-go") || !strings.Contains(out, "the go commands accept it as written") {
		t.Errorf("compat:\n%s", out)
	}
	gomod, _ := os.ReadFile(filepath.Join(demo, "go.mod"))
	if !strings.Contains(string(gomod), "github.com/higress-group/wasm-go => "+filepath.Join(cache, "wasmgate", "compat")) {
		t.Errorf("go.mod after compat:\n%s", gomod)
	}
	cmd := exec.Command(authGoTool(), "test", "-count=1", "-v", "./...")
	cmd.Dir = demo
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly -buildvcs=false", "XDG_CACHE_HOME="+cache,
		"PATH="+filepath.Dir(authGoTool())+string(os.PathListSeparator)+os.Getenv("PATH"))
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test after compat: %v\n%s", err, b)
	}
	checkBothModes(t, string(b), "TestAuthCallout", "TestRedis")
}

// checkBothModes checks that each test passed as subtests go and wasm, and
// that nothing failed or was skipped.
func checkBothModes(t *testing.T, out string, tests ...string) {
	t.Helper()
	for _, name := range tests {
		for _, mode := range []string{"go", "wasm"} {
			if !regexp.MustCompile(`--- PASS: ` + name + `/` + mode + ` `).MatchString(out) {
				t.Errorf("%s/%s did not pass:\n%s", name, mode, out)
			}
		}
	}
	if strings.Contains(out, "--- FAIL") || strings.Contains(out, "--- SKIP") {
		t.Errorf("failed or skipped tests:\n%s", out)
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameSnapshot(a, b map[string]string, ignore string) bool {
	delete(a, ignore)
	delete(b, ignore)
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSeedPluginsAsWritten: plugins written the way the seed documents
// write them, Higress import paths included (Go 1.24 wasm-go and the
// TinyGo-era alibaba/higress wrapper with registration in main()), build
// with wasmgate build as they are, and again after wasmgate migrate --write.
func TestSeedPluginsAsWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasmgate and plugins")
	}
	authBin = authBuildWasmgate(t)
	env := []string{"XDG_CACHE_HOME=" + filepath.Join(t.TempDir(), "xdg")}
	seeds, err := filepath.Glob(filepath.Join("testdata", "seeds", "*"))
	if err != nil || len(seeds) != 4 {
		t.Fatalf("seeds: %v %v", seeds, err)
	}
	for _, seed := range seeds {
		name := filepath.Base(seed)
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			asIs := filepath.Join(work, "as-is")
			authCopyTree(t, seed, asIs)
			src, _ := os.ReadFile(filepath.Join(asIs, "main.go"))
			out := authMustRun(t, asIs, env, "build")
			if !strings.Contains(out, "ABI      0_2_100") {
				t.Errorf("build as written:\n%s", out)
			}
			tinyGoEra := strings.Contains(string(src), "func main() {\n\twrapper.SetCtx")
			if moved := strings.Contains(out, "registers the plugin in main()"); moved != tinyGoEra {
				t.Errorf("main() registration note %v, want %v:\n%s", moved, tinyGoEra, out)
			}
			if after, _ := os.ReadFile(filepath.Join(asIs, "main.go")); string(after) != string(src) {
				t.Error("build changed main.go")
			}

			migrated := filepath.Join(work, "migrated")
			authCopyTree(t, seed, migrated)
			_, errOut, err := authRun(t, work, env, "migrate", "--write", "migrated")
			if err != nil || strings.Contains(errOut, "left to do by hand") {
				t.Fatalf("migrate --write: %v\n%s", err, errOut)
			}
			b, _ := os.ReadFile(filepath.Join(migrated, "main.go"))
			if strings.Contains(string(b), `"github.com/higress-group/`) || strings.Contains(string(b), `"github.com/alibaba/higress/`) || !strings.Contains(string(b), "github.com/wasmgate/wasmgate/sdk/wrapper") {
				t.Errorf("migrated main.go:\n%s", b)
			}
			out = authMustRun(t, migrated, env, "build")
			if !strings.Contains(out, "ABI      0_2_100") || strings.Contains(out, "registers the plugin in main()") {
				t.Errorf("build after migrate:\n%s", out)
			}
		})
	}
}
