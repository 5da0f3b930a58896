package host

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// FailStrategy is what happens to HTTP streams when a plugin's VM fails.
type FailStrategy int

const (
	// FailClosed answers 503 with details "wasm_fail_stream" (Envoy's default).
	FailClosed FailStrategy = iota
	// FailOpen bypasses the plugin.
	FailOpen
)

// Defaults of PluginConfig.
const (
	DefaultBufferLimit   = 1 << 20
	DefaultReloadBackoff = time.Second
)

// PluginConfig describes one plugin: a module plus Envoy's PluginConfig
// fields and the embedder's hooks.
type PluginConfig struct {
	// Name, RootID and VMID are Envoy's plugin name, root_id and vm_id.
	// VMID scopes shared data and shared queues.
	Name, RootID, VMID string
	// PluginName, when set, is what the plugin_name property answers instead
	// of Name: Envoy's PluginConfig name exactly, empty when the
	// configuration gives none (Name then being the filter's name).
	PluginName *string
	// Configuration is the plugin configuration (readable only during
	// proxy_on_configure); VMConfiguration is the VM configuration.
	Configuration   []byte
	VMConfiguration []byte
	// Env is the VM's environment (vm_config.environment_variables); the
	// plugin sees nothing else.
	Env map[string]string
	// FailStrategy applies after a trap or deadline (default FailClosed).
	FailStrategy FailStrategy
	// PoolSize is the largest number of VMs (default: GOMAXPROCS). Each VM
	// runs one callback at a time; streams are spread over the VMs.
	PoolSize int
	// PoolStart is the number of VMs NewPlugin starts (default 1, at most
	// PoolSize): the first alone, as it checks the configuration, then the
	// others in parallel, at most GOMAXPROCS at a time. The pool grows to
	// PoolSize under load: a new stream that finds every serving VM holding
	// a stream starts one more VM in the background.
	PoolStart int
	// Singleton runs the plugin in one VM of its own, shared only with other
	// singletons of the same VM key (Envoy's WasmService `singleton`, which
	// runs on the main thread and cannot be used with filters); PoolSize is
	// then 1.
	Singleton bool
	// LogLevel is the initial plugin log level (nil: info).
	LogLevel *types.LogLevel
	// Logger receives the engine's records about the plugin (nil: the
	// engine's logger).
	Logger *slog.Logger
	// WasmLogger receives the plugin's own records (proxy_log, stdout,
	// stderr), filtered by the plugin's log level only (nil: Logger).
	WasmLogger *slog.Logger
	// LogLimits bound the plugin's own records (zero: the defaults).
	LogLimits LogLimits
	// Properties answers property reads that no stream answers: xds.*,
	// node, and anything valid in the root context.
	Properties Properties
	// ForeignFunctions answers proxy_call_foreign_function for names the
	// engine does not implement itself (see ForeignFunctions); the map is
	// read at each call.
	ForeignFunctions map[string]func([]byte) []byte
	// HTTP and Redis carry out callouts; nil means every cluster is unknown.
	HTTP  HTTPCaller
	Redis RedisCaller
	// GRPC carries out gRPC callouts; nil means every cluster is unknown.
	GRPC GRPCCaller
	// BufferLimit is the body buffer limit per direction (default 1 MiB);
	// exceeding it answers 413 (request) or 500 (response).
	BufferLimit int
	// MemoryLimit is the linear memory, in bytes, one VM may reach: a VM
	// found over it after a callback is replaced like after Higress's
	// wasm_need_rebuild (its streams finish, new streams go to a fresh VM)
	// and counted (Plugin.MemoryReplacements). 0: no limit but the
	// engine's EngineConfig.MemoryLimitPages, where memory.grow fails.
	MemoryLimit uint64
	// StartTimeout overrides EngineConfig.StartTimeout for this plugin's
	// start-up calls (0: the engine's; negative: none).
	StartTimeout time.Duration
	// ReloadBackoff is the delay before a failed VM is replaced; it doubles
	// on consecutive failures up to 32 times and resets after a stream
	// completes on a healthy VM (default 1 s, timed by the engine's Clock).
	ReloadBackoff time.Duration
}

// Plugin is a configured plugin: a root context in each VM of the pool it
// shares with the plugins of the same VM key (see NewPlugin). Create
// streams with NewStream. Safe for concurrent use.
type Plugin struct {
	e     *Engine
	mod   *Module
	cfg   PluginConfig
	log   *slog.Logger
	env   []string
	level atomic.Int32
	// wasmLog receives the plugin's own records, within logLimit.
	wasmLog  *slog.Logger
	logLimit *logLimiter
	// startTimeout is the deadline of each start-up call (0: none).
	startTimeout time.Duration

	g *vmGroup
	// active counts the plugin's streams not yet done; drained is closed
	// when it reaches 0 after Close began.
	active    atomic.Int32
	closed    atomic.Bool
	drained   chan struct{}
	drainOnce sync.Once
}

// NewPlugin starts a plugin. Plugins with the same module, VMID,
// VMConfiguration and Env (and the same PoolSize, MemoryLimit and
// ReloadBackoff) share their VMs, as filters with the same vm key share a
// VM per worker in Envoy: each VM then holds one root context per plugin,
// numbered 1, 2, … in the order the plugins were started, and global state
// in the guest is common to them. The first plugin of a VM key creates the
// pool, running each VM's start functions; every plugin gets
// proxy_on_context_create, proxy_on_vm_start and proxy_on_configure on its
// root context in every VM. An error from the first VM (such as
// ErrConfigureFailed) is returned.
func (e *Engine) NewPlugin(ctx context.Context, mod *Module, cfg PluginConfig) (*Plugin, error) {
	if mod == nil || mod.engine != e {
		return nil, fmt.Errorf("load plugin %s: module from another engine", cfg.Name)
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = runtime.GOMAXPROCS(0)
	}
	if cfg.Singleton {
		cfg.PoolSize = 1
	}
	if cfg.BufferLimit <= 0 {
		cfg.BufferLimit = DefaultBufferLimit
	}
	if cfg.ReloadBackoff <= 0 {
		cfg.ReloadBackoff = DefaultReloadBackoff
	}
	log := cfg.Logger
	if log == nil {
		log = e.log
	}
	p := &Plugin{
		e:        e,
		mod:      mod,
		cfg:      cfg,
		log:      log.With("plugin", cfg.Name, "root_id", cfg.RootID, "vm_id", cfg.VMID),
		logLimit: newLogLimiter(cfg.LogLimits),
		drained:  make(chan struct{}),
	}
	wl := cfg.WasmLogger
	if wl == nil {
		wl = log
	}
	p.wasmLog = wl.With("plugin", cfg.Name, "root_id", cfg.RootID, "vm_id", cfg.VMID)
	switch {
	case cfg.StartTimeout > 0:
		p.startTimeout = cfg.StartTimeout
	case cfg.StartTimeout == 0 && e.cfg.StartTimeout > 0:
		p.startTimeout = e.cfg.StartTimeout
	}
	if !e.deadlines() {
		p.startTimeout = 0 // modules carry no interrupt flag
	}
	lvl := types.LogLevelInfo
	if cfg.LogLevel != nil {
		lvl = *cfg.LogLevel
	}
	p.level.Store(int32(lvl))
	keys := sortedKeys(cfg.Env)
	for _, k := range keys {
		p.env = append(p.env, k+"="+cfg.Env[k])
	}

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, fmt.Errorf("load plugin %s: engine closed", cfg.Name)
	}
	e.plugins[p] = struct{}{}
	e.mu.Unlock()
	e.shared.ref(cfg.VMID)

	if err := e.join(ctx, p); err != nil {
		p.closed.Store(true)
		e.shared.unref(cfg.VMID)
		e.mu.Lock()
		delete(e.plugins, p)
		e.mu.Unlock()
		return nil, fmt.Errorf("load plugin %s: %w", cfg.Name, err)
	}
	return p, nil
}

// Module returns the plugin's module.
func (p *Plugin) Module() *Module { return p.mod }

// Config returns the plugin's configuration.
func (p *Plugin) Config() PluginConfig { return p.cfg }

// LogLevel returns the current plugin log level.
func (p *Plugin) LogLevel() types.LogLevel { return types.LogLevel(p.level.Load()) }

// SetLogLevel changes the plugin log level at run time; plugins see it
// through proxy_get_log_level and the get_log_level foreign function.
func (p *Plugin) SetLogLevel(l types.LogLevel) { p.level.Store(int32(l)) }

// VMCount returns the number of VMs currently serving new streams.
func (p *Plugin) VMCount() int {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	return len(p.g.vms)
}

// SharedWith returns the names of the other plugins whose root contexts
// live in the same VMs, in the order they were started.
func (p *Plugin) SharedWith() []string {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	var out []string
	for _, m := range p.g.members {
		if m != p {
			out = append(out, m.cfg.Name)
		}
	}
	return out
}

// MemoryBytes returns the linear memory of the plugin's serving VMs, summed,
// as of each VM's last callback (shared VMs count for each of their
// plugins).
func (p *Plugin) MemoryBytes() uint64 {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	var n uint64
	for _, v := range p.g.vms {
		n += v.memSize.Load()
	}
	return n
}

// MemoryLimit returns the plugin's per-VM memory limit in bytes (0: none
// but the engine's).
func (p *Plugin) MemoryLimit() uint64 { return p.cfg.MemoryLimit }

// MemoryReplacements counts the plugin's VMs replaced for going over
// MemoryLimit.
func (p *Plugin) MemoryReplacements() uint64 { return p.g.memReplaced.Load() }

// WaitVMs waits until n VMs serve new streams (after failures are healed)
// or ctx is done.
func (p *Plugin) WaitVMs(ctx context.Context, n int) error {
	g := p.g
	for {
		g.mu.Lock()
		if len(g.vms) >= n {
			g.mu.Unlock()
			return nil
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pick returns a VM for a new stream of the plugin, or nil.
func (p *Plugin) pick() *vm {
	p.active.Add(1)
	if !p.closed.Load() {
		if v := p.g.pick(); v != nil {
			return v
		}
	}
	p.done()
	return nil
}

func (p *Plugin) done() {
	if p.active.Add(-1) == 0 && p.closed.Load() {
		p.drainOnce.Do(func() { close(p.drained) })
	}
}

// release is called when a stream of the plugin pinned to v is done.
func (p *Plugin) release(v *vm, ok bool) {
	p.g.release(v, ok)
	p.done()
}

// Close stops the plugin: new streams fail, and once the plugin's streams
// are done (or ctx is), its root contexts shut down (proxy_on_done and
// proxy_on_delete). The last plugin of a VM closes the VM.
func (p *Plugin) Close(ctx context.Context) {
	if p.closed.Swap(true) {
		return
	}
	if p.active.Load() == 0 {
		p.drainOnce.Do(func() { close(p.drained) })
	}
	select {
	case <-p.drained:
	case <-ctx.Done():
	}
	p.g.leave(ctx, p)
	p.e.shared.unref(p.cfg.VMID)
	p.e.mu.Lock()
	delete(p.e.plugins, p)
	p.e.mu.Unlock()
}
