package scaffold

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	return embeddedModule(wasmgate.HarnessSource, "embedded test harness")
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
	dir, err := installFiles(cacheDir, files)
	if err != nil {
		return nil, err
	}
	return LoadHarness(dir)
}

// LoadHarness reads a harness copy (or a checkout of this repository).
func LoadHarness(dir string) (*Harness, error) {
	abs, f, err := readGoMod(dir, HarnessModule, "test harness")
	if err != nil {
		return nil, err
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
