// Command grpcseen is a test plugin for gRPC through the gateway. A request
// with x-deny: http answers a local reply with HTTP status 403 and no gRPC
// status; x-deny: grpc answers with gRPC status 16 (UNAUTHENTICATED). On
// the response trailers it adds x-seen-grpc-status: the response.grpc_status
// property and the grpc-status trailer the plugin read, comma-separated.
package main

import (
	"encoding/binary"
	"strconv"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &ctx{} })
}

type ctx struct{ types.DefaultHttpContext }

func (*ctx) OnHttpRequestHeaders(int, bool) types.Action {
	switch deny, _ := proxywasm.GetHttpRequestHeader("x-deny"); deny {
	case "http":
		_ = proxywasm.SendHttpResponse(403, nil, []byte("denied: no key"), -1)
		return types.ActionPause
	case "grpc":
		_ = proxywasm.SendHttpResponse(401, nil, []byte("who are you?"), 16)
		return types.ActionPause
	}
	return types.ActionContinue
}

// OnHttpResponseHeaders reports a trailers-only response (the status in the
// headers, end of stream): no trailers callback follows.
func (*ctx) OnHttpResponseHeaders(_ int, endOfStream bool) types.Action {
	if endOfStream {
		h, _ := proxywasm.GetHttpResponseHeader("grpc-status")
		_ = proxywasm.AddHttpResponseHeader("x-seen-grpc-status", grpcStatus()+","+h)
	}
	return types.ActionContinue
}

func (*ctx) OnHttpResponseTrailers(int) types.Action {
	trailer, _ := proxywasm.GetHttpResponseTrailer("grpc-status")
	_ = proxywasm.AddHttpResponseTrailer("x-seen-grpc-status", grpcStatus()+","+trailer)
	return types.ActionContinue
}

func grpcStatus() string {
	if v, err := proxywasm.GetProperty([]string{"response", "grpc_status"}); err == nil && len(v) == 8 {
		return strconv.FormatInt(int64(binary.LittleEndian.Uint64(v)), 10)
	}
	return "absent"
}
