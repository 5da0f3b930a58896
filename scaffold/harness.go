package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/wasmgate/wasmgate"
)

// HarnessModule is the module plugin tests import plugintest from.
const HarnessModule = "github.com/wasmgate/wasmgate"

// Harness is a copy of the test harness's packages (HarnessModule's
// plugintest, host and what they import) on disk.
type Harness struct {
	// Dir is the copy's directory (holding its go.mod).
	Dir string
	// GoVersion is the go directive of its go.mod.
	GoVersion string
	// Requires are its go.mod's requirements (module path → version).
	Requires map[string]string
	// SumLines are its go.sum's lines.
	SumLines []string
}

// HarnessFiles returns the harness sources embedded in this binary, without
// tests and testdata.
func HarnessFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(wasmgate.HarnessSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := fs.ReadFile(wasmgate.HarnessSource, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded test harness: %w", err)
	}
	if files["go.mod"] == nil {
		return nil, errors.New("embedded test harness: no go.mod")
	}
	return files, nil
}

// InstallHarness writes the embedded harness to cacheDir/<content hash>
// (cacheDir "" means <user cache dir>/wasmgate/harness) unless an identical
// copy is there, and returns it.
func InstallHarness(cacheDir string) (*Harness, error) {
	files, err := HarnessFiles()
	if err != nil {
		return nil, err
	}
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for the test harness: %w (set XDG_CACHE_HOME)", err)
		}
		cacheDir = filepath.Join(base, "wasmgate", "harness")
	}
	dir := filepath.Join(cacheDir, hashFiles(files))
	if !sameFiles(dir, files) {
		if err := writeTree(cacheDir, dir, files); err != nil {
			return nil, err
		}
	}
	return LoadHarness(dir)
}

// LoadHarness reads a harness copy (or a checkout of this repository).
func LoadHarness(dir string) (*Harness, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	gomod := filepath.Join(abs, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		return nil, fmt.Errorf("test harness: %w", err)
	}
	f, err := modfile.ParseLax(gomod, b, nil)
	if err != nil {
		return nil, fmt.Errorf("test harness: %w", err)
	}
	if f.Module == nil || f.Module.Mod.Path != HarnessModule {
		return nil, fmt.Errorf("%s is not the module %s", gomod, HarnessModule)
	}
	h := &Harness{Dir: abs, Requires: map[string]string{}}
	if f.Go != nil {
		h.GoVersion = f.Go.Version
	}
	for _, r := range f.Require {
		if r.Mod.Path != SDKModule {
			h.Requires[r.Mod.Path] = r.Mod.Version
		}
	}
	sum, err := os.ReadFile(filepath.Join(abs, "go.sum"))
	if err != nil {
		return nil, fmt.Errorf("test harness: %w", err)
	}
	for _, line := range strings.Split(string(sum), "\n") {
		if len(strings.Fields(line)) == 3 {
			h.SumLines = append(h.SumLines, line)
		}
	}
	return h, nil
}
