package abi

import "unsafe"

// The engine's fast-path extension (version 1, described in the engine's
// host/fastpath.go and docs/compatibility-host.md): once the SDK has turned
// it on (sdk/proxywasm, at VM start), getters hand the host ValueBuf and
// the host writes a result that fits there instead of calling
// proxy_on_memory_allocate. On a host without the extension (Envoy,
// Higress) FastPath stays false and every call keeps to the ABI.
var (
	// FastPath is set once at VM start when the host speaks the extension.
	FastPath bool
	// ValueBuf receives results through the fast path. A result in it is
	// valid until the next host call.
	ValueBuf [1024]byte
)

// HeaderMapPairs returns a header map in the pairs encoding. The result
// may be in ValueBuf, valid until the next host call; otherwise it is a
// fresh allocation of the module that nothing else references. A status other than StatusOK
// gives no bytes; an OK status with no buffer gives nil.
func HeaderMapPairs(mapType uint32) ([]byte, Status) {
	return HeaderMapPairsInto(mapType, ValueBuf[:])
}

// HeaderMapPairsInto is HeaderMapPairs with buf, not ValueBuf, offered to
// the host for the result: with the fast path on, a result that fits is
// written at the start of buf (and the result's first byte is buf's);
// otherwise the result is a fresh allocation of the module.
func HeaderMapPairsInto(mapType uint32, buf []byte) ([]byte, Status) {
	var p *byte
	var n uint32
	if FastPath && cap(buf) > 0 {
		buf = buf[:cap(buf)]
		p, n = &buf[0], uint32(len(buf))
	}
	st := ProxyGetHeaderMapPairs(mapType, unsafe.Pointer(&p), &n)
	if st != StatusOK || p == nil {
		return nil, st
	}
	return unsafe.Slice(p, n), st
}
