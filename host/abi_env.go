package host

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmgate/wasmgate/host/internal/pairs"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// Property path limits: longer paths name no property (NotFound).
const (
	MaxPropertyPathBytes    = 16 << 10
	MaxPropertyPathSegments = 64
)

// Header map limits: a map may not grow past these through host calls.
const (
	MaxHeaderCount = pairs.MaxCount
	MaxHeaderBytes = pairs.MaxBytes
)

type statusFn func(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status

// hostFunction describes one "env" import.
type hostFunction struct {
	name   string
	params []api.ValueType
	fn     statusFn
}

func params(n int) []api.ValueType {
	out := make([]api.ValueType, n)
	for i := range out {
		out[i] = i32
	}
	return out
}

// envFunctions is the table of every "env" function that returns a status.
var envFunctions = []hostFunction{
	// Logging, time, status, properties.
	{"proxy_log", params(3), hLog},
	{"proxy_get_log_level", params(1), hGetLogLevel},
	{"proxy_set_tick_period_milliseconds", params(1), hSetTickPeriod},
	{"proxy_get_current_time_nanoseconds", params(1), hGetCurrentTime},
	{"proxy_get_status", params(3), hGetStatus},
	{"proxy_get_property", params(4), hGetProperty},
	{"proxy_set_property", params(4), hSetProperty},
	// Stream control.
	{"proxy_continue_stream", params(1), hContinueStream},
	{"proxy_close_stream", params(1), hCloseStream},
	{"proxy_send_local_response", params(8), hSendLocalResponse},
	// Shared data and queues.
	{"proxy_get_shared_data", params(5), hGetSharedData},
	{"proxy_set_shared_data", params(5), hSetSharedData},
	{"proxy_register_shared_queue", params(3), hRegisterQueue},
	{"proxy_resolve_shared_queue", params(5), hResolveQueue},
	{"proxy_enqueue_shared_queue", params(3), hEnqueue},
	{"proxy_dequeue_shared_queue", params(3), hDequeue},
	// Header maps.
	{"proxy_get_header_map_value", params(5), hGetHeaderValue},
	{"proxy_add_header_map_value", params(5), hAddHeaderValue},
	{"proxy_replace_header_map_value", params(5), hReplaceHeaderValue},
	{"proxy_remove_header_map_value", params(3), hRemoveHeaderValue},
	{"proxy_get_header_map_pairs", params(3), hGetHeaderPairs},
	{"proxy_set_header_map_pairs", params(3), hSetHeaderPairs},
	{"proxy_get_header_map_size", params(2), hGetHeaderMapSize},
	// Buffers.
	{"proxy_get_buffer_bytes", params(5), hGetBufferBytes},
	{"proxy_set_buffer_bytes", params(5), hSetBufferBytes},
	{"proxy_get_buffer_status", params(3), hGetBufferStatus},
	// Callouts.
	{"proxy_http_call", params(10), hHTTPCall},
	{"proxy_grpc_call", params(12), hGRPCCall},
	{"proxy_grpc_stream", params(9), hGRPCStream},
	{"proxy_grpc_send", params(4), hGRPCSend},
	{"proxy_grpc_cancel", params(1), hGRPCCancel},
	{"proxy_grpc_close", params(1), hGRPCClose},
	// Metrics, contexts, foreign functions.
	{"proxy_define_metric", params(4), hDefineMetric},
	{"proxy_increment_metric", []api.ValueType{i32, i64}, hIncrementMetric},
	{"proxy_record_metric", []api.ValueType{i32, i64}, hRecordMetric},
	{"proxy_get_metric", params(2), hGetMetric},
	{"proxy_set_effective_context", params(1), hSetEffectiveContext},
	{"proxy_done", nil, hDone},
	{"proxy_call_foreign_function", params(6), hCallForeignFunction},
	// ABI 0.1.0 names.
	{"proxy_get_configuration", params(2), hGetConfiguration},
	{"proxy_continue_request", nil, func(v *vm, _ context.Context, _ api.Module, _ []uint64) types.Status {
		return v.continueStream(types.StreamTypeRequest)
	}},
	{"proxy_continue_response", nil, func(v *vm, _ context.Context, _ api.Module, _ []uint64) types.Status {
		return v.continueStream(types.StreamTypeResponse)
	}},
	{"proxy_clear_route_cache", nil, func(v *vm, _ context.Context, _ api.Module, _ []uint64) types.Status {
		if s := v.target(); s != nil {
			s.clearRouteCache()
		}
		return types.StatusOK
	}},
	// Higress extensions.
	{"proxy_redis_init", params(7), hRedisInit},
	{"proxy_redis_call", params(5), hRedisCall},
	{"proxy_inject_encoded_data_to_filter_chain", params(3), hInjectEncodedData},
	{"proxy_set_upstream_override_host", params(2), hSetUpstreamOverrideHost},
	{"proxy_get_upstream_hosts", params(2), hGetUpstreamHosts},
	// Envoy extension.
	{"envoy_resolve_dns", params(3), hUnimplemented},
}

// exportEnv registers the "env" module.
func exportEnv(b wazero.HostModuleBuilder) {
	for _, hf := range envFunctions {
		fn := hf.fn
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			v := vmFrom(ctx)
			if v == nil {
				s[0] = uint64(types.StatusInternalFailure)
				return
			}
			s[0] = uint64(fn(v, ctx, m, s))
		}), hf.params, []api.ValueType{i32}).Export(hf.name)
	}
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}),
		[]api.ValueType{i32}, nil).Export("emscripten_notify_memory_growth")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) {
		if uint32(s[0]) == uint32(s[1]) {
			s[0] = 1
		} else {
			s[0] = 0
		}
	}), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("pthread_equal")
}

// EnvFunctionNames lists every function the engine registers in "env".
func EnvFunctionNames() []string {
	out := make([]string, 0, len(envFunctions)+2)
	for _, hf := range envFunctions {
		out = append(out, hf.name)
	}
	return append(out, "emscripten_notify_memory_growth", "pthread_equal")
}

// Guest memory helpers. Views returned by read are valid only until the
// next guest call (such as the allocator).

func read(m api.Module, ptr, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	return m.Memory().Read(ptr, size)
}

func readCopy(m api.Module, ptr, size uint32) ([]byte, bool) {
	b, ok := read(m, ptr, size)
	if !ok || b == nil {
		return nil, ok
	}
	return append([]byte(nil), b...), true
}

func readString(m api.Module, ptr, size uint32) (string, bool) {
	b, ok := read(m, ptr, size)
	return string(b), ok
}

func writeU32(m api.Module, ptr, v uint32) bool { return m.Memory().WriteUint32Le(ptr, v) }

// writeOut copies data into a fresh guest allocation and writes its address
// and size to ptrPtr and sizePtr. Empty data is written as 0/0 without
// calling the allocator. data must not be a view of guest memory.
func (v *vm) writeOut(ctx context.Context, m api.Module, data []byte, ptrPtr, sizePtr uint32) types.Status {
	if len(data) == 0 {
		if !writeU32(m, ptrPtr, 0) || !writeU32(m, sizePtr, 0) {
			return types.StatusInvalidMemoryAccess
		}
		return types.StatusOK
	}
	if uint64(len(data)) > math.MaxInt32 {
		return types.StatusInternalFailure
	}
	if v.fastPath {
		if p, ok := v.suppliedBuffer(m, ptrPtr, sizePtr, len(data)); ok {
			mem := m.Memory()
			if !mem.Write(p, data) || !mem.WriteUint32Le(sizePtr, uint32(len(data))) {
				return types.StatusInvalidMemoryAccess
			}
			return types.StatusOK
		}
	}
	p, err := v.allocate(ctx, uint32(len(data)))
	if err != nil {
		panic(err) // the allocator trapped: the whole call traps
	}
	mem := m.Memory()
	if p == 0 || !mem.Write(p, data) || !mem.WriteUint32Le(ptrPtr, p) || !mem.WriteUint32Le(sizePtr, uint32(len(data))) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

// writeOutString is writeOut for a string, without copying it first.
func (v *vm) writeOutString(ctx context.Context, m api.Module, data string, ptrPtr, sizePtr uint32) types.Status {
	if len(data) == 0 {
		if !writeU32(m, ptrPtr, 0) || !writeU32(m, sizePtr, 0) {
			return types.StatusInvalidMemoryAccess
		}
		return types.StatusOK
	}
	if uint64(len(data)) > math.MaxInt32 {
		return types.StatusInternalFailure
	}
	if v.fastPath {
		if p, ok := v.suppliedBuffer(m, ptrPtr, sizePtr, len(data)); ok {
			mem := m.Memory()
			if !mem.WriteString(p, data) || !mem.WriteUint32Le(sizePtr, uint32(len(data))) {
				return types.StatusInvalidMemoryAccess
			}
			return types.StatusOK
		}
	}
	p, err := v.allocate(ctx, uint32(len(data)))
	if err != nil {
		panic(err) // the allocator trapped: the whole call traps
	}
	mem := m.Memory()
	if p == 0 || !mem.WriteString(p, data) || !mem.WriteUint32Le(ptrPtr, p) || !mem.WriteUint32Le(sizePtr, uint32(len(data))) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

// target returns the stream the current call acts on (the effective
// context, else the current one); nil for the root context.
func (v *vm) target() *Stream {
	id := v.effID
	if id == 0 {
		id = v.curID
	}
	if id == 0 || v.root(id) != nil {
		return nil
	}
	return v.streams.get(id)
}

// Logging, time, status.

func hLog(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	level := uint32(s[0])
	if level > uint32(types.LogLevelCritical) {
		return types.StatusBadArgument
	}
	msg, ok := read(m, uint32(s[1]), uint32(s[2]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	v.p.pluginLogBytes(types.LogLevel(level), msg)
	if int32(level) >= v.p.level.Load() {
		if _, o := v.observer(); o != nil {
			o.Log(types.LogLevel(level), msg)
		}
	}
	return types.StatusOK
}

func hGetLogLevel(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	if !writeU32(m, uint32(s[0]), uint32(v.p.LogLevel())) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func hSetTickPeriod(v *vm, _ context.Context, _ api.Module, s []uint64) types.Status {
	if v.rc == nil {
		return types.StatusBadArgument // no root context yet (start functions)
	}
	v.setTick(v.rc, time.Duration(uint32(s[0]))*time.Millisecond)
	return types.StatusOK
}

func hGetCurrentTime(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	if !m.Memory().WriteUint64Le(uint32(s[0]), uint64(v.e.clock.Now().UnixNano())) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func hGetStatus(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	if !writeU32(m, uint32(s[0]), v.status.code) {
		return types.StatusInvalidMemoryAccess
	}
	return v.writeOut(ctx, m, []byte(v.status.msg), uint32(s[1]), uint32(s[2]))
}

// Properties.

func hGetProperty(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	raw, ok := read(m, uint32(s[0]), uint32(s[1]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	if len(raw) > MaxPropertyPathBytes {
		return types.StatusNotFound // no property has such a name
	}
	path := splitPath(raw)
	if len(path) > MaxPropertyPathSegments {
		return types.StatusNotFound
	}
	key := string(raw)
	val, st := v.property(path, key)
	if st != types.StatusOK {
		return st
	}
	return v.writeOut(ctx, m, val, uint32(s[2]), uint32(s[3]))
}

func hSetProperty(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	raw, ok := read(m, uint32(s[0]), uint32(s[1]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	key := propertyKey(raw)
	// A view of the module's memory: setProperty copies what it keeps.
	val, ok := read(m, uint32(s[2]), uint32(s[3]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	return v.setProperty(key, val)
}

// propertyKey returns raw as a string, without a copy for the keys plugins
// set on every request (Higress's SDK sets x_request_id in each one).
func propertyKey(raw []byte) string {
	switch string(raw) {
	case "x_request_id":
		return "x_request_id"
	case "clear_route_cache":
		return "clear_route_cache"
	}
	return string(raw)
}

// Stream control.

func hContinueStream(v *vm, _ context.Context, _ api.Module, s []uint64) types.Status {
	return v.continueStream(types.StreamType(uint32(s[0])))
}

func (v *vm) continueStream(st types.StreamType) types.Status {
	switch st {
	case types.StreamTypeRequest, types.StreamTypeResponse:
	case types.StreamTypeDownstream:
		return types.StatusOK // TCP is not supported; nothing to continue
	case types.StreamTypeUpstream:
		return types.StatusUnimplemented
	default:
		return types.StatusBadArgument
	}
	if t := v.target(); t != nil {
		v.actions = append(v.actions, action{kind: actResume, stream: t, dir: Direction(st), cause: v.cb})
	}
	return types.StatusOK
}

func hCloseStream(v *vm, _ context.Context, _ api.Module, s []uint64) types.Status {
	if st := uint32(s[0]); st > uint32(types.StreamTypeUpstream) {
		return types.StatusBadArgument
	}
	if t := v.target(); t != nil {
		v.actions = append(v.actions, action{kind: actReset, stream: t, cause: v.cb})
	}
	return types.StatusOK
}

func hSendLocalResponse(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	details, ok1 := readString(m, uint32(s[1]), uint32(s[2]))
	body, ok2 := readCopy(m, uint32(s[3]), uint32(s[4]))
	hdrs, ok3 := read(m, uint32(s[5]), uint32(s[6]))
	if !ok1 || !ok2 || !ok3 {
		return types.StatusInvalidMemoryAccess
	}
	ps, _ := pairs.Decode(hdrs) // malformed headers are dropped, as in Envoy
	t := v.target()
	if t == nil {
		return types.StatusOK
	}
	reply := newLocalReply(int(uint32(s[0])), details, body, ps, int32(uint32(s[7])))
	v.actions = append(v.actions, action{kind: actLocalReply, stream: t, reply: reply, cause: v.cb})
	return types.StatusOK
}

// Shared data and queues.

func hGetSharedData(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	key, ok := readString(m, uint32(s[0]), uint32(s[1]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	val, cas, found := v.e.shared.get(v.p.cfg.VMID, key)
	if !found {
		return types.StatusNotFound
	}
	if !writeU32(m, uint32(s[4]), cas) {
		return types.StatusInvalidMemoryAccess
	}
	return v.writeOut(ctx, m, val, uint32(s[2]), uint32(s[3]))
}

func hSetSharedData(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	key, ok1 := readString(m, uint32(s[0]), uint32(s[1]))
	val, ok2 := readCopy(m, uint32(s[2]), uint32(s[3]))
	if !ok1 || !ok2 {
		return types.StatusInvalidMemoryAccess
	}
	return v.e.shared.set(v.p.cfg.VMID, key, val, uint32(s[4]))
}

func hRegisterQueue(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	name, ok := readString(m, uint32(s[0]), uint32(s[1]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	if v.rc == nil {
		return types.StatusBadArgument // no root context yet (start functions)
	}
	tok := v.e.shared.register(v.p.cfg.VMID, name, v, v.rc.id)
	if !writeU32(m, uint32(s[2]), tok) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func hResolveQueue(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	vmID, ok1 := readString(m, uint32(s[0]), uint32(s[1]))
	name, ok2 := readString(m, uint32(s[2]), uint32(s[3]))
	if !ok1 || !ok2 {
		return types.StatusInvalidMemoryAccess
	}
	if vmID == "" {
		vmID = v.p.cfg.VMID
	}
	tok, found := v.e.shared.resolve(vmID, name)
	if !found {
		return types.StatusNotFound
	}
	if !writeU32(m, uint32(s[4]), tok) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func hEnqueue(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	val, ok := readCopy(m, uint32(s[1]), uint32(s[2]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	tok := uint32(s[0])
	owner, root, st := v.e.shared.enqueue(tok, val)
	if st == types.StatusOK && owner != nil {
		owner.post(func() { owner.deliverQueueReady(tok, root) })
	}
	return st
}

func (v *vm) deliverQueueReady(tok, root uint32) {
	if v.closed || v.failed.Load() || v.f.onQueueReady == nil || v.root(root) == nil {
		return
	}
	v.stack[0], v.stack[1] = uint64(root), uint64(tok)
	_, _ = v.callTop(cbQueueReady, root, v.f.onQueueReady, 2, v.e.cfg.CallTimeout)
}

func hDequeue(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	val, st := v.e.shared.dequeue(uint32(s[0]))
	if st != types.StatusOK {
		return st
	}
	return v.writeOut(ctx, m, val, uint32(s[1]), uint32(s[2]))
}

// Header maps.

// headerMap returns the map mt as the current call sees it. write asks for
// a mutable map. BadArgument means the map type is invalid or the map is
// not available in this callback.
func (v *vm) headerMap(mt uint32, write bool) (*HeaderMap, *Stream, types.Status) {
	switch types.MapType(mt) {
	case types.MapTypeHttpCallResponseHeaders, types.MapTypeHttpCallResponseTrailers:
		if write || v.cb != cbHTTPResponse || v.callResp == nil {
			return nil, nil, types.StatusBadArgument
		}
		if types.MapType(mt) == types.MapTypeHttpCallResponseHeaders {
			return v.callResp.Headers, nil, types.StatusOK
		}
		return v.callResp.Trailers, nil, types.StatusOK
	case types.MapTypeGrpcReceiveInitialMetadata, types.MapTypeGrpcReceiveTrailingMetadata:
		h, st := v.grpcMap(types.MapType(mt))
		return h, nil, st
	case types.MapTypeHttpRequestHeaders, types.MapTypeHttpRequestTrailers,
		types.MapTypeHttpResponseHeaders, types.MapTypeHttpResponseTrailers:
	default:
		return nil, nil, types.StatusBadArgument
	}
	s := v.target()
	if s == nil {
		return nil, nil, types.StatusBadArgument
	}
	d := &s.req
	if mt >= uint32(types.MapTypeHttpResponseHeaders) {
		d = &s.resp
	}
	trailers := mt == uint32(types.MapTypeHttpRequestTrailers) || mt == uint32(types.MapTypeHttpResponseTrailers)
	inLog := v.cb == cbLog && v.curID == s.id
	if !trailers {
		if d.headers != nil && ((d.headersSeen && !d.headersForwarded && !d.ended) || (inLog && !write)) {
			return d.headers, s, types.StatusOK
		}
		return nil, nil, types.StatusBadArgument
	}
	if d.trailers != nil && ((!d.trailersForwarded && !d.ended) || (inLog && !write)) {
		return d.trailers, s, types.StatusOK
	}
	// Trailers can be added from the last body callback when none exist.
	bodyCB := cbReqBody
	if d == &s.resp {
		bodyCB = cbRespBody
	}
	if write && d.trailers == nil && v.cb == bodyCB && v.curID == s.id && d.eos && !d.ended {
		d.trailers = &HeaderMap{}
		d.trailersSeen = true
		return d.trailers, s, types.StatusOK
	}
	return nil, nil, types.StatusBadArgument
}

func (s *Stream) headersModified(mt uint32) {
	if s != nil && mt == uint32(types.MapTypeHttpRequestHeaders) && !s.keepRouteCache {
		s.clearRouteCache()
	}
}

func hGetHeaderValue(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	h, _, st := v.headerMap(uint32(s[0]), false)
	if st != types.StatusOK {
		return st
	}
	key, ok := read(m, uint32(s[1]), uint32(s[2]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	val, found := h.getBytes(key)
	if !found {
		return types.StatusNotFound
	}
	return v.writeOutString(ctx, m, val, uint32(s[3]), uint32(s[4]))
}

func checkHeaderGrowth(h *HeaderMap, add int, entries int) bool {
	return (entries <= 0 || h.Len()+entries <= MaxHeaderCount) && (add <= 0 || h.ByteSize()+add <= MaxHeaderBytes)
}

// replaceGrowth is what replacing key with val adds to h: the entries of key
// collapse into one, so a replace of a present key adds no entry and only
// the difference in bytes.
func replaceGrowth(h *HeaderMap, key, val string) (bytes, entries int) {
	key = lower(key)
	bytes, entries = len(key)+len(val), 1
	for _, f := range h.Fields {
		if f.Key == key {
			bytes -= len(f.Key) + len(f.Value)
			entries--
		}
	}
	return bytes, entries
}

func hAddHeaderValue(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	return v.writeHeader(m, s, false)
}

func hReplaceHeaderValue(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	return v.writeHeader(m, s, true)
}

// writeHeader reads the (map type, key, value) arguments of
// proxy_add/replace_header_map_value and adds or replaces within the limits.
func (v *vm) writeHeader(m api.Module, s []uint64, replace bool) types.Status {
	h, st0, st := v.headerMap(uint32(s[0]), true)
	if st != types.StatusOK {
		return st
	}
	kb, ok1 := read(m, uint32(s[1]), uint32(s[2]))
	vb, ok2 := read(m, uint32(s[3]), uint32(s[4]))
	if !ok1 || !ok2 {
		return types.StatusInvalidMemoryAccess
	}
	// One allocation holds both: the key and the value are its halves.
	kv := string(kb) + string(vb)
	key, val := kv[:len(kb)], kv[len(kb):]
	add, entries := len(key)+len(val), 1
	if replace {
		add, entries = replaceGrowth(h, key, val)
	}
	if !checkHeaderGrowth(h, add, entries) {
		return types.StatusBadArgument
	}
	if replace {
		h.Set(key, val)
	} else {
		h.Add(key, val)
	}
	st0.headersModified(uint32(s[0]))
	return types.StatusOK
}

func hRemoveHeaderValue(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	h, st0, st := v.headerMap(uint32(s[0]), true)
	if st != types.StatusOK {
		return st
	}
	key, ok := read(m, uint32(s[1]), uint32(s[2]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	h.delBytes(key)
	st0.headersModified(uint32(s[0]))
	return types.StatusOK
}

func hGetHeaderPairs(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	h, _, st := v.headerMap(uint32(s[0]), false)
	if st != types.StatusOK {
		if uint32(s[0]) > uint32(types.MapTypeHttpCallResponseTrailers) {
			return types.StatusBadArgument
		}
		h = nil // unavailable maps read as empty, as in Envoy
	}
	var buf []byte
	if h.Len() > 0 {
		buf = encodeHeaderMap(v, h)
	}
	return v.writeOut(ctx, m, buf, uint32(s[1]), uint32(s[2]))
}

// encodeHeaderMap writes h in the pairs encoding. Maps up to
// maxScratch bytes go into the VM's scratch buffer, valid until the next
// encoding: the result is copied into the module right away.
func encodeHeaderMap(v *vm, h *HeaderMap) []byte {
	size := 4
	for _, f := range h.Fields {
		size += 8 + len(f.Key) + len(f.Value) + 2
	}
	var b []byte
	if size > maxScratch {
		b = make([]byte, size)
	} else {
		if cap(v.scratch) < size {
			v.scratch = make([]byte, max(size, 1024))
		}
		b = v.scratch[:size]
	}
	binary.LittleEndian.PutUint32(b, uint32(len(h.Fields)))
	hp, dp := 4, 4+8*len(h.Fields)
	for _, f := range h.Fields {
		binary.LittleEndian.PutUint32(b[hp:], uint32(len(f.Key)))
		binary.LittleEndian.PutUint32(b[hp+4:], uint32(len(f.Value)))
		hp += 8
		dp += copy(b[dp:], f.Key)
		b[dp] = 0
		dp += 1 + copy(b[dp+1:], f.Value)
		b[dp] = 0
		dp++
	}
	return b
}

// maxScratch bounds the VM's scratch buffer.
const maxScratch = 64 << 10

func hSetHeaderPairs(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	h, st0, st := v.headerMap(uint32(s[0]), true)
	if st != types.StatusOK {
		return st
	}
	raw, ok := read(m, uint32(s[1]), uint32(s[2]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	ps, _ := pairs.Decode(raw) // malformed input clears the map, as in Envoy
	h.Fields = h.Fields[:0]
	for _, p := range ps {
		h.Add(p.Key, p.Value)
	}
	st0.headersModified(uint32(s[0]))
	return types.StatusOK
}

func hGetHeaderMapSize(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	if uint32(s[0]) > uint32(types.MapTypeHttpResponseTrailers) {
		return types.StatusBadArgument
	}
	h, _, st := v.headerMap(uint32(s[0]), false)
	if st != types.StatusOK {
		return st
	}
	if !writeU32(m, uint32(s[1]), uint32(h.ByteSize())) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

// Buffers.

// buffer returns the bytes of buffer bt in the current call. For HTTP
// bodies it also returns the direction state, so they can be modified.
func (v *vm) buffer(bt uint32) ([]byte, *dirState, types.Status) {
	switch types.BufferType(bt) {
	case types.BufferTypeHttpRequestBody, types.BufferTypeHttpResponseBody:
		s := v.target()
		if s == nil {
			return nil, nil, types.StatusOK
		}
		d, cb := &s.req, cbReqBody
		if bt == uint32(types.BufferTypeHttpResponseBody) {
			d, cb = &s.resp, cbRespBody
		}
		if (v.cb == cb && v.curID == s.id) || (d.bufSeen && d.iter != iterContinue && !d.ended) {
			return d.buf, d, types.StatusOK
		}
		return nil, nil, types.StatusOK // no body here: Ok with nothing, as in Envoy
	case types.BufferTypeDownstreamData, types.BufferTypeUpstreamData:
		return nil, nil, types.StatusNotFound
	case types.BufferTypeGrpcReceiveBuffer:
		b, st := v.grpcBuffer()
		return b, nil, st
	case types.BufferTypeHttpCallResponseBody:
		if v.cb == cbHTTPResponse && v.callResp != nil {
			return v.callResp.Body, nil, types.StatusOK
		}
		return nil, nil, types.StatusNotFound
	case types.BufferTypeVMConfiguration:
		return v.g.vmConfig, nil, types.StatusOK
	case types.BufferTypePluginConfiguration:
		if v.cb == cbConfigure {
			return v.configBuf, nil, types.StatusOK
		}
		return nil, nil, types.StatusNotFound
	case types.BufferTypeCallData:
		if v.cb == cbForeign {
			return v.foreignArgs, nil, types.StatusOK
		}
		return nil, nil, types.StatusNotFound
	case types.BufferTypeRedisCallResponse:
		if v.cb == cbRedisResponse {
			return v.redisResp, nil, types.StatusOK
		}
		return nil, nil, types.StatusNotFound
	}
	return nil, nil, types.StatusBadArgument
}

func hGetBufferBytes(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	buf, _, st := v.buffer(uint32(s[0]))
	if st != types.StatusOK {
		return st
	}
	start, max := uint64(uint32(s[1])), uint64(uint32(s[2]))
	if start+max > math.MaxUint32 {
		return types.StatusBadArgument // start + length overflows, as cpp-host checks
	}
	var out []byte
	if start < uint64(len(buf)) {
		end := start + max
		if end > uint64(len(buf)) {
			end = uint64(len(buf))
		}
		out = buf[start:end]
	}
	return v.writeOut(ctx, m, out, uint32(s[3]), uint32(s[4]))
}

func hGetBufferStatus(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	buf, _, st := v.buffer(uint32(s[0]))
	if st != types.StatusOK {
		return st
	}
	if !writeU32(m, uint32(s[1]), uint32(len(buf))) || !writeU32(m, uint32(s[2]), 0) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func hSetBufferBytes(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	bt := uint32(s[0])
	if bt != uint32(types.BufferTypeHttpRequestBody) && bt != uint32(types.BufferTypeHttpResponseBody) {
		if bt > uint32(types.BufferTypeRedisCallResponse) || bt >= uint32(types.BufferTypeHttpCallResponseBody) {
			return types.StatusBadArgument
		}
		return types.StatusNotFound
	}
	_, d, st := v.buffer(bt)
	if st != types.StatusOK {
		return st
	}
	if d == nil {
		return types.StatusNotFound
	}
	data, ok := readCopy(m, uint32(s[3]), uint32(s[4]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	start, size := uint64(uint32(s[1])), uint64(uint32(s[2]))
	n := uint64(len(d.buf))
	switch {
	case start == 0:
		if size >= n {
			d.buf = data
			return types.StatusOK
		}
		rest := d.buf[size:]
		nb := make([]byte, 0, len(data)+len(rest))
		d.buf = append(append(nb, data...), rest...)
	case start >= n:
		d.buf = append(d.buf, data...)
	default:
		return types.StatusBadArgument
	}
	return types.StatusOK
}

// Callouts.

func hUnimplemented(*vm, context.Context, api.Module, []uint64) types.Status {
	return types.StatusUnimplemented
}

func hHTTPCall(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	cluster, ok1 := readString(m, uint32(s[0]), uint32(s[1]))
	hdrRaw, ok2 := read(m, uint32(s[2]), uint32(s[3]))
	if !ok1 || !ok2 {
		return types.StatusInvalidMemoryAccess
	}
	hps, _ := pairs.Decode(hdrRaw)
	body, ok3 := readCopy(m, uint32(s[4]), uint32(s[5]))
	trRaw, ok4 := read(m, uint32(s[6]), uint32(s[7]))
	if !ok3 || !ok4 {
		return types.StatusInvalidMemoryAccess
	}
	tps, _ := pairs.Decode(trRaw)
	tokenPtr := uint32(s[9])
	if !writeU32(m, tokenPtr, 0) {
		return types.StatusInvalidMemoryAccess
	}
	timeout := uint32(s[8])
	if timeout > math.MaxInt32 {
		return types.StatusBadArgument
	}
	req := &CalloutRequest{
		Cluster:  cluster,
		Headers:  headerMapFromPairs(hps),
		Body:     body,
		Trailers: headerMapFromPairs(tps),
		Timeout:  time.Duration(timeout) * time.Millisecond,
	}
	for _, k := range []string{":method", ":path", ":authority"} {
		if _, ok := req.Headers.Get(k); !ok {
			return types.StatusBadArgument
		}
	}
	if len(body) > 0 {
		req.Headers.Set("content-length", itoa(len(body)))
	}
	caller := v.p.cfg.HTTP
	if caller == nil {
		return types.StatusBadArgument
	}
	tok, st := v.startCall(callHTTP, req.Timeout, func(done func(any)) error {
		return caller.HTTPCall(req, func(r *CalloutResponse) { done(r) })
	})
	if st != types.StatusOK {
		return st
	}
	v.observeCall(tok, &CalloutInfo{Kind: "http", Token: tok, Cluster: cluster, Request: req})
	if !writeU32(m, tokenPtr, tok) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func hRedisInit(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	cluster, ok1 := readString(m, uint32(s[0]), uint32(s[1]))
	user, ok2 := readString(m, uint32(s[2]), uint32(s[3]))
	pass, ok3 := readString(m, uint32(s[4]), uint32(s[5]))
	if !ok1 || !ok2 || !ok3 {
		return types.StatusInvalidMemoryAccess
	}
	r := v.p.cfg.Redis
	if r == nil {
		return types.StatusBadArgument
	}
	err := r.RedisInit(cluster, user, pass, time.Duration(uint32(s[6]))*time.Millisecond)
	return calloutErrStatus(err)
}

func hRedisCall(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	cluster, ok1 := readString(m, uint32(s[0]), uint32(s[1]))
	query, ok2 := readCopy(m, uint32(s[2]), uint32(s[3]))
	if !ok1 || !ok2 {
		return types.StatusInvalidMemoryAccess
	}
	tokenPtr := uint32(s[4])
	if !writeU32(m, tokenPtr, 0) {
		return types.StatusInvalidMemoryAccess
	}
	r := v.p.cfg.Redis
	if r == nil {
		return types.StatusBadArgument
	}
	tok, st := v.startCall(callRedis, 0, func(done func(any)) error {
		return r.RedisCall(cluster, query, func(resp []byte, err error) { done(redisResult{resp, err}) })
	})
	if st != types.StatusOK {
		return st
	}
	v.observeCall(tok, &CalloutInfo{Kind: "redis", Token: tok, Cluster: cluster, Query: query})
	if !writeU32(m, tokenPtr, tok) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func calloutErrStatus(err error) types.Status {
	switch {
	case err == nil:
		return types.StatusOK
	case errors.Is(err, ErrUnknownCluster):
		return types.StatusBadArgument
	default:
		return types.StatusInternalFailure
	}
}

// Metrics.

func hDefineMetric(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	typ := uint32(s[0])
	if typ > uint32(types.MetricTypeHistogram) {
		return types.StatusBadArgument
	}
	name, ok := readString(m, uint32(s[1]), uint32(s[2]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	met := v.e.metrics.define(types.MetricType(typ), name)
	id := v.metrics.add(met)
	if !writeU32(m, uint32(s[3]), id) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func hIncrementMetric(v *vm, _ context.Context, _ api.Module, s []uint64) types.Status {
	met := v.metrics.get(uint32(s[0]))
	if met == nil {
		return types.StatusNotFound
	}
	return incrementMetric(met, int64(s[1]))
}

func hRecordMetric(v *vm, _ context.Context, _ api.Module, s []uint64) types.Status {
	met := v.metrics.get(uint32(s[0]))
	if met == nil {
		return types.StatusNotFound
	}
	return recordMetric(met, s[1])
}

func hGetMetric(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	met := v.metrics.get(uint32(s[0]))
	if met == nil {
		return types.StatusNotFound
	}
	if met.typ == types.MetricTypeHistogram {
		return types.StatusBadArgument
	}
	if !m.Memory().WriteUint64Le(uint32(s[1]), uint64(met.value.Load())) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

// Contexts.

func hSetEffectiveContext(v *vm, _ context.Context, _ api.Module, s []uint64) types.Status {
	id := uint32(s[0])
	if v.root(id) == nil {
		if v.streams.get(id) == nil {
			return types.StatusBadArgument
		}
	}
	v.effID = id
	v.bind(id)
	return types.StatusOK
}

func hDone(v *vm, _ context.Context, _ api.Module, _ []uint64) types.Status {
	rc := v.rc
	if rc == nil || !rc.waitDone {
		rc = nil
		for _, r := range v.roots {
			if r.waitDone {
				rc = r
				break
			}
		}
	}
	if rc == nil {
		return types.StatusNotFound
	}
	rc.waitDone = false
	v.post(func() {
		v.deleteRoot(rc)
		v.forgetRoot(rc)
		if v.closing {
			for _, r := range v.roots {
				if r.waitDone {
					return
				}
			}
			v.closeNow()
		}
	})
	return types.StatusOK
}

// Foreign functions.

func hCallForeignFunction(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	name, ok1 := readString(m, uint32(s[0]), uint32(s[1]))
	args, ok2 := readCopy(m, uint32(s[2]), uint32(s[3]))
	if !ok1 || !ok2 {
		return types.StatusInvalidMemoryAccess
	}
	out, st := v.foreign(name, args)
	if st != types.StatusOK {
		return st
	}
	if uint32(s[4]) == 0 {
		return types.StatusOK // the caller wants no result
	}
	return v.writeOut(ctx, m, out, uint32(s[4]), uint32(s[5]))
}

// ForeignFunctions lists the foreign functions the engine implements.
var ForeignFunctions = []string{"compress", "uncompress", "get_log_level", "clear_route_cache",
	"set_global_max_requests_per_io_cycle", "inject_encoded_data_to_filter_chain_on_header"}

func (v *vm) foreign(name string, args []byte) ([]byte, types.Status) {
	switch name {
	case "compress":
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		if _, err := w.Write(args); err != nil {
			return nil, types.StatusSerializationFailure
		}
		if err := w.Close(); err != nil {
			return nil, types.StatusSerializationFailure
		}
		return b.Bytes(), types.StatusOK
	case "uncompress":
		r, err := zlib.NewReader(bytes.NewReader(args))
		if err != nil {
			return nil, types.StatusSerializationFailure
		}
		out, err := io.ReadAll(io.LimitReader(r, MaxHeaderBytes*64+1))
		if err != nil || len(out) > MaxHeaderBytes*64 {
			return nil, types.StatusSerializationFailure
		}
		return out, types.StatusOK
	case "get_log_level":
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(v.p.LogLevel()))
		return b[:], types.StatusOK
	case "clear_route_cache":
		if t := v.target(); t != nil {
			t.clearRouteCache()
		}
		return nil, types.StatusOK
	case "set_global_max_requests_per_io_cycle":
		return nil, types.StatusOK
	case "inject_encoded_data_to_filter_chain_on_header":
		body, eos, ok := parseInjectArgs(args)
		if !ok {
			return nil, types.StatusBadArgument
		}
		t := v.target()
		if t == nil {
			return nil, types.StatusNotFound
		}
		v.actions = append(v.actions, action{kind: actInject, stream: t, dir: Response, data: body, eos: eos})
		return nil, types.StatusOK
	}
	if f := v.p.cfg.ForeignFunctions[name]; f != nil {
		return f(args), types.StatusOK
	}
	return nil, types.StatusNotFound
}

// parseInjectArgs decodes the protobuf message
// InjectEncodedDataToFilterChainArguments{string body = 1; bool endstream = 2}.
func parseInjectArgs(b []byte) (body []byte, eos bool, ok bool) {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, false, false
		}
		b = b[n:]
		switch key {
		case 1<<3 | 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, false, false
			}
			body = append([]byte(nil), b[n:n+int(l)]...)
			b = b[n+int(l):]
		case 2<<3 | 0:
			x, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, false, false
			}
			eos = x != 0
			b = b[n:]
		default:
			return nil, false, false
		}
	}
	return body, eos, true
}

// Higress stream extensions.

func hInjectEncodedData(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	body, ok := readCopy(m, uint32(s[0]), uint32(s[1]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	t := v.target()
	if t == nil {
		return types.StatusNotFound
	}
	v.actions = append(v.actions, action{kind: actInject, stream: t, dir: Response, data: body, eos: uint32(s[2]) != 0})
	return types.StatusOK
}

func hSetUpstreamOverrideHost(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	addr, ok := readString(m, uint32(s[0]), uint32(s[1]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	t := v.target()
	if t == nil {
		return types.StatusNotFound
	}
	t.overrideHost = addr
	return types.StatusOK
}

func hGetUpstreamHosts(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	t := v.target()
	if t == nil || t.opts.UpstreamHosts == nil {
		return types.StatusNotFound
	}
	hosts := t.opts.UpstreamHosts()
	ps := make([]pairs.Pair, len(hosts))
	for i, h := range hosts {
		ps[i] = pairs.Pair{Key: h.Key, Value: h.Value}
	}
	var buf []byte
	if len(ps) > 0 {
		buf = pairs.Encode(nil, ps)
	}
	return v.writeOut(ctx, m, buf, uint32(s[0]), uint32(s[1]))
}

// ABI 0.1.0.

func hGetConfiguration(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	if v.cb != cbConfigure {
		return types.StatusNotFound
	}
	return v.writeOut(ctx, m, v.configBuf, uint32(s[0]), uint32(s[1]))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
