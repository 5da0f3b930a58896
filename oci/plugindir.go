package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// LoadOptions tunes LoadPluginDir.
type LoadOptions struct {
	// Wasm is the module file to use; empty means DIR/plugin.wasm, else
	// DIR/main.wasm.
	Wasm string
}

// LoadPluginDir reads a plugin folder: its module (plugin.wasm or main.wasm,
// or opts.Wasm) and the metadata files spec.yaml, README.md,
// README_{lang}.md and icon.png that are present. The returned warnings name
// files the Higress image format expects but the folder lacks.
func LoadPluginDir(dir string, opts LoadOptions) (p *Plugin, warnings []string, err error) {
	wasmPath := opts.Wasm
	if wasmPath == "" {
		for _, name := range []string{PluginWasm, "main.wasm"} {
			cand := filepath.Join(dir, name)
			if _, err := os.Stat(cand); err == nil {
				wasmPath = cand
				break
			}
		}
		if wasmPath == "" {
			return nil, nil, fmt.Errorf("no plugin.wasm or main.wasm in %s (build one with: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o main.wasm .)", dir)
		}
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read module: %w", err)
	}
	if err := CheckWasm(wasm); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", wasmPath, err)
	}
	p = &Plugin{Wasm: wasm}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read plugin folder: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			if _, ok := MetadataMediaType(e.Name()); ok {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", name, err)
		}
		mt, _ := MetadataMediaType(name)
		p.Files = append(p.Files, File{Name: name, MediaType: mt, Data: b})
	}
	for _, want := range []struct{ name, hint string }{
		{"spec.yaml", "generate it with `wasmgate spec`"},
		{"README.md", "the Higress console shows it as the plugin's documentation"},
	} {
		if _, err := os.Stat(filepath.Join(dir, want.name)); errors.Is(err, fs.ErrNotExist) {
			warnings = append(warnings, fmt.Sprintf("%s has no %s (%s)", dir, want.name, want.hint))
		}
	}
	return p, warnings, nil
}
