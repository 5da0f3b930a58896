package proxywasm

import "github.com/wasmgate/wasmgate/sdk/internal/abi"

// The engine's fast-path extension (version 1, described in the engine's
// host/fastpath.go and docs/compatibility-host.md): when the host announces
// it through the property wasmgate_fast_path, the SDK turns it on and hands
// header, buffer and property getters a buffer of its own, so the host writes a value that fits
// there instead of calling proxy_on_memory_allocate. On a host without the
// extension (Envoy, Higress) the property is not found and every call keeps
// to the ABI; the module is the same.
const (
	fastPathProperty = "wasmgate_fast_path"
	fastPathVersion  = "1"
)

// fastPath is set once at VM start when the host speaks the extension.
var fastPath bool

// valueBuf receives header values through the fast path. A value is copied
// out before the next host call.
var valueBuf [1024]byte

// detectFastPath turns the extension on when the host announces it.
func detectFastPath() {
	v, err := GetProperty([]string{fastPathProperty})
	if err != nil || string(v) != fastPathVersion {
		return
	}
	fastPath = SetProperty([]string{fastPathProperty}, []byte(fastPathVersion)) == nil
}

// supply sets r to valueBuf when the fast path is on (else r stays zero,
// which asks the host to allocate as the ABI says).
func (r *retVals) supply() {
	if fastPath {
		r.p, r.n = &valueBuf[0], uint32(len(valueBuf))
	}
}

// result is buffer for a call made after supply: a result the host wrote
// into valueBuf is copied out (one allocation, where the ABI's path makes
// one too, behind a call from the host into the module).
func (r *retVals) result(st abi.Status) ([]byte, error) {
	if st == abi.StatusOK && r.supplied() {
		return append([]byte(nil), valueBuf[:r.n]...), nil
	}
	return buffer(st, r.p, r.n)
}

// supplied reports whether the host wrote the result into valueBuf.
func (r *retVals) supplied() bool { return fastPath && r.p == &valueBuf[0] }

// HostFastPath reports whether the host announced the engine's fast-path
// extension and the SDK uses it (false on Envoy and Higress, and before
// OnVMStart).
func HostFastPath() bool { return fastPath }
