package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// Test setup: one compilation cache directory for the whole package run, a
// shared engine, and builders for the test modules (.wat sources compiled
// with wat2wasm, raw Go plugins built with GOOS=wasip1, cached by source
// hash).

var (
	testCacheDir string
	sharedEngine *Engine
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmgate-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCacheDir = dir
	code := m.Run()
	if sharedEngine != nil {
		_ = sharedEngine.Close(context.Background())
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var engineOnce sync.Once

// testEngine returns the package's shared engine.
func testEngine(t testing.TB) *Engine {
	t.Helper()
	engineOnce.Do(func() {
		e, err := NewEngine(context.Background(), EngineConfig{CacheDir: testCacheDir, CallTimeout: 5 * time.Second})
		if err != nil {
			panic(err)
		}
		sharedEngine = e
	})
	return sharedEngine
}

// newTestEngine returns a private engine closed at the end of the test.
func newTestEngine(t testing.TB, cfg EngineConfig) *Engine {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = testCacheDir
	}
	e, err := NewEngine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

var (
	buildMu    sync.Mutex
	buildCache = map[string][]byte{}
)

// goPlugin builds testdata/goplugin/<name> for wasip1 (c-shared) with the
// given build tags and returns the module bytes (testwasm caches builds on
// disk by the hash of the plugin's and the SDK's sources).
func goPlugin(t testing.TB, name string, tags ...string) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := name + "|" + strings.Join(tags, ",")
	if b, ok := buildCache[key]; ok {
		return b
	}
	b, err := os.ReadFile(testwasm.Build(t, "host/testdata/goplugin/"+name, tags...))
	if err != nil {
		t.Fatal(err)
	}
	buildCache[key] = b
	return b
}

// wat compiles testdata/wat/<name>.wat with wat2wasm.
func wat(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "wat", name+".wat"))
	if err != nil {
		t.Fatal(err)
	}
	return watSource(t, string(src))
}

var watMu sync.Mutex
var watCache = map[string][]byte{}

// watSource compiles WebAssembly text with wat2wasm.
func watSource(t testing.TB, src string) []byte {
	t.Helper()
	watMu.Lock()
	defer watMu.Unlock()
	if b, ok := watCache[src]; ok {
		return b
	}
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm not found (install Debian package wabt): %v", err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "--enable-all", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	watCache[src] = b
	return b
}

// logRecorder is a slog.Handler keeping every record.
type logRecorder struct {
	mu    sync.Mutex
	recs  []logRec
	attrs []slog.Attr
	cond  *sync.Cond
	root  *logRecorder
}

type logRec struct {
	Level slog.Level
	Msg   string
	Wasm  bool
	Attrs map[string]string
}

func newRecorder() *logRecorder {
	r := &logRecorder{}
	r.cond = sync.NewCond(&r.mu)
	r.root = r
	return r
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRec{Level: rec.Level, Msg: rec.Message, Attrs: map[string]string{}}
	for _, a := range r.attrs {
		lr.Attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.Attrs[a.Key] = a.Value.String()
		if a.Key == "source" && a.Value.String() == "wasm" {
			lr.Wasm = true
		}
		return true
	})
	root := r.root
	root.mu.Lock()
	root.recs = append(root.recs, lr)
	root.cond.Broadcast()
	root.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{root: r.root, attrs: append(append([]slog.Attr(nil), r.attrs...), as...)}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

func (r *logRecorder) logger() *slog.Logger { return slog.New(r) }

// wasmLines returns the plugin's log messages.
func (r *logRecorder) wasmLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Wasm {
			out = append(out, rec.Msg)
		}
	}
	return out
}

func (r *logRecorder) all() []logRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logRec(nil), r.recs...)
}

// reset forgets recorded lines.
func (r *logRecorder) reset() {
	r.mu.Lock()
	r.recs = nil
	r.mu.Unlock()
}

// has reports whether a plugin log line contains sub.
func (r *logRecorder) has(sub string) bool {
	for _, l := range r.wasmLines() {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// waitFor waits until a plugin log line contains sub.
func (r *logRecorder) waitFor(t testing.TB, sub string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		for _, rec := range r.recs {
			if rec.Wasm && strings.Contains(rec.Msg, sub) {
				return
			}
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, rec := range r.recs {
				lines = append(lines, rec.Msg)
			}
			t.Fatalf("no log line containing %q; log:\n%s", sub, strings.Join(lines, "\n"))
		}
		go func() { time.Sleep(50 * time.Millisecond); r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() }()
		r.cond.Wait()
	}
}

// mustHave fails unless a plugin log line contains each sub.
func (r *logRecorder) mustHave(t testing.TB, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !r.has(s) {
			t.Fatalf("no log line containing %q; log:\n%s", s, strings.Join(r.wasmLines(), "\n"))
		}
	}
}

// mustNotHave fails if a plugin log line contains sub.
func (r *logRecorder) mustNotHave(t testing.TB, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if r.has(s) {
			t.Fatalf("unexpected log line containing %q; log:\n%s", s, strings.Join(r.wasmLines(), "\n"))
		}
	}
}

// count returns how many callback lines start with prefix.
func (r *logRecorder) count(prefix string) int {
	n := 0
	for _, l := range r.callbacks() {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// callbacks returns the "cb:" lines (callback order).
func (r *logRecorder) callbacks() []string {
	var out []string
	for _, l := range r.wasmLines() {
		if strings.HasPrefix(l, "cb:") {
			out = append(out, l)
		}
	}
	return out
}
