package test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/wasmgate/wasmgate/plugintest/emulator"
	"github.com/wasmgate/wasmgate/sdk/proxytest"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// defaultTestDomain is the :authority of the request headers sent when a
// test delivers a body or the response first, and of GetMatchConfig.
const defaultTestDomain = "default.test.com"

type headerOption struct{ endOfStream bool }

// HeaderOptionFunc configures CallOnHttpRequestHeaders and
// CallOnHttpResponseHeaders.
type HeaderOptionFunc func(*headerOption)

// WithEndOfStream sets end_of_stream of a header call (default false: a
// body follows).
func WithEndOfStream(endOfStream bool) HeaderOptionFunc {
	return func(o *headerOption) { o.endOfStream = endOfStream }
}

// TestHost drives one plugin through the host: the emulator's methods plus
// calls on the current HTTP stream.
type TestHost interface {
	proxytest.HostEmulator
	// CallOnHttpRequestHeaders delivers request headers on the current
	// stream (created if needed).
	CallOnHttpRequestHeaders(headers [][2]string, opts ...HeaderOptionFunc) types.Action
	// CallOnHttpRequestBody delivers the whole request body (end of stream).
	CallOnHttpRequestBody(body []byte) types.Action
	// CallOnHttpStreamingRequestBody delivers a request body chunk.
	CallOnHttpStreamingRequestBody(body []byte, endOfStream bool) types.Action
	// CallOnHttpResponseHeaders delivers response headers.
	CallOnHttpResponseHeaders(headers [][2]string, opts ...HeaderOptionFunc) types.Action
	// CallOnHttpStreamingResponseBody delivers a response body chunk.
	CallOnHttpStreamingResponseBody(body []byte, endOfStream bool) types.Action
	// CallOnHttpResponseBody delivers the whole response body.
	CallOnHttpResponseBody(body []byte) types.Action
	// CallOnHttpCall answers the current stream's first unanswered HTTP
	// callout.
	CallOnHttpCall(headers [][2]string, body []byte)
	// CallOnRedisCall answers the current stream's first unanswered Redis
	// call.
	CallOnRedisCall(status int32, response []byte)
	// GetHttpCalloutAttributes and GetRedisCalloutAttributes list the
	// current stream's callouts.
	GetHttpCalloutAttributes() []proxytest.HttpCalloutAttribute
	GetRedisCalloutAttributes() []proxytest.RedisCalloutAttribute
	// InitHttp starts a new current stream; CompleteHttp ends it
	// (OnHttpStreamDone). InitHttpRequest and CompleteHttpRequest are
	// their earlier names.
	InitHttp()
	CompleteHttp()
	InitHttpRequest()
	CompleteHttpRequest()
	// SetRouteName, SetClusterName and SetRequestId set the properties
	// route_name, cluster_name and x_request_id.
	SetRouteName(routeName string) error
	SetClusterName(clusterName string) error
	SetRequestId(requestId string) error
	// SetDomainName sets the domain GetMatchConfig matches.
	SetDomainName(domain string) error
	// GetMatchConfig returns the configuration that applies to a request
	// for the domain (Go mode only; the value is a *Config).
	GetMatchConfig() (any, error)
	// GetMatchConfigWithHost is GetMatchConfig for the given host.
	GetMatchConfigWithHost(hostName string) (any, error)
	// GetHttpStreamAction … GetLocalResponse report the current stream.
	GetHttpStreamAction() types.Action
	GetRequestHeaders() [][2]string
	GetResponseHeaders() [][2]string
	GetRequestBody() []byte
	GetResponseBody() []byte
	GetLocalResponse() *proxytest.LocalHttpResponse
	// Reset ends the test host (every context, the VM).
	Reset()
}

type testHost struct {
	proxytest.HostEmulator
	reset        func()
	mode         mode
	contextID    uint32
	contextValid bool
	domain       string
	answered     map[uint32]bool
}

// NewTestHost starts the plugin with config (JSON) in the current mode
// (Go mode outside RunTest) and returns its host, with the properties
// route_name "test-route-default", cluster_name "test-cluster-default" and
// x_request_id "test-request-id-default".
func NewTestHost(config json.RawMessage) (TestHost, types.OnPluginStartStatus) {
	return NewTestHostWithForeignFuncs(config, nil)
}

// NewTestHostWithForeignFuncs is NewTestHost with foreign functions the
// plugin may call; get_log_level answers 0 (trace).
func NewTestHostWithForeignFuncs(config json.RawMessage, foreign map[string]func([]byte) []byte) (TestHost, types.OnPluginStartStatus) {
	captureVM()
	if live != nil {
		live.Reset()
	}
	opt := proxytest.NewEmulatorOption().WithPluginConfiguration(config).WithVMContext(initVM)
	h := &testHost{mode: currentMode, answered: map[uint32]bool{}}
	if currentMode == wasmMode {
		emu, reset, err := emulator.New(currentWasm, opt)
		if err != nil {
			panic(fmt.Sprintf("test: wasm mode: %v", err))
		}
		h.HostEmulator, h.reset = emu, reset
	} else {
		h.HostEmulator, h.reset = proxytest.NewHostEmulator(opt)
	}
	live = h
	h.RegisterForeignFunction("get_log_level", func([]byte) []byte { return []byte{0, 0, 0, 0} })
	for name, f := range foreign {
		h.RegisterForeignFunction(name, f)
	}
	status := h.StartPlugin()
	_ = h.SetRouteName("test-route-default")
	_ = h.SetClusterName("test-cluster-default")
	_ = h.SetRequestId("test-request-id-default")
	return h, status
}

func (h *testHost) Reset() {
	if h.reset != nil {
		h.reset()
		h.reset = nil
	}
	h.contextID, h.contextValid, h.domain = 0, false, ""
	if live == h {
		live = nil
	}
}

func (h *testHost) InitHttp() {
	h.contextID = h.InitializeHttpContext()
	h.contextValid = true
}

func (h *testHost) CompleteHttp() {
	h.CompleteHttpContext(h.contextID)
	h.contextValid = false
}

func (h *testHost) InitHttpRequest()     { h.InitHttp() }
func (h *testHost) CompleteHttpRequest() { h.CompleteHttp() }

func headerOptions(opts []HeaderOptionFunc) headerOption {
	var o headerOption
	for _, f := range opts {
		f(&o)
	}
	return o
}

func (h *testHost) CallOnHttpRequestHeaders(headers [][2]string, opts ...HeaderOptionFunc) types.Action {
	if !h.contextValid {
		h.InitHttp()
	}
	return h.CallOnRequestHeaders(h.contextID, headers, headerOptions(opts).endOfStream)
}

// ensureContext starts a stream with default request headers when a test
// delivers a body or the response first.
func (h *testHost) ensureContext() {
	if h.contextValid {
		return
	}
	h.InitHttp()
	if a := h.CallOnRequestHeaders(h.contextID, [][2]string{{":authority", defaultTestDomain}}, false); a != types.ActionContinue {
		panic("wasm plugin unit test should CallOnHttpRequestHeaders first")
	}
}

func (h *testHost) CallOnHttpRequestBody(body []byte) types.Action {
	h.ensureContext()
	return h.CallOnRequestBody(h.contextID, body, true)
}

func (h *testHost) CallOnHttpStreamingRequestBody(body []byte, endOfStream bool) types.Action {
	h.ensureContext()
	return h.CallOnRequestBody(h.contextID, body, endOfStream)
}

func (h *testHost) CallOnHttpResponseHeaders(headers [][2]string, opts ...HeaderOptionFunc) types.Action {
	h.ensureContext()
	return h.CallOnResponseHeaders(h.contextID, headers, headerOptions(opts).endOfStream)
}

func (h *testHost) CallOnHttpStreamingResponseBody(body []byte, endOfStream bool) types.Action {
	h.ensureContext()
	return h.CallOnResponseBody(h.contextID, body, endOfStream)
}

func (h *testHost) CallOnHttpResponseBody(body []byte) types.Action {
	h.ensureContext()
	return h.CallOnResponseBody(h.contextID, body, true)
}

func (h *testHost) CallOnHttpCallResponse(calloutID uint32, headers, trailers [][2]string, body []byte) {
	h.answered[calloutID] = true
	h.HostEmulator.CallOnHttpCallResponse(calloutID, headers, trailers, body)
}

func (h *testHost) CallOnRedisCallResponse(calloutID uint32, status int32, response []byte) {
	h.answered[calloutID] = true
	h.HostEmulator.CallOnRedisCallResponse(calloutID, status, response)
}

func (h *testHost) CallOnHttpCall(headers [][2]string, body []byte) {
	for _, a := range h.GetHttpCalloutAttributes() {
		if !h.answered[a.CalloutID] {
			h.CallOnHttpCallResponse(a.CalloutID, headers, nil, body)
			return
		}
	}
	panic("test: CallOnHttpCall: the current HTTP context has no unanswered HTTP callout")
}

func (h *testHost) CallOnRedisCall(status int32, response []byte) {
	for _, a := range h.GetRedisCalloutAttributes() {
		if !h.answered[a.CalloutID] {
			h.CallOnRedisCallResponse(a.CalloutID, status, response)
			return
		}
	}
	panic("test: CallOnRedisCall: the current HTTP context has no unanswered Redis call")
}

func (h *testHost) GetHttpCalloutAttributes() []proxytest.HttpCalloutAttribute {
	return h.GetCalloutAttributesFromContext(h.contextID)
}

func (h *testHost) GetRedisCalloutAttributes() []proxytest.RedisCalloutAttribute {
	return h.GetRedisCalloutAttributesFromContext(h.contextID)
}

func (h *testHost) SetRouteName(routeName string) error {
	return h.SetProperty([]string{"route_name"}, []byte(routeName))
}

func (h *testHost) SetClusterName(clusterName string) error {
	return h.SetProperty([]string{"cluster_name"}, []byte(clusterName))
}

func (h *testHost) SetRequestId(requestId string) error {
	return h.SetProperty([]string{"x_request_id"}, []byte(requestId))
}

func (h *testHost) SetDomainName(domain string) error {
	if domain == "" {
		return errors.New("domain is empty")
	}
	h.domain = domain
	return nil
}

func (h *testHost) GetMatchConfig() (any, error) {
	domain := defaultTestDomain
	if h.domain != "" {
		domain = h.domain
	}
	return h.GetMatchConfigWithHost(domain)
}

func (h *testHost) GetMatchConfigWithHost(hostName string) (any, error) {
	if hostName == "" {
		return nil, errors.New("host name is empty")
	}
	if h.mode == wasmMode {
		return nil, errors.New("GetMatchConfig is available in go mode only: in wasm mode the plugin's contexts are inside the module")
	}
	id := h.InitializeHttpContext()
	h.SetHttpRequestHeaders(id, [][2]string{{":authority", hostName}})
	ctx := proxywasm.GetHttpContext(id)
	defer h.CompleteHttpContext(id)
	v := reflect.ValueOf(ctx)
	if v.Kind() == reflect.Ptr && !v.IsNil() {
		if m := v.MethodByName("GetMatchConfig"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 2 {
			out := m.Call(nil)
			err, _ := out[1].Interface().(error)
			return out[0].Interface(), err
		}
	}
	return nil, errors.New("http context is not a common http context")
}

func (h *testHost) GetHttpStreamAction() types.Action {
	return h.GetCurrentHttpStreamAction(h.contextID)
}

func (h *testHost) GetRequestHeaders() [][2]string  { return h.GetCurrentRequestHeaders(h.contextID) }
func (h *testHost) GetResponseHeaders() [][2]string { return h.GetCurrentResponseHeaders(h.contextID) }
func (h *testHost) GetRequestBody() []byte          { return h.GetCurrentRequestBody(h.contextID) }
func (h *testHost) GetResponseBody() []byte         { return h.GetCurrentResponseBody(h.contextID) }

func (h *testHost) GetLocalResponse() *proxytest.LocalHttpResponse {
	return h.GetSentLocalResponse(h.contextID)
}
