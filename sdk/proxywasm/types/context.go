package types

// VMContext is the context of a whole VM. A plugin registers one with
// proxywasm.SetVMContext in init().
type VMContext interface {
	// OnVMStart is called once, with the size of the VM configuration.
	OnVMStart(vmConfigurationSize int) OnVMStartStatus
	// NewPluginContext creates the context of one plugin configuration.
	NewPluginContext(contextID uint32) PluginContext
}

// PluginContext is a root context: one per plugin configuration in a VM.
type PluginContext interface {
	// OnPluginStart is called with the size of the plugin configuration,
	// which can be read with proxywasm.GetPluginConfiguration during the call.
	OnPluginStart(pluginConfigurationSize int) OnPluginStartStatus
	// OnPluginDone is called when the host shuts the plugin down. Returning
	// false defers the shutdown until proxywasm.PluginDone is called.
	OnPluginDone() bool
	// OnQueueReady is called when data is enqueued on a queue this plugin registered.
	OnQueueReady(queueID uint32)
	// OnTick is called every tick period set with SetTickPeriodMilliSeconds.
	OnTick()
	// NewTcpContext creates the context of a TCP stream; nil means none.
	NewTcpContext(contextID uint32) TcpContext
	// NewHttpContext creates the context of an HTTP stream; nil means none.
	NewHttpContext(contextID uint32) HttpContext
}

// TcpContext is the context of one TCP connection.
type TcpContext interface {
	OnNewConnection() Action
	OnDownstreamData(dataSize int, endOfStream bool) Action
	OnDownstreamClose(peerType PeerType)
	OnUpstreamData(dataSize int, endOfStream bool) Action
	OnUpstreamClose(peerType PeerType)
	OnStreamDone()
}

// HttpContext is the context of one HTTP stream.
type HttpContext interface {
	OnHttpRequestHeaders(numHeaders int, endOfStream bool) Action
	OnHttpRequestBody(bodySize int, endOfStream bool) Action
	OnHttpRequestTrailers(numTrailers int) Action
	OnHttpResponseHeaders(numHeaders int, endOfStream bool) Action
	OnHttpResponseBody(bodySize int, endOfStream bool) Action
	OnHttpResponseTrailers(numTrailers int) Action
	// OnHttpStreamDone is called from proxy_on_log, when the stream ends.
	OnHttpStreamDone()
}

// Factories used by proxywasm.SetPluginContext, SetHttpContext and SetTcpContext.
type (
	PluginContextFactory func(contextID uint32) PluginContext
	HttpContextFactory   func(contextID uint32) HttpContext
	TcpContextFactory    func(contextID uint32) TcpContext
)

// DefaultVMContext implements VMContext with no-op methods; embed it.
type DefaultVMContext struct{}

func (*DefaultVMContext) OnVMStart(int) OnVMStartStatus         { return OnVMStartStatusOK }
func (*DefaultVMContext) NewPluginContext(uint32) PluginContext { return &DefaultPluginContext{} }

// DefaultPluginContext implements PluginContext with no-op methods; embed it.
type DefaultPluginContext struct{}

func (*DefaultPluginContext) OnPluginStart(int) OnPluginStartStatus { return OnPluginStartStatusOK }
func (*DefaultPluginContext) OnPluginDone() bool                    { return true }
func (*DefaultPluginContext) OnQueueReady(uint32)                   {}
func (*DefaultPluginContext) OnTick()                               {}
func (*DefaultPluginContext) NewTcpContext(uint32) TcpContext       { return nil }
func (*DefaultPluginContext) NewHttpContext(uint32) HttpContext     { return nil }

// DefaultTcpContext implements TcpContext with no-op methods; embed it.
type DefaultTcpContext struct{}

func (*DefaultTcpContext) OnNewConnection() Action           { return ActionContinue }
func (*DefaultTcpContext) OnDownstreamData(int, bool) Action { return ActionContinue }
func (*DefaultTcpContext) OnDownstreamClose(PeerType)        {}
func (*DefaultTcpContext) OnUpstreamData(int, bool) Action   { return ActionContinue }
func (*DefaultTcpContext) OnUpstreamClose(PeerType)          {}
func (*DefaultTcpContext) OnStreamDone()                     {}

// DefaultHttpContext implements HttpContext with no-op methods; embed it.
type DefaultHttpContext struct{}

func (*DefaultHttpContext) OnHttpRequestHeaders(int, bool) Action  { return ActionContinue }
func (*DefaultHttpContext) OnHttpRequestBody(int, bool) Action     { return ActionContinue }
func (*DefaultHttpContext) OnHttpRequestTrailers(int) Action       { return ActionContinue }
func (*DefaultHttpContext) OnHttpResponseHeaders(int, bool) Action { return ActionContinue }
func (*DefaultHttpContext) OnHttpResponseBody(int, bool) Action    { return ActionContinue }
func (*DefaultHttpContext) OnHttpResponseTrailers(int) Action      { return ActionContinue }
func (*DefaultHttpContext) OnHttpStreamDone()                      {}
