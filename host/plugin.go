package host

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
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
	// Configuration is the plugin configuration (readable only during
	// proxy_on_configure); VMConfiguration is the VM configuration.
	Configuration   []byte
	VMConfiguration []byte
	// Env is the VM's environment (vm_config.environment_variables); the
	// plugin sees nothing else.
	Env map[string]string
	// FailStrategy applies after a trap or deadline (default FailClosed).
	FailStrategy FailStrategy
	// PoolSize is the number of VMs (default: GOMAXPROCS). Each VM runs one
	// callback at a time; streams are spread over the VMs.
	PoolSize int
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

// Plugin is a configured plugin with its pool of VMs. Create streams with
// NewStream. Safe for concurrent use.
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

	mu          sync.Mutex
	vms         []*vm // serving VMs
	live        map[*vm]struct{}
	seq         uint64
	rr          int
	closed      bool
	failures    int
	hadFailures atomic.Bool
	memReplaced atomic.Uint64
	pendingR    int // replacements scheduled
	timers      map[Timer]struct{}
	changed     chan struct{}
}

// NewPlugin starts a plugin: it creates the VM pool, running each VM's
// start functions, proxy_on_vm_start and proxy_on_configure. An error from
// the first VM (such as ErrConfigureFailed) is returned.
func (e *Engine) NewPlugin(ctx context.Context, mod *Module, cfg PluginConfig) (*Plugin, error) {
	if mod == nil || mod.engine != e {
		return nil, fmt.Errorf("load plugin %s: module from another engine", cfg.Name)
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = runtime.GOMAXPROCS(0)
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
		live:     map[*vm]struct{}{},
		timers:   map[Timer]struct{}{},
		logLimit: newLogLimiter(cfg.LogLimits),
		changed:  make(chan struct{}),
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

	for i := 0; i < cfg.PoolSize; i++ {
		v, err := p.newVM(ctx)
		if err != nil {
			p.Close(ctx)
			return nil, fmt.Errorf("load plugin %s: %w", cfg.Name, err)
		}
		p.mu.Lock()
		p.vms = append(p.vms, v)
		p.mu.Unlock()
	}
	return p, nil
}

func (p *Plugin) newVM(ctx context.Context) (*vm, error) {
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	v, err := newVM(ctx, p, seq)
	if err != nil {
		return nil, err
	}
	v.lock()
	v.serving = true
	v.unlock()
	p.mu.Lock()
	p.live[v] = struct{}{}
	p.mu.Unlock()
	return v, nil
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
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.vms)
}

// MemoryBytes returns the linear memory of the plugin's serving VMs, summed,
// as of each VM's last callback.
func (p *Plugin) MemoryBytes() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n uint64
	for _, v := range p.vms {
		n += v.memSize.Load()
	}
	return n
}

// MemoryLimit returns the plugin's per-VM memory limit in bytes (0: none
// but the engine's).
func (p *Plugin) MemoryLimit() uint64 { return p.cfg.MemoryLimit }

// MemoryReplacements counts the VMs replaced for going over MemoryLimit.
func (p *Plugin) MemoryReplacements() uint64 { return p.memReplaced.Load() }

// checkMemory replaces v when it is over the plugin's memory limit.
func (p *Plugin) checkMemory(v *vm, mem uint64) {
	if lim := p.cfg.MemoryLimit; lim == 0 || mem <= lim || !v.serving || v.draining.Load() {
		return
	}
	p.memReplaced.Add(1)
	v.log.Warn("wasm VM over its memory limit: replacing it", "memory_bytes", mem, "limit_bytes", p.cfg.MemoryLimit)
	p.scheduleRebuild(v)
}

// WaitVMs waits until n VMs serve new streams (after failures are healed)
// or ctx is done.
func (p *Plugin) WaitVMs(ctx context.Context, n int) error {
	for {
		p.mu.Lock()
		if len(p.vms) >= n {
			p.mu.Unlock()
			return nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (p *Plugin) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// pick returns the serving VM with the fewest streams, or nil.
func (p *Plugin) pick() *vm {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.vms) == 0 {
		return nil
	}
	var best *vm
	n := len(p.vms)
	for i := 0; i < n; i++ {
		v := p.vms[(p.rr+i)%n]
		if v.failed.Load() || v.draining.Load() {
			continue
		}
		if best == nil || v.active.Load() < best.active.Load() {
			best = v
		}
	}
	p.rr++
	if best != nil {
		best.active.Add(1)
	}
	return best
}

// release is called when a stream pinned to v is done.
func (p *Plugin) release(v *vm, ok bool) {
	left := v.active.Add(-1)
	if ok && p.hadFailures.Load() {
		p.mu.Lock()
		p.failures = 0
		p.hadFailures.Store(false)
		p.mu.Unlock()
	}
	if left == 0 && v.draining.Load() {
		v.lock()
		v.closeLocked(true)
		v.unlock()
	}
}

// vmClosed is called (with v's lock held) when a VM instance is closed.
func (p *Plugin) vmClosed(v *vm) {
	p.mu.Lock()
	delete(p.live, v)
	p.removeLocked(v)
	p.notifyLocked()
	p.mu.Unlock()
}

// onVMFailed is called with v's lock held, right after the failing call.
func (p *Plugin) onVMFailed(v *vm) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(v)
	if p.closed {
		return
	}
	p.failures++
	p.hadFailures.Store(true)
	shift := p.failures - 1
	if shift > 5 {
		shift = 5
	}
	p.scheduleReplaceLocked(p.cfg.ReloadBackoff << shift)
	p.notifyLocked()
}

// scheduleRebuild retires v gracefully (Higress wasm_need_rebuild): new
// streams go to a fresh VM and v closes when its last stream is done.
func (p *Plugin) scheduleRebuild(v *vm) {
	if v.draining.Swap(true) {
		return
	}
	p.mu.Lock()
	p.removeLocked(v)
	if !p.closed {
		p.scheduleReplaceLocked(0)
	}
	p.notifyLocked()
	p.mu.Unlock()
	v.post(func() {
		if v.active.Load() == 0 {
			v.closeLocked(true)
		}
	})
}

func (p *Plugin) removeLocked(v *vm) {
	for i, x := range p.vms {
		if x == v {
			p.vms = append(p.vms[:i], p.vms[i+1:]...)
			return
		}
	}
}

func (p *Plugin) scheduleReplaceLocked(delay time.Duration) {
	p.pendingR++
	var t Timer
	run := func() {
		p.mu.Lock()
		delete(p.timers, t)
		closed := p.closed
		p.mu.Unlock()
		if closed {
			p.mu.Lock()
			p.pendingR--
			p.notifyLocked()
			p.mu.Unlock()
			return
		}
		v, err := p.newVM(context.Background())
		p.mu.Lock()
		defer p.mu.Unlock()
		p.pendingR--
		if err != nil {
			p.log.Error("wasm VM replacement failed", "error", err)
			if !p.closed {
				p.failures++
				shift := p.failures - 1
				if shift > 5 {
					shift = 5
				}
				p.scheduleReplaceLocked(p.cfg.ReloadBackoff << shift)
			}
			p.notifyLocked()
			return
		}
		if p.closed {
			go func() { v.lock(); v.closeLocked(true); v.unlock() }()
			p.notifyLocked()
			return
		}
		p.vms = append(p.vms, v)
		p.log.Info("wasm VM replaced", "vm", v.seq)
		p.notifyLocked()
	}
	if delay <= 0 {
		go run()
		return
	}
	t = p.e.clock.AfterFunc(delay, run)
	p.timers[t] = struct{}{}
}

// Close stops the plugin. VMs without streams shut down now (proxy_on_done
// and proxy_on_delete on the root context); VMs with streams shut down
// when their last stream is done, or when ctx is done, whichever is first.
func (p *Plugin) Close(ctx context.Context) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for t := range p.timers {
		if t.Stop() {
			p.pendingR--
		}
	}
	p.timers = map[Timer]struct{}{}
	vms := make([]*vm, 0, len(p.live))
	for v := range p.live {
		vms = append(vms, v)
	}
	p.vms = nil
	p.notifyLocked()
	p.mu.Unlock()
	sort.Slice(vms, func(i, j int) bool { return vms[i].seq < vms[j].seq })

	for _, v := range vms {
		v.draining.Store(true)
		if v.active.Load() == 0 {
			v.lock()
			v.closeLocked(true)
			v.unlock()
		}
	}
	// Wait for streams to finish, replacements in flight and proxy_done.
	for {
		p.mu.Lock()
		n, pending, ch := len(p.live), p.pendingR, p.changed
		p.mu.Unlock()
		if n == 0 && pending == 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
		}
		break
	}
	p.mu.Lock()
	rest := make([]*vm, 0, len(p.live))
	for v := range p.live {
		rest = append(rest, v)
	}
	p.mu.Unlock()
	for _, v := range rest {
		v.lock()
		v.closeNow()
		v.unlock()
	}
	p.e.shared.unref(p.cfg.VMID)
	p.e.mu.Lock()
	delete(p.e.plugins, p)
	p.e.mu.Unlock()
}
