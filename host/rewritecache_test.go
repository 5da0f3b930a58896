package host

import (
	"context"
	"crypto/sha256"
	"os"
	"testing"
)

// A rewritten module is read back by the next engine on the same cache
// directory (as after a restart), and a damaged entry is rewritten.
func TestRewriteCacheAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	mod := func(extra string) []byte {
		return watSource(t, `(module
  (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 4096))
  `+extra+`
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (loop $l (br_if $l (i32.const 0))) (i32.const 0)))`)
	}
	a, b := mod(""), mod(`(func (export "marker_b"))`)
	compile := func(wasm []byte) *Module {
		t.Helper()
		e := newTestEngine(t, EngineConfig{CacheDir: dir})
		m, err := e.Compile(context.Background(), wasm)
		if err != nil {
			t.Fatal(err)
		}
		if !m.interruptible {
			t.Fatal("module not instrumented")
		}
		return m
	}
	compile(a)
	compile(b)
	rc := newRewriteCache(dir)
	pathA, pathB := rc.path(sha256.Sum256(a), "interrupt"), rc.path(sha256.Sum256(b), "interrupt")
	rewrittenB, err := os.ReadFile(pathB)
	if err != nil {
		t.Fatalf("no rewritten module stored: %v", err)
	}
	// The next engine compiles what the cache holds for a's hash.
	if err := os.WriteFile(pathA, rewrittenB, 0o644); err != nil {
		t.Fatal(err)
	}
	if !compile(a).HasExport("marker_b") {
		t.Fatal("the rewrite cache was not read")
	}
	// A damaged entry is rewritten from the module itself.
	if err := os.WriteFile(pathA, []byte("\x00asm garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if compile(a).HasExport("marker_b") {
		t.Fatal("compiled the swapped entry again")
	}
	if got, err := os.ReadFile(pathA); err != nil || len(got) < 20 {
		t.Fatalf("damaged entry not replaced: %d bytes, %v", len(got), err)
	}
}
