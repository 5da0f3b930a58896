//go:build !wasm || proxywasm_abi_0_2_1

package abi

import "unsafe"

// Without the Higress extensions (upstream Envoy ABI 0.2.1, or a native build
// with no test host) these calls answer StatusUnimplemented. Native builds
// forward them to the test host when one is set.

func ProxyRedisInit(cluster unsafe.Pointer, clusterSize uint32, username unsafe.Pointer, usernameSize uint32, password unsafe.Pointer, passwordSize uint32, timeoutMs uint32) Status {
	if h := nativeHost(); h != nil {
		return h.RedisInit(str(cluster, clusterSize), str(username, usernameSize), str(password, passwordSize), timeoutMs)
	}
	return StatusUnimplemented
}

func ProxyRedisCall(cluster unsafe.Pointer, clusterSize uint32, query unsafe.Pointer, querySize uint32, retToken *uint32) Status {
	if h := nativeHost(); h != nil {
		tok, st := h.RedisCall(str(cluster, clusterSize), bytesOf(query, querySize))
		*retToken = tok
		return st
	}
	return StatusUnimplemented
}

func ProxyInjectEncodedDataToFilterChain(body unsafe.Pointer, bodySize uint32, endStream uint32) Status {
	if h := nativeHost(); h != nil {
		return h.InjectEncodedDataToFilterChain(bytesOf(body, bodySize), endStream != 0)
	}
	return StatusUnimplemented
}

func ProxyGetUpstreamHosts(retData unsafe.Pointer, retSize *uint32) Status {
	if h := nativeHost(); h != nil {
		b, st := h.GetUpstreamHosts()
		return giveBuffer(b, st, retData, retSize)
	}
	return StatusUnimplemented
}

func ProxySetUpstreamOverrideHost(address unsafe.Pointer, addressSize uint32) Status {
	if h := nativeHost(); h != nil {
		return h.SetUpstreamOverrideHost(bytesOf(address, addressSize))
	}
	return StatusUnimplemented
}
