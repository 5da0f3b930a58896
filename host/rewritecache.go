package host

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
)

// The engine rewrites every module before wazero compiles it (data segments
// merged, the interrupt flag compiled in), and wazero's disk cache is keyed
// by the rewritten bytes, so a cached module still paid for the rewrite on
// every start: about a third of a cached compile of a Go module, and
// seconds for a module of tens of megabytes. The rewrite cache keeps the
// rewritten bytes next to wazero's cache, keyed by the input's hash, the
// kind of rewrite and the running executable (its size and modification
// time), so a rebuilt engine, whose rewrite may differ, never reads a stale
// entry.

// rewriteCache is a directory of rewritten modules; nil when the disk cache
// is off or the executable cannot be identified.
type rewriteCache struct {
	dir   string
	stamp string
}

func newRewriteCache(cacheDir string) *rewriteCache {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	st, err := os.Stat(exe)
	if err != nil {
		return nil
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d|%d", exe, st.Size(), st.ModTime().UnixNano())
	return &rewriteCache{dir: filepath.Join(cacheDir, "wasmgate-rewritten"), stamp: hex.EncodeToString(h.Sum(nil))}
}

func (c *rewriteCache) path(h [32]byte, kind string) string {
	return filepath.Join(c.dir, hex.EncodeToString(h[:])+"-"+kind+"-"+c.stamp+".wasm")
}

// get returns the rewritten module of kind for the input hash h.
func (c *rewriteCache) get(h [32]byte, kind string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	b, err := os.ReadFile(c.path(h, kind))
	return b, err == nil
}

// put stores code as the rewritten module of kind for the input hash h, and
// removes what earlier executables stored for the same input. Errors only
// cost the next start its rewrite.
func (c *rewriteCache) put(h [32]byte, kind string, code []byte) {
	if c == nil {
		return
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return
	}
	old, _ := filepath.Glob(filepath.Join(c.dir, hex.EncodeToString(h[:])+"-"+kind+"-*.wasm"))
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.Write(code)
	if cerr := f.Close(); werr != nil || cerr != nil {
		_ = os.Remove(f.Name())
		return
	}
	want := c.path(h, kind)
	if err := os.Rename(f.Name(), want); err != nil {
		_ = os.Remove(f.Name())
		return
	}
	for _, p := range old {
		if p != want {
			_ = os.Remove(p)
		}
	}
}
