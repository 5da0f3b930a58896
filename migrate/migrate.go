// Package migrate rewrites a plugin written for Higress's wasm-go SDK (or
// its TinyGo-era predecessor in alibaba/higress, or proxy-wasm-go-sdk) to
// wasmgate's SDK and Go 1.24:
//
//   - import paths of the wrapper, log, matcher, proxywasm, types and RESP
//     packages point at github.com/wasmgate/wasmgate/sdk/...;
//   - a registration in main() moves to init() (a c-shared module never
//     runs main), leaving func main() {};
//   - a header-phase handler returning types.ActionPause after starting an
//     HTTP or Redis call returns types.HeaderStopAllIterationAndWatermark;
//   - github.com/wasilibs/go-re2 becomes regexp, TinyGo garbage collector
//     imports are removed;
//   - go.mod drops the Higress, proxy-wasm-go-sdk and TinyGo requirements,
//     requires the SDK and says go 1.24.
//
// Source files are analysed with go/ast and edited in place, so comments
// and layout survive; the result is gofmt'ed. What the migration cannot do
// is reported as Manual notes.
package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/scaffold"
)

// NoteKind says whether a note reports a change or work left to do.
type NoteKind string

const (
	// Changed notes describe a change the migration made.
	Changed NoteKind = "changed"
	// Manual notes describe something the migration could not do.
	Manual NoteKind = "manual"
	// Info notes describe something kept as it is, on purpose.
	Info NoteKind = "info"
)

// Note is one finding, at a file and a line of the file as it was before
// the migration (0: the whole file).
type Note struct {
	File    string   `json:"file"`
	Line    int      `json:"line,omitempty"`
	Kind    NoteKind `json:"kind"`
	Message string   `json:"message"`
}

func (n Note) String() string {
	pos := n.File
	if n.Line > 0 {
		pos = fmt.Sprintf("%s:%d", n.File, n.Line)
	}
	return fmt.Sprintf("%s: %s", pos, n.Message)
}

// File is a file the migration changes.
type File struct {
	// Path is relative to the migrated directory, with slashes.
	Path     string
	Old, New []byte
}

// Result is a migration, not yet written.
type Result struct {
	// Dir is the migrated directory.
	Dir   string
	Files []File
	Notes []Note
}

// Options configures Dir.
type Options struct {
	// SDK, when set, is the SDK copy the migrated go.mod replaces the SDK
	// with (scaffold.InstallSDK or a checkout's sdk directory); nil only
	// requires the SDK.
	SDK *scaffold.SDK
}

// Dir plans the migration of the module (or package) in dir: every .go
// file below it (except vendor, testdata and nested modules) and its
// go.mod. It changes nothing on disk; see Result.Write.
func Dir(dir string, opts Options) (*Result, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("migrate: %s is not a directory", dir)
	}
	res := &Result{Dir: dir}
	pkgs := map[string][]*goFile{} // by directory
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			name := d.Name()
			if p != dir && (name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || exists(filepath.Join(p, "go.mod"))) {
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
		if !buildsForPlugin(d.Name(), src) {
			return nil // excluded by build constraints: left alone
		}
		g, err := parseGoFile(filepath.ToSlash(rel), src)
		if err != nil {
			return err
		}
		pkgs[filepath.Dir(rel)] = append(pkgs[filepath.Dir(rel)], g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("migrate: no Go files in %s", dir)
	}
	for _, pkgDir := range sortedKeys(pkgs) {
		files := pkgs[pkgDir]
		pi := collectPackage(files)
		for _, g := range files {
			g.rewriteImports(pi.decls)
			g.moveMainToInit()
			g.fixHeaderPause(pi)
			g.findManual()
			g.addBodyJSONImport()
			out, err := g.apply()
			if err != nil {
				return nil, fmt.Errorf("migrate: %w", err)
			}
			if string(out) != string(g.src) {
				res.Files = append(res.Files, File{Path: g.path, Old: g.src, New: out})
			}
			res.Notes = append(res.Notes, g.notes...)
		}
	}
	imports := map[string]bool{}
	for _, files := range pkgs {
		for _, g := range files {
			for _, s := range g.file.Imports {
				p, _ := strconv.Unquote(s.Path.Value)
				imports[p] = true
			}
		}
	}
	if err := res.goMod(opts, imports); err != nil {
		return nil, err
	}
	if deps, err := scaffold.HigressDependencies(dir); err == nil {
		for _, d := range deps {
			res.Notes = append(res.Notes, Note{File: "go.mod", Kind: Info, Message: "the dependency " + d +
				" imports Higress's SDK, which no rewrite here reaches: wasmgate build and test build it against wasmgate's compatibility modules (wasmgate compat writes them into go.mod for plain go)"})
		}
	}
	sort.SliceStable(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	return res, nil
}

func (res *Result) goMod(opts Options, imports map[string]bool) error {
	path := filepath.Join(res.Dir, "go.mod")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		res.Notes = append(res.Notes, Note{File: "go.mod", Kind: Manual,
			Message: "no go.mod in the migrated directory: create one (go mod init) with go 1.24, require " + scaffold.SDKModule + " and run go mod tidy"})
		return nil
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sum, err := os.ReadFile(filepath.Join(res.Dir, "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("migrate: %w", err)
	}
	out, addSum, notes, err := rewriteGoMod("go.mod", data, opts.SDK, sum, imports)
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", path, err)
	}
	res.Notes = append(res.Notes, notes...)
	if string(out) != string(data) {
		res.Files = append(res.Files, File{Path: "go.mod", Old: data, New: out})
		res.Notes = append(res.Notes, Note{File: "go.mod", Kind: Info,
			Message: "go.mod lists what the build needs; requirements only the removed SDKs needed may remain until go mod tidy (wasmgate migrate --write runs it when the module proxy is reachable)"})
	}
	if len(addSum) > 0 {
		newSum := append(append([]byte(nil), sum...), addSum...)
		if len(sum) > 0 && sum[len(sum)-1] != '\n' {
			newSum = append(append(append([]byte(nil), sum...), '\n'), addSum...)
		}
		res.Files = append(res.Files, File{Path: "go.sum", Old: sum, New: newSum})
	}
	return nil
}

// Diff is the unified diff of every changed file.
func (res *Result) Diff() string {
	var b strings.Builder
	for _, f := range res.Files {
		b.WriteString(unifiedDiff(f.Path, f.Old, f.New))
	}
	return b.String()
}

// Kept returns the notes of what was kept on purpose.
func (res *Result) Kept() []Note {
	var out []Note
	for _, n := range res.Notes {
		if n.Kind == Info {
			out = append(out, n)
		}
	}
	return out
}

// Manual returns the notes of work left to do.
func (res *Result) Manual() []Note {
	var out []Note
	for _, n := range res.Notes {
		if n.Kind == Manual {
			out = append(out, n)
		}
	}
	return out
}

// Write writes the changed files.
func (res *Result) Write() error {
	for _, f := range res.Files {
		p := filepath.Join(res.Dir, filepath.FromSlash(f.Path))
		mode := fs.FileMode(0o644)
		if st, err := os.Stat(p); err == nil {
			mode = st.Mode().Perm()
		}
		if err := os.WriteFile(p, f.New, mode); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
