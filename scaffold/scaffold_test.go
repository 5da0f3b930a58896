package scaffold

import (
	"bytes"
	"context"
	"encoding/json"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/wasmgate/wasmgate/pluginbuild"
	"github.com/wasmgate/wasmgate/pluginspec"
)

func TestInstallSDK(t *testing.T) {
	cache := t.TempDir()
	s, err := InstallSDK(cache)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(s.Dir) != cache || len(filepath.Base(s.Dir)) != 16 {
		t.Errorf("dir = %s", s.Dir)
	}
	if s.Requires["github.com/tidwall/gjson"] == "" || len(s.Sums["github.com/tidwall/gjson"]) != 2 {
		t.Errorf("requires %v sums %v", s.Requires, s.Sums)
	}
	// The copy is the repository's SDK module without tests and testdata.
	repo, err := filepath.Abs("../sdk")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	err = filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return fs.SkipDir
		}
		// go:embed leaves out names starting with . or _, as the go
		// command ignores them.
		if p != repo && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && !strings.HasSuffix(p, "_test.go") {
			rel, _ := filepath.Rel(repo, p)
			want[rel] = true
			got, err := os.ReadFile(filepath.Join(s.Dir, rel))
			if err != nil {
				t.Errorf("missing from the copy: %s", rel)
				return nil
			}
			orig, _ := os.ReadFile(p)
			if !bytes.Equal(got, orig) {
				t.Errorf("differs from the repository: %s", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
			rel, _ := filepath.Rel(s.Dir, p)
			if !want[rel] {
				t.Errorf("extra file in the copy: %s", rel)
			}
			if st, _ := d.Info(); st.Mode().Perm()&0o222 != 0 {
				t.Errorf("%s is writable", rel)
			}
		}
		return nil
	})
	if n == 0 || n != len(want) {
		t.Errorf("copy has %d files, repository %d", n, len(want))
	}

	// A second install reuses the copy; a damaged copy is replaced.
	again, err := InstallSDK(cache)
	if err != nil || again.Dir != s.Dir {
		t.Fatalf("second install: %v %v", again, err)
	}
	victim := filepath.Join(s.Dir, "wrapper", "plugin.go")
	if err := os.Chmod(victim, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte("package wrapper\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "extra.go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallSDK(cache); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) == "package wrapper\n" {
		t.Error("damaged file not repaired")
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "extra.go")); !os.IsNotExist(err) {
		t.Error("extra file not removed")
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 1 {
		t.Errorf("cache holds %d entries (temporary directories left?)", len(entries))
	}
}

func TestLoadSDKRejectsOtherModules(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSDK(dir); err == nil || !strings.Contains(err.Error(), "is not the module "+SDKModule) {
		t.Fatalf("err = %v", err)
	}
	if _, err := LoadSDK(t.TempDir()); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Fatalf("err = %v", err)
	}
}

// offline is the environment of the scaffold builds: no proxy, so only the
// module cache can provide gjson, and -mod=mod so that an incomplete go.mod
// or go.sum would be changed (and the test catches it) rather than refused.
func offline() []string {
	return append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod -buildvcs=false")
}

func goTool() string { return filepath.Join(runtime.GOROOT(), "bin", "go") }

func TestTemplatesBuildOffline(t *testing.T) {
	sdk, err := InstallSDK(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tmpl := range Templates() {
		t.Run(tmpl, func(t *testing.T) {
			name := "my-" + tmpl
			dir := filepath.Join(t.TempDir(), name)
			files, err := Create(Options{Name: name, Dir: dir, Template: tmpl, ModulePath: "example.com/" + name, SDK: sdk})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(files, " ") != ".gitignore README.md go.mod go.sum main.go main_test.go wasmplugin.yaml" {
				t.Errorf("files = %v", files)
			}
			read := func(f string) []byte {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			for _, f := range []string{"main.go", "main_test.go"} {
				src := read(f)
				if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
					t.Errorf("%s is not gofmt-clean: %v", f, err)
				}
			}
			main := string(read("main.go"))
			if !strings.Contains(main, "func main() {}") || !strings.Contains(main, "func init() {\n\twrapper.SetCtx(\""+name+"\",") {
				t.Errorf("main.go does not register %s in init", name)
			}
			if !strings.Contains(string(read("main_test.go")), `"github.com/wasmgate/wasmgate/plugintest"`) {
				t.Error("main_test.go does not use plugintest")
			}
			gomod, gosum := read("go.mod"), read("go.sum")
			if !strings.Contains(string(gomod), "replace github.com/wasmgate/wasmgate/sdk => "+sdk.Dir) || !strings.Contains(string(gomod), "\ngo 1.24\n") {
				t.Errorf("go.mod:\n%s", gomod)
			}

			// go vet on main.go (main_test.go needs plugintest).
			vet := exec.Command(goTool(), "vet", "main.go")
			vet.Dir, vet.Env = dir, offline()
			if out, err := vet.CombinedOutput(); err != nil {
				t.Fatalf("go vet main.go: %v\n%s", err, out)
			}

			// The example configuration of wasmplugin.yaml is one the
			// plugin accepts: the load check reports nothing.
			var wp struct {
				Spec struct {
					DefaultConfig json.RawMessage `json:"defaultConfig"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(read("wasmplugin.yaml"), &wp); err != nil || len(wp.Spec.DefaultConfig) == 0 {
				t.Fatalf("wasmplugin.yaml: %v", err)
			}
			res, err := pluginbuild.Build(context.Background(), pluginbuild.Options{
				Dir: dir, GoTool: goTool(), Env: offline(), Configuration: wp.Spec.DefaultConfig,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Report.Toolchain.SDK != "wasmgate" || res.Report.ABI != "0_2_100" || len(res.Notes) != 0 {
				t.Errorf("sdk %s ABI %s notes %q", res.Report.Toolchain.SDK, res.Report.ABI, res.Notes)
			}
			if tmpl == "redis" && len(res.Report.HigressOnlyImports) == 0 {
				t.Error("redis template imports no Redis host function")
			}
			// Nothing had to be added to go.mod or go.sum.
			if !bytes.Equal(read("go.mod"), gomod) || !bytes.Equal(read("go.sum"), gosum) {
				t.Errorf("the build changed go.mod or go.sum:\n%s\n%s", read("go.mod"), read("go.sum"))
			}

			// wasmgate spec can read the config's annotations.
			s, warnings, err := pluginspec.FromSource(dir, pluginspec.GenOptions{})
			if err != nil || len(warnings) != 0 || s.Info.Name != name {
				t.Errorf("spec: %v %q %+v", err, warnings, s)
			}
		})
	}
}

func TestCreateRejects(t *testing.T) {
	sdk := &SDK{Dir: t.TempDir(), Requires: map[string]string{}}
	busy := t.TempDir()
	if err := os.WriteFile(filepath.Join(busy, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Name: "bad name", SDK: sdk}, `plugin name "bad name"`},
		{Options{Name: "-x", SDK: sdk}, `plugin name "-x"`},
		{Options{Name: "ok", Template: "grpc", SDK: sdk}, `unknown template "grpc"`},
		{Options{Name: "ok", ModulePath: "bad path//x", SDK: sdk}, "module path"},
		{Options{Name: "ok", Dir: busy, SDK: sdk}, "exists and is not empty"},
		{Options{Name: "ok", Dir: filepath.Join(t.TempDir(), "new")}, "no SDK"},
		{Options{Name: "ok", Dir: filepath.Join(t.TempDir(), "new"), SDK: sdk}, "does not require github.com/tidwall/gjson"},
	} {
		if _, err := Create(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.o, err, tc.want)
		}
	}
}
