package migrate

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/pluginbuild"
	"github.com/wasmgate/wasmgate/scaffold"
)

// repoSDK is this repository's SDK module, found from the test's working
// directory; migrated modules are pointed at it.
func repoSDK(t *testing.T) *scaffold.SDK {
	t.Helper()
	s, err := scaffold.LoadSDK(filepath.Join("..", "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// copyDir copies a testdata plugin to a temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
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
	return dst
}

func offline() []string {
	return append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly -buildvcs=false")
}

func goTool() string { return filepath.Join(runtime.GOROOT(), "bin", "go") }

// TinyGo-era plugins (testdata) migrate, build with the SDK offline, and
// start in the host engine with a valid configuration: the registration
// now runs during initialization.
func TestMigrateAndBuild(t *testing.T) {
	sdk := repoSDK(t)
	for _, tc := range []struct {
		dir    string
		config string
		diff   []string // lines the diff must contain
		manual []string // manual notes expected (substrings)
		higres bool     // imports Higress-only functions after migration
	}{
		{
			dir:    "http-call",
			config: `{"lookupPath":"/lookup","idHeader":"x-user","serviceSource":"dns","serviceName":"auth","servicePort":80,"domain":"auth.example.com"}`,
			diff: []string{
				`-	"github.com/alibaba/higress/plugins/wasm-go/pkg/wrapper"`,
				`+	"github.com/wasmgate/wasmgate/sdk/wrapper"`,
				`+	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"`,
				"-func main() {\n+func init() {",
				"+func main() {}",
				"-	return types.ActionPause\n+	return types.HeaderStopAllIterationAndWatermark",
				"-go 1.19\n+go 1.24",
				"-	github.com/tidwall/gjson v1.14.3",
				"+	github.com/tidwall/gjson v1.18.0",
				"-replace github.com/alibaba/higress/plugins/wasm-go => ../..",
				"+github.com/tidwall/gjson v1.18.0 h1:",
			},
		},
		{
			dir:    "redis-limit",
			config: `{"limit":10,"header":"x-left","serviceName":"redis.dns","servicePort":6379}`,
			diff: []string{
				`-	_ "github.com/higress-group/nottinygc"`,
				`-	"github.com/tidwall/resp"`,
				`+	"github.com/wasmgate/wasmgate/sdk/resp"`,
				"-	return types.ActionPause\n+	return types.HeaderStopAllIterationAndWatermark",
				"-	github.com/higress-group/nottinygc v0.0.0-20231101025119-e93c4c2f8520",
			},
			manual: []string{`main.go:25: "//export sched_yield" is TinyGo's export directive`},
			higres: true,
		},
		{
			dir:    "re2-filter",
			config: `^/private`,
			diff: []string{
				`-	"github.com/wasilibs/go-re2"`,
				`+	"regexp"`,
				"-	blocked *re2.Regexp\n+	blocked *regexp.Regexp",
				"-	p.blocked = re2.MustCompile(string(cfg))\n+	p.blocked = regexp.MustCompile(string(cfg))",
				`+	"github.com/wasmgate/wasmgate/sdk/proxywasm"`,
				"-func main() {\n+func init() {",
				"-	return types.ActionPause\n+	return types.HeaderStopAllIterationAndWatermark",
				"-	github.com/tetratelabs/wazero v1.2.1 // indirect",
			},
		},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := copyDir(t, filepath.Join("testdata", tc.dir))
			res, err := Dir(dir, Options{SDK: sdk})
			if err != nil {
				t.Fatal(err)
			}
			diff := res.Diff()
			for _, want := range tc.diff {
				if !strings.Contains(diff, want) {
					t.Errorf("diff lacks %q", want)
				}
			}
			manual := res.Manual()
			for _, want := range tc.manual {
				found := false
				for _, n := range manual {
					found = found || strings.Contains(n.String(), want)
				}
				if !found {
					t.Errorf("no manual note %q in %v", want, manual)
				}
			}
			// Only the expected notes.
			if len(manual) != len(tc.manual) {
				t.Errorf("manual notes: %v", manual)
			}
			if t.Failed() {
				t.Logf("diff:\n%s", diff)
			}
			if err := res.Write(); err != nil {
				t.Fatal(err)
			}

			// A second migration changes no Go file.
			again, err := Dir(dir, Options{SDK: sdk})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range again.Files {
				t.Errorf("second migration changes %s:\n%s", f.Path, unifiedDiff(f.Path, f.Old, f.New))
			}

			res2, err := pluginbuild.Build(context.Background(), pluginbuild.Options{
				Dir: dir, GoTool: goTool(), Env: offline(), Configuration: []byte(tc.config),
			})
			if err != nil {
				t.Fatalf("build after migration: %v", err)
			}
			r := res2.Report
			if r.ABI != "0_2_100" || r.Toolchain.SDK != "wasmgate" || r.Start.Kind != "reactor" || len(res2.Notes) != 0 {
				t.Errorf("ABI %s SDK %s start %v notes %q", r.ABI, r.Toolchain.SDK, r.Start, res2.Notes)
			}
			if (len(r.HigressOnlyImports) > 0) != tc.higres {
				t.Errorf("Higress-only imports %v", r.HigressOnlyImports)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	dir := copyDir(t, filepath.Join("testdata", "unsupported"))
	res, err := Dir(dir, Options{SDK: repoSDK(t)})
	if err != nil {
		t.Fatal(err)
	}
	var manual []string
	for _, n := range res.Manual() {
		manual = append(manual, n.String())
	}
	all := strings.Join(manual, "\n")
	for _, want := range []string{
		"main.go:6: import github.com/higress-group/wasm-go/pkg/mcp/server: the MCP server framework (pkg/mcp) has no counterpart",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no note %q in\n%s", want, all)
		}
	}
	// ActionPause with no callout pending is harmless: no note.
	if strings.Contains(all, "ActionPause") || len(res.Manual()) != 1 {
		t.Errorf("manual notes:\n%s", all)
	}
	diff := res.Diff()
	for _, want := range []string{
		`+	"github.com/wasmgate/wasmgate/sdk/tokenusage"`,
		`+	if v := bodyjson.GetValueFromBody(body, c.paths); v != nil {`,
		`+	"github.com/wasmgate/wasmgate/sdk/bodyjson"`,
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "HeaderStopAllIterationAndWatermark") {
		t.Error("ActionPause without a callout was rewritten")
	}
	// gjson is imported but was not required: it is now, at the SDK's version.
	if !strings.Contains(diff, "+	github.com/tidwall/gjson v1.18.0") && !strings.Contains(diff, "+require github.com/tidwall/gjson v1.18.0") {
		t.Errorf("gjson not required:\n%s", diff)
	}
}

// parseOne migrates a single in-memory file.
func migrateSource(t *testing.T, src string) (string, []Note) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Dir(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if f.Path == "main.go" {
			return string(f.New), res.Notes
		}
	}
	return src, res.Notes
}

func TestRE2Variants(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"alias": {
			"package p\n\nimport rx \"github.com/wasilibs/go-re2\"\n\nvar r = rx.MustCompile(\"a\")\n",
			"package p\n\nimport rx \"regexp\"\n\nvar r = rx.MustCompile(\"a\")\n",
		},
		"regexp already imported": {
			"package p\n\nimport (\n\t\"regexp\"\n\n\t\"github.com/wasilibs/go-re2\"\n)\n\nvar a = regexp.MustCompile(\"a\")\nvar b = re2.MustCompile(\"b\")\n",
			"package p\n\nimport (\n\t\"regexp\"\n)\n\nvar a = regexp.MustCompile(\"a\")\nvar b = regexp.MustCompile(\"b\")\n",
		},
		"name regexp taken": {
			"package p\n\nimport \"github.com/wasilibs/go-re2\"\n\nfunc f(regexp string) bool { return re2.MustCompile(regexp).MatchString(\"x\") }\n",
			"package p\n\nimport re2 \"regexp\"\n\nfunc f(regexp string) bool { return re2.MustCompile(regexp).MatchString(\"x\") }\n",
		},
		"shadowed re2 is left alone": {
			"package p\n\nimport \"github.com/wasilibs/go-re2\"\n\nvar a = re2.MustCompile(\"a\")\n\nfunc f() { re2 := struct{ X int }{}; _ = re2.X }\n",
			"package p\n\nimport \"regexp\"\n\nvar a = regexp.MustCompile(\"a\")\n\nfunc f() { re2 := struct{ X int }{}; _ = re2.X }\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, _ := migrateSource(t, tc.src)
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestMainToInit(t *testing.T) {
	got, notes := migrateSource(t, `package main

import "github.com/higress-group/wasm-go/pkg/wrapper"

// main registers the plugin.
func main() {
	// the plugin
	wrapper.SetCtx[Config]("x")
}

type Config struct{}
`)
	want := `package main

import "github.com/wasmgate/wasmgate/sdk/wrapper"

// main registers the plugin.
func init() {
	// the plugin
	wrapper.SetCtx[Config]("x")
}

func main() {}

type Config struct{}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	found := false
	for _, n := range notes {
		found = found || n.Kind == Changed && strings.Contains(n.Message, "moved the body of main() (the plugin registration) into init()")
	}
	if !found {
		t.Errorf("notes %v", notes)
	}
	// An empty main and a package other than main are left alone.
	for _, src := range []string{"package main\n\nfunc main() {}\n", "package lib\n\nfunc main() { println() }\n"} {
		if got, _ := migrateSource(t, src); got != src {
			t.Errorf("changed:\n%s", got)
		}
	}
}

func TestHeaderPauseNeedsACallout(t *testing.T) {
	src := `package main

import (
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/wrapper"
)

func init() {
	wrapper.SetCtx("x",
		wrapper.ProcessRequestHeadersBy(before),
		wrapper.ProcessResponseHeaders(func(ctx wrapper.HttpContext, c Config) types.Action {
			_ = wrapper.RedisCall(wrapper.FQDNCluster{FQDN: "r"}, nil, nil)
			return types.ActionPause
		}),
		wrapper.ProcessRequestBody(body))
}

type Config struct{ cache wrapper.RedisClient }

func main() {}

// before pauses before calling: not a callout wait.
func before(ctx wrapper.HttpContext, c Config, log wrapper.Log) types.Action {
	if ctx.Path() == "/" {
		return types.ActionPause
	}
	c.cache.Get("k", func(v any) {
		_ = proxywasm.ResumeHttpRequest()
	})
	return types.ActionPause
}

func body(ctx wrapper.HttpContext, c Config, b []byte) types.Action {
	c.cache.Get("k", nil)
	return types.ActionPause
}
`
	got, notes := migrateSource(t, src)
	if n := strings.Count(got, "HeaderStopAllIterationAndWatermark"); n != 2 {
		t.Errorf("%d rewrites:\n%s", n, got)
	}
	if !strings.Contains(got, "if ctx.Path() == \"/\" {\n\t\treturn types.ActionPause") {
		t.Errorf("the pause before the call was rewritten:\n%s", got)
	}
	if !strings.Contains(got, "c.cache.Get(\"k\", nil)\n\treturn types.ActionPause") {
		t.Errorf("the body phase was rewritten:\n%s", got)
	}
	for _, n := range notes {
		if n.Kind == Manual && strings.Contains(n.Message, "ActionPause") {
			t.Errorf("a pause with no callout pending was noted: %v", n)
		}
	}
}

func TestDirErrors(t *testing.T) {
	if _, err := Dir(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("missing directory accepted")
	}
	if _, err := Dir(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "no Go files") {
		t.Errorf("empty directory: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Dir(dir, Options{}); err == nil || !strings.Contains(err.Error(), "main.go") {
		t.Errorf("syntax error: %v", err)
	}
	// No go.mod: a manual note.
	_, notes := migrateSource(t, "package main\n\nfunc main() {}\n")
	if len(notes) != 1 || notes[0].File != "go.mod" || notes[0].Kind != Manual {
		t.Errorf("notes %v", notes)
	}
}

// TestNoFalsePositives: the plugin's own packages under the Higress module
// path, other imports, and files excluded by build constraints are left
// alone; pkg/iface and proxytest map to the SDK, pkg/test stays (the
// compatibility modules serve it) with its module's requirement.
func TestNoFalsePositives(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module github.com/alibaba/higress/plugins/wasm-go/extensions/ai-demo\n\ngo 1.24\n\nrequire (\n\tgithub.com/higress-group/proxy-wasm-go-sdk v0.0.0-20250611100342-5654e89a7a80\n\tgithub.com/higress-group/wasm-go v1.0.2\n)\n")
	write("main.go", `package main

import (
	"github.com/alibaba/higress/plugins/wasm-go/extensions/ai-demo/provider"
	"github.com/higress-group/wasm-go/pkg/iface"
	"github.com/higress-group/wasm-go/pkg/wrapper"
	"golang.org/x/example/hello"
)

func main() {}

func init() { wrapper.SetCtx[struct{}]("ai-demo"); _ = provider.Name; _ = hello.X }

var _ iface.HttpContext
`)
	write("provider/provider.go", "package provider\n\nconst Name = \"p\"\n")
	write("gen.go", "//go:build ignore\n\npackage main\n\nimport \"github.com/higress-group/wasm-go/pkg/wrapper\"\n\nfunc main() { wrapper.SetCtx[struct{}](\"gen\") }\n")
	write("main_test.go", `package main

import (
	"testing"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/higress-group/wasm-go/pkg/test"
)

func TestX(t *testing.T) { test.RunGoTest(t, func(*testing.T) {}); _ = proxytest.NewEmulatorOption }
`)
	res, err := Dir(dir, Options{SDK: repoSDK(t)})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Manual(); len(m) != 0 {
		t.Errorf("manual notes: %v", m)
	}
	for _, f := range res.Files {
		if f.Path == "gen.go" || f.Path == "provider/provider.go" {
			t.Errorf("%s changed:\n%s", f.Path, f.New)
		}
	}
	diff := res.Diff()
	for _, want := range []string{
		`+	iface "github.com/wasmgate/wasmgate/sdk/wrapper"`,
		`+	"github.com/wasmgate/wasmgate/sdk/proxytest"`,
		`	"github.com/higress-group/wasm-go/pkg/test"`,
		`	"github.com/alibaba/higress/plugins/wasm-go/extensions/ai-demo/provider"`,
		`	github.com/higress-group/wasm-go v1.0.2`,
		`+	github.com/tidwall/match v1.1.1 // indirect`,
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "-	github.com/higress-group/wasm-go v1.0.2") {
		t.Errorf("the requirement pkg/test needs was dropped:\n%s", diff)
	}
	kept := false
	for _, n := range res.Kept() {
		kept = kept || strings.Contains(n.String(), "kept import github.com/higress-group/wasm-go/pkg/test")
	}
	if !kept {
		t.Errorf("kept notes: %v", res.Kept())
	}
}
