//go:build !wasm

package proxywasm

// Native builds (tests against a Go-level host) may run concurrently.
func newRet() *retVals { return new(retVals) }
