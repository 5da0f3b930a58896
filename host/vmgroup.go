package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// vmGroup is the pool of VMs shared by the plugins whose VM key is the same
// (Envoy's rule: the same code, vm_id, vm_configuration and environment give
// one VM per worker, with one root context per plugin). Every VM of a group
// holds a root context for each member, created in the order the members
// joined, so root context ids are 1, 2, … as Envoy numbers them.
type vmGroup struct {
	e            *Engine
	key          string
	mod          *Module
	vmID         string
	vmConfig     []byte
	env          []string
	poolSize     int
	poolStart    int
	memLimit     uint64
	backoff      time.Duration
	startTimeout time.Duration // of the start functions (the first member's)
	log          *slog.Logger

	// build serializes changes of membership with VM creation, so every
	// VM has a root context for every member.
	build sync.Mutex

	mu          sync.Mutex
	members     []*Plugin // in join order
	vms         []*vm     // serving VMs
	live        map[*vm]struct{}
	seq         uint64
	rr          int
	closed      bool
	failures    int
	hadFailures atomic.Bool
	memReplaced atomic.Uint64
	pendingR    int // replacements and additions scheduled
	timers      map[Timer]struct{}
	changed     chan struct{}
}

// errGroupClosed: the group closed while a plugin was joining it.
var errGroupClosed = errors.New("vm group closed")

// groupKey is what makes two plugins share VMs: Envoy's (code, vm_id,
// vm_configuration, environment) plus the engine's own per-VM resources
// (pool size, memory limit, replacement backoff), which must agree for one
// VM to serve both.
func groupKey(mod *Module, cfg *PluginConfig) string {
	h := sha256.New()
	w := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	w(string(mod.hash[:]))
	w(cfg.VMID)
	w(string(cfg.VMConfiguration))
	for _, k := range sortedKeys(cfg.Env) {
		w(k)
		w(cfg.Env[k])
	}
	w(fmt.Sprint(cfg.PoolSize, cfg.MemoryLimit, cfg.ReloadBackoff, cfg.Singleton))
	return hex.EncodeToString(h.Sum(nil))
}

// join adds p to the group of its VM key, creating the group (and its VMs)
// when there is none.
func (e *Engine) join(ctx context.Context, p *Plugin) error {
	key := groupKey(p.mod, &p.cfg)
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return errors.New("engine closed")
		}
		g := e.groups[key]
		if g == nil {
			g = newVMGroup(e, key, p)
			g.build.Lock() // held until its first VMs exist
			e.groups[key] = g
			e.mu.Unlock()
			err := g.start(ctx, p)
			g.build.Unlock()
			return err
		}
		e.mu.Unlock()
		err := g.join(ctx, p)
		if errors.Is(err, errGroupClosed) {
			continue
		}
		return err
	}
}

func newVMGroup(e *Engine, key string, p *Plugin) *vmGroup {
	log := p.cfg.Logger
	if log == nil {
		log = e.log
	}
	return &vmGroup{
		e:            e,
		key:          key,
		mod:          p.mod,
		vmID:         p.cfg.VMID,
		vmConfig:     p.cfg.VMConfiguration,
		env:          p.env,
		poolSize:     p.cfg.PoolSize,
		poolStart:    min(max(p.cfg.PoolStart, 1), p.cfg.PoolSize),
		memLimit:     p.cfg.MemoryLimit,
		backoff:      p.cfg.ReloadBackoff,
		startTimeout: p.startTimeout,
		log:          log.With("vm_id", p.cfg.VMID),
		live:         map[*vm]struct{}{},
		timers:       map[Timer]struct{}{},
		changed:      make(chan struct{}),
	}
}

// start creates the pool of a new group for its first member (build held):
// one VM, which checks the configuration, then the rest of poolStart in
// parallel, bounded by GOMAXPROCS.
func (g *vmGroup) start(ctx context.Context, p *Plugin) error {
	p.g = g
	g.members = []*Plugin{p}
	fail := func(err error) error {
		g.mu.Lock()
		g.members = nil
		g.mu.Unlock()
		g.shutdown(ctx)
		return err
	}
	if err := g.addVM(ctx, g.members); err != nil {
		return fail(err)
	}
	var rest errgroup.Group
	rest.SetLimit(runtime.GOMAXPROCS(0))
	for i := 1; i < g.poolStart; i++ {
		rest.Go(func() error { return g.addVM(ctx, g.members) })
	}
	if err := rest.Wait(); err != nil {
		return fail(err)
	}
	return nil
}

// addVM starts a VM for members and adds it to the serving ones.
func (g *vmGroup) addVM(ctx context.Context, members []*Plugin) error {
	v, err := g.newVM(ctx, members)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.vms = append(g.vms, v)
	g.mu.Unlock()
	return nil
}

// join adds a root context for p to every serving VM of the group. An
// error from any (such as ErrConfigureFailed) removes what was added.
func (g *vmGroup) join(ctx context.Context, p *Plugin) error {
	g.build.Lock()
	defer g.build.Unlock()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errGroupClosed
	}
	vms := append([]*vm(nil), g.vms...)
	members := append(append([]*Plugin(nil), g.members...), p)
	g.mu.Unlock()
	p.g = g
	if len(vms) == 0 {
		// Every VM failed and waits for its replacement: start one now, so
		// that the new plugin's configuration is checked.
		v, err := g.newVM(ctx, members)
		if err != nil {
			return err
		}
		g.mu.Lock()
		g.vms = append(g.vms, v)
		g.members = members
		g.notifyLocked()
		g.mu.Unlock()
		return nil
	}
	var added []*vm
	for _, v := range vms {
		v.lock()
		err := v.addRoot(p)
		v.unlock()
		if errors.Is(err, errVMClosed) {
			continue // failed or retired meanwhile; its replacement will have p
		}
		if err != nil {
			for _, w := range added {
				w.lock()
				w.dropRoot(p)
				w.unlock()
			}
			return err
		}
		added = append(added, v)
	}
	g.mu.Lock()
	g.members = members
	g.mu.Unlock()
	return nil
}

// leave shuts p's root contexts down (proxy_on_done, proxy_on_delete) on
// every VM; the last member closes the group and its VMs.
func (g *vmGroup) leave(ctx context.Context, p *Plugin) {
	g.build.Lock()
	g.mu.Lock()
	for i, m := range g.members {
		if m == p {
			g.members = append(g.members[:i:i], g.members[i+1:]...)
			break
		}
	}
	last := len(g.members) == 0
	vms := make([]*vm, 0, len(g.live))
	for v := range g.live {
		vms = append(vms, v)
	}
	g.mu.Unlock()
	if last {
		g.build.Unlock()
		g.shutdown(ctx)
		return
	}
	g.build.Unlock()
	sort.Slice(vms, func(i, j int) bool { return vms[i].seq < vms[j].seq })
	for _, v := range vms {
		v.lock()
		v.removeRoot(p)
		v.unlock()
	}
}

// shutdown closes the group: VMs without streams shut down now; VMs with
// streams when their last stream is done, or when ctx is done.
func (g *vmGroup) shutdown(ctx context.Context) {
	g.e.mu.Lock()
	if g.e.groups[g.key] == g {
		delete(g.e.groups, g.key)
	}
	g.e.mu.Unlock()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	for t := range g.timers {
		if t.Stop() {
			g.pendingR--
		}
	}
	g.timers = map[Timer]struct{}{}
	vms := make([]*vm, 0, len(g.live))
	for v := range g.live {
		vms = append(vms, v)
	}
	g.vms = nil
	g.notifyLocked()
	g.mu.Unlock()
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
		g.mu.Lock()
		n, pending, ch := len(g.live), g.pendingR, g.changed
		g.mu.Unlock()
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
	g.mu.Lock()
	rest := make([]*vm, 0, len(g.live))
	for v := range g.live {
		rest = append(rest, v)
	}
	g.mu.Unlock()
	for _, v := range rest {
		v.lock()
		v.closeNow()
		v.unlock()
	}
}

// newVM starts a VM with a root context for each of members (build held).
func (g *vmGroup) newVM(ctx context.Context, members []*Plugin) (*vm, error) {
	g.mu.Lock()
	g.seq++
	seq := g.seq
	g.mu.Unlock()
	v, err := newVM(ctx, g, seq, members)
	if err != nil {
		return nil, err
	}
	v.lock()
	v.serving = true
	v.unlock()
	g.mu.Lock()
	g.live[v] = struct{}{}
	g.mu.Unlock()
	return v, nil
}

func (g *vmGroup) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// pick returns the serving VM with the fewest streams, or nil.
func (g *vmGroup) pick() *vm {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || len(g.vms) == 0 {
		return nil
	}
	var best *vm
	n := len(g.vms)
	for i := 0; i < n; i++ {
		v := g.vms[(g.rr+i)%n]
		if v.failed.Load() || v.draining.Load() {
			continue
		}
		if best == nil || v.active.Load() < best.active.Load() {
			best = v
		}
	}
	g.rr++
	if best == nil {
		return nil
	}
	if best.active.Add(1) > 1 && len(g.vms)+g.pendingR < g.poolSize {
		// Every serving VM holds a stream: grow the pool by one.
		g.scheduleAddLocked(0, "load")
	}
	return best
}

// release is called when a stream pinned to v is done.
func (g *vmGroup) release(v *vm, ok bool) {
	left := v.active.Add(-1)
	if ok && g.hadFailures.Load() {
		g.mu.Lock()
		g.failures = 0
		g.hadFailures.Store(false)
		g.mu.Unlock()
	}
	if left == 0 && v.draining.Load() {
		v.lock()
		v.closeLocked(true)
		v.unlock()
	}
}

// vmClosed is called (with v's lock held) when a VM instance is closed.
func (g *vmGroup) vmClosed(v *vm) {
	g.mu.Lock()
	delete(g.live, v)
	g.removeLocked(v)
	g.notifyLocked()
	g.mu.Unlock()
}

// onVMFailed is called with v's lock held, right after the failing call.
func (g *vmGroup) onVMFailed(v *vm) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(v)
	if g.closed {
		return
	}
	g.failures++
	g.hadFailures.Store(true)
	g.scheduleAddLocked(g.backoffLocked(), "failure")
	g.notifyLocked()
}

func (g *vmGroup) backoffLocked() time.Duration {
	shift := g.failures - 1
	if shift > 5 {
		shift = 5
	}
	return g.backoff << shift
}

// checkMemory replaces v when it is over the group's memory limit.
func (g *vmGroup) checkMemory(v *vm, mem uint64) {
	if lim := g.memLimit; lim == 0 || mem <= lim || !v.serving || v.draining.Load() {
		return
	}
	g.memReplaced.Add(1)
	v.log.Warn("wasm VM over its memory limit: replacing it", "memory_bytes", mem, "limit_bytes", g.memLimit)
	g.scheduleRebuild(v)
}

// scheduleRebuild retires v gracefully (Higress wasm_need_rebuild): new
// streams go to a fresh VM and v closes when its last stream is done.
func (g *vmGroup) scheduleRebuild(v *vm) {
	if v.draining.Swap(true) {
		return
	}
	g.mu.Lock()
	g.removeLocked(v)
	if !g.closed {
		g.scheduleAddLocked(0, "rebuild")
	}
	g.notifyLocked()
	g.mu.Unlock()
	v.post(func() {
		if v.active.Load() == 0 {
			v.closeLocked(true)
		}
	})
}

func (g *vmGroup) removeLocked(v *vm) {
	for i, x := range g.vms {
		if x == v {
			g.vms = append(g.vms[:i], g.vms[i+1:]...)
			return
		}
	}
}

// scheduleAddLocked starts one more VM after delay, unless the pool is full
// or closed by then; why says what the VM is for ("failure", "rebuild" or
// "load"), and a VM that fails to start is retried with backoff.
func (g *vmGroup) scheduleAddLocked(delay time.Duration, why string) {
	g.pendingR++
	var t Timer
	run := func() {
		g.build.Lock()
		g.mu.Lock()
		delete(g.timers, t)
		closed := g.closed
		members := append([]*Plugin(nil), g.members...)
		full := len(g.vms) >= g.poolSize
		g.mu.Unlock()
		if closed || full || len(members) == 0 {
			g.build.Unlock()
			g.mu.Lock()
			g.pendingR--
			g.notifyLocked()
			g.mu.Unlock()
			return
		}
		v, err := g.newVM(context.Background(), members)
		g.build.Unlock()
		g.mu.Lock()
		defer g.mu.Unlock()
		g.pendingR--
		if err != nil {
			g.log.Error("wasm VM start failed", "reason", why, "error", err)
			if !g.closed {
				g.failures++
				g.scheduleAddLocked(g.backoffLocked(), why)
			}
			g.notifyLocked()
			return
		}
		if g.closed {
			go func() { v.lock(); v.closeLocked(true); v.unlock() }()
			g.notifyLocked()
			return
		}
		g.vms = append(g.vms, v)
		if why == "load" {
			g.log.Debug("wasm VM added under load", "vm", v.seq, "vms", len(g.vms))
		} else {
			g.log.Info("wasm VM replaced", "vm", v.seq, "reason", why)
		}
		g.notifyLocked()
	}
	if delay <= 0 {
		go run()
		return
	}
	t = g.e.clock.AfterFunc(delay, run)
	g.timers[t] = struct{}{}
}

// serving returns a copy of the serving VMs.
func (g *vmGroup) serving() []*vm {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*vm(nil), g.vms...)
}
