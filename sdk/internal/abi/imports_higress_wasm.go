//go:build wasm && !proxywasm_abi_0_2_1

package abi

import "unsafe"

// The Higress extensions. They exist only in Higress's Envoy (ABI 0.2.1 and
// 0.2.100 modules); building with the proxywasm_abi_0_2_1 tag for upstream
// Envoy replaces them with functions that return StatusUnimplemented, so a
// module built for upstream Envoy never imports them.

//go:wasmimport env proxy_redis_init
//go:noescape
func ProxyRedisInit(cluster unsafe.Pointer, clusterSize uint32, username unsafe.Pointer, usernameSize uint32, password unsafe.Pointer, passwordSize uint32, timeoutMs uint32) Status

//go:wasmimport env proxy_redis_call
//go:noescape
func ProxyRedisCall(cluster unsafe.Pointer, clusterSize uint32, query unsafe.Pointer, querySize uint32, retToken *uint32) Status

//go:wasmimport env proxy_inject_encoded_data_to_filter_chain
//go:noescape
func ProxyInjectEncodedDataToFilterChain(body unsafe.Pointer, bodySize uint32, endStream uint32) Status

//go:wasmimport env proxy_get_upstream_hosts
//go:noescape
func ProxyGetUpstreamHosts(retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_set_upstream_override_host
//go:noescape
func ProxySetUpstreamOverrideHost(address unsafe.Pointer, addressSize uint32) Status
