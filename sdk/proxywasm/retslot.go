package proxywasm

// retVals receives the (pointer, size) pair a host call returns. A local
// pair whose address goes to a wasm import is moved to the heap: two
// allocations per call, which cost more than the call itself in a Go wasm
// guest. newRet hands out one slot instead (retslot_wasm.go); the values
// must be read right after the call that filled them.
type retVals struct {
	p *byte
	n uint32
}
