package scaffold

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/wasmgate/wasmgate/sdk"
)

// SDKModule is the SDK's module path.
const SDKModule = "github.com/wasmgate/wasmgate/sdk"

// SDKVersion is the version plugins require the SDK at. The SDK is not
// published: a replace directive always points the requirement at a
// directory, and this is the version go uses for such a requirement.
const SDKVersion = "v0.0.0-00010101000000-000000000000"

// SDK is a copy of the SDK module on disk.
type SDK struct {
	// Dir is the module's directory (holding its go.mod).
	Dir string
	// Requires are the SDK go.mod's requirements (module path → version).
	Requires map[string]string
	// Sums are the SDK go.sum's lines by module path.
	Sums map[string][]string
}

// SDKFiles returns the SDK module's source as embedded in this binary,
// without tests and testdata: path → content.
func SDKFiles() (map[string][]byte, error) {
	return embeddedModule(sdk.Source, "embedded SDK")
}

// embeddedModule reads an embedded module's files, without tests and
// testdata: path → content. what names the module in errors.
func embeddedModule(fsys fs.FS, what string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
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
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if files["go.mod"] == nil {
		return nil, fmt.Errorf("%s: no go.mod", what)
	}
	return files, nil
}

// installFiles writes files to cacheDir/<content hash> unless an identical
// copy is already there, and returns that directory.
func installFiles(cacheDir string, files map[string][]byte) (string, error) {
	dir := filepath.Join(cacheDir, hashFiles(files))
	if !sameFiles(dir, files) {
		if err := writeTree(cacheDir, dir, files); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// readGoMod parses dir's go.mod and checks it declares module want; it
// returns dir as an absolute path. what names the module in errors.
func readGoMod(dir, want, what string) (string, *modfile.File, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	gomod := filepath.Join(abs, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", what, err)
	}
	f, err := modfile.ParseLax(gomod, b, nil)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", what, err)
	}
	if f.Module == nil || f.Module.Mod.Path != want {
		return "", nil, fmt.Errorf("%s is not the module %s", gomod, want)
	}
	return abs, f, nil
}

// hashFiles is a digest of path and content of every file.
func hashFiles(files map[string][]byte) string {
	h := sha256.New()
	for _, p := range sortedKeys(files) {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(files[p]))
		h.Write(files[p])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// DefaultCacheDir is where InstallSDK writes the SDK by default:
// <user cache dir>/wasmgate/sdk ($XDG_CACHE_HOME/wasmgate/sdk on Linux).
func DefaultCacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the SDK: %w (set XDG_CACHE_HOME)", err)
	}
	return filepath.Join(base, "wasmgate", "sdk"), nil
}

// InstallSDK writes the SDK embedded in this binary to
// cacheDir/<content hash> (cacheDir "" means DefaultCacheDir) unless an
// identical copy is already there, and returns it. Files are written
// read-only, like the Go module cache; a damaged copy is replaced.
func InstallSDK(cacheDir string) (*SDK, error) {
	files, err := SDKFiles()
	if err != nil {
		return nil, err
	}
	if cacheDir == "" {
		if cacheDir, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	dir, err := installFiles(cacheDir, files)
	if err != nil {
		return nil, err
	}
	return LoadSDK(dir)
}

// LoadSDK reads the requirements and checksums of the SDK module in dir
// (an InstallSDK copy or a checkout's sdk directory).
func LoadSDK(dir string) (*SDK, error) {
	abs, f, err := readGoMod(dir, SDKModule, "SDK module")
	if err != nil {
		return nil, err
	}
	s := &SDK{Dir: abs, Requires: map[string]string{}, Sums: map[string][]string{}}
	for _, r := range f.Require {
		s.Requires[r.Mod.Path] = r.Mod.Version
	}
	sum, err := os.ReadFile(filepath.Join(abs, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("SDK module: %w", err)
	}
	for _, line := range strings.Split(string(sum), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			s.Sums[f[0]] = append(s.Sums[f[0]], line)
		}
	}
	return s, nil
}

// sameFiles reports whether dir holds exactly files.
func sameFiles(dir string, files map[string][]byte) bool {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		want, ok := files[filepath.ToSlash(rel)]
		if !ok {
			return errors.New("extra file")
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			return errors.New("changed file")
		}
		n++
		return nil
	})
	return err == nil && n == len(files)
}

// writeTree writes files into a temporary directory beside dir and renames
// it into place, so a reader never sees a partial copy.
func writeTree(cacheDir, dir string, files map[string][]byte) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("SDK cache: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".tmp-")
	if err != nil {
		return fmt.Errorf("SDK cache: %w", err)
	}
	defer removeTree(tmp)
	for _, p := range sortedKeys(files) {
		full := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("SDK cache: %w", err)
		}
		if err := os.WriteFile(full, files[p], 0o444); err != nil {
			return fmt.Errorf("SDK cache: %w", err)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		// A damaged or partial copy: replace it.
		if err := removeTree(dir); err != nil {
			return fmt.Errorf("SDK cache: replace %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if sameFiles(dir, files) {
			return nil // another process installed the same copy first
		}
		return fmt.Errorf("SDK cache: %w", err)
	}
	return nil
}

// removeTree removes a tree whose files may be read-only.
func removeTree(dir string) error {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
