//go:build wasm && !proxywasm_abi_0_2_1

package proxywasm

import "github.com/wasmgate/wasmgate/sdk/internal/vmstate"

// proxy_abi_version_0_2_100 marks the module as Higress ABI 0.2.100: the host
// enables the Higress extensions and passes a header-phase StopIteration (1)
// through as a real StopIteration.
//
//go:wasmexport proxy_abi_version_0_2_100
func proxyABIVersion_0_2_100() {}

// proxy_on_redis_call_response is the Higress callback delivering a Redis reply.
//
//go:wasmexport proxy_on_redis_call_response
func proxyOnRedisCallResponse(pluginContextID, token uint32, status, responseSize int32) {
	enter()
	vmstate.OnRedisCallResponse(pluginContextID, token, status, responseSize)
}
