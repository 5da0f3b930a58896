//go:build wasm

package proxywasm

// The guest is single-threaded and a host call does not run guest code that
// makes host calls (only the allocator), so one slot serves every call.
var retSlot retVals

func newRet() *retVals {
	retSlot = retVals{}
	return &retSlot
}
