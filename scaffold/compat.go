package scaffold

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/wasmgate/wasmgate"
)

// CompatModule is a module wasmgate carries under one of Higress's module
// paths: thin packages over the SDK, so that a plugin (and its
// dependencies) importing Higress's SDK builds against wasmgate's.
type CompatModule struct {
	// Path is the module path.
	Path string
	// Dir is its directory in the embedded sources (below compat/).
	Dir string
	// Harness says whether its packages import the test harness
	// (github.com/higress-group/wasm-go/pkg/test does).
	Harness bool
}

// CompatModules are the compatibility modules.
var CompatModules = []CompatModule{
	{Path: "github.com/higress-group/wasm-go", Dir: "wasm-go", Harness: true},
	{Path: "github.com/higress-group/proxy-wasm-go-sdk", Dir: "proxy-wasm-go-sdk"},
	{Path: "github.com/alibaba/higress/plugins/wasm-go", Dir: "higress-plugins"},
	{Path: "github.com/tidwall/resp", Dir: "resp"},
}

// CompatModuleVersion is the version a go.mod requires a compatibility
// module at when it requires none: any version is replaced by the copy.
const CompatModuleVersion = "v1.0.0"

// compatDropIndirect are modules only Higress's SDK needs: an overlay
// drops them when the plugin's go.mod marks them // indirect, so that a
// build does not fetch what nothing links.
var compatDropIndirect = map[string]bool{
	"github.com/google/uuid":                  true,
	"github.com/higress-group/gjson_template": true,
	"github.com/higress-group/nottinygc":      true,
	"github.com/wasilibs/go-re2":              true,
	"github.com/wasilibs/wazero-helpers":      true,
	"github.com/magefile/mage":                true,
	"github.com/invopop/jsonschema":           true,
	"github.com/bahlo/generic-list-go":        true,
	"github.com/buger/jsonparser":             true,
	"github.com/mailru/easyjson":              true,
	"github.com/wk8/go-ordered-map/v2":        true,
	"github.com/tetratelabs/wazero":           true, // the harness requires its own
}

// Compat is an installed set of compatibility modules with the SDK and the
// harness they build on.
type Compat struct {
	// Dir holds one directory per module (CompatModule.Dir).
	Dir     string
	SDK     *SDK
	Harness *Harness
	// GoVersion is the go directive the modules need (the harness's).
	GoVersion string
}

// InstallCompat writes the SDK, the harness and the compatibility modules
// embedded in this binary to the user cache (cacheRoot "" means
// <user cache dir>/wasmgate; sdk/, harness/ and compat/ below it), unless
// identical copies are there.
func InstallCompat(cacheRoot string) (*Compat, error) {
	if cacheRoot == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for the compatibility modules: %w (set XDG_CACHE_HOME)", err)
		}
		cacheRoot = filepath.Join(base, "wasmgate")
	}
	s, err := InstallSDK(filepath.Join(cacheRoot, "sdk"))
	if err != nil {
		return nil, err
	}
	h, err := InstallHarness(filepath.Join(cacheRoot, "harness"))
	if err != nil {
		return nil, err
	}
	files, err := compatFiles(s, h)
	if err != nil {
		return nil, err
	}
	dir, err := installFiles(filepath.Join(cacheRoot, "compat"), files)
	if err != nil {
		return nil, err
	}
	return &Compat{Dir: dir, SDK: s, Harness: h, GoVersion: h.GoVersion}, nil
}

// compatFiles are the modules' sources with a go.mod each.
func compatFiles(s *SDK, h *Harness) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(wasmgate.CompatSource, "compat", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "compat/")
		if d.IsDir() {
			if d.Name() == "testdata" || rel == "internal" {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, "_test.go") || !strings.HasSuffix(p, ".go") || !inCompatModule(rel) {
			return nil
		}
		b, err := fs.ReadFile(wasmgate.CompatSource, p)
		if err != nil {
			return err
		}
		files[rel] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded compatibility modules: %w", err)
	}
	for _, m := range CompatModules {
		gomod, err := compatGoMod(m, s, h)
		if err != nil {
			return nil, err
		}
		files[m.Dir+"/go.mod"] = gomod
	}
	return files, nil
}

func inCompatModule(rel string) bool {
	for _, m := range CompatModules {
		if strings.HasPrefix(rel, m.Dir+"/") {
			return true
		}
	}
	return false
}

// compatGoMod is a compatibility module's go.mod: the SDK and gjson, and
// the harness for modules whose packages import it.
func compatGoMod(m CompatModule, s *SDK, h *Harness) ([]byte, error) {
	f := &modfile.File{}
	if err := f.AddModuleStmt(m.Path); err != nil {
		return nil, err
	}
	goVersion := "1.24"
	if m.Harness && gover(h.GoVersion) > gover(goVersion) {
		goVersion = h.GoVersion
	}
	if err := f.AddGoStmt(goVersion); err != nil {
		return nil, err
	}
	f.AddNewRequire(SDKModule, SDKVersion, false)
	for _, d := range sortedKeys(s.Requires) {
		f.AddNewRequire(d, s.Requires[d], d != "github.com/tidwall/gjson")
	}
	if m.Harness {
		f.AddNewRequire(HarnessModule, SDKVersion, false)
	}
	f.Cleanup()
	return f.Format()
}

// ModuleDir returns the directory of a compatibility module.
func (c *Compat) ModuleDir(m CompatModule) string {
	return filepath.Join(c.Dir, filepath.FromSlash(m.Dir))
}

// Wire changes the plugin's go.mod f (and its go.sum) so that Higress's
// modules resolve to the compatibility modules: module-wide replace
// directives (they reach every dependency that imports Higress's SDK),
// the SDK and the harness required and replaced by their copies, their
// requirements raised where f asks for less, requirements only Higress's
// SDK needed dropped when marked // indirect, and the go directive raised
// to what the modules need. It returns the new go.sum and what it did.
func (c *Compat) Wire(f *modfile.File, sum []byte) ([]byte, []string, error) {
	var did []string
	compatPaths := map[string]bool{}
	for _, m := range CompatModules {
		compatPaths[m.Path] = true
	}
	for _, r := range append([]*modfile.Replace(nil), f.Replace...) {
		if compatPaths[r.Old.Path] || r.Old.Path == SDKModule || r.Old.Path == HarnessModule {
			if err := f.DropReplace(r.Old.Path, r.Old.Version); err != nil {
				return nil, nil, err
			}
		}
	}
	have := map[string]string{}
	for _, r := range append([]*modfile.Require(nil), f.Require...) {
		if p := r.Mod.Path; r.Indirect && compatDropIndirect[p] {
			if err := f.DropRequire(p); err != nil {
				return nil, nil, err
			}
			did = append(did, "dropped the requirement "+p+" (only Higress's SDK needs it)")
			continue
		}
		have[r.Mod.Path] = r.Mod.Version
	}
	require := func(p, v string, indirect bool) {
		old, ok := have[p]
		if ok && (v == SDKVersion || semver.Compare(old, v) >= 0) {
			return
		}
		if ok {
			_ = f.AddRequire(p, v)
		} else {
			f.AddNewRequire(p, v, indirect)
		}
		have[p] = v
	}
	require(SDKModule, SDKVersion, true)
	for _, d := range sortedKeys(c.SDK.Requires) {
		require(d, c.SDK.Requires[d], true)
	}
	require(HarnessModule, SDKVersion, true)
	for _, d := range sortedKeys(c.Harness.Requires) {
		require(d, c.Harness.Requires[d], true)
	}
	for _, m := range CompatModules {
		if err := f.AddReplace(m.Path, "", c.ModuleDir(m), ""); err != nil {
			return nil, nil, err
		}
	}
	if err := f.AddReplace(SDKModule, "", c.SDK.Dir, ""); err != nil {
		return nil, nil, err
	}
	if err := f.AddReplace(HarnessModule, "", c.Harness.Dir, ""); err != nil {
		return nil, nil, err
	}
	did = append(did, "replaced "+strings.Join(compatModulePaths(), ", ")+" with the compatibility modules in "+c.Dir)
	if f.Go == nil || gover(f.Go.Version) < gover(c.GoVersion) {
		old := "none"
		if f.Go != nil {
			old = f.Go.Version
		}
		if err := f.AddGoStmt(c.GoVersion); err != nil {
			return nil, nil, err
		}
		did = append(did, "go "+old+" → go "+c.GoVersion+" (the test harness needs it)")
	}
	if f.Toolchain != nil && gover(strings.TrimPrefix(f.Toolchain.Name, "go")) < gover(c.GoVersion) {
		f.DropToolchainStmt()
	}
	f.Cleanup()
	f.SetRequireSeparateIndirect(f.Require)
	f.Cleanup()
	return mergeSums(sum, c.SDK, c.Harness), did, nil
}

func compatModulePaths() []string {
	var out []string
	for _, m := range CompatModules {
		out = append(out, m.Path)
	}
	return out
}

// mergeSums adds the SDK's and the harness's checksums to sum.
func mergeSums(sum []byte, s *SDK, h *Harness) []byte {
	seen := map[string]bool{}
	var lines []string
	for _, line := range strings.Split(string(sum), "\n") {
		if strings.TrimSpace(line) != "" && !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	for _, p := range sortedKeys(s.Sums) {
		for _, line := range s.Sums[p] {
			if !seen[line] {
				seen[line] = true
				lines = append(lines, line)
			}
		}
	}
	for _, line := range h.SumLines {
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.Bytes()
}

// UsesHigress reports whether the module in dir needs the compatibility
// modules: its go.mod requires one of them, or one of its Go files imports
// a package of one.
func UsesHigress(dir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false, err
	}
	f, err := modfile.ParseLax("go.mod", b, nil)
	if err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Join(dir, "go.mod"), err)
	}
	for _, r := range f.Require {
		if IsCompatPath(r.Mod.Path) {
			return true, nil
		}
	}
	if deps, err := HigressDependencies(dir); err == nil && len(deps) > 0 {
		return true, nil
	}
	found := false
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return err
		}
		if d.IsDir() {
			if p != dir && (d.Name() == "vendor" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, imp := range fileImports(p, src) {
			if IsCompatPath(imp) {
				found = true
			}
		}
		return nil
	})
	return found, err
}

// IsCompatPath reports whether an import or module path belongs to a
// compatibility module.
func IsCompatPath(p string) bool {
	for _, m := range CompatModules {
		if p == m.Path || strings.HasPrefix(p, m.Path+"/") {
			return true
		}
	}
	return false
}

// fileImports returns a Go file's import paths ("" for a file that does not
// parse: the build reports it).
func fileImports(name string, src []byte) []string {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
	if err != nil {
		return nil
	}
	var out []string
	for _, im := range f.Imports {
		if p, err := strconv.Unquote(im.Path.Value); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// WireDir reads dir's go.mod and go.sum and returns them wired to c (see
// Wire).
func (c *Compat) WireDir(dir string) (gomod, gosum []byte, did []string, err error) {
	path := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := modfile.Parse(path, b, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return nil, nil, nil, err
	}
	gosum, did, err = c.Wire(f, sum)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	gomod, err = f.Format()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return gomod, gosum, did, nil
}

// Overlay writes dir's go.mod and go.sum wired to c into a new temporary
// directory, leaving dir unchanged, and returns the go.mod written there:
// build with -modfile=<it> -mod=mod (see GoFlagsWithModfile). cleanup
// removes the directory.
func (c *Compat) Overlay(dir string) (modFile string, cleanup func(), err error) {
	gomod, gosum, _, err := c.WireDir(dir)
	if err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp("", "wasmgate-compat-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	modFile = filepath.Join(tmp, "go.mod")
	if err := os.WriteFile(modFile, gomod, 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.sum"), gosum, 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	return modFile, cleanup, nil
}

// GoFlagsWithModfile returns env with GOFLAGS set to use modFile
// (-modfile=modFile -mod=mod), keeping its other flags.
func GoFlagsWithModfile(env []string, modFile string) []string {
	var flags []string
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			for _, f := range strings.Fields(v) {
				if !strings.HasPrefix(f, "-mod=") && !strings.HasPrefix(f, "-modfile=") && !strings.HasPrefix(f, "--mod=") && !strings.HasPrefix(f, "--modfile=") {
					flags = append(flags, f)
				}
			}
			continue
		}
		out = append(out, kv)
	}
	flags = append(flags, "-modfile="+modFile, "-mod=mod")
	return append(out, "GOFLAGS="+strings.Join(flags, " "))
}

// HigressDependencies returns the modules the module in dir requires whose
// own go.mod requires one of Higress's modules (a library written against
// Higress's SDK). Their go.mod files are read from replace directories and
// the module cache; a module found in neither is skipped.
func HigressDependencies(dir string) ([]string, error) {
	path := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := modfile.ParseLax(path, b, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	replaced := map[string]string{}
	for _, r := range f.Replace {
		if r.New.Version == "" {
			p := r.New.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			replaced[r.Old.Path] = filepath.Join(p, "go.mod")
		}
	}
	modCache := os.Getenv("GOMODCACHE")
	if modCache == "" {
		if gp := os.Getenv("GOPATH"); gp != "" {
			modCache = filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")
		} else if home, err := os.UserHomeDir(); err == nil {
			modCache = filepath.Join(home, "go", "pkg", "mod")
		}
	}
	var out []string
	for _, r := range f.Require {
		p := r.Mod.Path
		if IsCompatPath(p) || p == SDKModule || p == HarnessModule {
			continue
		}
		modFile := replaced[p]
		if modFile == "" && modCache != "" {
			ep, err1 := module.EscapePath(p)
			ev, err2 := module.EscapeVersion(r.Mod.Version)
			if err1 != nil || err2 != nil {
				continue
			}
			modFile = filepath.Join(modCache, "cache", "download", filepath.FromSlash(ep), "@v", ev+".mod")
		}
		db, err := os.ReadFile(modFile)
		if err != nil {
			continue
		}
		df, err := modfile.ParseLax(modFile, db, nil)
		if err != nil {
			continue
		}
		for _, dr := range df.Require {
			if IsCompatPath(dr.Mod.Path) {
				out = append(out, p)
				break
			}
		}
	}
	return out, nil
}
