package proxywasm

import "github.com/wasmgate/wasmgate/sdk/internal/abi"

// The engine's fast-path extension (version 1, described in the engine's
// host/fastpath.go and docs/compatibility-host.md; the buffer is
// abi.ValueBuf): when the host announces it through the property
// wasmgate_fast_path, the SDK turns it on. On a host without the extension
// (Envoy, Higress) the property is not found and every call keeps to the
// ABI; the module is the same.
const (
	fastPathProperty = "wasmgate_fast_path"
	fastPathVersion  = "1"
)

// detectFastPath turns the extension on when the host announces it.
func detectFastPath() {
	v, err := GetProperty([]string{fastPathProperty})
	if err != nil || string(v) != fastPathVersion {
		return
	}
	abi.FastPath = SetProperty([]string{fastPathProperty}, []byte(fastPathVersion)) == nil
}

// supply sets r to abi.ValueBuf when the fast path is on (else r stays zero,
// which asks the host to allocate as the ABI says).
func (r *retVals) supply() {
	if abi.FastPath {
		r.p, r.n = &abi.ValueBuf[0], uint32(len(abi.ValueBuf))
	}
}

// result is buffer for a call made after supply: a result the host wrote
// into abi.ValueBuf is copied out (one allocation, where the ABI's path makes
// one too, behind a call from the host into the module).
func (r *retVals) result(st abi.Status) ([]byte, error) {
	if st == abi.StatusOK && r.supplied() {
		return append([]byte(nil), abi.ValueBuf[:r.n]...), nil
	}
	return buffer(st, r.p, r.n)
}

// supplied reports whether the host wrote the result into abi.ValueBuf.
func (r *retVals) supplied() bool { return abi.FastPath && r.p == &abi.ValueBuf[0] }

// HostFastPath reports whether the host announced the engine's fast-path
// extension and the SDK uses it (false on Envoy and Higress, and before
// OnVMStart).
func HostFastPath() bool { return abi.FastPath }
