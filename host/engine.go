package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wasmgate/wasmgate/host/internal/datamerge"
	"github.com/wasmgate/wasmgate/host/internal/interrupt"
	"github.com/wasmgate/wasmgate/host/internal/wasi"
	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

// Defaults of EngineConfig.
const (
	DefaultCallTimeout      = time.Second
	DefaultStartTimeout     = 60 * time.Second
	DefaultMemoryLimitPages = 16384 // 1 GiB, cpp-host's maximum
)

// EngineConfig configures an Engine. The zero value is usable.
type EngineConfig struct {
	// CacheDir is the directory of wazero's on-disk compilation cache.
	// Empty means <user cache dir>/wasmgate/wazero; "off" disables the
	// disk cache (modules are still compiled only once per Engine).
	CacheDir string
	// Logger receives engine logs and plugin logs (nil: slog.Default()).
	Logger *slog.Logger
	// Clock drives ticks, callout timeouts and the time plugins read
	// (nil: SystemClock).
	Clock Clock
	// CallTimeout is the CPU deadline of one call into a VM; a callback
	// running longer is stopped and the VM fails as after a trap. Zero
	// means DefaultCallTimeout; a negative value disables the deadline
	// (and the interrupt check compiled into every loop back edge, a
	// decrement and a branch per loop iteration; see
	// host/internal/interrupt).
	CallTimeout time.Duration
	// StartTimeout is the CPU deadline of each start-up call of a VM:
	// _initialize, _start or main, and the root context's
	// proxy_on_context_create, proxy_on_vm_start and proxy_on_configure,
	// where plugins parse and compile their configuration. Zero means
	// DefaultStartTimeout; a negative value disables it.
	// PluginConfig.StartTimeout overrides it per plugin.
	StartTimeout time.Duration
	// MemoryLimitPages caps each VM's linear memory in 64 KiB pages
	// (0: DefaultMemoryLimitPages).
	MemoryLimitPages uint32
	// NoFastPath hides the engine's fast-path extension (see
	// FastPathProperty): modules see only the proxy-wasm ABI, as on Envoy.
	NoFastPath bool
	// NoCallbackMask makes the engine ignore a module's callback mask (see
	// CallbackMaskExport): every stream callback enters the module, as on
	// Envoy.
	NoCallbackMask bool
	// CompileWorkers is the number of goroutines that compile the
	// functions of one module (0: GOMAXPROCS).
	CompileWorkers int
}

// Engine owns a wazero runtime, its compilation cache, the host modules
// ("env", "wasi_snapshot_preview1", "wasi_unstable") and the state shared by
// all plugins: shared data, shared queues and metrics. One Engine serves
// any number of modules and plugins; it is safe for concurrent use.
type Engine struct {
	cfg     EngineConfig
	log     *slog.Logger
	clock   Clock
	runtime wazero.Runtime
	cache   wazero.CompilationCache
	// rewrites keeps rewritten modules across restarts (rewritecache.go).
	rewrites *rewriteCache
	rc       wazero.RuntimeConfig

	// fbRuntime runs modules that could not be instrumented with the
	// interrupt flag, with wazero's close-on-context-done mode.
	fbMu      sync.Mutex
	fbRuntime wazero.Runtime

	shared  *sharedState
	metrics *metricsRegistry

	// Watchdog of the per-call CPU deadline.
	wdMu   sync.Mutex
	wdVMs  map[*vm]struct{}
	wdStop chan struct{}

	// instMu serializes instantiation (wazero has had races instantiating
	// different modules concurrently).
	instMu sync.Mutex

	mu      sync.Mutex
	modules map[[32]byte]*moduleEntry
	plugins map[*Plugin]struct{}
	groups  map[string]*vmGroup // VMs shared by plugins, by VM key
	closed  bool
}

type moduleEntry struct {
	done chan struct{}
	mod  *Module
	err  error
}

// NewEngine creates an engine.
func NewEngine(ctx context.Context, cfg EngineConfig) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if cfg.MemoryLimitPages > 65536 {
		cfg.MemoryLimitPages = 65536
	}
	e := &Engine{
		cfg:     cfg,
		log:     cfg.Logger,
		clock:   cfg.Clock,
		shared:  newSharedState(),
		metrics: newMetricsRegistry(),
		modules: map[[32]byte]*moduleEntry{},
		plugins: map[*Plugin]struct{}{},
		groups:  map[string]*vmGroup{},
	}
	// The CPU deadline does not use wazero's close-on-context-done mode,
	// which starts a goroutine on every call into a module and leaves
	// native code at every loop back-edge: modules are instrumented with
	// an interrupt flag instead (host/internal/interrupt, watchdog.go).
	// Only a module the instrumentation cannot decode runs on a second
	// runtime in that mode (fallbackRuntime).
	rc := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(cfg.MemoryLimitPages)
	if cfg.CacheDir != "off" {
		dir := cfg.CacheDir
		if dir == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				base = os.TempDir()
			}
			dir = filepath.Join(base, "wasmgate", "wazero")
		}
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("host engine: compilation cache %s: %w", dir, err)
		}
		e.cache = c
		rc = rc.WithCompilationCache(c)
		e.rewrites = newRewriteCache(dir)
	}
	e.rc = rc
	e.runtime = wazero.NewRuntimeWithConfig(ctx, rc)
	if err := e.instantiateHostModules(ctx, e.runtime); err != nil {
		_ = e.runtime.Close(ctx)
		return nil, fmt.Errorf("host engine: host modules: %w", err)
	}
	return e, nil
}

// fallbackRuntime returns the runtime with wazero's close-on-context-done
// mode, created on first use, for modules that cannot be instrumented.
func (e *Engine) fallbackRuntime(ctx context.Context) (wazero.Runtime, error) {
	e.fbMu.Lock()
	defer e.fbMu.Unlock()
	if e.fbRuntime != nil {
		return e.fbRuntime, nil
	}
	rt := wazero.NewRuntimeWithConfig(ctx, e.rc.WithCloseOnContextDone(true))
	if err := e.instantiateHostModules(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("host engine: host modules: %w", err)
	}
	e.fbRuntime = rt
	return rt, nil
}

func (e *Engine) instantiateHostModules(ctx context.Context, rt wazero.Runtime) error {
	if err := wasi.Instantiate(ctx, rt, func(ctx context.Context) wasi.Host {
		if v := vmFrom(ctx); v != nil {
			return v
		}
		return nil
	}); err != nil {
		return err
	}
	b := rt.NewHostModuleBuilder("env")
	exportEnv(b)
	_, err := b.Instantiate(ctx)
	return err
}

// Close closes every plugin and the runtime.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	ps := make([]*Plugin, 0, len(e.plugins))
	for p := range e.plugins {
		ps = append(ps, p)
	}
	e.mu.Unlock()
	for _, p := range ps {
		p.Close(ctx)
	}
	e.stopWatchdog()
	err := e.runtime.Close(ctx)
	e.fbMu.Lock()
	if e.fbRuntime != nil {
		_ = e.fbRuntime.Close(ctx)
	}
	e.fbMu.Unlock()
	if e.cache != nil {
		_ = e.cache.Close(ctx)
	}
	return err
}

// deadlines reports whether any CPU deadline applies (the modules then
// carry the interrupt flag and VMs are watched).
func (e *Engine) deadlines() bool { return e.cfg.CallTimeout > 0 || e.cfg.StartTimeout > 0 }

// Metrics returns a snapshot of every metric plugins defined, in definition
// order.
func (e *Engine) Metrics() []Metric { return e.metrics.snapshot() }

// ABIVersion is the proxy-wasm ABI a module declares with its marker export.
type ABIVersion int

// Known ABI versions.
const (
	ABIUnknown ABIVersion = iota
	ABI_0_1_0
	ABI_0_2_0
	ABI_0_2_1
	// ABI_0_2_100 is Higress's variant of 0.2.1.
	ABI_0_2_100
)

// String returns the marker suffix ("0_2_1").
func (v ABIVersion) String() string {
	switch v {
	case ABI_0_1_0:
		return "0_1_0"
	case ABI_0_2_0:
		return "0_2_0"
	case ABI_0_2_1:
		return "0_2_1"
	case ABI_0_2_100:
		return "0_2_100"
	}
	return "unknown"
}

const abiMarkerPrefix = "proxy_abi_version_"

// ErrNoABIVersion is returned for a module without a proxy-wasm ABI marker.
var ErrNoABIVersion = errors.New("missing or unknown proxy-wasm ABI version: the module exports none of proxy_abi_version_0_2_0, proxy_abi_version_0_2_1, proxy_abi_version_0_2_100, proxy_abi_version_0_1_0")

// Import is one function a module imports.
type Import struct {
	Module string
	Name   string
}

// Module is a compiled plugin module. It is immutable and shared by every
// plugin and VM created from it.
type Module struct {
	engine   *Engine
	rt       wazero.Runtime // the runtime compiled belongs to
	compiled wazero.CompiledModule
	// interruptible: the module carries the interrupt flag (the CPU
	// deadline's mechanism); false when the deadline is off or the module
	// runs on the fallback runtime.
	interruptible bool
	hash          [32]byte
	size          int
	abi           ABIVersion
	imports       []Import
	exports       map[string]api.FunctionDefinition
	// results says, per callback with an export of its own, whether that
	// export returns a value: known once here instead of asked of the
	// runtime on every call.
	results [cbGRPC]resultKind
	// startMem sizes the linear memory of new VMs (host/linmem.go).
	startMem startSize
}

// ABI returns the module's ABI version.
func (m *Module) ABI() ABIVersion { return m.abi }

// Hash returns the hex SHA-256 of the module bytes.
func (m *Module) Hash() string { return hex.EncodeToString(m.hash[:]) }

// Size returns the module's size in bytes.
func (m *Module) Size() int { return m.size }

// Imports lists the functions the module imports, sorted.
func (m *Module) Imports() []Import { return append([]Import(nil), m.imports...) }

// Exports lists the functions the module exports, sorted.
func (m *Module) Exports() []string {
	out := make([]string, 0, len(m.exports))
	for n := range m.exports {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// HasExport reports whether the module exports a function named name.
func (m *Module) HasExport(name string) bool {
	_, ok := m.exports[name]
	return ok
}

// CompileFile reads and compiles a module file.
func (e *Engine) CompileFile(ctx context.Context, path string) (*Module, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load module %s: %w", path, err)
	}
	m, err := e.Compile(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("load module %s: %w", path, err)
	}
	return m, nil
}

// Compile compiles module bytes. Identical bytes are compiled once per
// Engine (and once per machine with the disk cache); concurrent calls for
// the same bytes wait for one compilation.
func (e *Engine) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	return e.CompileNamed(ctx, "", wasm)
}

// compileProgressAfter is how long a compilation runs before it is logged.
var compileProgressAfter = time.Second

// CompileNamed is Compile for a module the logs call name: a compilation
// that takes longer than a second is logged when it passes that second
// and again when it ends, with its duration.
func (e *Engine) CompileNamed(ctx context.Context, name string, wasm []byte) (*Module, error) {
	h := sha256.Sum256(wasm)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errors.New("compile: engine closed")
	}
	if ent, ok := e.modules[h]; ok {
		e.mu.Unlock()
		select {
		case <-ent.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return ent.mod, ent.err
	}
	ent := &moduleEntry{done: make(chan struct{})}
	e.modules[h] = ent
	e.mu.Unlock()

	start := time.Now()
	size := fmt.Sprintf("%.1f MB", float64(len(wasm))/1e6)
	logged := make(chan struct{})
	progress := func() {
		e.log.Info(fmt.Sprintf("compiling %s (%s)…", name, size), "module", name, "size", size)
		close(logged)
	}
	// With no delay the start is logged at once, not from a timer that a
	// quick compilation could stop before it runs.
	var t *time.Timer
	if compileProgressAfter > 0 {
		t = time.AfterFunc(compileProgressAfter, progress)
	} else {
		progress()
	}
	ent.mod, ent.err = e.compile(ctx, wasm, h)
	if t == nil || !t.Stop() {
		<-logged
		e.log.Info(fmt.Sprintf("compiled %s in %s", name, time.Since(start).Round(time.Millisecond)), "module", name, "size", size, "error", ent.err)
	}
	close(ent.done)
	if ent.err != nil {
		e.mu.Lock()
		delete(e.modules, h)
		e.mu.Unlock()
	}
	return ent.mod, ent.err
}

// badType is a map type, buffer type, log level and file descriptor no
// call accepts.
const badType = 0xFFFFFFFF

// yieldPoints are the imports an instrumented module calls every few
// thousand loop iterations so that a spinning guest still reaches Go code
// (see host/internal/interrupt), in order of preference, each with
// arguments for which the engine's implementation fails at once and
// touches nothing: WASI's sched_yield (Go modules), then calls most
// proxy-wasm modules of other toolchains import, given an invalid map or
// buffer type, log level or file descriptor (TestYieldPointsDoNothing).
var yieldPoints = append(append([]interrupt.Yield(nil), interrupt.SchedYield...),
	interrupt.Yield{Module: "env", Name: "proxy_log", Args: []uint32{badType, 0, 0}},
	interrupt.Yield{Module: "env", Name: "proxy_get_header_map_size", Args: []uint32{badType, 0}},
	interrupt.Yield{Module: "env", Name: "proxy_get_header_map_value", Args: []uint32{badType, 0, 0, 0, 0}},
	interrupt.Yield{Module: "env", Name: "proxy_get_header_map_pairs", Args: []uint32{badType, 0, 0}},
	interrupt.Yield{Module: "env", Name: "proxy_get_buffer_bytes", Args: []uint32{badType, 0, 0, 0, 0}},
	interrupt.Yield{Module: "env", Name: "proxy_get_buffer_status", Args: []uint32{badType, 0, 0}},
	interrupt.Yield{Module: "wasi_snapshot_preview1", Name: "fd_write", Args: []uint32{badType, 0, 0, 0}},
	interrupt.Yield{Module: "wasi_unstable", Name: "fd_write", Args: []uint32{badType, 0, 0, 0}},
)

func (e *Engine) compile(ctx context.Context, wasm []byte, h [32]byte) (*Module, error) {
	// wazero allocates by the counts a module declares before reading what
	// they count: a module of a few bytes must not make it allocate
	// gigabytes.
	if err := wasmbin.Check(wasm); err != nil {
		return nil, fmt.Errorf("compile module: malformed: %w", err)
	}
	workers := e.cfg.CompileWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx = experimental.WithCompilationWorkers(ctx, workers)
	rt := e.runtime
	kind := "merged"
	if e.deadlines() {
		kind = "interrupt"
	}
	var cm wazero.CompiledModule
	var err error
	interruptible := false
	if code, ok := e.rewrites.get(h, kind); ok {
		if cm, err = rt.CompileModule(ctx, code); err == nil {
			interruptible = e.deadlines()
		} else {
			cm = nil // a damaged entry: rewrite again
		}
	}
	if cm == nil {
		// Fewer data segments: less per-VM memory and a faster instantiation.
		code, _ := datamerge.Merge(wasm)
		keep := true
		if e.deadlines() {
			if inst, err := interrupt.Instrument(code, yieldPoints...); err == nil {
				code, interruptible = inst, true
			} else {
				e.log.Warn("module cannot carry the interrupt flag; its CPU deadline uses wazero's slower context checks", "error", err)
				if rt, err = e.fallbackRuntime(ctx); err != nil {
					return nil, err
				}
				keep = false
			}
		}
		if cm, err = rt.CompileModule(ctx, code); err != nil {
			return nil, fmt.Errorf("compile module: %w", err)
		}
		if keep {
			e.rewrites.put(h, kind, code)
		}
	}
	m := &Module{engine: e, rt: rt, compiled: cm, hash: h, size: len(wasm), exports: cm.ExportedFunctions(), interruptible: interruptible}
	m.noteResults()
	for name := range m.exports {
		if !strings.HasPrefix(name, abiMarkerPrefix) {
			continue
		}
		var v ABIVersion
		switch strings.TrimPrefix(name, abiMarkerPrefix) {
		case "0_1_0":
			v = ABI_0_1_0
		case "0_2_0":
			v = ABI_0_2_0
		case "0_2_1":
			v = ABI_0_2_1
		case "0_2_100":
			v = ABI_0_2_100
		}
		if v > m.abi {
			m.abi = v
		}
	}
	if m.abi == ABIUnknown {
		_ = cm.Close(ctx)
		return nil, ErrNoABIVersion
	}
	if !m.HasExport("proxy_on_memory_allocate") && !m.HasExport("malloc") {
		_ = cm.Close(ctx)
		return nil, errors.New("compile module: no allocator: the module exports neither proxy_on_memory_allocate nor malloc")
	}
	for _, d := range cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		m.imports = append(m.imports, Import{Module: mod, Name: name})
	}
	sort.Slice(m.imports, func(i, j int) bool {
		if m.imports[i].Module != m.imports[j].Module {
			return m.imports[i].Module < m.imports[j].Module
		}
		return m.imports[i].Name < m.imports[j].Name
	})
	return m, nil
}
