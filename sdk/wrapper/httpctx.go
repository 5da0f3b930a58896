package wrapper

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/arena"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/matcher"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// CommonHttpCtx is the HTTP context of a plugin registered with SetCtx. It
// implements both types.HttpContext (the host's callbacks) and HttpContext
// (what handlers see).
type CommonHttpCtx[C any] struct {
	types.DefaultHttpContext
	plugin    *CommonPluginCtx[C]
	contextID uint32
	// config is the configuration that applies to the request (nil when
	// the plugin is off for it): &matched, the request's own copy, as the
	// copy Higress's matcher returns for every request.
	config  *C
	matched C

	needRequestBody        bool
	needResponseBody       bool
	streamingRequestBody   bool
	streamingResponseBody  bool
	pauseStreamingResponse bool
	requestBodySize        int
	responseBodySize       int
	responseCallback       RouteResponseCallback
	executionPhase         HTTPExecutionPhase

	hasRequestBody       bool
	hasResponseBody      bool
	isWebsocket          bool
	isBinaryRequestBody  bool
	isBinaryResponseBody bool
	// binaryResponseUnknown: the response headers were not examined yet.
	binaryResponseUnknown bool

	scheme, host, path, method string
	xRequestID                 string
	xRequestIDRead             bool

	userContext   map[string]interface{}
	userAttribute map[string]interface{}
	bufferQueue   [][]byte
}

// recoverPanic is deferred by every callback: a panic in plugin code is
// logged instead of trapping the VM.
func (ctx *CommonHttpCtx[C]) recoverPanic(where string) {
	if r := recover(); r != nil {
		handlePanic(ctx.plugin.vm.log, where, r)
	}
}

// OnHttpRequestHeaders finds the config for this request and runs the
// request-header handler. A request that matches no rule (and no global
// config) passes through the plugin untouched.
func (ctx *CommonHttpCtx[C]) OnHttpRequestHeaders(numHeaders int, endOfStream bool) (action types.Action) {
	defer ctx.recoverPanic("request headers")
	ctx.executionPhase = DecodeHeader
	ctx.hasRequestBody = !endOfStream
	refreshLogLevel()
	// One host call for all headers instead of one per header, and one
	// pass over them.
	var r requestHeaders
	r.load()
	ctx.scheme, ctx.host, ctx.path, ctx.method = r.scheme, r.authority, r.path, r.method
	if id := r.requestID; id != "" {
		ctx.xRequestID = id
		// The host copies the value: a read-only view of id saves an
		// allocation on every request.
		_ = proxywasm.SetProperty([]string{"x_request_id"}, unsafe.Slice(unsafe.StringData(id), len(id)))
	}
	ctx.checkRebuild()
	matched, err := ctx.matchConfig(r.authority, r.consumer)
	if err != nil {
		ctx.plugin.vm.log.Error("get match config failed: " + err.Error())
		return types.ActionContinue
	}
	if !matched {
		return types.ActionContinue
	}
	ctx.config = &ctx.matched
	if isBinaryContentType(r.contentType) || r.contentEncoding != "" {
		ctx.isBinaryRequestBody = true
		ctx.needRequestBody = false
	}
	if strings.Contains(asciiLower(r.connection), "upgrade") && asciiLower(r.upgrade) == "websocket" {
		ctx.isWebsocket = true
		ctx.needRequestBody = false
		ctx.needResponseBody = false
	}
	if h := ctx.plugin.vm.onRequestHeaders; h != nil {
		return h(ctx, *ctx.config)
	}
	return types.ActionContinue
}

// requestHeaders holds the request headers the wrapper looks at (the first
// value of each).
type requestHeaders struct {
	scheme, authority, path, method string
	requestID, consumer             string
	contentType, contentEncoding    string
	connection, upgrade             string
}

// headerChunks holds the request headers the host writes through the fast
// path: one chunk for many requests instead of an allocation (or a copy out
// of the fast-path buffer) per request.
var headerChunks arena.Chunks

// headersRoom is the room offered to the host for a request's headers;
// larger header maps go through the ABI's allocation.
const headersRoom = 2 << 10

// load reads the request headers with one host call. Their bytes stay
// where the host wrote them (a chunk of headerChunks, or the module's own
// allocation without the fast path), and the values are views of them.
func (r *requestHeaders) load() {
	room := headerChunks.Free(headersRoom)
	b, st := abi.HeaderMapPairsInto(uint32(types.MapTypeHttpRequestHeaders), room)
	if st != abi.StatusOK {
		return
	}
	if len(b) > 0 && unsafe.SliceData(b) == unsafe.SliceData(room) {
		headerChunks.Take(len(b))
	}
	r.read(b)
}

// read takes the headers from their pairs encoding without building the
// list of pairs; the values are views of b, which must not change while
// they are in use.
func (r *requestHeaders) read(b []byte) {
	var seen uint16
	ok := abi.RangePairs(b, false, func(k, v string) {
		var bit uint16
		var dst *string
		switch k {
		case ":scheme":
			bit, dst = 1<<0, &r.scheme
		case ":authority":
			bit, dst = 1<<1, &r.authority
		case ":path":
			bit, dst = 1<<2, &r.path
		case ":method":
			bit, dst = 1<<3, &r.method
		case "x-request-id":
			bit, dst = 1<<4, &r.requestID
		case matcher.ConsumerHeaderKey:
			bit, dst = 1<<5, &r.consumer
		case "content-type":
			bit, dst = 1<<6, &r.contentType
		case "content-encoding":
			bit, dst = 1<<7, &r.contentEncoding
		case "connection":
			bit, dst = 1<<8, &r.connection
		case "upgrade":
			bit, dst = 1<<9, &r.upgrade
		default:
			return
		}
		if seen&bit == 0 { // the first value wins
			seen |= bit
			*dst = v
		}
	})
	if !ok {
		*r = requestHeaders{}
	}
}

var errNoAuthority = errors.New("the request has no :authority header")

// matchConfig is matcher.GetMatchConfig with the headers already read: it
// copies the configuration that applies into ctx.matched and reports
// whether one does.
func (ctx *CommonHttpCtx[C]) matchConfig(host, consumer string) (bool, error) {
	if host == "" {
		return false, errNoAuthority
	}
	if ctx.plugin.Rules() == 0 {
		// Only a global configuration: no route or cluster to read.
		return ctx.plugin.MatchInto(&ctx.matched, host, "", ""), nil
	}
	route, err := proxywasm.GetProperty([]string{"route_name"})
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		return false, err
	}
	cluster, err := proxywasm.GetProperty([]string{"cluster_name"})
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		return false, err
	}
	return ctx.plugin.MatchWithConsumerInto(&ctx.matched, host, string(route), string(cluster), consumer), nil
}

func (ctx *CommonHttpCtx[C]) checkRebuild() {
	vm := ctx.plugin.vm
	if vm.rebuildAfterRequests > 0 {
		vm.requestCount++
		if vm.requestCount >= vm.rebuildAfterRequests {
			vm.requestCount = 0
			_ = proxywasm.SetProperty([]string{"wasm_need_rebuild"}, []byte("true"))
		}
	}
	if vm.rebuildMaxMemBytes > 0 {
		if b, err := proxywasm.GetProperty([]string{"plugin_vm_memory"}); err == nil {
			if mem, ok := abi.Uint64(b); ok && mem >= vm.rebuildMaxMemBytes {
				_ = proxywasm.SetProperty([]string{"wasm_need_rebuild"}, []byte("true"))
			}
		}
	}
}

// OnHttpRequestBody runs the streaming request-body handler on each chunk, or
// buffers the body and runs the buffered handler at the end of the stream.
func (ctx *CommonHttpCtx[C]) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	ctx.executionPhase = DecodeData
	if ctx.config == nil || !ctx.needRequestBody {
		return types.ActionContinue
	}
	defer ctx.recoverPanic("request body")
	vm := ctx.plugin.vm
	if ctx.streamingRequestBody && vm.onStreamingRequestBody != nil {
		chunk, _ := proxywasm.GetHttpRequestBody(0, bodySize)
		out := vm.onStreamingRequestBody(ctx, *ctx.config, chunk, endOfStream)
		if err := proxywasm.ReplaceHttpRequestBody(out); err != nil {
			vm.log.Warn("replace request body chunk failed: " + err.Error())
		}
		return types.ActionContinue
	}
	if vm.onRequestBody == nil {
		return types.ActionContinue
	}
	ctx.requestBodySize = bodySize
	if !endOfStream {
		return types.DataStopIterationAndBuffer
	}
	body, err := proxywasm.GetHttpRequestBody(0, math.MaxInt32)
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		vm.log.Warn("get request body failed: " + err.Error())
		return types.ActionContinue
	}
	return vm.onRequestBody(ctx, *ctx.config, body)
}

// OnHttpResponseHeaders runs the response-header handler, or completes a RouteCall.
func (ctx *CommonHttpCtx[C]) OnHttpResponseHeaders(numHeaders int, endOfStream bool) types.Action {
	ctx.executionPhase = EncodeHeader
	ctx.hasResponseBody = !endOfStream
	if ctx.config == nil {
		return types.ActionContinue
	}
	if !ctx.needResponseBody && ctx.responseCallback == nil && ctx.plugin.vm.onResponseHeaders == nil {
		// Nothing of the plugin's runs: no deferred recovery needed.
		ctx.binaryResponseUnknown = true
		return types.ActionContinue
	}
	defer ctx.recoverPanic("response headers")
	if ctx.needResponseBody || ctx.responseCallback != nil {
		ctx.checkBinaryResponse()
	} else {
		ctx.binaryResponseUnknown = true // read on demand by IsBinaryResponseBody
	}
	if cb := ctx.responseCallback; cb != nil {
		if endOfStream {
			headers, _ := proxywasm.GetHttpResponseHeaders()
			ctx.responseCallback = nil
			cb(statusOf(headers), headers, nil)
			return types.HeaderStopAllIterationAndWatermark
		}
		ctx.needResponseBody = true
		return types.HeaderStopIteration
	}
	if h := ctx.plugin.vm.onResponseHeaders; h != nil {
		return h(ctx, *ctx.config)
	}
	return types.ActionContinue
}

// OnHttpResponseBody runs the streaming or buffered response-body handler, or
// completes a RouteCall.
func (ctx *CommonHttpCtx[C]) OnHttpResponseBody(bodySize int, endOfStream bool) types.Action {
	ctx.executionPhase = EncodeData
	if ctx.config == nil || (ctx.responseCallback == nil && !ctx.needResponseBody) {
		return types.ActionContinue
	}
	defer ctx.recoverPanic("response body")
	vm := ctx.plugin.vm
	if cb := ctx.responseCallback; cb != nil {
		if !endOfStream {
			return types.DataStopIterationAndBuffer
		}
		body, _ := proxywasm.GetHttpResponseBody(0, math.MaxInt32)
		_ = proxywasm.RemoveHttpResponseHeader("content-length")
		headers, _ := proxywasm.GetHttpResponseHeaders()
		ctx.responseCallback = nil
		cb(statusOf(headers), headers, body)
		return types.ActionContinue
	}
	if ctx.streamingResponseBody && vm.onStreamingResponseBody != nil {
		chunk, _ := proxywasm.GetHttpResponseBody(0, bodySize)
		out := vm.onStreamingResponseBody(ctx, *ctx.config, chunk, endOfStream)
		if err := proxywasm.ReplaceHttpResponseBody(out); err != nil {
			vm.log.Warn("replace response body chunk failed: " + err.Error())
		}
		if ctx.pauseStreamingResponse {
			return types.DataStopIterationNoBuffer
		}
		return types.ActionContinue
	}
	if vm.onResponseBody == nil {
		return types.ActionContinue
	}
	ctx.responseBodySize = bodySize
	if !endOfStream {
		return types.DataStopIterationAndBuffer
	}
	body, err := proxywasm.GetHttpResponseBody(0, math.MaxInt32)
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		vm.log.Warn("get response body failed: " + err.Error())
		return types.ActionContinue
	}
	return vm.onResponseBody(ctx, *ctx.config, body)
}

// OnHttpStreamDone runs the stream-done handler.
func (ctx *CommonHttpCtx[C]) OnHttpStreamDone() {
	ctx.executionPhase = Done
	if ctx.config == nil || ctx.plugin.vm.onStreamDone == nil {
		return
	}
	defer ctx.recoverPanic("stream done")
	ctx.plugin.vm.onStreamDone(ctx, *ctx.config)
}

// requestID is the x-request-id of the stream for log lines: the header,
// else (as Higress's logger, which reads the property for every line) the
// x_request_id property, read once.
func (ctx *CommonHttpCtx[C]) requestID() string {
	if ctx.xRequestID == "" && !ctx.xRequestIDRead {
		ctx.xRequestIDRead = true
		if b, err := proxywasm.GetProperty([]string{"x_request_id"}); err == nil {
			ctx.xRequestID = string(b)
		}
	}
	return ctx.xRequestID
}

// GetMatchConfig returns the config that applies to this request (nil when
// the plugin is off for it).
func (ctx *CommonHttpCtx[C]) GetMatchConfig() (*C, error) { return ctx.plugin.GetMatchConfig() }

func statusOf(headers [][2]string) int {
	for _, h := range headers {
		if h[0] == ":status" {
			if n, err := strconv.Atoi(h[1]); err == nil {
				return n
			}
			return 500
		}
	}
	return 500
}

func isBinaryContentType(ct string) bool {
	ct = asciiLower(ct)
	return strings.Contains(ct, "octet-stream") || strings.Contains(ct, "grpc")
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}

// ---- HttpContext ----

func (ctx *CommonHttpCtx[C]) Scheme() string { return ctx.scheme }
func (ctx *CommonHttpCtx[C]) Host() string   { return ctx.host }
func (ctx *CommonHttpCtx[C]) Path() string   { return ctx.path }
func (ctx *CommonHttpCtx[C]) Method() string { return ctx.method }

func (ctx *CommonHttpCtx[C]) SetContext(key string, value interface{}) {
	if ctx.userContext == nil {
		ctx.userContext = map[string]interface{}{}
	}
	ctx.userContext[key] = value
}
func (ctx *CommonHttpCtx[C]) GetContext(key string) interface{} { return ctx.userContext[key] }

func (ctx *CommonHttpCtx[C]) GetBoolContext(key string, defaultValue bool) bool {
	if b, ok := ctx.userContext[key].(bool); ok {
		return b
	}
	return defaultValue
}

func (ctx *CommonHttpCtx[C]) GetStringContext(key, defaultValue string) string {
	if s, ok := ctx.userContext[key].(string); ok {
		return s
	}
	return defaultValue
}

func (ctx *CommonHttpCtx[C]) GetByteSliceContext(key string, defaultValue []byte) []byte {
	if b, ok := ctx.userContext[key].([]byte); ok {
		return b
	}
	return defaultValue
}

// GetIntContext returns an int stored with SetContext, or defaultValue.
func (ctx *CommonHttpCtx[C]) GetIntContext(key string, defaultValue int) int {
	if n, ok := ctx.userContext[key].(int); ok {
		return n
	}
	return defaultValue
}

func (ctx *CommonHttpCtx[C]) GetUserAttribute(key string) interface{} { return ctx.userAttribute[key] }
func (ctx *CommonHttpCtx[C]) SetUserAttribute(key string, value interface{}) {
	if ctx.userAttribute == nil {
		ctx.userAttribute = map[string]interface{}{}
	}
	ctx.userAttribute[key] = value
}

func (ctx *CommonHttpCtx[C]) SetUserAttributeMap(kvmap map[string]interface{}) {
	ctx.userAttribute = kvmap
}
func (ctx *CommonHttpCtx[C]) GetUserAttributeMap() map[string]interface{} {
	if ctx.userAttribute == nil {
		ctx.userAttribute = map[string]interface{}{}
	}
	return ctx.userAttribute
}

func (ctx *CommonHttpCtx[C]) WriteUserAttributeToLog() error {
	return ctx.WriteUserAttributeToLogWithKey(CustomLogKey)
}

func (ctx *CommonHttpCtx[C]) WriteUserAttributeToLogWithKey(key string) error {
	return writeAttributesToLog(key, ctx.userAttribute, ctx.plugin.vm.log)
}

func (ctx *CommonHttpCtx[C]) WriteUserAttributeToTrace() error {
	return writeAttributesToTrace(ctx.userAttribute, ctx.plugin.vm.log)
}

func (ctx *CommonHttpCtx[C]) DontReadRequestBody()  { ctx.needRequestBody = false }
func (ctx *CommonHttpCtx[C]) DontReadResponseBody() { ctx.needResponseBody = false }

// DonotReadRequestBody is DontReadRequestBody.
func (ctx *CommonHttpCtx[C]) DonotReadRequestBody() { ctx.DontReadRequestBody() }

// DonotReadResponseBody is DontReadResponseBody.
func (ctx *CommonHttpCtx[C]) DonotReadResponseBody() { ctx.DontReadResponseBody() }
func (ctx *CommonHttpCtx[C]) BufferRequestBody()     { ctx.streamingRequestBody = false }
func (ctx *CommonHttpCtx[C]) BufferResponseBody()    { ctx.streamingResponseBody = false }
func (ctx *CommonHttpCtx[C]) NeedPauseStreamingResponse() {
	ctx.pauseStreamingResponse = true
}

func (ctx *CommonHttpCtx[C]) PushBuffer(buffer []byte) {
	ctx.bufferQueue = append(ctx.bufferQueue, buffer)
}

func (ctx *CommonHttpCtx[C]) PopBuffer() []byte {
	if len(ctx.bufferQueue) == 0 {
		return nil
	}
	b := ctx.bufferQueue[0]
	ctx.bufferQueue = ctx.bufferQueue[1:]
	return b
}

func (ctx *CommonHttpCtx[C]) BufferQueueSize() int { return len(ctx.bufferQueue) }

func (ctx *CommonHttpCtx[C]) DisableReroute() {
	_ = proxywasm.SetProperty([]string{"clear_route_cache"}, []byte("off"))
}

func (ctx *CommonHttpCtx[C]) SetRequestBodyBufferLimit(byteSize uint32) {
	_ = proxywasm.SetProperty([]string{"set_decoder_buffer_limit"}, []byte(strconv.FormatUint(uint64(byteSize), 10)))
}

func (ctx *CommonHttpCtx[C]) SetResponseBodyBufferLimit(byteSize uint32) {
	_ = proxywasm.SetProperty([]string{"set_encoder_buffer_limit"}, []byte(strconv.FormatUint(uint64(byteSize), 10)))
}

func (ctx *CommonHttpCtx[C]) GetExecutionPhase() HTTPExecutionPhase { return ctx.executionPhase }
func (ctx *CommonHttpCtx[C]) HasRequestBody() bool                  { return ctx.hasRequestBody }
func (ctx *CommonHttpCtx[C]) HasResponseBody() bool                 { return ctx.hasResponseBody }
func (ctx *CommonHttpCtx[C]) IsWebsocket() bool                     { return ctx.isWebsocket }
func (ctx *CommonHttpCtx[C]) IsBinaryRequestBody() bool             { return ctx.isBinaryRequestBody }
func (ctx *CommonHttpCtx[C]) IsBinaryResponseBody() bool {
	if ctx.binaryResponseUnknown {
		ctx.checkBinaryResponse()
	}
	return ctx.isBinaryResponseBody
}

// checkBinaryResponse reads the response's content type and encoding: a
// binary or encoded body is not passed to the body handlers.
func (ctx *CommonHttpCtx[C]) checkBinaryResponse() {
	ctx.binaryResponseUnknown = false
	contentType, _ := proxywasm.GetHttpResponseHeader("content-type")
	contentEncoding, _ := proxywasm.GetHttpResponseHeader("content-encoding")
	if isBinaryContentType(contentType) || contentEncoding != "" {
		ctx.isBinaryResponseBody = true
		ctx.needResponseBody = false
	}
}

// RouteCall re-sends the current request, changed as given, through its route
// and delivers the upstream response to callback. Call it from the request
// body phase after the header phase stopped iteration.
func (ctx *CommonHttpCtx[C]) RouteCall(method, rawURL string, headers [][2]string, body []byte, callback RouteResponseCallback) error {
	u, err := parseURL(rawURL)
	if err != nil {
		return err
	}
	if callback == nil {
		return errors.New("route call: callback is nil")
	}
	_ = proxywasm.RemoveHttpRequestHeader("accept-encoding")
	_ = proxywasm.RemoveHttpRequestHeader("content-length")
	_ = proxywasm.ReplaceHttpRequestHeader("x-envoy-original-method", ctx.method)
	_ = proxywasm.ReplaceHttpRequestHeader("x-envoy-original-path", ctx.path)
	_ = proxywasm.ReplaceHttpRequestHeader("x-envoy-original-host", ctx.host)
	if err := proxywasm.ReplaceHttpRequestHeader(":method", method); err != nil {
		return err
	}
	if err := proxywasm.ReplaceHttpRequestHeader(":path", u.routeCallPath()); err != nil {
		return err
	}
	if u.host != "" {
		_ = proxywasm.ReplaceHttpRequestHeader(":authority", u.host)
	}
	for _, h := range headers {
		_ = proxywasm.ReplaceHttpRequestHeader(h[0], h[1])
	}
	if err := proxywasm.ReplaceHttpRequestBody(body); err != nil {
		return err
	}
	// The response now goes to callback: the host must make the response
	// callbacks from here on.
	vmstate.ClearSkippable(vmstate.SkipResponseHeaders | vmstate.SkipResponseBody)
	ctx.responseCallback = callback
	return nil
}
