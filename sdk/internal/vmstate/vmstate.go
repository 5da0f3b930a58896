// Package vmstate is the plugin side of the VM: the contexts the host created,
// which one is active, and the callbacks waiting for HTTP and Redis callouts.
//
// The exported functions are the dispatch targets of the proxy-wasm callbacks
// (sdk/proxywasm exports them with //go:wasmexport); native unit tests call
// them directly to drive a plugin without a wasm runtime.
package vmstate

import (
	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

type pluginState struct {
	ctx            types.PluginContext
	httpCallbacks  map[uint32]httpCallout
	redisCallbacks map[uint32]redisCallout
	grpcCallbacks  map[uint32]grpcCallout
}

// GrpcStreamHandler is the callbacks of a gRPC stream (any may be nil).
type GrpcStreamHandler struct {
	OnInitialMetadata  func(numElements int)
	OnMessage          func(messageSize int)
	OnTrailingMetadata func(numElements int)
	OnClose            func(status uint32)
}

type grpcCallout struct {
	call   func(status uint32, responseSize int) // unary calls
	stream GrpcStreamHandler
	caller uint32
}

type httpCallout struct {
	cb     func(numHeaders, bodySize, numTrailers int)
	caller uint32
}

type redisCallout struct {
	cb     func(status, responseSize int)
	caller uint32
}

// stream is an HTTP or TCP context and the plugin context that owns it: one
// streamTable entry per stream.
type stream struct {
	http types.HttpContext
	tcp  types.TcpContext
	root uint32
}

type state struct {
	vmContext     types.VMContext
	plugins       map[uint32]*pluginState
	streams       streamTable
	activeContext uint32
	registered    bool
	// skippable is the callbacks the SDK declared it has no work for
	// (skip.go).
	skippable uint32

	// lastPlugin caches the plugin context plugin() found last: streams
	// are created under one plugin context, nearly always the same.
	lastPlugin   *pluginState
	lastPluginID uint32
}

// plugin returns the plugin context with the given id, or nil.
func (s *state) plugin(id uint32) *pluginState {
	if s.lastPlugin != nil && s.lastPluginID == id {
		return s.lastPlugin
	}
	p := s.plugins[id]
	if p != nil {
		s.lastPlugin, s.lastPluginID = p, id
	}
	return p
}

var st = newState()

func newState() *state {
	return &state{
		plugins: map[uint32]*pluginState{},
	}
}

// Reset forgets every context and the registered VM context (native tests).
func Reset() {
	st = newState()
	refreshSkip()
}

// SetVMContext registers the plugin's VM context. Call it once, in init().
// A stream's proxy_on_done does nothing in the SDK (its end is
// proxy_on_log), so the host need not make it.
func SetVMContext(ctx types.VMContext) {
	st.vmContext = ctx
	st.registered = ctx != nil
	st.skippable = SkipDone
	refreshSkip()
}

// VMContext returns the registered VM context (nil before SetVMContext).
func VMContext() types.VMContext { return st.vmContext }

// Registered reports whether a VM context was registered.
func Registered() bool { return st.registered }

// HttpContext returns the HTTP context with the given id, or nil.
func HttpContext(contextID uint32) types.HttpContext { return st.streams.ctx(contextID).http }

// ActiveContextID is the context the current callback runs for.
func ActiveContextID() uint32 { return st.activeContext }

// SetActiveContextID changes the active context (used after set_effective_context).
func SetActiveContextID(id uint32) { st.activeContext = id }

// RootContextID is the plugin context that owns the given context.
func RootContextID(contextID uint32) (uint32, bool) {
	if s, ok := st.streams.get(contextID); ok {
		return s.root, true
	}
	if _, ok := st.plugins[contextID]; ok {
		return contextID, true
	}
	return 0, false
}

// RegisterHttpCallout records the callback for an HTTP callout made from the
// active context; the host answers it on the owning plugin context.
func RegisterHttpCallout(token uint32, cb func(numHeaders, bodySize, numTrailers int)) {
	root, _ := RootContextID(st.activeContext)
	if p := st.plugins[root]; p != nil {
		p.httpCallbacks[token] = httpCallout{cb: cb, caller: st.activeContext}
		refreshSkip()
	}
}

// RegisterRedisCallout records the callback for a Redis call made from the active context.
func RegisterRedisCallout(token uint32, cb func(status, responseSize int)) {
	root, _ := RootContextID(st.activeContext)
	if p := st.plugins[root]; p != nil {
		p.redisCallbacks[token] = redisCallout{cb: cb, caller: st.activeContext}
		refreshSkip()
	}
}

// OnVMStart dispatches proxy_on_vm_start.
func OnVMStart(_ uint32, vmConfigurationSize int32) types.OnVMStartStatus {
	if st.vmContext == nil {
		abiLog(types.LogLevelCritical, "no VM context registered: register the plugin in init() (wrapper.SetCtx or proxywasm.SetVMContext), not in main()")
		return types.OnVMStartStatusFailed
	}
	return st.vmContext.OnVMStart(int(vmConfigurationSize))
}

// OnConfigure dispatches proxy_on_configure.
func OnConfigure(pluginContextID uint32, pluginConfigurationSize int32) types.OnPluginStartStatus {
	p := st.plugins[pluginContextID]
	if p == nil {
		abiLog(types.LogLevelError, "proxy_on_configure for an unknown plugin context")
		return types.OnPluginStartStatusFailed
	}
	st.activeContext = pluginContextID
	return p.ctx.OnPluginStart(int(pluginConfigurationSize))
}

// OnContextCreate dispatches proxy_on_context_create: parent 0 creates a
// plugin (root) context, otherwise an HTTP or TCP context of that plugin.
func OnContextCreate(contextID, parentID uint32) {
	if parentID == 0 {
		if st.vmContext == nil {
			abiLog(types.LogLevelCritical, "no VM context registered: register the plugin in init() (wrapper.SetCtx or proxywasm.SetVMContext), not in main()")
			return
		}
		ctx := st.vmContext.NewPluginContext(contextID)
		if ctx == nil {
			return
		}
		st.plugins[contextID] = &pluginState{ctx: ctx, httpCallbacks: map[uint32]httpCallout{}, redisCallbacks: map[uint32]redisCallout{}, grpcCallbacks: map[uint32]grpcCallout{}}
		st.lastPlugin = nil
		return
	}
	p := st.plugin(parentID)
	if p == nil {
		abiLog(types.LogLevelError, "proxy_on_context_create with an unknown parent context")
		return
	}
	st.activeContext = contextID
	if h := p.ctx.NewHttpContext(contextID); h != nil {
		st.streams.put(contextID, stream{http: h, root: parentID})
		return
	}
	if t := p.ctx.NewTcpContext(contextID); t != nil {
		st.streams.put(contextID, stream{tcp: t, root: parentID})
	}
}

// OnRequestHeaders dispatches proxy_on_request_headers.
func OnRequestHeaders(contextID uint32, numHeaders int32, endOfStream bool) types.Action {
	h := st.streams.ctx(contextID).http
	if h == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return h.OnHttpRequestHeaders(int(numHeaders), endOfStream)
}

// OnRequestBody dispatches proxy_on_request_body.
func OnRequestBody(contextID uint32, bodySize int32, endOfStream bool) types.Action {
	h := st.streams.ctx(contextID).http
	if h == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return h.OnHttpRequestBody(int(bodySize), endOfStream)
}

// OnRequestTrailers dispatches proxy_on_request_trailers.
func OnRequestTrailers(contextID uint32, numTrailers int32) types.Action {
	h := st.streams.ctx(contextID).http
	if h == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return h.OnHttpRequestTrailers(int(numTrailers))
}

// OnResponseHeaders dispatches proxy_on_response_headers.
func OnResponseHeaders(contextID uint32, numHeaders int32, endOfStream bool) types.Action {
	h := st.streams.ctx(contextID).http
	if h == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return h.OnHttpResponseHeaders(int(numHeaders), endOfStream)
}

// OnResponseBody dispatches proxy_on_response_body.
func OnResponseBody(contextID uint32, bodySize int32, endOfStream bool) types.Action {
	h := st.streams.ctx(contextID).http
	if h == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return h.OnHttpResponseBody(int(bodySize), endOfStream)
}

// OnResponseTrailers dispatches proxy_on_response_trailers.
func OnResponseTrailers(contextID uint32, numTrailers int32) types.Action {
	h := st.streams.ctx(contextID).http
	if h == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return h.OnHttpResponseTrailers(int(numTrailers))
}

// OnNewConnection dispatches proxy_on_new_connection.
func OnNewConnection(contextID uint32) types.Action {
	t := st.streams.ctx(contextID).tcp
	if t == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return t.OnNewConnection()
}

// OnDownstreamData dispatches proxy_on_downstream_data.
func OnDownstreamData(contextID uint32, dataSize int32, endOfStream bool) types.Action {
	t := st.streams.ctx(contextID).tcp
	if t == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return t.OnDownstreamData(int(dataSize), endOfStream)
}

// OnDownstreamConnectionClose dispatches proxy_on_downstream_connection_close.
func OnDownstreamConnectionClose(contextID uint32, peer types.PeerType) {
	if t := st.streams.ctx(contextID).tcp; t != nil {
		st.activeContext = contextID
		t.OnDownstreamClose(peer)
	}
}

// OnUpstreamData dispatches proxy_on_upstream_data.
func OnUpstreamData(contextID uint32, dataSize int32, endOfStream bool) types.Action {
	t := st.streams.ctx(contextID).tcp
	if t == nil {
		return types.ActionContinue
	}
	st.activeContext = contextID
	return t.OnUpstreamData(int(dataSize), endOfStream)
}

// OnUpstreamConnectionClose dispatches proxy_on_upstream_connection_close.
func OnUpstreamConnectionClose(contextID uint32, peer types.PeerType) {
	if t := st.streams.ctx(contextID).tcp; t != nil {
		st.activeContext = contextID
		t.OnUpstreamClose(peer)
	}
}

// OnLog dispatches proxy_on_log: the end of an HTTP or TCP stream.
func OnLog(contextID uint32) {
	st.activeContext = contextID
	s, _ := st.streams.get(contextID)
	if s.http != nil {
		s.http.OnHttpStreamDone()
		return
	}
	if s.tcp != nil {
		s.tcp.OnStreamDone()
	}
}

// OnDone dispatches proxy_on_done; plugin contexts may defer their shutdown.
func OnDone(contextID uint32) bool {
	if _, ok := st.streams.get(contextID); ok {
		return true
	}
	if p := st.plugins[contextID]; p != nil {
		st.activeContext = contextID
		return p.ctx.OnPluginDone()
	}
	return true
}

// OnDelete dispatches proxy_on_delete and forgets the context.
func OnDelete(contextID uint32) {
	if st.streams.remove(contextID) {
		return
	}
	delete(st.plugins, contextID)
	st.lastPlugin = nil
	refreshSkip()
}

// OnTick dispatches proxy_on_tick.
func OnTick(pluginContextID uint32) {
	if p := st.plugins[pluginContextID]; p != nil {
		st.activeContext = pluginContextID
		p.ctx.OnTick()
	}
}

// OnQueueReady dispatches proxy_on_queue_ready.
func OnQueueReady(pluginContextID, queueID uint32) {
	if p := st.plugins[pluginContextID]; p != nil {
		st.activeContext = pluginContextID
		p.ctx.OnQueueReady(queueID)
	}
}

// OnHttpCallResponse delivers an HTTP callout response to the callback of the
// context that made the call. A response for a context that is gone (or an
// unknown token) is dropped.
func OnHttpCallResponse(pluginContextID, token uint32, numHeaders, bodySize, numTrailers int32) {
	p := st.plugins[pluginContextID]
	if p == nil {
		return
	}
	c, ok := p.httpCallbacks[token]
	if !ok {
		return
	}
	delete(p.httpCallbacks, token)
	refreshSkip()
	if _, alive := RootContextID(c.caller); !alive {
		return
	}
	st.activeContext = c.caller
	abi.ProxySetEffectiveContext(c.caller)
	c.cb(int(numHeaders), int(bodySize), int(numTrailers))
}

// OnRedisCallResponse delivers a Redis response (Higress extension) the same way.
func OnRedisCallResponse(pluginContextID, token uint32, status, responseSize int32) {
	p := st.plugins[pluginContextID]
	if p == nil {
		return
	}
	c, ok := p.redisCallbacks[token]
	if !ok {
		return
	}
	delete(p.redisCallbacks, token)
	refreshSkip()
	if _, alive := RootContextID(c.caller); !alive {
		return
	}
	st.activeContext = c.caller
	abi.ProxySetEffectiveContext(c.caller)
	c.cb(int(status), int(responseSize))
}

func abiLog(level types.LogLevel, msg string) {
	b := []byte(msg)
	if len(b) == 0 {
		return
	}
	abi.ProxyLog(uint32(level), ptr(b), uint32(len(b)))
}

// RegisterGrpcCall records the callback of a unary gRPC call made from the
// active context.
func RegisterGrpcCall(token uint32, cb func(status uint32, responseSize int)) {
	root, _ := RootContextID(st.activeContext)
	if p := st.plugins[root]; p != nil {
		p.grpcCallbacks[token] = grpcCallout{call: cb, caller: st.activeContext}
		refreshSkip()
	}
}

// RegisterGrpcStream records the handler of a gRPC stream opened from the
// active context.
func RegisterGrpcStream(token uint32, h GrpcStreamHandler) {
	root, _ := RootContextID(st.activeContext)
	if p := st.plugins[root]; p != nil {
		p.grpcCallbacks[token] = grpcCallout{stream: h, caller: st.activeContext}
		refreshSkip()
	}
}

// ForgetGrpc drops the callbacks of a cancelled gRPC call or stream.
func ForgetGrpc(token uint32) {
	root, _ := RootContextID(st.activeContext)
	if p := st.plugins[root]; p != nil {
		delete(p.grpcCallbacks, token)
		refreshSkip()
	}
}

// grpcTarget returns the callout of token and makes its caller the active
// context; ok is false when the callout is unknown or its caller is gone.
func grpcTarget(pluginContextID, token uint32, last bool) (grpcCallout, bool) {
	p := st.plugins[pluginContextID]
	if p == nil {
		return grpcCallout{}, false
	}
	c, ok := p.grpcCallbacks[token]
	if !ok {
		return c, false
	}
	if last {
		delete(p.grpcCallbacks, token)
		refreshSkip()
	}
	if _, alive := RootContextID(c.caller); !alive {
		return c, false
	}
	st.activeContext = c.caller
	abi.ProxySetEffectiveContext(c.caller)
	return c, true
}

// OnGrpcReceiveInitialMetadata dispatches proxy_on_grpc_receive_initial_metadata.
func OnGrpcReceiveInitialMetadata(pluginContextID, token uint32, numElements int32) {
	if c, ok := grpcTarget(pluginContextID, token, false); ok && c.stream.OnInitialMetadata != nil {
		c.stream.OnInitialMetadata(int(numElements))
	}
}

// OnGrpcReceive dispatches proxy_on_grpc_receive: a unary call's response
// or one stream message.
func OnGrpcReceive(pluginContextID, token uint32, size int32) {
	p := st.plugins[pluginContextID]
	if p == nil {
		return
	}
	unary := p.grpcCallbacks[token].call != nil
	c, ok := grpcTarget(pluginContextID, token, unary)
	if !ok {
		return
	}
	if unary {
		c.call(0, int(size))
	} else if c.stream.OnMessage != nil {
		c.stream.OnMessage(int(size))
	}
}

// OnGrpcReceiveTrailingMetadata dispatches proxy_on_grpc_receive_trailing_metadata.
func OnGrpcReceiveTrailingMetadata(pluginContextID, token uint32, numElements int32) {
	if c, ok := grpcTarget(pluginContextID, token, false); ok && c.stream.OnTrailingMetadata != nil {
		c.stream.OnTrailingMetadata(int(numElements))
	}
}

// OnGrpcClose dispatches proxy_on_grpc_close: a failed unary call or the
// end of a stream.
func OnGrpcClose(pluginContextID, token uint32, status uint32) {
	c, ok := grpcTarget(pluginContextID, token, true)
	if !ok {
		return
	}
	if c.call != nil {
		c.call(status, 0)
	} else if c.stream.OnClose != nil {
		c.stream.OnClose(status)
	}
}
