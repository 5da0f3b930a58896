// Package testwasm builds plugin packages of this repository into wasm
// modules for tests, caching each build by the hash of its sources, and
// holds checks the engine's tests share.
package testwasm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

var mu sync.Mutex

// RepoRoot finds the repository root (the directory holding go.mod with the
// wasmgate module) from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/wasmgate/wasmgate\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root not found")
		}
		dir = parent
	}
}

// Build compiles the plugin package at pkg (relative to the repository root,
// e.g. "examples/my-plugin") for wasip1 as a c-shared reactor and returns the
// module's path. Builds are cached by the hash of the package's and the SDK's
// sources, the Go version and tags.
func Build(t testing.TB, pkg string, tags ...string) string {
	t.Helper()
	root := RepoRoot(t)
	mu.Lock()
	defer mu.Unlock()
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), strings.Join(tags, ","), pkg)
	for _, dir := range []string{filepath.Join(root, pkg), filepath.Join(root, "sdk")} {
		if err := hashTree(h, dir); err != nil {
			t.Fatalf("hash %s: %v", dir, err)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))[:24]
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "wasmgate-test", filepath.Base(pkg)+"-"+sum+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + ".tmp"
	args := []string{"build", "-buildmode=c-shared", "-o", tmp}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, "./"+pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func hashTree(h interface{ Write([]byte) (int, error) }, dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" && p != dir) {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") || d.Name() == "go.mod") && !strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return nil
}
