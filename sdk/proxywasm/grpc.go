package proxywasm

import (
	"unsafe"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// ---- gRPC callouts ----
//
// A gRPC callout goes to a cluster named by service: a plain cluster name,
// or a serialized envoy.config.core.v3.GrpcService (see GrpcService) to set
// the :authority or service-wide initial metadata. The host answers on the
// plugin context; the SDK runs the callback in the context that made the
// call, and skips it when that context is gone.

// GrpcStreamHandler receives the events of a stream opened with
// OpenGrpcStream. Any field may be nil.
type GrpcStreamHandler struct {
	// OnInitialMetadata runs when the response headers arrive; read them
	// with GetGrpcStreamInitialMetadata.
	OnInitialMetadata func(numElements int)
	// OnMessage runs for each message; read it with GetGrpcStreamMessage.
	OnMessage func(messageSize int)
	// OnTrailingMetadata runs when the trailers arrive (grpc-status
	// included); read them with GetGrpcStreamTrailingMetadata.
	OnTrailingMetadata func(numElements int)
	// OnClose ends the stream with its gRPC status; GetGrpcStatus returns
	// the message too.
	OnClose func(status uint32)
}

// GrpcService serializes an envoy.config.core.v3.GrpcService with an
// envoy_grpc target, for DispatchGrpcCall and OpenGrpcStream. An empty
// authority sends the cluster name as :authority, as Envoy does.
func GrpcService(cluster, authority string, initialMetadata [][2]string) string {
	var target []byte
	target = appendProtoString(target, 1, cluster)
	target = appendProtoString(target, 2, authority)
	out := appendProtoBytes(nil, 1, target)
	for _, kv := range initialMetadata {
		var hv []byte
		hv = appendProtoString(hv, 1, kv[0])
		hv = appendProtoString(hv, 2, kv[1])
		out = appendProtoBytes(out, 5, hv)
	}
	return string(out)
}

func appendProtoString(b []byte, field int, s string) []byte {
	if s == "" {
		return b
	}
	return appendProtoBytes(b, field, []byte(s))
}

func appendProtoBytes(b []byte, field int, v []byte) []byte {
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// DispatchGrpcCall makes a unary gRPC call of serviceName/method (for
// example "helloworld.Greeter", "SayHello") with a serialized request
// message. callBack receives status 0 and the response size (read the
// response with GetGrpcCallResponseBody), or a non-zero gRPC status and 0
// (GetGrpcStatus has the message). timeoutMillisecond 0 means none.
func DispatchGrpcCall(service, serviceName, method string, initialMetadata [][2]string, message []byte,
	timeoutMillisecond uint32, callBack func(status uint32, responseSize int)) (calloutID uint32, err error) {
	md := abi.SerializePairs(initialMetadata)
	st := abi.ProxyGrpcCall(strPtr(service), uint32(len(service)), strPtr(serviceName), uint32(len(serviceName)),
		strPtr(method), uint32(len(method)), bytesPtr(md), uint32(len(md)), bytesPtr(message), uint32(len(message)),
		timeoutMillisecond, &calloutID)
	if err := statusErr(st); err != nil {
		return 0, err
	}
	vmstate.RegisterGrpcCall(calloutID, callBack)
	return calloutID, nil
}

// GetGrpcCallResponseBody returns part of the response of the gRPC call
// being delivered.
func GetGrpcCallResponseBody(start, maxSize int) ([]byte, error) {
	return getBuffer(types.BufferTypeGrpcReceiveBuffer, start, maxSize)
}

// CancelGrpcCall cancels a unary call; its callback does not run.
func CancelGrpcCall(calloutID uint32) error {
	vmstate.ForgetGrpc(calloutID)
	return statusErr(abi.ProxyGrpcCancel(calloutID))
}

// OpenGrpcStream opens a gRPC stream of serviceName/method; send on it with
// SendGrpcStreamMessage.
func OpenGrpcStream(service, serviceName, method string, initialMetadata [][2]string, handler GrpcStreamHandler) (streamID uint32, err error) {
	md := abi.SerializePairs(initialMetadata)
	st := abi.ProxyGrpcStream(strPtr(service), uint32(len(service)), strPtr(serviceName), uint32(len(serviceName)),
		strPtr(method), uint32(len(method)), bytesPtr(md), uint32(len(md)), &streamID)
	if err := statusErr(st); err != nil {
		return 0, err
	}
	vmstate.RegisterGrpcStream(streamID, vmstate.GrpcStreamHandler{
		OnInitialMetadata:  handler.OnInitialMetadata,
		OnMessage:          handler.OnMessage,
		OnTrailingMetadata: handler.OnTrailingMetadata,
		OnClose:            handler.OnClose,
	})
	return streamID, nil
}

// SendGrpcStreamMessage sends a serialized message on a stream; endStream
// half-closes it afterwards.
func SendGrpcStreamMessage(streamID uint32, message []byte, endStream bool) error {
	eos := uint32(0)
	if endStream {
		eos = 1
	}
	return statusErr(abi.ProxyGrpcSend(streamID, bytesPtr(message), uint32(len(message)), eos))
}

// CloseGrpcStream half-closes a stream: the peer's answers still arrive.
func CloseGrpcStream(streamID uint32) error {
	return statusErr(abi.ProxyGrpcClose(streamID))
}

// CancelGrpcStream resets a stream; no callback of it runs afterwards.
func CancelGrpcStream(streamID uint32) error {
	vmstate.ForgetGrpc(streamID)
	return statusErr(abi.ProxyGrpcCancel(streamID))
}

// GetGrpcStreamInitialMetadata returns the response headers being delivered.
func GetGrpcStreamInitialMetadata() ([][2]string, error) {
	return getHeaderMap(types.MapTypeGrpcReceiveInitialMetadata)
}

// GetGrpcStreamMessage returns part of the stream message being delivered.
func GetGrpcStreamMessage(start, maxSize int) ([]byte, error) {
	return getBuffer(types.BufferTypeGrpcReceiveBuffer, start, maxSize)
}

// GetGrpcStreamTrailingMetadata returns the trailers being delivered.
func GetGrpcStreamTrailingMetadata() ([][2]string, error) {
	return getHeaderMap(types.MapTypeGrpcReceiveTrailingMetadata)
}

// GetGrpcStatus returns the status and message of the gRPC callout being
// closed (proxy_get_status).
func GetGrpcStatus() (status uint32, message string, err error) {
	var r retVals
	st := abi.ProxyGetStatus(&status, unsafe.Pointer(&r.p), &r.n)
	if err := statusErr(st); err != nil {
		return 0, "", err
	}
	if r.p != nil && r.n > 0 {
		message = string(unsafe.Slice(r.p, r.n))
	}
	return status, message, nil
}
