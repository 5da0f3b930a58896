package wrapper

import "github.com/wasmgate/wasmgate/sdk/log"

// Log is the plugin logger handlers receive. It is the same type as log.Log,
// so handlers may declare either.
type Log = log.Log

// Keys and prefixes shared with the host and the control plane.
const (
	CustomLogKey         = "custom_log"
	AILogKey             = "ai_log"
	TraceSpanTagPrefix   = "trace_span_tag."
	PluginIDKey          = "_plugin_id_"
	VMLeaseKeyPrefix     = "higress_wasm_vm_lease"
	ConfigStoreLeaderKey = "config_store"
)

// HTTPExecutionPhase is the phase of the stream a handler runs in.
type HTTPExecutionPhase int

const (
	DecodeHeader HTTPExecutionPhase = iota
	DecodeData
	EncodeHeader
	EncodeData
	Done
)

// PluginContext is the plugin (root) context: a store shared by all requests
// of one plugin configuration, rule-level config isolation and leader election.
type PluginContext interface {
	SetContext(key string, value interface{})
	GetContext(key string) interface{}
	// EnableRuleLevelConfigIsolation keeps the last good config of a rule whose
	// new config fails to parse, instead of failing the whole plugin. Call it
	// from PrePluginStartOrReload.
	EnableRuleLevelConfigIsolation()
	IsRuleLevelConfigIsolation() bool
	// GetFingerPrint identifies the plugin configuration (the plugin_name property).
	GetFingerPrint() string
	// DoLeaderElection takes or renews the VM lease shared by all VMs of the
	// plugin; call it periodically (for example from a tick function).
	DoLeaderElection()
	IsLeader() bool
}

// RouteResponseCallback receives the upstream response of a RouteCall.
type RouteResponseCallback func(statusCode int, responseHeaders [][2]string, responseBody []byte)

// HttpContext is the per-request context handlers receive.
type HttpContext interface {
	// Scheme, Host, Path and Method are the request's :scheme, :authority,
	// :path and :method, read once in the request-header phase.
	Scheme() string
	Host() string
	Path() string
	Method() string
	// SetContext and GetContext keep values for the rest of the request.
	SetContext(key string, value interface{})
	GetContext(key string) interface{}
	GetBoolContext(key string, defaultValue bool) bool
	GetStringContext(key, defaultValue string) string
	GetByteSliceContext(key string, defaultValue []byte) []byte
	// User attributes are written to the access log or the trace on request.
	GetUserAttribute(key string) interface{}
	SetUserAttribute(key string, value interface{})
	SetUserAttributeMap(kvmap map[string]interface{})
	GetUserAttributeMap() map[string]interface{}
	WriteUserAttributeToLog() error
	WriteUserAttributeToLogWithKey(key string) error
	WriteUserAttributeToTrace() error
	// DontReadRequestBody and DontReadResponseBody skip the body handlers.
	DontReadRequestBody()
	DontReadResponseBody()
	// DonotReadRequestBody and DonotReadResponseBody are the names earlier
	// Higress releases gave them.
	DonotReadRequestBody()
	DonotReadResponseBody()
	// BufferRequestBody and BufferResponseBody switch a plugin with streaming
	// body handlers to its buffered handlers for this request.
	BufferRequestBody()
	BufferResponseBody()
	// NeedPauseStreamingResponse makes the streaming response handler return
	// DataStopIterationNoBuffer.
	NeedPauseStreamingResponse()
	PushBuffer(buffer []byte)
	PopBuffer() []byte
	BufferQueueSize() int
	// DisableReroute keeps the route chosen before this plugin changed headers.
	DisableReroute()
	SetRequestBodyBufferLimit(byteSize uint32)
	SetResponseBodyBufferLimit(byteSize uint32)
	// RouteCall sends a modified copy of this request through its route and
	// hands the upstream response to callback instead of the client.
	RouteCall(method, url string, headers [][2]string, body []byte, callback RouteResponseCallback) error
	GetExecutionPhase() HTTPExecutionPhase
	HasRequestBody() bool
	HasResponseBody() bool
	IsWebsocket() bool
	IsBinaryRequestBody() bool
	IsBinaryResponseBody() bool
}
