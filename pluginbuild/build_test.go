package pluginbuild

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func goTool() string { return filepath.Join(runtime.GOROOT(), "bin", "go") }

// sdkDir is this repository's SDK module, which temporary plugin modules
// replace the SDK with.
func sdkDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "go.mod")); err != nil {
		t.Fatalf("SDK module not found: %v", err)
	}
	return d
}

// plugin writes a plugin module using the repository's SDK with the given
// main.go and returns its directory.
func plugin(t *testing.T, mainGo string) string {
	t.Helper()
	dir := t.TempDir()
	mod := "module example.com/plugin\n\ngo 1.24\n\nrequire github.com/wasmgate/wasmgate/sdk v0.0.0-00010101000000-000000000000\n\nreplace github.com/wasmgate/wasmgate/sdk => " + sdkDir(t) + "\n"
	for name, content := range map[string]string{"go.mod": mod, "main.go": mainGo} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// env keeps the tests off the network.
func env() []string { return append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod") }

func build(t *testing.T, o Options) (*Result, error) {
	t.Helper()
	o.GoTool = goTool()
	if o.Env == nil {
		o.Env = env()
	}
	if o.Output == "" {
		o.Output = filepath.Join(t.TempDir(), "out", "plugin.wasm")
	}
	return Build(context.Background(), o)
}

const headerPlugin = `package main

import (
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("hello", wrapper.ProcessRequestHeaders(onHeaders))
}

type Config struct{}

func onHeaders(ctx wrapper.HttpContext, c Config) types.Action {
	_ = proxywasm.AddHttpRequestHeader("hello", "world")
	return types.HeaderContinue
}
`

func TestBuild(t *testing.T) {
	dir := plugin(t, headerPlugin)
	for _, abi := range []string{"", ABIHigress, ABIUpstream} {
		t.Run("abi="+abi, func(t *testing.T) {
			res, err := build(t, Options{Dir: dir, ABI: abi})
			if err != nil {
				t.Fatal(err)
			}
			want := abi
			if want == "" {
				want = ABIHigress
			}
			b, err := os.ReadFile(res.Output)
			if err != nil {
				t.Fatal(err)
			}
			if res.Size != len(b) || res.BuildSize != len(b) || res.Optimized {
				t.Errorf("size %d build size %d file %d", res.Size, res.BuildSize, len(b))
			}
			if res.Report.ABI != want || res.Report.Toolchain.SDK != "wasmgate" || res.Report.Start.Kind != "reactor" {
				t.Errorf("report: ABI %s SDK %s start %+v", res.Report.ABI, res.Report.Toolchain.SDK, res.Report.Start)
			}
			if !strings.HasPrefix(res.GoVersion, "go1.") || len(res.Notes) != 0 {
				t.Errorf("go %s notes %q", res.GoVersion, res.Notes)
			}
			if s := res.Report.Toolchain.GoBuild.Settings; s["-trimpath"] != "true" || s["-buildmode"] != "c-shared" ||
				(abi == ABIUpstream) != (s["-tags"] == UpstreamTag) {
				t.Errorf("build settings %v", s)
			}
		})
	}
}

func TestDefaultOutputIsMainWasmInDir(t *testing.T) {
	dir := plugin(t, headerPlugin)
	res, err := Build(context.Background(), Options{Dir: dir, GoTool: goTool(), Env: env(), SkipLoadCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != filepath.Join(dir, "main.wasm") {
		t.Fatalf("output %s", res.Output)
	}
	if _, err := os.Stat(res.Output); err != nil {
		t.Fatal(err)
	}
}

func TestRegistrationInMain(t *testing.T) {
	dir := plugin(t, `package main

import (
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {
	wrapper.SetCtx("main-registered", wrapper.ProcessRequestHeadersBy(onHeaders))
}

type Config struct{}

func onHeaders(ctx wrapper.HttpContext, c Config, log wrapper.Log) types.Action { return types.ActionContinue }
`)
	_, err := build(t, Options{Dir: dir})
	if !errors.Is(err, ErrNotRegistered) || !strings.Contains(err.Error(), "register the plugin in init(), not main()") {
		t.Fatalf("err = %v", err)
	}
	// The same module without the check builds.
	if _, err := build(t, Options{Dir: dir, SkipLoadCheck: true}); err != nil {
		t.Fatal(err)
	}
}

// A plugin reaching a Higress-only host function itself (not through the
// SDK, which drops them under the upstream tag).
const upstreamHostsPlugin = `package main

import (
	"unsafe"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

//go:wasmimport env proxy_get_upstream_hosts
func getUpstreamHosts(data unsafe.Pointer, size *int32) uint32

func main() {}

func init() { wrapper.SetCtx("hosts", wrapper.ProcessRequestHeaders(onHeaders)) }

type Config struct{}

func onHeaders(ctx wrapper.HttpContext, c Config) types.Action {
	var p *byte
	var n int32
	getUpstreamHosts(unsafe.Pointer(&p), &n)
	return types.HeaderContinue
}
`

func TestHigressOnlyImportForUpstream(t *testing.T) {
	dir := plugin(t, upstreamHostsPlugin)
	_, err := build(t, Options{Dir: dir, ABI: ABIUpstream})
	if err == nil || !strings.Contains(err.Error(), "imports env.proxy_get_upstream_hosts, which only Higress's Envoy provides") {
		t.Fatalf("err = %v", err)
	}
	res, err := build(t, Options{Dir: dir, ABI: ABIHigress})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Report.HigressOnlyImports, ",") != "proxy_get_upstream_hosts" {
		t.Errorf("Higress-only imports %v", res.Report.HigressOnlyImports)
	}
}

func TestOptimize(t *testing.T) {
	dir := plugin(t, headerPlugin)
	res, err := build(t, Options{Dir: dir, Optimize: true, WasmOpt: "wasmgate-no-such-wasm-opt"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Optimized || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "wasm-opt is not installed") {
		t.Errorf("optimized %v notes %q", res.Optimized, res.Notes)
	}
	if _, err := exec.LookPath("wasm-opt"); err != nil {
		t.Fatalf("wasm-opt (Debian package binaryen) is required; scripts/deps.sh installs it: %v", err)
	}
	res, err = build(t, Options{Dir: dir, Optimize: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(res.Output)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Optimized || res.Size != len(b) || res.Size >= res.BuildSize {
		t.Errorf("optimized %v size %d (file %d) build size %d", res.Optimized, res.Size, len(b), res.BuildSize)
	}
	if _, err := os.Stat(res.Output + ".opt"); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	if _, err := build(t, Options{Dir: dir, Optimize: true, OptimizeLevel: "9"}); err == nil {
		t.Error("level 9 accepted")
	}
}

func TestConfigurationRejectedIsANote(t *testing.T) {
	dir := plugin(t, `package main

import (
	"errors"

	"github.com/tidwall/gjson"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("needs-config", wrapper.ParseConfig(parse), wrapper.ProcessRequestHeaders(onHeaders))
}

type Config struct{ name string }

func parse(json gjson.Result, c *Config) error {
	if c.name = json.Get("name").String(); c.name == "" {
		return errors.New("name is required")
	}
	return nil
}

func onHeaders(ctx wrapper.HttpContext, c Config) types.Action { return types.HeaderContinue }
`)
	writeSum(t, dir)
	res, err := build(t, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "rejects an empty configuration") {
		t.Errorf("notes %q", res.Notes)
	}
	res, err = build(t, Options{Dir: dir, Configuration: []byte(`{"name":"x"}`)})
	if err != nil || len(res.Notes) != 0 {
		t.Errorf("with configuration: %v %q", err, res.Notes)
	}
	res, err = build(t, Options{Dir: dir, Configuration: []byte(`{"other":1}`)})
	if err != nil || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "name is required") {
		t.Errorf("with bad configuration: %v %q", err, res.Notes)
	}
}

// writeSum gives a plugin that imports gjson the SDK's go.sum lines.
func writeSum(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sdkDir(t), "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod = append(mod, "\nrequire github.com/tidwall/gjson v1.18.0\n"...)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Run("compile error", func(t *testing.T) {
		dir := plugin(t, "package main\n\nfunc main() { undefinedThing() }\n")
		_, err := build(t, Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "undefined: undefinedThing") || !strings.Contains(err.Error(), "-buildmode=c-shared") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no SDK", func(t *testing.T) {
		dir := plugin(t, "package main\n\nfunc main() {}\n")
		_, err := build(t, Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "no proxy_abi_version_* marker") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad options", func(t *testing.T) {
		if _, err := build(t, Options{Dir: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "plugin directory") {
			t.Errorf("missing dir: %v", err)
		}
		if _, err := build(t, Options{Dir: t.TempDir(), ABI: "0_3_0"}); err == nil || !strings.Contains(err.Error(), `unknown ABI "0_3_0"`) {
			t.Errorf("bad ABI: %v", err)
		}
	})
}

// fakeGo is a go command that reports an old version, as an installed Go
// 1.22 would.
func fakeGo(t *testing.T, version string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "go")
	script := "#!/bin/sh\nif [ \"$1 $2\" = \"env GOVERSION\" ]; then echo " + version + "; exit 0; fi\necho unexpected: \"$@\" >&2\nexit 3\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOldGo(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell script")
	}
	dir := plugin(t, headerPlugin)
	_, err := Build(context.Background(), Options{Dir: dir, GoTool: fakeGo(t, "go1.22.5")})
	if err == nil || !strings.Contains(err.Error(), "go1.22.5 is too old: plugins need Go 1.24 or newer") {
		t.Fatalf("err = %v", err)
	}
	err = Test(context.Background(), TestOptions{Dir: dir, GoTool: fakeGo(t, "go1.23.0")})
	if err == nil || !strings.Contains(err.Error(), "go1.23.0 is too old") {
		t.Fatalf("test err = %v", err)
	}
}

func TestCheckGoVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"go1.24": true, "go1.24.0": true, "go1.25rc1": true, "go1.26.8": true, "devel go1.27-abcdef Tue": true, "go2.0": true,
		"go1.23.9": false, "go1.9": false, "go1.2": false, "": false, "gccgo": false,
	} {
		if err := CheckGoVersion(v); (err == nil) != ok {
			t.Errorf("CheckGoVersion(%q) = %v", v, err)
		}
	}
}

func TestRunTests(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":        "module example.com/t\n\ngo 1.24\n",
		"a.go":          "package a\n\nfunc Add(x, y int) int { return x + y }\n",
		"a_test.go":     "package a\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"add\")\n\t}\n}\n",
		"sub/b.go":      "package sub\n",
		"sub/b_test.go": "package sub\n\nimport \"testing\"\n\nfunc TestFails(t *testing.T) { t.Fatal(\"sub fails on purpose\") }\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	err := Test(context.Background(), TestOptions{Dir: dir, GoTool: goTool(), Env: env(), Stdout: &out, Stderr: &out})
	if err == nil || !strings.Contains(out.String(), "sub fails on purpose") || !strings.Contains(out.String(), "ok  \texample.com/t") {
		t.Fatalf("./...: err %v\n%s", err, out.String())
	}
	out.Reset()
	if err := Test(context.Background(), TestOptions{Dir: dir, GoTool: goTool(), Env: env(), Args: []string{"-run", "TestAdd", "."}, Stdout: &out, Stderr: &out}); err != nil {
		t.Fatalf("one package: %v\n%s", err, out.String())
	}
}

func TestHasPackageArg(t *testing.T) {
	for args, want := range map[string]bool{
		"": false, "-v": false, "-run TestX": false, "-run=TestX ./x": true, "-count 1 -v": false, ".": true, "-v ./...": true,
	} {
		if got := hasPackageArg(strings.Fields(args)); got != want {
			t.Errorf("hasPackageArg(%q) = %v", args, got)
		}
	}
}
