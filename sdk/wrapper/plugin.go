package wrapper

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"unsafe"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/jsonx"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/matcher"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// SetCtx registers the plugin: pluginName names it in logs; options set its
// config parser and handlers. Call it from init().
func SetCtx[C any](pluginName string, options ...CtxOption[C]) {
	register(NewCommonVmCtx(pluginName, options...))
}

// SetCtxWithOptions is SetCtx without the default logger; give one with WithLogger.
func SetCtxWithOptions[C any](pluginName string, options ...CtxOption[C]) {
	register(NewCommonVmCtxWithOptions(pluginName, options...))
}

// register makes ctx the VM context and tells a host with the callback-mask
// extension which callbacks the plugin's handlers leave without work.
func register[C any](ctx *CommonVmCtx[C]) {
	proxywasm.SetVMContext(ctx)
	vmstate.DeclareSkippable(ctx.skippable())
}

// skippable is the stream callbacks for which the wrapper only returns
// Continue with the handlers ctx has: a callback is kept while a handler
// that runs in it, or later reads what it records (the response's
// headers for HasResponseBody, the phase for GetExecutionPhase), exists.
func (ctx *CommonVmCtx[C]) skippable() uint32 {
	bits := vmstate.SkipRequestTrailers | vmstate.SkipResponseTrailers
	if ctx.onRequestBody == nil && ctx.onStreamingRequestBody == nil {
		bits |= vmstate.SkipRequestBody
	}
	responseBody := ctx.onResponseBody != nil || ctx.onStreamingResponseBody != nil
	if !responseBody {
		bits |= vmstate.SkipResponseBody
	}
	if !responseBody && ctx.onResponseHeaders == nil && ctx.onStreamDone == nil {
		bits |= vmstate.SkipResponseHeaders
	}
	if ctx.onStreamDone == nil {
		bits |= vmstate.SkipLog
	}
	return bits
}

// NewCommonVmCtx builds the VM context SetCtx registers, with the default logger.
func NewCommonVmCtx[C any](pluginName string, options ...CtxOption[C]) *CommonVmCtx[C] {
	all := make([]CtxOption[C], 0, len(options)+1)
	all = append(all, WithLogger[C](&DefaultLog{pluginName: pluginName, pluginID: "nil"}))
	return NewCommonVmCtxWithOptions(pluginName, append(all, options...)...)
}

// NewCommonVmCtxWithOptions builds the VM context with exactly the given options.
// A plugin whose config type is not empty must set a parser.
func NewCommonVmCtxWithOptions[C any](pluginName string, options ...CtxOption[C]) *CommonVmCtx[C] {
	ctx := &CommonVmCtx[C]{pluginName: pluginName, hasCustomConfig: true, vmID: newVMID()}
	for _, o := range options {
		if o != nil {
			o.Apply(ctx)
		}
	}
	if ctx.log == nil {
		ctx.log = &DefaultLog{pluginName: pluginName, pluginID: "nil"}
		if log.PluginLog() == nil {
			log.SetPluginLog(ctx.log)
		}
	}
	if ctx.parseConfig == nil {
		var c C
		if unsafe.Sizeof(c) != 0 {
			panic("the `parseConfig` is missing in NewCommonVmCtx's arguments")
		}
		ctx.hasCustomConfig = false
		ctx.parseConfig = func(PluginContext, []byte, *C) error { return nil }
	}
	return ctx
}

// CommonVmCtx is the VM context of a plugin registered with SetCtx.
type CommonVmCtx[C any] struct {
	types.DefaultVMContext
	pluginName             string
	log                    log.Log
	hasCustomConfig        bool
	vmID                   string
	prePluginStartOrReload func(ctx PluginContext) error
	parseConfig            parseFunc[C]
	parseRuleConfig        parseRuleFunc[C]

	onRequestHeaders        headersFunc[C]
	onRequestBody           bodyFunc[C]
	onStreamingRequestBody  streamingFunc[C]
	onResponseHeaders       headersFunc[C]
	onResponseBody          bodyFunc[C]
	onStreamingResponseBody streamingFunc[C]
	onStreamDone            streamDoneFunc[C]

	rebuildAfterRequests  uint64
	requestCount          uint64
	rebuildMaxMemBytes    uint64
	maxRequestsPerIoCycle uint64
}

// OnVMStart implements types.VMContext.
func (ctx *CommonVmCtx[C]) OnVMStart(int) types.OnVMStartStatus { return types.OnVMStartStatusOK }

// NewPluginContext implements types.VMContext.
func (ctx *CommonVmCtx[C]) NewPluginContext(contextID uint32) types.PluginContext {
	return &CommonPluginCtx[C]{vm: ctx, contextID: contextID, userContext: map[string]interface{}{}}
}

func newVMID() string {
	const hex = "0123456789abcdef"
	var b [36]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	j := 0
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
			continue
		}
		var nib uint64
		if j < 16 {
			nib = hi >> (60 - 4*j) & 0xf
		} else {
			nib = lo >> (60 - 4*(j-16)) & 0xf
		}
		b[i] = hex[nib]
		j++
	}
	return string(b[:])
}

// TickFuncEntry is one function registered with RegisterTickFunc.
type TickFuncEntry struct {
	lastExecuted int64
	tickPeriod   int64
	tickFunc     func()
}

var globalOnTickFuncs []TickFuncEntry

// RegisterTickFunc runs tickFunc every tickPeriod milliseconds (a multiple of
// 100: the host ticks every 100 ms). Call it from the config parser.
func RegisterTickFunc(tickPeriod int64, tickFunc func()) {
	globalOnTickFuncs = append(globalOnTickFuncs, TickFuncEntry{tickPeriod: tickPeriod, tickFunc: tickFunc})
}

// CommonPluginCtx is the plugin context of a plugin registered with SetCtx.
type CommonPluginCtx[C any] struct {
	types.DefaultPluginContext
	matcher.RuleMatcher[C]
	vm                      *CommonVmCtx[C]
	contextID               uint32
	onTickFuncs             []TickFuncEntry
	userContext             map[string]interface{}
	ruleLevelConfigIsolated bool
	fingerPrint             string
	isLeader                bool
	// httpSlab holds the HTTP contexts not handed out yet (see NewHttpContext).
	httpSlab []CommonHttpCtx[C]
}

// httpSlabSize is how many HTTP contexts one allocation makes.
const httpSlabSize = 16

// OnPluginStart parses the configuration: the global config, the _rules_ and
// _plugin_id_, then installs tick functions.
func (ctx *CommonPluginCtx[C]) OnPluginStart(int) (status types.OnPluginStartStatus) {
	l := ctx.vm.log
	refreshLogLevel()
	defer func() {
		if r := recover(); r != nil {
			handlePanic(l, "plugin start", r)
			status = types.OnPluginStartStatusFailed
		}
	}()
	if f := ctx.vm.prePluginStartOrReload; f != nil {
		if err := f(ctx); err != nil {
			l.Error("prePluginStartOrReload hook failed: " + err.Error())
			return types.OnPluginStartStatusFailed
		}
	}
	if n := ctx.vm.maxRequestsPerIoCycle; n > 0 {
		if _, err := proxywasm.CallForeignFunction("set_global_max_requests_per_io_cycle", abi.PutUint64(n)); err != nil {
			l.Warn("set_global_max_requests_per_io_cycle failed: " + err.Error())
		}
	}
	data, err := proxywasm.GetPluginConfiguration()
	globalOnTickFuncs = nil
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		l.Critical("read plugin config failed: " + err.Error())
		return types.OnPluginStartStatusFailed
	}
	if len(data) == 0 {
		if ctx.vm.hasCustomConfig {
			l.Warn("config is empty, but has ParseConfigFunc")
		}
	} else {
		if !jsonx.Valid(data) {
			l.Error("config is not valid json: " + truncate(string(data), 256))
			return types.OnPluginStartStatusFailed
		}
		if members, err := jsonx.Members(data); err == nil {
			for _, m := range members {
				if m.Key != PluginIDKey {
					continue
				}
				if id, err := jsonx.Unquote(m.Value); err == nil {
					l.ResetID(id)
				}
				if data, err = jsonx.Without(data, PluginIDKey); err != nil {
					l.Error("remove " + PluginIDKey + ": " + err.Error())
					return types.OnPluginStartStatusFailed
				}
				break
			}
		}
	}
	var parseRule func([]byte, C, *C) error
	if pr := ctx.vm.parseRuleConfig; pr != nil {
		parseRule = func(raw []byte, g C, c *C) error { return pr(ctx, raw, g, c) }
	}
	err = ctx.ParseRuleConfig(ctx, data, func(raw []byte, c *C) error { return ctx.vm.parseConfig(ctx, raw, c) }, parseRule)
	if err != nil {
		l.Error("parse rule config failed: " + err.Error())
		l.Error("plugin start failed")
		return types.OnPluginStartStatusFailed
	}
	if len(globalOnTickFuncs) > 0 {
		ctx.onTickFuncs = globalOnTickFuncs
		if err := proxywasm.SetTickPeriodMilliSeconds(100); err != nil {
			l.Error("set tick period failed: " + err.Error())
			return types.OnPluginStartStatusFailed
		}
	}
	l.Info("plugin start successfully")
	return types.OnPluginStartStatusOK
}

// OnTick runs the tick functions whose period has elapsed.
func (ctx *CommonPluginCtx[C]) OnTick() {
	refreshLogLevel()
	now := nowMillis()
	for i := range ctx.onTickFuncs {
		e := &ctx.onTickFuncs[i]
		if now-e.lastExecuted >= e.tickPeriod {
			e.lastExecuted = now
			runGuarded(ctx.vm.log, "tick function", e.tickFunc)
		}
	}
}

// NewHttpContext implements types.PluginContext. Contexts come from slabs
// of httpSlabSize: one allocation (and one share of the guest's garbage
// collection) per slab instead of per request. A context is never reused; a
// slab is freed once none of its contexts is referenced.
func (ctx *CommonPluginCtx[C]) NewHttpContext(contextID uint32) types.HttpContext {
	vm := ctx.vm
	if len(ctx.httpSlab) == 0 {
		ctx.httpSlab = make([]CommonHttpCtx[C], httpSlabSize)
	}
	h := &ctx.httpSlab[0]
	ctx.httpSlab = ctx.httpSlab[1:]
	*h = CommonHttpCtx[C]{
		plugin:                ctx,
		contextID:             contextID,
		needRequestBody:       vm.onRequestBody != nil || vm.onStreamingRequestBody != nil,
		needResponseBody:      vm.onResponseBody != nil || vm.onStreamingResponseBody != nil,
		streamingRequestBody:  vm.onStreamingRequestBody != nil,
		streamingResponseBody: vm.onStreamingResponseBody != nil,
	}
	return h
}

// SetContext stores a value shared by all requests of this plugin configuration.
func (ctx *CommonPluginCtx[C]) SetContext(key string, value interface{}) {
	ctx.userContext[key] = value
}

// GetContext returns a value stored with SetContext.
func (ctx *CommonPluginCtx[C]) GetContext(key string) interface{} { return ctx.userContext[key] }

// EnableRuleLevelConfigIsolation implements PluginContext.
func (ctx *CommonPluginCtx[C]) EnableRuleLevelConfigIsolation() { ctx.ruleLevelConfigIsolated = true }

// IsRuleLevelConfigIsolation implements PluginContext.
func (ctx *CommonPluginCtx[C]) IsRuleLevelConfigIsolation() bool { return ctx.ruleLevelConfigIsolated }

// GetFingerPrint returns the plugin's fingerprint. As in Higress it is never
// set, so it is "" and every plugin of a VM shares the leader-election
// lease key "higress_wasm_vm_lease:".
func (ctx *CommonPluginCtx[C]) GetFingerPrint() string { return ctx.fingerPrint }

// Lease is the VM lease of leader election, stored as JSON in shared data.
type Lease struct {
	VMID      string `json:"vmID"`
	Timestamp int64  `json:"timestamp"`
}

const leaseTTLSeconds = 60

// DoLeaderElection takes the lease if it is free, expired (older than 60 s) or
// already ours, with a compare-and-swap on the shared data.
func (ctx *CommonPluginCtx[C]) DoLeaderElection() {
	key := VMLeaseKeyPrefix + ":" + ctx.GetFingerPrint()
	now := nowMillis() / 1000
	data, cas, err := proxywasm.GetSharedData(key)
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		ctx.vm.log.Error("leader election: read lease: " + err.Error())
		ctx.isLeader = false
		return
	}
	if len(data) > 0 {
		lease, ok := parseLease(data)
		if ok && lease.VMID != ctx.vm.vmID && now-lease.Timestamp <= leaseTTLSeconds {
			ctx.isLeader = false
			return
		}
	}
	value := `{"vmID":` + jsonx.Quote(ctx.vm.vmID) + `,"timestamp":` + strconv.FormatInt(now, 10) + `}`
	if err := proxywasm.SetSharedData(key, []byte(value), cas); err != nil {
		ctx.isLeader = false
		return
	}
	ctx.isLeader = true
}

// IsLeader reports whether the last DoLeaderElection took the lease.
func (ctx *CommonPluginCtx[C]) IsLeader() bool { return ctx.isLeader }

func parseLease(data []byte) (Lease, bool) {
	members, err := jsonx.Members(data)
	if err != nil {
		return Lease{}, false
	}
	var l Lease
	for _, m := range members {
		switch m.Key {
		case "vmID":
			l.VMID, _ = jsonx.Unquote(m.Value)
		case "timestamp":
			l.Timestamp, _ = strconv.ParseInt(string(m.Value), 10, 64)
		}
	}
	return l, true
}

// nowMillis is the host's wall clock in milliseconds.
func nowMillis() int64 {
	ns, err := proxywasm.GetCurrentTimeNanoseconds()
	if err != nil {
		return 0
	}
	return ns / 1e6
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// GetPluginFingerPrint returns the plugin_name property.
func GetPluginFingerPrint() string {
	b, err := proxywasm.GetProperty([]string{"plugin_name"})
	if err != nil {
		return ""
	}
	return string(b)
}
