package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// authBuildWasmgate builds this command into a temporary directory.
func authBuildWasmgate(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wasmgate")
	if out, err := exec.Command(authGoTool(), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build wasmgate: %v\n%s", err, out)
	}
	return bin
}

func authGoTool() string { return filepath.Join(runtime.GOROOT(), "bin", "go") }

// authBin is the binary under test (set by TestAuthoringLoop).
var authBin string

// authRun runs wasmgate in dir, offline: no module proxy, so the plugin's
// dependencies can only come from the module cache and the binary.
func authRun(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(authBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod -buildvcs=false", "PATH="+filepath.Dir(authGoTool())+string(os.PathListSeparator)+os.Getenv("PATH")), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func authMustRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, errOut, err := authRun(t, dir, env, args...)
	if err != nil {
		t.Fatalf("wasmgate %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// TestAuthoringLoop: init → build → inspect → test, then migrate a
// TinyGo-era plugin → build, each with the wasmgate binary in temporary
// directories.
func TestAuthoringLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasmgate and plugins")
	}
	authBin = authBuildWasmgate(t)
	work := t.TempDir()
	cache := filepath.Join(t.TempDir(), "xdg")
	env := []string{"XDG_CACHE_HOME=" + cache}

	out := authMustRun(t, work, env, "init", "hello-plugin")
	if !strings.Contains(out, "created hello-plugin (template basic)") || !strings.Contains(out, filepath.Join(cache, "wasmgate", "sdk")) {
		t.Fatalf("init: %s", out)
	}
	dir := filepath.Join(work, "hello-plugin")
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(gomod), "replace github.com/wasmgate/wasmgate/sdk => "+filepath.Join(cache, "wasmgate", "sdk")) {
		t.Fatalf("go.mod: %v\n%s", err, gomod)
	}
	if _, errOut, err := authRun(t, work, env, "init", "hello-plugin"); err == nil || !strings.Contains(errOut, "exists and is not empty") {
		t.Errorf("second init: %v %s", err, errOut)
	}

	out = authMustRun(t, dir, env, "build")
	for _, want := range []string{"built " + filepath.Join(dir, "main.wasm"), "ABI      0_2_100", "env.proxy_add_header_map_value"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}

	js := authMustRun(t, dir, env, "inspect", "--json", "main.wasm")
	var rep struct {
		ABI       string `json:"abi"`
		Toolchain struct {
			Compiler, SDK string
		} `json:"toolchain"`
		Start struct{ Kind string } `json:"start"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, js)
	}
	if rep.ABI != "0_2_100" || rep.Toolchain.Compiler != "go" || rep.Toolchain.SDK != "wasmgate" || rep.Start.Kind != "reactor" {
		t.Errorf("inspect: %+v", rep)
	}
	if text := authMustRun(t, dir, env, "inspect", "main.wasm"); !strings.Contains(text, "built by              Go (gc)") {
		t.Errorf("inspect text:\n%s", text)
	}

	// wasmgate test runs the template's own tests (plugintest, offline:
	// the harness comes from the binary) ...
	if out := authMustRun(t, dir, env, "test", ".", "--", "-v"); !strings.Contains(out, "--- PASS: ") || strings.Contains(out, "--- FAIL") {
		t.Errorf("template tests:\n%s", out)
	}
	// ... and fails when a test fails.
	configTest := "package main\n\nimport (\n\t\"testing\"\n\n\t\"github.com/tidwall/gjson\"\n)\n\n" +
		"func TestParseConfig(t *testing.T) {\n\tvar c Config\n\tif err := parseConfig(gjson.Parse(`{\"mockEnable\":true}`), &c); err != nil || !c.MockEnable {\n\t\tt.Fatalf(\"%v %+v\", err, c)\n\t}\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "config_test.go"), []byte(configTest), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := authMustRun(t, dir, env, "test", ".", "--", "-v"); !strings.Contains(out, "--- PASS: TestParseConfig") {
		t.Errorf("test output:\n%s", out)
	}
	failing := strings.Replace(configTest, "!c.MockEnable", "c.MockEnable", 1)
	if err := os.WriteFile(filepath.Join(dir, "config_test.go"), []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, err := authRun(t, dir, env, "test"); err == nil || !strings.Contains(out, "--- FAIL: TestParseConfig") {
		t.Errorf("failing test: %v\n%s", err, out)
	}

	// Registration in main() is caught when the module is loaded.
	main := `package main

import (
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() { wrapper.SetCtx("late", wrapper.ProcessRequestHeaders(on)) }

type Config struct{}

func on(ctx wrapper.HttpContext, c Config) types.Action { return types.HeaderContinue }
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "config_test.go")); err != nil {
		t.Fatal(err)
	}
	// wasmgate build moves it to init() for the build (the source stays).
	if out, errOut, err := authRun(t, dir, env, "build"); err != nil || !strings.Contains(out, "main.go registers the plugin in main()") {
		t.Errorf("build of a main() registration: %v\n%s%s", err, out, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "main.go")); string(b) != main {
		t.Errorf("build changed main.go")
	}

	// A TinyGo-era plugin: migrate prints a diff and changes nothing, then
	// --write migrates it against the SDK copy from the binary; it builds.
	old := filepath.Join(work, "http-call")
	authCopyTree(t, filepath.Join("..", "..", "migrate", "testdata", "http-call"), old)
	before, _ := os.ReadFile(filepath.Join(old, "main.go"))
	diff, notes, err := authRun(t, work, env, "migrate", "http-call")
	if err != nil || !strings.Contains(diff, "+	return types.HeaderStopAllIterationAndWatermark") || !strings.Contains(notes, "go mod tidy") {
		t.Fatalf("migrate: %v\n%s\n%s", err, diff, notes)
	}
	if after, _ := os.ReadFile(filepath.Join(old, "main.go")); !bytes.Equal(before, after) {
		t.Fatal("migrate without --write changed main.go")
	}
	out = authMustRun(t, work, env, "migrate", "--write", "http-call")
	if !strings.Contains(out, "wrote main.go") || !strings.Contains(out, "wrote go.mod") {
		t.Errorf("migrate --write: %s", out)
	}
	cfg := `{"lookupPath":"/lookup","idHeader":"x-user","serviceSource":"dns","serviceName":"auth","servicePort":80,"domain":"auth.example.com"}`
	out = authMustRun(t, old, env, "build", "--config", cfg, "--abi", "0_2_1")
	if !strings.Contains(out, "ABI      0_2_1") || strings.Contains(out, "note:") {
		t.Errorf("build of the migrated plugin:\n%s", out)
	}
}

func authCopyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
