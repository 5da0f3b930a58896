// Package scaffold creates a new plugin folder from a template: main.go
// registering the plugin in init(), go.mod, go.sum, README.md, main_test.go
// (written with plugintest) and a sample wasmplugin.yaml. The folder builds
// with no network access: its go.mod points the SDK at the copy InstallSDK
// writes from this binary, and its only other dependency, gjson, must be in
// the Go module cache.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

//go:embed templates
var templates embed.FS

// Templates lists the template names: basic (a header plugin with a mock
// answer), http-call (calls a service and waits for it), redis (a rate
// limit in Redis), body (a buffered request body handler).
func Templates() []string { return []string{"basic", "http-call", "redis", "body"} }

// Options configures Create.
type Options struct {
	// Name is the plugin name, used in wrapper.SetCtx and as the folder
	// and module name by default: letters, digits, '-', '_' and '.'.
	Name string
	// Dir is the folder to create (default ./Name). It must not exist or
	// be empty.
	Dir string
	// Template is one of Templates() (default "basic").
	Template string
	// ModulePath is the Go module path (default Name).
	ModulePath string
	// SDK is the SDK the plugin's go.mod points at (see InstallSDK).
	SDK *SDK
	// Harness, when set, is the test harness (plugintest) the plugin's
	// go.mod points at, so main_test.go builds offline (see InstallHarness).
	Harness *Harness
}

// deps are the modules a plugin needs besides the SDK: gjson and what it
// requires. Their versions and checksums come from the SDK's go.mod and
// go.sum, so the module cache that built the SDK has them.
var deps = []string{"github.com/tidwall/gjson", "github.com/tidwall/match", "github.com/tidwall/pretty"}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Create writes the plugin folder and returns the files it wrote,
// relative to the folder.
func Create(o Options) ([]string, error) {
	if !validName.MatchString(o.Name) {
		return nil, fmt.Errorf("plugin name %q: use letters, digits, '-', '_' and '.', starting with a letter or digit", o.Name)
	}
	if o.Template == "" {
		o.Template = "basic"
	}
	if !contains(Templates(), o.Template) {
		return nil, fmt.Errorf("unknown template %q: use one of %s", o.Template, strings.Join(Templates(), ", "))
	}
	if o.ModulePath == "" {
		o.ModulePath = o.Name
	}
	if err := module.CheckImportPath(o.ModulePath); err != nil {
		return nil, fmt.Errorf("module path: %w", err)
	}
	if o.Dir == "" {
		o.Dir = o.Name
	}
	if o.SDK == nil {
		return nil, errors.New("scaffold: no SDK (call InstallSDK)")
	}
	if err := emptyDir(o.Dir); err != nil {
		return nil, err
	}
	files, err := render(o)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Dir, err)
	}
	names := sortedKeys(files)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(o.Dir, name), files[name], 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", filepath.Join(o.Dir, name), err)
		}
	}
	return names, nil
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return fmt.Errorf("plugin folder: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("plugin folder %s exists and is not empty", dir)
	}
	return nil
}

// templateData fills a template's {{.Field}} placeholders.
type templateData struct {
	Name, Template, ModulePath string
	Description                string // the template's README part
	ExampleConfig              string // the example configuration, indented for defaultConfig
}

// render produces every file of the plugin folder.
func render(o Options) (map[string][]byte, error) {
	desc, err := fs.ReadFile(templates, "templates/"+o.Template+"/README.md.tmpl")
	if err != nil {
		return nil, err
	}
	example, err := fs.ReadFile(templates, "templates/"+o.Template+"/example.yaml.tmpl")
	if err != nil {
		return nil, err
	}
	data := templateData{Name: o.Name, Template: o.Template, ModulePath: o.ModulePath}
	if data.Description, err = execute("README.md", string(desc), data); err != nil {
		return nil, err
	}
	for _, line := range strings.SplitAfter(strings.TrimRight(string(example), "\n")+"\n", "\n") {
		if line != "" {
			data.ExampleConfig += "    " + line
		}
	}
	out := map[string][]byte{}
	for name, src := range map[string]string{
		"main.go":         o.Template + "/main.go.tmpl",
		"main_test.go":    o.Template + "/main_test.go.tmpl",
		"README.md":       "common/README.md.tmpl",
		"wasmplugin.yaml": "common/wasmplugin.yaml.tmpl",
		".gitignore":      "common/gitignore.tmpl",
	} {
		b, err := fs.ReadFile(templates, "templates/"+src)
		if err != nil {
			return nil, err
		}
		s, err := execute(name, string(b), data)
		if err != nil {
			return nil, err
		}
		out[name] = []byte(s)
	}
	if out["go.mod"], err = goMod(o); err != nil {
		return nil, err
	}
	out["go.sum"] = goSum(o.SDK, o.Harness)
	return out, nil
}

// execute fills the placeholders {{.Field}} of a template. It is plain
// replacement, not text/template: Go source is full of "{{".
func execute(name, text string, data templateData) (string, error) {
	out := strings.NewReplacer(
		"{{.Name}}", data.Name,
		"{{.Template}}", data.Template,
		"{{.ModulePath}}", data.ModulePath,
		"{{.Description}}", data.Description,
		"{{.ExampleConfig}}", data.ExampleConfig,
	).Replace(text)
	if i := strings.Index(out, "{{."); i >= 0 {
		end := min(len(out), i+30)
		return "", fmt.Errorf("template %s: unknown placeholder at %q", name, out[i:end])
	}
	return out, nil
}

// goMod writes the plugin's go.mod: go 1.24, the SDK replaced by its
// directory, gjson at the version the SDK was built with.
func goMod(o Options) ([]byte, error) {
	f := &modfile.File{}
	if err := f.AddModuleStmt(o.ModulePath); err != nil {
		return nil, err
	}
	goVersion := "1.24"
	if o.Harness != nil && o.Harness.GoVersion != "" && gover(o.Harness.GoVersion) > gover(goVersion) {
		// The tests link the harness, which needs a newer Go than plugins do.
		goVersion = o.Harness.GoVersion
	}
	if err := f.AddGoStmt(goVersion); err != nil {
		return nil, err
	}
	if err := f.AddRequire(SDKModule, SDKVersion); err != nil {
		return nil, err
	}
	for i, d := range deps {
		v := o.SDK.Requires[d]
		if v == "" {
			return nil, fmt.Errorf("the SDK's go.mod does not require %s", d)
		}
		f.AddNewRequire(d, v, i > 0) // match and pretty come with gjson
	}
	if h := o.Harness; h != nil {
		if err := f.AddRequire(HarnessModule, SDKVersion); err != nil {
			return nil, err
		}
		for _, path := range sortedKeys(h.Requires) {
			if !contains(deps, path) {
				f.AddNewRequire(path, h.Requires[path], true)
			}
		}
	}
	f.SetRequireSeparateIndirect(f.Require)
	if err := f.AddReplace(SDKModule, "", o.SDK.Dir, ""); err != nil {
		return nil, err
	}
	if h := o.Harness; h != nil {
		if err := f.AddReplace(HarnessModule, "", h.Dir, ""); err != nil {
			return nil, err
		}
	}
	f.Cleanup()
	return f.Format()
}

// goSum holds the checksums of the plugin's dependencies: the SDK's for
// gjson, the harness's for what the tests link.
func goSum(s *SDK, h *Harness) []byte {
	var b bytes.Buffer
	seen := map[string]bool{}
	add := func(line string) {
		if !seen[line] {
			seen[line] = true
			b.WriteString(line + "\n")
		}
	}
	for _, d := range deps {
		for _, line := range s.Sums[d] {
			add(line)
		}
	}
	if h != nil {
		for _, line := range h.SumLines {
			add(line)
		}
	}
	return b.Bytes()
}

// gover turns "1.25.0" into a comparable number.
func gover(v string) int {
	n := 0
	parts := strings.SplitN(v, ".", 3)
	for i := 0; i < 3; i++ {
		x := 0
		if i < len(parts) {
			fmt.Sscanf(parts[i], "%d", &x)
		}
		n = n*1000 + x
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
