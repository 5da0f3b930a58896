package migrate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RegistrationFixes returns, for each Go file of the package in dir whose
// main() registers the plugin (the TinyGo-era form), the file with that
// registration moved to init(), by absolute path. A Go 1.24 c-shared module
// never runs main; building with these files (go build -overlay) lets such
// a plugin build and run unchanged on disk.
func RegistrationFixes(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		p := filepath.Join(dir, name)
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		g, err := parseGoFile(name, src)
		if err != nil {
			continue // the build reports it
		}
		if !buildsForPlugin(name, src) {
			continue
		}
		g.moveMainToInit()
		registered := false
		for _, n := range g.notes {
			registered = registered || strings.Contains(n.Message, "(the plugin registration)")
		}
		if !registered {
			continue
		}
		fixed, err := g.apply()
		if err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out[abs] = fixed
	}
	return out, nil
}

// WriteOverlay writes files to a new temporary directory with a go build
// -overlay file mapping each path to its copy, and returns the overlay
// file; cleanup removes the directory.
func WriteOverlay(files map[string][]byte) (overlay string, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "wasmgate-overlay-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	replace := map[string]string{}
	i := 0
	for path, b := range files {
		i++
		copyPath := filepath.Join(tmp, fmt.Sprintf("%d-%s", i, filepath.Base(path)))
		if err := os.WriteFile(copyPath, b, 0o644); err != nil {
			cleanup()
			return "", nil, err
		}
		replace[path] = copyPath
	}
	js, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		cleanup()
		return "", nil, err
	}
	overlay = filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlay, js, 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	return overlay, cleanup, nil
}
