package migrate

import (
	"fmt"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/wasmgate/wasmgate/scaffold"
)

// minGo is the go directive a migrated module needs at least.
const minGo = "1.24"

// rewriteGoMod drops the requirements and replacements of the SDKs the
// migration replaces, requires wasmgate's SDK (replaced by s.Dir when s is
// set), raises the SDK's own dependencies to its versions, and sets go 1.24.
// It returns the new go.mod, the go.sum lines to add and notes.
func rewriteGoMod(path string, data []byte, s *scaffold.SDK, sum []byte, imports map[string]bool) ([]byte, []byte, []Note, error) {
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	var notes []Note
	note := func(line int, kind NoteKind, format string, args ...any) {
		notes = append(notes, Note{File: path, Line: line, Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
	for _, r := range append([]*modfile.Require(nil), f.Require...) {
		p := r.Mod.Path
		if droppedModules[p] && keepsModule(imports, p) {
			note(r.Syntax.Start.Line, Info, "kept the requirement %s: imports that stay need it (wasmgate build and test use the compatibility modules; wasmgate compat for plain go)", p)
			continue
		}
		if droppedModules[p] || droppedIndirect[p] && r.Indirect {
			line := r.Syntax.Start.Line
			if err := f.DropRequire(p); err != nil {
				return nil, nil, nil, err
			}
			note(line, Changed, "dropped the requirement %s %s", p, r.Mod.Version)
		}
	}
	for _, r := range append([]*modfile.Replace(nil), f.Replace...) {
		if droppedModules[r.Old.Path] && !keepsModule(imports, r.Old.Path) {
			line := r.Syntax.Start.Line
			if err := f.DropReplace(r.Old.Path, r.Old.Version); err != nil {
				return nil, nil, nil, err
			}
			note(line, Changed, "dropped the replacement of %s", r.Old.Path)
		}
	}
	f.Cleanup() // DropRequire leaves empty entries behind
	have := map[string]string{}
	for _, r := range f.Require {
		have[r.Mod.Path] = r.Mod.Version
	}
	if have[scaffold.SDKModule] != scaffold.SDKVersion {
		// Added through SetRequireSeparateIndirect, a new direct
		// requirement goes to the block of direct requirements.
		reqs := append([]*modfile.Require(nil), f.Require...)
		reqs = append(reqs, &modfile.Require{Mod: module.Version{Path: scaffold.SDKModule, Version: scaffold.SDKVersion}})
		f.SetRequireSeparateIndirect(reqs)
		note(0, Changed, "required %s", scaffold.SDKModule)
	}
	var addSum strings.Builder
	if s != nil {
		// The SDK's requirements take part in version selection: raise
		// ours to them, and take their checksums from the SDK's go.sum.
		for _, p := range sortedKeys(s.Requires) {
			v := s.Requires[p]
			old, ok := have[p]
			switch {
			case ok && semver.Compare(old, v) < 0:
				if err := f.AddRequire(p, v); err != nil {
					return nil, nil, nil, err
				}
				note(0, Changed, "raised %s from %s to %s, the version the SDK uses", p, old, v)
			case !ok && importsModule(imports, p):
				if err := f.AddRequire(p, v); err != nil {
					return nil, nil, nil, err
				}
				note(0, Changed, "required %s %s (imported, not required)", p, v)
			case !ok:
				// The SDK's own dependencies (gjson's match and pretty): the
				// go commands want them listed before they build.
				f.AddNewRequire(p, v, true)
				note(0, Changed, "required %s %s (a dependency of the SDK)", p, v)
			}
			for _, line := range s.Sums[p] {
				if !strings.Contains(string(sum), line) {
					addSum.WriteString(line + "\n")
				}
			}
		}
		if err := f.AddReplace(scaffold.SDKModule, "", s.Dir, ""); err != nil {
			return nil, nil, nil, err
		}
		note(0, Changed, "replaced %s with %s", scaffold.SDKModule, s.Dir)
	}
	if f.Go == nil || compareGo(f.Go.Version, minGo) < 0 {
		old := "none"
		if f.Go != nil {
			old = f.Go.Version
		}
		if err := f.AddGoStmt(minGo); err != nil {
			return nil, nil, nil, err
		}
		note(0, Changed, "go %s → go %s", old, minGo)
	}
	if f.Toolchain != nil && compareGo(strings.TrimPrefix(f.Toolchain.Name, "go"), minGo) < 0 {
		name := f.Toolchain.Name
		f.DropToolchainStmt()
		note(0, Changed, "dropped toolchain %s (older than go %s)", name, minGo)
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return nil, nil, nil, err
	}
	return out, []byte(addSum.String()), notes, nil
}

// keepsModule reports whether an import that the migration keeps (see
// keptImports) is in module mod.
func keepsModule(imports map[string]bool, mod string) bool {
	for p := range imports {
		if keptImports[p] != "" && (p == mod || strings.HasPrefix(p, mod+"/")) {
			return true
		}
	}
	return false
}

// importsModule reports whether an import path is in module mod.
func importsModule(imports map[string]bool, mod string) bool {
	for p := range imports {
		if p == mod || strings.HasPrefix(p, mod+"/") {
			return true
		}
	}
	return false
}

// compareGo compares go directive versions ("1.24", "1.20.3", "1.25rc1").
func compareGo(a, b string) int {
	return semver.Compare(goSemver(a), goSemver(b))
}

func goSemver(v string) string {
	v = strings.TrimPrefix(v, "go")
	if i := strings.IndexAny(v, "rcbeta"); i > 0 {
		v = v[:i] // pre-releases count as their release here
	}
	return "v" + v
}
