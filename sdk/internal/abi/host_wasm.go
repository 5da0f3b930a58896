//go:build wasm && proxywasm_abi_0_2_1

package abi

import "unsafe"

// In a wasm build there is no native host; these keep imports_upstream.go
// compiling for the upstream-Envoy build, where the Higress calls answer
// StatusUnimplemented without importing anything.

type Host interface {
	RedisInit(cluster, username, password string, timeoutMs uint32) Status
	RedisCall(cluster string, query []byte) (uint32, Status)
	InjectEncodedDataToFilterChain(body []byte, endStream bool) Status
	GetUpstreamHosts() ([]byte, Status)
	SetUpstreamOverrideHost(address []byte) Status
}

func nativeHost() Host { return nil }

func str(unsafe.Pointer, uint32) string                         { return "" }
func bytesOf(unsafe.Pointer, uint32) []byte                     { return nil }
func giveBuffer([]byte, Status, unsafe.Pointer, *uint32) Status { return StatusUnimplemented }
