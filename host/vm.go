package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wasmgate/wasmgate/host/internal/interrupt"
)

// cbKind identifies the callback running in a VM; host functions use it to
// decide which maps and buffers are available.
type cbKind uint8

const (
	cbNone cbKind = iota
	cbStart
	cbContextCreate
	cbVMStart
	cbConfigure
	cbReqHeaders
	cbReqBody
	cbReqTrailers
	cbRespHeaders
	cbRespBody
	cbRespTrailers
	cbLog
	cbDone
	cbDelete
	cbTick
	cbHTTPResponse
	cbRedisResponse
	cbQueueReady
	cbForeign
	cbGRPC // a proxy_on_grpc_* callback
)

// exports holds the plugin callbacks a module exports (nil when absent).
type exports struct {
	onContextCreate, onVMStart, onConfigure, onTick                  api.Function
	onRequestHeaders, onRequestBody, onRequestTrailers               api.Function
	onResponseHeaders, onResponseBody, onResponseTrailers            api.Function
	onLog, onDone, onDelete                                          api.Function
	onHTTPCallResponse, onRedisCallResponse, onQueueReady, onForeign api.Function
	headers2Params                                                   bool // ABI 0.1.0 header callbacks take (ctx, n)
}

type vmKey struct{}

func vmFrom(ctx context.Context) *vm {
	v, _ := ctx.Value(vmKey{}).(*vm)
	return v
}

// vm is one module instance with a root context per plugin of its group
// (ids 1, 2, …) and the streams pinned to it. Every call into the instance
// holds mu.
type vm struct {
	g *vmGroup
	// p and rc are the plugin and root context of the running call (of
	// the effective context when the plugin switched to one).
	p      *Plugin
	rc     *rootCtx
	roots  []*rootCtx
	e      *Engine
	seq    uint64
	mod    api.Module
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	// scratch holds a header map encoded for the module (encodeHeaderMap).
	scratch []byte

	f         exports
	alloc     api.Function
	stack     [8]uint64
	allocStk  [1]uint64
	mu        sync.Mutex
	closed    bool
	closing   bool // shutting down; closes once no root waits for proxy_done
	nextID    uint32
	streams   streamIndex
	nextToken uint32
	calls     map[uint32]*pendingCall
	grpc      grpcState
	status    struct {
		code uint32
		msg  string
	}
	metrics vmMetrics
	// fastPath: the module turned the fast-path extension on (fastpath.go).
	fastPath   bool
	fastWrites uint64 // results written into a buffer the module supplied
	// The module's callback mask word (callbackmask.go): maskMem is nil
	// when the module has none.
	maskRead bool
	maskAddr uint32
	maskMem  api.Memory
	// memSize is the linear memory size after the last call, readable
	// from any goroutine (Plugin.MemoryBytes).
	memSize atomic.Uint64

	// Per-call state, valid while a callback runs.
	cb           cbKind
	curID        uint32
	effID        uint32
	configBuf    []byte
	callResp     *CalloutResponse
	redisResp    []byte
	foreignArgs  []byte
	actions      []action
	needRebuild  bool
	pendingEvent []func()
	// fdBuf holds stdout and stderr output not yet written as a record.
	fdBuf [2][]byte

	serving  bool // started and handed to the pool
	failed   atomic.Bool
	failErr  error
	draining atomic.Bool
	active   atomic.Int32

	mbMu    sync.Mutex
	mailbox []func()

	// CPU deadline of top-level calls, checked by the engine's watchdog.
	callStart atomic.Uint64 // generation of the running call; 0 when idle
	callLimit atomic.Int64
	callGen   uint64 // last generation handed out (owned by the VM lock)
	// Watchdog-private: the call generation it last saw running and when.
	wdGen    uint64
	wdSeen   int64
	timedOut atomic.Bool
	intr     api.MutableGlobal // interrupt flag; set before the VM is watched
}

type actionKind uint8

const (
	actResume actionKind = iota
	actLocalReply
	actReset
	actInject
)

type action struct {
	kind   actionKind
	stream *Stream
	dir    Direction
	reply  *LocalReply
	data   []byte
	eos    bool
	cause  cbKind // the callback that asked for it
}

// errVMClosed is returned for calls into a closed VM.
var errVMClosed = errors.New("vm closed")

// newVM instantiates the group's module, runs its start functions and
// creates and configures a root context for each of members, in order.
func newVM(ctx context.Context, g *vmGroup, seq uint64, members []*Plugin) (*vm, error) {
	e := g.e
	v := &vm{
		g:         g,
		p:         members[0],
		e:         e,
		seq:       seq,
		streams:   streamIndex{m: map[uint32]*Stream{}},
		calls:     map[uint32]*pendingCall{},
		log:       g.log.With("vm", seq),
		nextToken: 0,
	}
	base, cancel := context.WithCancel(experimental.WithMemoryAllocator(context.Background(), g.mod.startMem.allocator()))
	v.ctx = context.WithValue(base, vmKey{}, v)
	v.cancel = cancel

	e.instMu.Lock()
	mod, err := g.mod.rt.InstantiateModule(v.ctx, g.mod.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	e.instMu.Unlock()
	if err != nil {
		v.dispose()
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	v.mod = mod
	if e.deadlines() {
		// The interrupt flag lets the watchdog stop a call that loops
		// (see host/internal/interrupt); without it (a module the
		// instrumentation could not decode) wazero's context checks do.
		if g, ok := mod.ExportedGlobal(interrupt.GlobalName).(api.MutableGlobal); ok && v.g.mod.interruptible {
			v.intr = g
		}
		e.watch(v)
	}
	v.resolveExports()
	if v.alloc == nil {
		v.dispose()
		return nil, errors.New("instantiate: no allocator export (proxy_on_memory_allocate or malloc)")
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.start(); err != nil {
		v.dispose()
		return nil, err
	}
	v.g.mod.startMem.note(v.memoryBytes())
	for _, p := range members {
		if err := v.addRoot(p); err != nil {
			v.dispose()
			return nil, err
		}
	}
	return v, nil
}

func (v *vm) resolveExports() {
	m := v.mod
	get := func(name string) api.Function {
		if _, ok := v.g.mod.exports[name]; !ok {
			return nil
		}
		return m.ExportedFunction(name)
	}
	v.f = exports{
		onContextCreate:     get("proxy_on_context_create"),
		onVMStart:           get("proxy_on_vm_start"),
		onConfigure:         get("proxy_on_configure"),
		onTick:              get("proxy_on_tick"),
		onRequestHeaders:    get("proxy_on_request_headers"),
		onRequestBody:       get("proxy_on_request_body"),
		onRequestTrailers:   get("proxy_on_request_trailers"),
		onResponseHeaders:   get("proxy_on_response_headers"),
		onResponseBody:      get("proxy_on_response_body"),
		onResponseTrailers:  get("proxy_on_response_trailers"),
		onLog:               get("proxy_on_log"),
		onDone:              get("proxy_on_done"),
		onDelete:            get("proxy_on_delete"),
		onHTTPCallResponse:  get("proxy_on_http_call_response"),
		onRedisCallResponse: get("proxy_on_redis_call_response"),
		onQueueReady:        get("proxy_on_queue_ready"),
		onForeign:           get("proxy_on_foreign_function"),
	}
	if d, ok := v.g.mod.exports["proxy_on_request_headers"]; ok && len(d.ParamTypes()) == 2 {
		v.f.headers2Params = true
	}
	// The spec's order: proxy_on_memory_allocate first, malloc as fallback.
	if f := get("proxy_on_memory_allocate"); f != nil {
		v.alloc = f
	} else {
		v.alloc = get("malloc")
	}
}

// start runs _initialize (+ main(0,0) or __main_void) or else _start.
func (v *vm) start() error {
	ex := v.g.mod.exports
	call := func(name string, args ...uint64) error {
		f := v.mod.ExportedFunction(name)
		n := len(ex[name].ParamTypes())
		for i := 0; i < n; i++ {
			v.stack[i] = 0
			if i < len(args) {
				v.stack[i] = args[i]
			}
		}
		_, err := v.callTop(cbStart, 0, f, n, v.g.startTimeout)
		if err != nil {
			return fmt.Errorf("start function %s: %w", name, err)
		}
		return nil
	}
	if _, ok := ex["_initialize"]; ok {
		if err := call("_initialize"); err != nil {
			return err
		}
		if d, ok := ex["main"]; ok && len(d.ParamTypes()) == 2 {
			return call("main", 0, 0)
		}
		if _, ok := ex["__main_void"]; ok {
			return call("__main_void")
		}
		return nil
	}
	if _, ok := ex["_start"]; ok {
		return call("_start")
	}
	return nil
}

// rootCtx is a plugin's root context in one VM.
type rootCtx struct {
	p  *Plugin
	id uint32
	// waitDone: proxy_on_done returned false; proxy_done deletes it.
	waitDone   bool
	tickPeriod time.Duration
	tickTimer  Timer
	tickGen    uint64
}

// root returns the root context with id, or nil.
func (v *vm) root(id uint32) *rootCtx {
	for _, rc := range v.roots {
		if rc.id == id {
			return rc
		}
	}
	return nil
}

// rootOf returns p's root context in v, or nil.
func (v *vm) rootOf(p *Plugin) *rootCtx {
	for _, rc := range v.roots {
		if rc.p == p {
			return rc
		}
	}
	return nil
}

// bind makes the context id's plugin and root context the current ones.
func (v *vm) bind(id uint32) {
	if rc := v.root(id); rc != nil {
		v.p, v.rc = rc.p, rc
		return
	}
	if s := v.streams.get(id); s != nil {
		v.p, v.rc = s.p, v.rootOf(s.p)
	}
}

// streamIndex holds the streams pinned to a VM by context id. A callback's
// stream is looked up again by each host call it makes; the last one found
// is kept at hand for them.
type streamIndex struct {
	m    map[uint32]*Stream
	last *Stream
}

// get returns the stream with context id, or nil.
func (x *streamIndex) get(id uint32) *Stream {
	if s := x.last; s != nil && s.id == id {
		return s
	}
	s := x.m[id]
	if s != nil {
		x.last = s
	}
	return s
}

// use makes s, which is indexed, the stream kept at hand: its callback is
// about to run.
func (x *streamIndex) use(s *Stream) { x.last = s }

// add indexes s by its context id.
func (x *streamIndex) add(s *Stream) {
	x.m[s.id] = s
	x.last = s
}

// remove forgets s.
func (x *streamIndex) remove(s *Stream) {
	delete(x.m, s.id)
	if x.last == s {
		x.last = nil
	}
}

// addRoot creates p's root context (with the next context id) and calls
// on_context_create, on_vm_start and on_configure on it, as cpp-host's
// WasmBase::start and configure do for each plugin of a VM.
func (v *vm) addRoot(p *Plugin) error {
	if v.closed || v.failed.Load() {
		return errVMClosed
	}
	v.nextID++
	rc := &rootCtx{p: p, id: v.nextID}
	v.roots = append(v.roots, rc)
	err := v.startRoot(rc)
	if err != nil && !v.failed.Load() {
		v.forgetRoot(rc)
	}
	v.discardActions()
	return err
}

func (v *vm) startRoot(rc *rootCtx) error {
	p := rc.p
	if f := v.f.onContextCreate; f != nil {
		v.stack[0], v.stack[1] = uint64(rc.id), 0
		if _, err := v.callTop(cbContextCreate, rc.id, f, 2, p.startTimeout); err != nil {
			return fmt.Errorf("proxy_on_context_create(root): %w", err)
		}
	}
	if f := v.f.onVMStart; f != nil {
		v.stack[0], v.stack[1] = uint64(rc.id), uint64(len(v.g.vmConfig))
		r, err := v.callTop(cbVMStart, rc.id, f, 2, p.startTimeout)
		if err != nil {
			return fmt.Errorf("proxy_on_vm_start: %w", err)
		}
		if uint32(r) == 0 {
			return ErrVMStartFailed
		}
	}
	if f := v.f.onConfigure; f != nil {
		v.configBuf = p.cfg.Configuration
		v.stack[0], v.stack[1] = uint64(rc.id), uint64(len(p.cfg.Configuration))
		r, err := v.callTop(cbConfigure, rc.id, f, 2, p.startTimeout)
		v.configBuf = nil
		if err != nil {
			return fmt.Errorf("proxy_on_configure: %w", err)
		}
		if uint32(r) == 0 {
			return ErrConfigureFailed
		}
	}
	if err := v.readCallbackMask(rc); err != nil {
		return fmt.Errorf("%s: %w", CallbackMaskExport, err)
	}
	return nil
}

// dropRoot removes p's root context without calling the plugin (its start
// failed elsewhere).
func (v *vm) dropRoot(p *Plugin) {
	if rc := v.rootOf(p); rc != nil {
		v.forgetRoot(rc)
	}
}

// forgetRoot removes rc: its ticks and queue deliveries stop.
func (v *vm) forgetRoot(rc *rootCtx) {
	for i, x := range v.roots {
		if x == rc {
			v.roots = append(v.roots[:i:i], v.roots[i+1:]...)
			break
		}
	}
	if rc.tickTimer != nil {
		rc.tickTimer.Stop()
		rc.tickTimer = nil
	}
	rc.tickGen++
	rc.tickPeriod = 0
	v.e.shared.dropRoot(v, rc.id)
	if v.rc == rc {
		v.rc = nil
	}
}

// removeRoot shuts p's root context down: proxy_on_done, then
// proxy_on_delete unless on_done returned false (then proxy_done does).
func (v *vm) removeRoot(p *Plugin) {
	rc := v.rootOf(p)
	if rc == nil {
		return
	}
	if v.closed || v.failed.Load() {
		v.forgetRoot(rc)
		return
	}
	if v.shutdownRoot(rc) {
		v.forgetRoot(rc)
	}
}

// shutdownRoot calls proxy_on_done and, when it returns true, proxy_on_delete;
// it reports whether the root context is gone.
func (v *vm) shutdownRoot(rc *rootCtx) bool {
	if f := v.f.onDone; f != nil && !v.failed.Load() {
		v.stack[0] = uint64(rc.id)
		r, err := v.callTop(cbDone, rc.id, f, 1, v.e.cfg.CallTimeout)
		if err == nil && uint32(r) == 0 {
			rc.waitDone = true
			return false
		}
	}
	v.deleteRoot(rc)
	return true
}

// ErrVMStartFailed: proxy_on_vm_start returned false.
var ErrVMStartFailed = errors.New("proxy_on_vm_start returned false: the plugin rejected its VM configuration")

// ErrConfigureFailed: proxy_on_configure returned false.
var ErrConfigureFailed = errors.New("proxy_on_configure returned false: the plugin rejected its configuration")

// callTop calls f with n arguments from v.stack as a top-level callback for
// context id, under the CPU deadline. It returns the first result (0 when
// none). Any error marks the VM failed.
func (v *vm) callTop(kind cbKind, id uint32, f api.Function, n int, timeout time.Duration) (uint64, error) {
	if v.closed || v.failed.Load() {
		return 0, errVMClosed
	}
	prevCB, prevCur, prevEff, prevP, prevRC := v.cb, v.curID, v.effID, v.p, v.rc
	v.cb, v.curID, v.effID = kind, id, 0
	var outer uint64
	if id != 0 {
		v.bind(id)
	}
	if timeout > 0 {
		outer = v.arm(timeout)
	}
	err := f.CallWithStack(v.ctx, v.stack[:])
	if timeout > 0 {
		v.callStart.Store(outer)
	}
	if len(v.fdBuf[0]) > 0 || len(v.fdBuf[1]) > 0 {
		v.flushFD()
	}
	v.cb, v.curID, v.effID = prevCB, prevCur, prevEff
	callP := v.p
	v.p, v.rc = prevP, prevRC
	if err != nil {
		fn := funcName(f)
		if v.timedOut.Load() {
			err = &DeadlineError{Function: fn, Limit: timeout, Start: kind <= cbConfigure, Err: err}
		}
		v.fail(fn, id, callP, err)
		return 0, err
	}
	r := v.stack[0]
	if !v.g.mod.returnsValue(kind, f) {
		r = 0
	}
	mem := v.memoryBytes()
	v.memSize.Store(mem)
	if v.needRebuild {
		v.needRebuild = false
		v.log.Info("wasm VM rebuild requested by the plugin")
		v.g.scheduleRebuild(v)
	}
	v.g.checkMemory(v, mem)
	return r, nil
}

// resultKind records whether a callback's export returns a value.
type resultKind uint8

const (
	resultUnknown resultKind = iota // not one export per callback: ask the runtime
	resultNone
	resultValue
)

// noteResults fills m.results from the module's exports. _start and the
// gRPC callbacks are left unknown: more than one export runs as each.
func (m *Module) noteResults() {
	for k := cbContextCreate; k < cbGRPC; k++ {
		d, ok := m.exports[k.String()]
		if !ok {
			continue
		}
		m.results[k] = resultNone
		if len(d.ResultTypes()) > 0 {
			m.results[k] = resultValue
		}
	}
}

// returnsValue reports whether f, running as kind, returns a value.
func (m *Module) returnsValue(kind cbKind, f api.Function) bool {
	if int(kind) < len(m.results) {
		switch m.results[kind] {
		case resultNone:
			return false
		case resultValue:
			return true
		}
	}
	return len(f.Definition().ResultTypes()) > 0
}

// DeadlineError is the error of a call stopped by a CPU deadline: the
// per-callback deadline (EngineConfig.CallTimeout) or, for start-up calls,
// the start deadline (EngineConfig.StartTimeout, PluginConfig.StartTimeout).
type DeadlineError struct {
	// Function is the export that was running.
	Function string
	// Limit is the deadline that ended it.
	Limit time.Duration
	// Start: the start deadline (else the per-callback deadline).
	Start bool
	// Err is the runtime's error for the stopped call.
	Err error
}

func (e *DeadlineError) Error() string {
	which := "per-callback CPU deadline"
	if e.Start {
		which = "start deadline"
	}
	return fmt.Sprintf("%s stopped by the %s of %s", e.Function, which, e.Limit)
}

func (e *DeadlineError) Unwrap() error { return e.Err }

// arm marks the start of a top-level call with a new generation; the
// engine's watchdog cancels the VM's context when the call outlives d. No
// clock is read here: the watchdog times a call from the first tick that
// sees its generation (see overdue), which keeps a call's fixed cost to two
// atomic stores.
// It returns the generation of the call it nests in (0 at top level),
// which the caller stores back when its call returns.
func (v *vm) arm(d time.Duration) (outer uint64) {
	if v.callLimit.Load() != int64(d) {
		v.callLimit.Store(int64(d))
	}
	outer = v.callStart.Load()
	v.callGen++
	v.callStart.Store(v.callGen)
	return outer
}

// overdue reports whether the running call has been running longer than its
// limit. Only the watchdog goroutine calls it, once per tick: a call first
// seen at a tick is timed from that tick, so it is never stopped early and
// at most one tick late beyond the tick granularity.
func (v *vm) overdue(now int64) bool {
	gen := v.callStart.Load()
	if gen == 0 {
		return false
	}
	if gen != v.wdGen {
		v.wdGen, v.wdSeen = gen, now
		return false
	}
	return now-v.wdSeen >= v.callLimit.Load()
}

// allocate calls the guest allocator. size must be > 0. Guest memory views
// taken before the call may be invalid afterwards.
func (v *vm) allocate(ctx context.Context, size uint32) (uint32, error) {
	v.allocStk[0] = uint64(size)
	if err := v.alloc.CallWithStack(ctx, v.allocStk[:]); err != nil {
		return 0, err
	}
	return uint32(v.allocStk[0]), nil
}

// fail marks the VM failed after a trap or a deadline.
func (v *vm) fail(fn string, failedID uint32, p *Plugin, err error) {
	if v.failed.Load() {
		return
	}
	v.failErr = err
	v.failed.Store(true)
	v.log.Error("wasm VM failed", "plugin", p.cfg.Name, "root_id", p.cfg.RootID, "function", fn, "error", err)
	if v.serving {
		v.g.onVMFailed(v)
	}
	// Streams paused on this VM hear about it after the current call; the
	// stream whose own call failed gets the policy as its result.
	for _, s := range v.streams.m {
		if s.id != failedID {
			s.onVMFailedLocked()
		}
	}
	v.closeNow()
}

func (v *vm) discardActions() {
	for i := range v.actions {
		v.actions[i] = action{}
	}
	v.actions = v.actions[:0]
}

// lock takes the VM for a call sequence.
func (v *vm) lock() { v.mu.Lock() }

// unlock runs queued deliveries, releases the VM and then fires the events
// gathered meanwhile. Events run without the VM lock.
func (v *vm) unlock() {
	for {
		v.drainLocked()
		evs := v.pendingEvent
		v.pendingEvent = nil
		v.mu.Unlock()
		for _, ev := range evs {
			ev()
		}
		if !v.hasMail() || !v.mu.TryLock() {
			return
		}
	}
}

// post queues work to run with the VM lock held, as soon as the VM is free.
func (v *vm) post(work func()) {
	v.mbMu.Lock()
	v.mailbox = append(v.mailbox, work)
	v.mbMu.Unlock()
	if v.mu.TryLock() {
		v.unlock()
	}
}

func (v *vm) hasMail() bool {
	v.mbMu.Lock()
	n := len(v.mailbox)
	v.mbMu.Unlock()
	return n > 0
}

func (v *vm) drainLocked() {
	for {
		v.mbMu.Lock()
		if len(v.mailbox) == 0 {
			v.mbMu.Unlock()
			return
		}
		work := v.mailbox[0]
		v.mailbox[0] = nil
		v.mailbox = v.mailbox[1:]
		v.mbMu.Unlock()
		work()
		v.dispatchActions(nil)
	}
}

// event queues fn to run after the VM lock is released.
func (v *vm) event(fn func()) { v.pendingEvent = append(v.pendingEvent, fn) }

// dispatchActions applies the deferred actions of the last call. Those for
// sync (the stream whose phase call it was) are returned; the others become
// asynchronous stream events.
func (v *vm) dispatchActions(sync *Stream) []action {
	if len(v.actions) == 0 {
		return nil
	}
	var mine []action
	for _, a := range v.actions {
		if a.stream == sync && sync != nil {
			mine = append(mine, a)
			continue
		}
		a.stream.asyncAction(a)
	}
	v.discardActions()
	return mine
}

// dispose releases an instance that never started serving.
func (v *vm) dispose() {
	v.closed = true
	v.e.unwatch(v)
	if v.mod != nil {
		_ = v.mod.Close(context.Background())
	}
	v.cancel()
}

// closeLocked shuts the root contexts down (on_done / on_delete, in the
// order they were created) when the VM is healthy, then closes the
// instance; a root context whose on_done returned false keeps the VM open
// until its proxy_done.
func (v *vm) closeLocked(graceful bool) {
	if v.closed {
		return
	}
	v.closing = true
	if graceful && !v.failed.Load() {
		for _, rc := range append([]*rootCtx(nil), v.roots...) {
			if rc.waitDone {
				continue
			}
			if v.shutdownRoot(rc) {
				v.forgetRoot(rc)
			}
		}
		for _, rc := range v.roots {
			if rc.waitDone && !v.failed.Load() {
				return // waiting for proxy_done; closeNow follows
			}
		}
	}
	v.closeNow()
}

func (v *vm) deleteRoot(rc *rootCtx) {
	if f := v.f.onDelete; f != nil && !v.failed.Load() && !v.closed {
		v.stack[0] = uint64(rc.id)
		_, _ = v.callTop(cbDelete, rc.id, f, 1, v.e.cfg.CallTimeout)
	}
}

func (v *vm) closeNow() {
	if v.closed {
		return
	}
	v.closed = true
	for _, rc := range v.roots {
		if rc.tickTimer != nil {
			rc.tickTimer.Stop()
		}
		rc.tickGen++
	}
	v.e.shared.dropOwner(v)
	for _, c := range v.calls {
		if c.timer != nil {
			c.timer.Stop()
		}
	}
	v.calls = map[uint32]*pendingCall{}
	v.closeGRPC()
	v.e.unwatch(v)
	_ = v.mod.Close(context.Background())
	v.cancel()
	v.g.vmClosed(v)
}

// memoryBytes returns the size of the VM's linear memory.
func (v *vm) memoryBytes() uint64 {
	if v.mod == nil || v.mod.Memory() == nil {
		return 0
	}
	return uint64(v.mod.Memory().Size())
}

// Host for WASI (WriteFD is in logs.go).

// ProcExit is called before proc_exit traps: the VM then fails as after
// any trap (cpp-host throws from proc_exit).
func (v *vm) ProcExit(code uint32) {
	v.log.Debug("wasi proc_exit called", "code", code)
}

func (v *vm) Environ() []string { return v.g.env }
func (v *vm) Walltime() int64   { return v.e.clock.Now().UnixNano() }
func (v *vm) Nanotime() int64   { return v.e.clock.Nanotime() }

// setTick (re)arms a root context's tick timer; 0 disables it.
func (v *vm) setTick(rc *rootCtx, period time.Duration) {
	rc.tickPeriod = period
	if rc.tickTimer != nil {
		rc.tickTimer.Stop()
		rc.tickTimer = nil
	}
	rc.tickGen++
	if period <= 0 || v.f.onTick == nil {
		return
	}
	gen := rc.tickGen
	rc.tickTimer = v.e.clock.AfterFunc(period, func() {
		v.post(func() { v.runTick(rc, gen) })
	})
}

// ticking reports whether a root context of v set a tick period.
func (v *vm) ticking() bool {
	for _, rc := range v.roots {
		if rc.tickPeriod > 0 {
			return true
		}
	}
	return false
}

// TickPeriod returns the tick period the plugin set (in its first VM; 0:
// none).
func (p *Plugin) TickPeriod() time.Duration {
	for _, v := range p.g.serving() {
		v.lock()
		var d time.Duration
		if rc := v.rootOf(p); rc != nil {
			d = rc.tickPeriod
		}
		v.unlock()
		return d
	}
	return 0
}

// TickNow runs proxy_on_tick on the plugin's root context in every VM
// where it set a tick period, now, and returns when they ran: for
// embedders that drive time themselves (a Clock whose timers they fire by
// hand).
func (p *Plugin) TickNow() {
	for _, v := range p.g.serving() {
		v.lock()
		if rc := v.rootOf(p); rc != nil && rc.tickPeriod > 0 {
			v.runTick(rc, rc.tickGen)
			v.dispatchActions(nil)
		}
		v.unlock()
	}
}

func (v *vm) runTick(rc *rootCtx, gen uint64) {
	if gen != rc.tickGen || v.closed || v.failed.Load() {
		return
	}
	v.stack[0] = uint64(rc.id)
	if _, err := v.callTop(cbTick, rc.id, v.f.onTick, 1, v.e.cfg.CallTimeout); err != nil {
		return
	}
	// The plugin may have changed the period during the tick.
	if gen == rc.tickGen {
		v.setTick(rc, rc.tickPeriod)
	}
}

func funcName(f api.Function) string {
	d := f.Definition()
	if names := d.ExportNames(); len(names) > 0 {
		return names[0]
	}
	return d.Name()
}
