//go:build wasm

package proxywasm

import (
	"unsafe"

	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// The proxy-wasm callbacks. The host calls them; each dispatches to the
// registered contexts through vmstate.

// allocations keeps the buffers handed to the host alive until the next
// callback starts: the host writes into them and then gives their addresses
// back inside a host call, with no Go reference in between.
var allocations [][]byte

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) unsafe.Pointer {
	if size == 0 {
		size = 1
	}
	b := make([]byte, size)
	allocations = append(allocations, b)
	return unsafe.Pointer(&b[0])
}

func enter() { allocations = allocations[:0] }

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(rootContextID uint32, vmConfigurationSize int32) types.OnVMStartStatus {
	enter()
	detectFastPath()
	return vmstate.OnVMStart(rootContextID, vmConfigurationSize)
}

//go:wasmexport proxy_on_configure
func proxyOnConfigure(pluginContextID uint32, pluginConfigurationSize int32) types.OnPluginStartStatus {
	enter()
	return vmstate.OnConfigure(pluginContextID, pluginConfigurationSize)
}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, parentContextID uint32) {
	enter()
	vmstate.OnContextCreate(contextID, parentContextID)
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID uint32, numHeaders int32, endOfStream bool) types.Action {
	enter()
	return vmstate.OnRequestHeaders(contextID, numHeaders, endOfStream)
}

//go:wasmexport proxy_on_request_body
func proxyOnRequestBody(contextID uint32, bodySize int32, endOfStream bool) types.Action {
	enter()
	return vmstate.OnRequestBody(contextID, bodySize, endOfStream)
}

//go:wasmexport proxy_on_request_trailers
func proxyOnRequestTrailers(contextID uint32, numTrailers int32) types.Action {
	enter()
	return vmstate.OnRequestTrailers(contextID, numTrailers)
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(contextID uint32, numHeaders int32, endOfStream bool) types.Action {
	enter()
	return vmstate.OnResponseHeaders(contextID, numHeaders, endOfStream)
}

//go:wasmexport proxy_on_response_body
func proxyOnResponseBody(contextID uint32, bodySize int32, endOfStream bool) types.Action {
	enter()
	return vmstate.OnResponseBody(contextID, bodySize, endOfStream)
}

//go:wasmexport proxy_on_response_trailers
func proxyOnResponseTrailers(contextID uint32, numTrailers int32) types.Action {
	enter()
	return vmstate.OnResponseTrailers(contextID, numTrailers)
}

//go:wasmexport proxy_on_new_connection
func proxyOnNewConnection(contextID uint32) types.Action {
	enter()
	return vmstate.OnNewConnection(contextID)
}

//go:wasmexport proxy_on_downstream_data
func proxyOnDownstreamData(contextID uint32, dataSize int32, endOfStream bool) types.Action {
	enter()
	return vmstate.OnDownstreamData(contextID, dataSize, endOfStream)
}

//go:wasmexport proxy_on_downstream_connection_close
func proxyOnDownstreamConnectionClose(contextID uint32, peerType types.PeerType) {
	enter()
	vmstate.OnDownstreamConnectionClose(contextID, peerType)
}

//go:wasmexport proxy_on_upstream_data
func proxyOnUpstreamData(contextID uint32, dataSize int32, endOfStream bool) types.Action {
	enter()
	return vmstate.OnUpstreamData(contextID, dataSize, endOfStream)
}

//go:wasmexport proxy_on_upstream_connection_close
func proxyOnUpstreamConnectionClose(contextID uint32, peerType types.PeerType) {
	enter()
	vmstate.OnUpstreamConnectionClose(contextID, peerType)
}

//go:wasmexport proxy_on_http_call_response
func proxyOnHttpCallResponse(pluginContextID, token uint32, numHeaders, bodySize, numTrailers int32) {
	enter()
	vmstate.OnHttpCallResponse(pluginContextID, token, numHeaders, bodySize, numTrailers)
}

//go:wasmexport proxy_on_grpc_receive_initial_metadata
func proxyOnGrpcReceiveInitialMetadata(pluginContextID, token uint32, numElements int32) {
	enter()
	vmstate.OnGrpcReceiveInitialMetadata(pluginContextID, token, numElements)
}

//go:wasmexport proxy_on_grpc_receive
func proxyOnGrpcReceive(pluginContextID, token uint32, messageSize int32) {
	enter()
	vmstate.OnGrpcReceive(pluginContextID, token, messageSize)
}

//go:wasmexport proxy_on_grpc_receive_trailing_metadata
func proxyOnGrpcReceiveTrailingMetadata(pluginContextID, token uint32, numElements int32) {
	enter()
	vmstate.OnGrpcReceiveTrailingMetadata(pluginContextID, token, numElements)
}

//go:wasmexport proxy_on_grpc_close
func proxyOnGrpcClose(pluginContextID, token uint32, status uint32) {
	enter()
	vmstate.OnGrpcClose(pluginContextID, token, status)
}

//go:wasmexport proxy_on_queue_ready
func proxyOnQueueReady(pluginContextID, queueID uint32) {
	enter()
	vmstate.OnQueueReady(pluginContextID, queueID)
}

//go:wasmexport proxy_on_tick
func proxyOnTick(pluginContextID uint32) {
	enter()
	vmstate.OnTick(pluginContextID)
}

//go:wasmexport proxy_on_log
func proxyOnLog(contextID uint32) {
	enter()
	vmstate.OnLog(contextID)
}

//go:wasmexport proxy_on_done
func proxyOnDone(contextID uint32) bool {
	enter()
	return vmstate.OnDone(contextID)
}

//go:wasmexport proxy_on_delete
func proxyOnDelete(contextID uint32) {
	enter()
	vmstate.OnDelete(contextID)
}

// wasmgate_callback_mask hands the host the address of the SDK's callback
// mask word (the engine's callback-mask extension); hosts without the
// extension never call it.
//
//go:wasmexport wasmgate_callback_mask
func wasmgateCallbackMask() uint32 {
	return uint32(uintptr(unsafe.Pointer(vmstate.SkipWord())))
}
