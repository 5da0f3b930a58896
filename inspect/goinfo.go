package inspect

import (
	"bytes"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

// GoBuild is the module information the Go toolchain (gc) links into every
// binary built in module mode: the main package, the main module and every
// dependency module with linked packages, and the build settings.
type GoBuild struct {
	// GoVersion is the compiler version from the producers section.
	GoVersion string `json:"goVersion,omitempty"`
	// Path is the main package's import path.
	Path string `json:"path"`
	// Main is the main module ("path version").
	Main string `json:"main"`
	// Deps are the dependency modules as "path version" ("=> replacement"
	// appended when replaced).
	Deps []string `json:"deps,omitempty"`
	// Settings are the build settings (-buildmode, -tags, GOOS, ...).
	Settings map[string]string `json:"settings,omitempty"`

	modules map[string]bool
}

// The sentinels cmd/go wraps around the module information string
// (runtime.modinfo); debug/buildinfo strips the same 16 bytes.
var (
	modinfoStart = []byte{0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6}
	modinfoEnd   = []byte{0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2}
)

// findGoBuild looks for the module information in the module's data.
// debug/buildinfo does not read wasm files, and wasm binaries have no
// build-info header, but the string itself is in the data section.
func findGoBuild(mem wasmbin.Memory) *GoBuild {
	for _, run := range mem {
		i := bytes.Index(run.Bytes, modinfoStart)
		if i < 0 {
			continue
		}
		rest := run.Bytes[i+len(modinfoStart):]
		j := bytes.Index(rest, modinfoEnd)
		if j < 0 {
			continue
		}
		bi, err := debug.ParseBuildInfo(string(rest[:j]))
		if err != nil {
			continue
		}
		g := &GoBuild{Path: bi.Path, Main: modString(&bi.Main), Settings: map[string]string{}, modules: map[string]bool{}}
		if bi.Main.Path != "" {
			g.modules[bi.Main.Path] = true
		}
		for _, d := range bi.Deps {
			g.Deps = append(g.Deps, modString(d))
			g.modules[d.Path] = true
		}
		sort.Strings(g.Deps)
		for _, s := range bi.Settings {
			g.Settings[s.Key] = s.Value
		}
		return g
	}
	return nil
}

func modString(m *debug.Module) string {
	s := strings.TrimSpace(m.Path + " " + m.Version)
	if m.Replace != nil {
		s += " => " + strings.TrimSpace(m.Replace.Path+" "+m.Replace.Version)
	}
	return s
}

// HasModule reports whether the main module or a dependency has path.
func (g *GoBuild) HasModule(path string) bool {
	if g == nil {
		return false
	}
	if g.modules != nil {
		return g.modules[path]
	}
	// A GoBuild decoded from JSON has no index.
	if strings.HasPrefix(g.Main, path+" ") || g.Main == path {
		return true
	}
	for _, d := range g.Deps {
		if strings.HasPrefix(d, path+" ") || d == path {
			return true
		}
	}
	return false
}

// moduleVersion returns the version of module path in the build; "" when
// absent or when it is the placeholder version of a module replaced by a
// directory (plugins made by wasmgate init).
func (g *GoBuild) moduleVersion(path string) string {
	for _, d := range append([]string{g.Main}, g.Deps...) {
		f := strings.Fields(d)
		if len(f) < 2 || f[0] != path {
			continue
		}
		if strings.HasPrefix(f[1], "v0.0.0-00010101000000-") && strings.Contains(d, " => ") {
			return ""
		}
		return f[1]
	}
	return ""
}
