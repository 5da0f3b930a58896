// Package proxytest runs a plugin's Go code in the test binary against an
// in-process host, with the API of Higress's proxy-wasm-go-sdk proxytest
// package (HostEmulator, NewHostEmulator, EmulatorOption).
//
// The host follows the rules of wasmgate's engine for one filter: header
// keys are lower-cased, a body is accumulated while the plugin buffers it
// (the size passed to the plugin is the buffered size), the plugin
// configuration is readable only while the plugin starts, callout
// responses run the callback of the context that made the call (and are
// dropped when that context is gone), shared data honours compare-and-swap
// as Envoy does (cas 0 always writes), queue-ready callbacks run after the
// callback that enqueued, and unknown foreign functions answer NotFound.
// Callout ids are unique for the life of an emulator.
//
// The same interface is implemented on the real engine, running the plugin
// built to wasm (package github.com/wasmgate/wasmgate/plugintest/emulator),
// so one test can run in both modes.
package proxytest

import (
	"strings"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// PluginContextID is the id of the plugin (root) context an emulator
// creates.
const PluginContextID uint32 = 1

// HostEmulator is the host side of proxy-wasm for tests. Its methods call
// the plugin's callbacks or report the host's state as the plugin left it.
type HostEmulator interface {
	// StartVM runs types.VMContext.OnVMStart.
	StartVM() types.OnVMStartStatus
	// StartPlugin runs types.PluginContext.OnPluginStart with the plugin
	// configuration.
	StartPlugin() types.OnPluginStartStatus
	// FinishVM runs types.PluginContext.OnPluginDone.
	FinishVM() bool
	// GetCalloutAttributesFromContext returns the HTTP callouts made by a
	// context, answered or not, in order.
	GetCalloutAttributesFromContext(contextID uint32) []HttpCalloutAttribute
	// CallOnHttpCallResponse answers an HTTP callout.
	CallOnHttpCallResponse(calloutID uint32, headers [][2]string, trailers [][2]string, body []byte)
	// GetRedisCalloutAttributesFromContext returns the Redis calls made by a
	// context, in order.
	GetRedisCalloutAttributesFromContext(contextID uint32) []RedisCalloutAttribute
	// CallOnRedisCallResponse answers a Redis call (status 0: success).
	CallOnRedisCallResponse(calloutID uint32, status int32, response []byte)
	// GetCounterMetric, GetGaugeMetric and GetHistogramMetric return a
	// metric's value.
	GetCounterMetric(name string) (uint64, error)
	GetGaugeMetric(name string) (uint64, error)
	GetHistogramMetric(name string) (uint64, error)
	// GetTraceLogs … GetCriticalLogs return the messages logged at a level.
	GetTraceLogs() []string
	GetDebugLogs() []string
	GetInfoLogs() []string
	GetWarnLogs() []string
	GetErrorLogs() []string
	GetCriticalLogs() []string
	// GetTickPeriod returns the tick period the plugin set (milliseconds).
	GetTickPeriod() uint32
	// Tick runs types.PluginContext.OnTick.
	Tick()
	// GetQueueSize returns the number of items in a shared queue.
	GetQueueSize(queueID uint32) int
	// RegisterForeignFunction answers proxy_call_foreign_function(name).
	RegisterForeignFunction(name string, f func([]byte) []byte)

	// InitializeConnection creates a TCP context and runs OnNewConnection.
	InitializeConnection() (contextID uint32, action types.Action)
	// CallOnUpstreamData and CallOnDownstreamData deliver TCP data.
	CallOnUpstreamData(contextID uint32, data []byte) types.Action
	CallOnDownstreamData(contextID uint32, data []byte) types.Action
	// CloseUpstreamConnection and CloseDownstreamConnection run the close
	// callbacks.
	CloseUpstreamConnection(contextID uint32)
	CloseDownstreamConnection(contextID uint32)
	// CompleteConnection ends a TCP context.
	CompleteConnection(contextID uint32)

	// InitializeHttpContext creates an HTTP context.
	InitializeHttpContext() (contextID uint32)
	// CallOnRequestHeaders … CallOnResponseTrailers deliver one part of an
	// HTTP stream and return the plugin's action.
	CallOnResponseHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action
	CallOnResponseBody(contextID uint32, body []byte, endOfStream bool) types.Action
	CallOnResponseTrailers(contextID uint32, trailers [][2]string) types.Action
	CallOnRequestHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action
	CallOnRequestTrailers(contextID uint32, trailers [][2]string) types.Action
	CallOnRequestBody(contextID uint32, body []byte, endOfStream bool) types.Action
	// CompleteHttpContext ends an HTTP stream (OnHttpStreamDone).
	CompleteHttpContext(contextID uint32)
	// GetCurrentHttpStreamAction returns the action of the last callback of
	// a stream, or ActionContinue once the plugin resumed it.
	GetCurrentHttpStreamAction(contextID uint32) types.Action
	// GetCurrentRequestHeaders … GetCurrentResponseBody return a stream's
	// headers and bodies as the plugin left them.
	GetCurrentRequestHeaders(contextID uint32) [][2]string
	GetCurrentResponseHeaders(contextID uint32) [][2]string
	GetCurrentRequestBody(contextID uint32) []byte
	GetCurrentResponseBody(contextID uint32) []byte
	// GetSentLocalResponse returns the local response a stream sent, or nil.
	GetSentLocalResponse(contextID uint32) *LocalHttpResponse
	// GetProperty and SetProperty read and write host properties.
	GetProperty(path []string) ([]byte, error)
	SetProperty(path []string, data []byte) error
	// SetHttpRequestHeaders sets a stream's request headers without calling
	// the plugin.
	SetHttpRequestHeaders(contextID uint32, headers [][2]string)
}

// HttpCalloutAttribute is an HTTP callout the plugin made.
type HttpCalloutAttribute struct {
	CalloutID uint32
	Upstream  string
	Headers   [][2]string
	Trailers  [][2]string
	Body      []byte
}

// RedisCalloutAttribute is a Redis call the plugin made: the bare cluster
// name and the RESP-encoded query.
type RedisCalloutAttribute struct {
	CalloutID uint32
	Upstream  string
	Query     []byte
}

// LocalHttpResponse is a response the plugin sent with SendHttpResponse.
type LocalHttpResponse struct {
	StatusCode       uint32
	StatusCodeDetail string
	Data             []byte
	Headers          [][2]string
	GRPCStatus       int32
}

// EmulatorOption configures NewHostEmulator.
type EmulatorOption struct {
	pluginConfiguration []byte
	vmConfiguration     []byte
	vmContext           types.VMContext
	properties          map[string][]byte
}

// NewEmulatorOption returns options with a default (no-op) VM context.
func NewEmulatorOption() *EmulatorOption {
	return &EmulatorOption{vmContext: &types.DefaultVMContext{}}
}

// WithVMContext sets the plugin's VM context.
func (o *EmulatorOption) WithVMContext(context types.VMContext) *EmulatorOption {
	o.vmContext = context
	return o
}

// WithPluginConfiguration sets the plugin configuration.
func (o *EmulatorOption) WithPluginConfiguration(data []byte) *EmulatorOption {
	o.pluginConfiguration = data
	return o
}

// WithVMConfiguration sets the VM configuration.
func (o *EmulatorOption) WithVMConfiguration(data []byte) *EmulatorOption {
	o.vmConfiguration = data
	return o
}

// WithProperty sets a property, replacing an earlier value.
func (o *EmulatorOption) WithProperty(path []string, value []byte) *EmulatorOption {
	if o.properties == nil {
		o.properties = map[string][]byte{}
	}
	o.properties[PropertyKey(path)] = value
	return o
}

// VMContext, PluginConfiguration, VMConfiguration and Properties report the
// options, for emulators implemented outside this package.
func (o *EmulatorOption) VMContext() types.VMContext  { return o.vmContext }
func (o *EmulatorOption) PluginConfiguration() []byte { return o.pluginConfiguration }
func (o *EmulatorOption) VMConfiguration() []byte     { return o.vmConfiguration }

// Properties returns the properties set with WithProperty, by PropertyKey.
func (o *EmulatorOption) Properties() map[string][]byte { return o.properties }

// PropertyKey is a property path in the ABI's form: segments joined by NUL.
func PropertyKey(path []string) string { return strings.Join(path, "\x00") }

// LowerKeys returns headers with lower-cased keys, as hosts store them.
func LowerKeys(headers [][2]string) [][2]string {
	out := make([][2]string, len(headers))
	for i, h := range headers {
		out[i] = [2]string{strings.ToLower(h[0]), h[1]}
	}
	return out
}
