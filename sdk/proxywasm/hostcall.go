package proxywasm

import (
	"errors"
	"math"
	"unsafe"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func strPtr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// statusErr is types.StatusToError with the common case inlined at every
// call site (a call costs tens of nanoseconds in a Go wasm guest).
func statusErr(st abi.Status) error {
	if st == abi.StatusOK {
		return nil
	}
	return types.StatusToError(types.Status(st))
}

// buffer turns a host-allocated result into a Go slice. Ok with a nil pointer
// means "nothing there" and maps to ErrorStatusNotFound, as in Higress's SDK.
func buffer(st abi.Status, p *byte, n uint32) ([]byte, error) {
	if err := statusErr(st); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, types.ErrorStatusNotFound
	}
	return unsafe.Slice(p, n), nil
}

// ---- configuration, timers, contexts ----

// GetVMConfiguration returns the VM configuration. It can be read at any time.
func GetVMConfiguration() ([]byte, error) {
	return getBuffer(types.BufferTypeVMConfiguration, 0, math.MaxInt32)
}

// GetPluginConfiguration returns the plugin configuration; the host makes it
// available only during OnPluginStart.
func GetPluginConfiguration() ([]byte, error) {
	return getBuffer(types.BufferTypePluginConfiguration, 0, math.MaxInt32)
}

// SetTickPeriodMilliSeconds sets the period of OnTick for the calling plugin context; 0 stops it.
func SetTickPeriodMilliSeconds(millSec uint32) error {
	return statusErr(abi.ProxySetTickPeriodMilliseconds(millSec))
}

// SetEffectiveContext makes later host calls in this callback act on another
// context (for example the stream that made an HTTP callout).
func SetEffectiveContext(contextID uint32) error {
	st := abi.ProxySetEffectiveContext(contextID)
	if st == abi.StatusOK {
		vmstate.SetActiveContextID(contextID)
	}
	return statusErr(st)
}

// PluginDone tells the host that a plugin context whose OnPluginDone returned false has finished.
func PluginDone() { abi.ProxyDone() }

// ---- shared queues and shared data ----

// RegisterSharedQueue registers a queue under this VM's id; OnQueueReady of the
// registering plugin context fires when data is enqueued.
func RegisterSharedQueue(name string) (queueID uint32, err error) {
	st := abi.ProxyRegisterSharedQueue(strPtr(name), uint32(len(name)), &queueID)
	return queueID, statusErr(st)
}

// ResolveSharedQueue finds a queue registered by the VM vmID ("" for this VM).
func ResolveSharedQueue(vmID, queueName string) (queueID uint32, err error) {
	st := abi.ProxyResolveSharedQueue(strPtr(vmID), uint32(len(vmID)), strPtr(queueName), uint32(len(queueName)), &queueID)
	return queueID, statusErr(st)
}

// EnqueueSharedQueue appends data to a queue.
func EnqueueSharedQueue(queueID uint32, data []byte) error {
	return statusErr(abi.ProxyEnqueueSharedQueue(queueID, bytesPtr(data), uint32(len(data))))
}

// DequeueSharedQueue takes the oldest item of a queue; ErrorStatusEmpty when there is none.
func DequeueSharedQueue(queueID uint32) ([]byte, error) {
	var r retVals
	st := abi.ProxyDequeueSharedQueue(queueID, unsafe.Pointer(&r.p), &r.n)
	p, n := r.p, r.n
	return buffer(st, p, n)
}

// GetSharedData reads a key shared by all VMs of this vm_id, with its CAS value.
func GetSharedData(key string) (value []byte, cas uint32, err error) {
	var r retVals
	st := abi.ProxyGetSharedData(strPtr(key), uint32(len(key)), unsafe.Pointer(&r.p), &r.n, &cas)
	p, n := r.p, r.n
	if err := statusErr(st); err != nil {
		return nil, 0, err
	}
	if p == nil {
		return nil, cas, nil
	}
	return unsafe.Slice(p, n), cas, nil
}

// SetSharedData writes a key; with a non-zero cas the write fails with
// ErrorStatusCasMismatch if the key changed since it was read.
func SetSharedData(key string, data []byte, cas uint32) error {
	return statusErr(abi.ProxySetSharedData(strPtr(key), uint32(len(key)), bytesPtr(data), uint32(len(data)), cas))
}

// ---- HTTP callouts ----

// DispatchHttpCall sends an HTTP request to an upstream cluster. headers must
// include :method, :path and :authority. callBack runs in the calling context
// when the response arrives; read it with GetHttpCallResponse*.
func DispatchHttpCall(cluster string, headers [][2]string, body []byte, trailers [][2]string,
	timeoutMillisecond uint32, callBack func(numHeaders, bodySize, numTrailers int)) (calloutID uint32, err error) {
	hs := abi.SerializePairs(headers)
	ts := abi.SerializePairs(trailers)
	st := abi.ProxyHttpCall(strPtr(cluster), uint32(len(cluster)), bytesPtr(hs), uint32(len(hs)),
		bytesPtr(body), uint32(len(body)), bytesPtr(ts), uint32(len(ts)), timeoutMillisecond, &calloutID)
	if err := statusErr(st); err != nil {
		return 0, err
	}
	vmstate.RegisterHttpCallout(calloutID, callBack)
	return calloutID, nil
}

// GetHttpCallResponseHeaders returns the headers of the callout response being delivered.
func GetHttpCallResponseHeaders() ([][2]string, error) {
	return getHeaderMap(types.MapTypeHttpCallResponseHeaders)
}

// GetHttpCallResponseBody returns part of the body of the callout response being delivered.
func GetHttpCallResponseBody(start, maxSize int) ([]byte, error) {
	return getBuffer(types.BufferTypeHttpCallResponseBody, start, maxSize)
}

// GetHttpCallResponseTrailers returns the trailers of the callout response being delivered.
func GetHttpCallResponseTrailers() ([][2]string, error) {
	return getHeaderMap(types.MapTypeHttpCallResponseTrailers)
}

// ---- Redis (Higress extension) ----

// RedisInit prepares the Redis cluster for calls from this plugin. cluster may
// carry parameters: "outbound|6379||redis.static?db=1&buffer_flush_timeout=3".
func RedisInit(cluster, username, password string, timeout uint32) error {
	return statusErr(abi.ProxyRedisInit(strPtr(cluster), uint32(len(cluster)), strPtr(username), uint32(len(username)),
		strPtr(password), uint32(len(password)), timeout))
}

// DispatchRedisCall sends a RESP-encoded command to a Redis cluster. callBack
// runs in the calling context with a status (0 = ok) and the reply size; read
// the reply with GetRedisCallResponse.
func DispatchRedisCall(cluster string, query []byte, callBack func(status int, responseSize int)) (calloutID uint32, err error) {
	st := abi.ProxyRedisCall(strPtr(cluster), uint32(len(cluster)), bytesPtr(query), uint32(len(query)), &calloutID)
	if err := statusErr(st); err != nil {
		return 0, err
	}
	vmstate.RegisterRedisCallout(calloutID, callBack)
	return calloutID, nil
}

// GetRedisCallResponse returns part of the Redis reply being delivered.
func GetRedisCallResponse(start, maxSize int) ([]byte, error) {
	return getBuffer(types.BufferTypeRedisCallResponse, start, maxSize)
}

// ---- other Higress extensions ----

// InjectEncodedDataToFilterChain injects body data into the filter chain after this filter.
func InjectEncodedDataToFilterChain(body []byte, endStream bool) error {
	var eos uint32
	if endStream {
		eos = 1
	}
	return statusErr(abi.ProxyInjectEncodedDataToFilterChain(bytesPtr(body), uint32(len(body)), eos))
}

// GetUpstreamHosts returns the hosts of the current route's cluster as pairs
// of address and host metadata.
func GetUpstreamHosts() ([][2]string, error) {
	var r retVals
	st := abi.ProxyGetUpstreamHosts(unsafe.Pointer(&r.p), &r.n)
	b, err := buffer(st, r.p, r.n)
	if err != nil {
		return nil, err
	}
	return decodePairs(b)
}

// SetUpstreamOverrideHost chooses the upstream host ("ip:port") for this request.
func SetUpstreamOverrideHost(address []byte) error {
	return statusErr(abi.ProxySetUpstreamOverrideHost(bytesPtr(address), uint32(len(address))))
}

// ---- local responses and resumption ----

// SendHttpResponse answers the request locally. Headers are lowercased by the
// host; gRPCStatus -1 means "not a gRPC reply". A paused stream needs no resume.
func SendHttpResponse(statusCode uint32, headers [][2]string, body []byte, gRPCStatus int32) error {
	return SendHttpResponseWithDetail(statusCode, "", headers, body, gRPCStatus)
}

// SendHttpResponseWithDetail is SendHttpResponse with the response code details
// shown in the access log (for example "key-auth.unauthorized").
func SendHttpResponseWithDetail(statusCode uint32, statusCodeDetail string, headers [][2]string, body []byte, gRPCStatus int32) error {
	hs := abi.SerializePairs(headers)
	return statusErr(abi.ProxySendLocalResponse(statusCode, strPtr(statusCodeDetail), uint32(len(statusCodeDetail)),
		bytesPtr(body), uint32(len(body)), bytesPtr(hs), uint32(len(hs)), gRPCStatus))
}

// ResumeHttpRequest continues a request paused by this plugin.
func ResumeHttpRequest() error {
	return statusErr(abi.ProxyContinueStream(uint32(types.StreamTypeRequest)))
}

// ResumeHttpResponse continues a response paused by this plugin.
func ResumeHttpResponse() error {
	return statusErr(abi.ProxyContinueStream(uint32(types.StreamTypeResponse)))
}

// CloseHttpStream resets the HTTP stream.
func CloseHttpStream() error { return statusErr(abi.ProxyCloseStream(uint32(types.StreamTypeRequest))) }

// ---- request ----

// GetHttpRequestHeaders returns all request headers, pseudo-headers included.
func GetHttpRequestHeaders() ([][2]string, error) {
	return getHeaderMap(types.MapTypeHttpRequestHeaders)
}

// ReplaceHttpRequestHeaders replaces all request headers.
func ReplaceHttpRequestHeaders(headers [][2]string) error {
	return setHeaderMap(types.MapTypeHttpRequestHeaders, headers)
}

// GetHttpRequestHeader returns the first value of a request header.
func GetHttpRequestHeader(key string) (string, error) {
	return getMapValue(types.MapTypeHttpRequestHeaders, key)
}

// RemoveHttpRequestHeader removes a request header.
func RemoveHttpRequestHeader(key string) error {
	return removeMapValue(types.MapTypeHttpRequestHeaders, key)
}

// ReplaceHttpRequestHeader sets a request header to a single value.
func ReplaceHttpRequestHeader(key, value string) error {
	return replaceMapValue(types.MapTypeHttpRequestHeaders, key, value)
}

// AddHttpRequestHeader adds a request header value.
func AddHttpRequestHeader(key, value string) error {
	return addMapValue(types.MapTypeHttpRequestHeaders, key, value)
}

// GetHttpRequestBody returns part of the request body seen so far.
func GetHttpRequestBody(start, maxSize int) ([]byte, error) {
	return getBuffer(types.BufferTypeHttpRequestBody, start, maxSize)
}

// AppendHttpRequestBody appends data to the request body.
func AppendHttpRequestBody(data []byte) error {
	return setBuffer(types.BufferTypeHttpRequestBody, math.MaxInt32, 0, data)
}

// PrependHttpRequestBody prepends data to the request body.
func PrependHttpRequestBody(data []byte) error {
	return setBuffer(types.BufferTypeHttpRequestBody, 0, 0, data)
}

// ReplaceHttpRequestBody replaces the request body.
func ReplaceHttpRequestBody(data []byte) error {
	return setBuffer(types.BufferTypeHttpRequestBody, 0, math.MaxInt32, data)
}

// GetHttpRequestTrailers returns all request trailers.
func GetHttpRequestTrailers() ([][2]string, error) {
	return getHeaderMap(types.MapTypeHttpRequestTrailers)
}

// ReplaceHttpRequestTrailers replaces all request trailers.
func ReplaceHttpRequestTrailers(trailers [][2]string) error {
	return setHeaderMap(types.MapTypeHttpRequestTrailers, trailers)
}

// GetHttpRequestTrailer returns the first value of a request trailer.
func GetHttpRequestTrailer(key string) (string, error) {
	return getMapValue(types.MapTypeHttpRequestTrailers, key)
}

// RemoveHttpRequestTrailer removes a request trailer.
func RemoveHttpRequestTrailer(key string) error {
	return removeMapValue(types.MapTypeHttpRequestTrailers, key)
}

// ReplaceHttpRequestTrailer sets a request trailer to a single value.
func ReplaceHttpRequestTrailer(key, value string) error {
	return replaceMapValue(types.MapTypeHttpRequestTrailers, key, value)
}

// AddHttpRequestTrailer adds a request trailer value.
func AddHttpRequestTrailer(key, value string) error {
	return addMapValue(types.MapTypeHttpRequestTrailers, key, value)
}

// ---- response ----

// GetHttpResponseHeaders returns all response headers, :status included.
func GetHttpResponseHeaders() ([][2]string, error) {
	return getHeaderMap(types.MapTypeHttpResponseHeaders)
}

// ReplaceHttpResponseHeaders replaces all response headers.
func ReplaceHttpResponseHeaders(headers [][2]string) error {
	return setHeaderMap(types.MapTypeHttpResponseHeaders, headers)
}

// GetHttpResponseHeader returns the first value of a response header.
func GetHttpResponseHeader(key string) (string, error) {
	return getMapValue(types.MapTypeHttpResponseHeaders, key)
}

// RemoveHttpResponseHeader removes a response header.
func RemoveHttpResponseHeader(key string) error {
	return removeMapValue(types.MapTypeHttpResponseHeaders, key)
}

// ReplaceHttpResponseHeader sets a response header to a single value.
func ReplaceHttpResponseHeader(key, value string) error {
	return replaceMapValue(types.MapTypeHttpResponseHeaders, key, value)
}

// AddHttpResponseHeader adds a response header value.
func AddHttpResponseHeader(key, value string) error {
	return addMapValue(types.MapTypeHttpResponseHeaders, key, value)
}

// GetHttpResponseBody returns part of the response body seen so far.
func GetHttpResponseBody(start, maxSize int) ([]byte, error) {
	return getBuffer(types.BufferTypeHttpResponseBody, start, maxSize)
}

// AppendHttpResponseBody appends data to the response body.
func AppendHttpResponseBody(data []byte) error {
	return setBuffer(types.BufferTypeHttpResponseBody, math.MaxInt32, 0, data)
}

// PrependHttpResponseBody prepends data to the response body.
func PrependHttpResponseBody(data []byte) error {
	return setBuffer(types.BufferTypeHttpResponseBody, 0, 0, data)
}

// ReplaceHttpResponseBody replaces the response body.
func ReplaceHttpResponseBody(data []byte) error {
	return setBuffer(types.BufferTypeHttpResponseBody, 0, math.MaxInt32, data)
}

// GetHttpResponseTrailers returns all response trailers.
func GetHttpResponseTrailers() ([][2]string, error) {
	return getHeaderMap(types.MapTypeHttpResponseTrailers)
}

// ReplaceHttpResponseTrailers replaces all response trailers.
func ReplaceHttpResponseTrailers(trailers [][2]string) error {
	return setHeaderMap(types.MapTypeHttpResponseTrailers, trailers)
}

// GetHttpResponseTrailer returns the first value of a response trailer.
func GetHttpResponseTrailer(key string) (string, error) {
	return getMapValue(types.MapTypeHttpResponseTrailers, key)
}

// RemoveHttpResponseTrailer removes a response trailer.
func RemoveHttpResponseTrailer(key string) error {
	return removeMapValue(types.MapTypeHttpResponseTrailers, key)
}

// ReplaceHttpResponseTrailer sets a response trailer to a single value.
func ReplaceHttpResponseTrailer(key, value string) error {
	return replaceMapValue(types.MapTypeHttpResponseTrailers, key, value)
}

// AddHttpResponseTrailer adds a response trailer value.
func AddHttpResponseTrailer(key, value string) error {
	return addMapValue(types.MapTypeHttpResponseTrailers, key, value)
}

// ---- TCP ----

// GetDownstreamData returns part of the data received from downstream.
func GetDownstreamData(start, maxSize int) ([]byte, error) {
	return getBuffer(types.BufferTypeDownstreamData, start, maxSize)
}

// AppendDownstreamData appends to the downstream data.
func AppendDownstreamData(data []byte) error {
	return setBuffer(types.BufferTypeDownstreamData, math.MaxInt32, 0, data)
}

// PrependDownstreamData prepends to the downstream data.
func PrependDownstreamData(data []byte) error {
	return setBuffer(types.BufferTypeDownstreamData, 0, 0, data)
}

// ReplaceDownstreamData replaces the downstream data.
func ReplaceDownstreamData(data []byte) error {
	return setBuffer(types.BufferTypeDownstreamData, 0, math.MaxInt32, data)
}

// GetUpstreamData returns part of the data received from upstream.
func GetUpstreamData(start, maxSize int) ([]byte, error) {
	return getBuffer(types.BufferTypeUpstreamData, start, maxSize)
}

// AppendUpstreamData appends to the upstream data.
func AppendUpstreamData(data []byte) error {
	return setBuffer(types.BufferTypeUpstreamData, math.MaxInt32, 0, data)
}

// PrependUpstreamData prepends to the upstream data.
func PrependUpstreamData(data []byte) error {
	return setBuffer(types.BufferTypeUpstreamData, 0, 0, data)
}

// ReplaceUpstreamData replaces the upstream data.
func ReplaceUpstreamData(data []byte) error {
	return setBuffer(types.BufferTypeUpstreamData, 0, math.MaxInt32, data)
}

// ContinueTcpStream continues a paused TCP stream.
func ContinueTcpStream() error {
	return statusErr(abi.ProxyContinueStream(uint32(types.StreamTypeDownstream)))
}

// CloseDownstream closes the downstream connection.
func CloseDownstream() error {
	return statusErr(abi.ProxyCloseStream(uint32(types.StreamTypeDownstream)))
}

// CloseUpstream closes the upstream connection.
func CloseUpstream() error { return statusErr(abi.ProxyCloseStream(uint32(types.StreamTypeUpstream))) }

// ---- properties and foreign functions ----

// GetProperty reads a property such as []string{"request", "path"} or
// []string{"route_name"}. Integers come back as 8 bytes little-endian.
func GetProperty(path []string) ([]byte, error) {
	if len(path) == 0 {
		return nil, errors.New("path must not be empty")
	}
	p := abi.SerializePath(path)
	var r retVals
	r.supply()
	st := abi.ProxyGetProperty(bytesPtr(p), uint32(len(p)), unsafe.Pointer(&r.p), &r.n)
	return r.result(st)
}

// GetPropertyMap reads a map-valued property (such as request.headers) as pairs.
func GetPropertyMap(path []string) ([][2]string, error) {
	b, err := GetProperty(path)
	if err != nil {
		return nil, err
	}
	return decodePairs(b)
}

// SetProperty writes a property; single-segment names read back with GetProperty.
func SetProperty(path []string, data []byte) error {
	if len(path) == 0 {
		return errors.New("path must not be empty")
	}
	if len(data) == 0 {
		return errors.New("data must not be empty")
	}
	p := abi.SerializePath(path)
	return statusErr(abi.ProxySetProperty(bytesPtr(p), uint32(len(p)), bytesPtr(data), uint32(len(data))))
}

// CallForeignFunction calls a host function by name (for example "compress").
func CallForeignFunction(funcName string, param []byte) (ret []byte, err error) {
	var r retVals
	st := abi.ProxyCallForeignFunction(strPtr(funcName), uint32(len(funcName)), bytesPtr(param), uint32(len(param)), unsafe.Pointer(&r.p), &r.n)
	p, n := r.p, r.n
	if err := statusErr(st); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, nil
	}
	return unsafe.Slice(p, n), nil
}

// GetCurrentTimeNanoseconds returns the host's wall clock in nanoseconds.
func GetCurrentTimeNanoseconds() (int64, error) {
	var t uint64
	st := abi.ProxyGetCurrentTimeNanoseconds(&t)
	return int64(t), statusErr(st)
}

// ---- shared helpers ----

func getBuffer(bt types.BufferType, start, maxSize int) ([]byte, error) {
	if start < 0 || maxSize < 0 {
		return nil, types.ErrorStatusBadArgument
	}
	if start > math.MaxInt32 {
		start = math.MaxInt32
	}
	if maxSize > math.MaxInt32 {
		maxSize = math.MaxInt32
	}
	var r retVals
	r.supply()
	st := abi.ProxyGetBufferBytes(uint32(bt), uint32(start), uint32(maxSize), unsafe.Pointer(&r.p), &r.n)
	return r.result(st)
}

func setBuffer(bt types.BufferType, start, size int, data []byte) error {
	return statusErr(abi.ProxySetBufferBytes(uint32(bt), uint32(start), uint32(size), bytesPtr(data), uint32(len(data))))
}

func getHeaderMap(mt types.MapType) ([][2]string, error) {
	b, st := abi.HeaderMapPairs(uint32(mt))
	if err := statusErr(st); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, types.ErrorStatusNotFound
	}
	// Decoding copies the keys and values out of b.
	return decodePairs(b)
}

func setHeaderMap(mt types.MapType, headers [][2]string) error {
	b := abi.SerializePairs(headers)
	return statusErr(abi.ProxySetHeaderMapPairs(uint32(mt), bytesPtr(b), uint32(len(b))))
}

func getMapValue(mt types.MapType, key string) (string, error) {
	var r retVals
	r.supply()
	st := abi.ProxyGetHeaderMapValue(uint32(mt), strPtr(key), uint32(len(key)), unsafe.Pointer(&r.p), &r.n)
	if st == abi.StatusOK && r.supplied() {
		return string(abi.ValueBuf[:r.n]), nil
	}
	p, n := r.p, r.n
	b, err := buffer(st, p, n)
	if err != nil {
		if err == types.ErrorStatusNotFound && st == abi.StatusOK {
			// present with an empty value
			return "", nil
		}
		return "", err
	}
	// The host wrote the value into a fresh allocation of ours that
	// nothing else references or writes: the string can share it.
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

func addMapValue(mt types.MapType, key, value string) error {
	return statusErr(abi.ProxyAddHeaderMapValue(uint32(mt), strPtr(key), uint32(len(key)), strPtr(value), uint32(len(value))))
}

func replaceMapValue(mt types.MapType, key, value string) error {
	return statusErr(abi.ProxyReplaceHeaderMapValue(uint32(mt), strPtr(key), uint32(len(key)), strPtr(value), uint32(len(value))))
}

func removeMapValue(mt types.MapType, key string) error {
	return statusErr(abi.ProxyRemoveHeaderMapValue(uint32(mt), strPtr(key), uint32(len(key))))
}

var errMalformedPairs = errors.New("malformed header map from host")

func decodePairs(b []byte) ([][2]string, error) {
	pairs, ok := abi.DeserializePairs(b)
	if !ok {
		return nil, errMalformedPairs
	}
	return pairs, nil
}
