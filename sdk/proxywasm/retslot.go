package proxywasm

// retVals receives the (pointer, size) pair a host call returns. The host
// functions are declared //go:noescape, so a retVals local stays on the
// goroutine stack: a heap allocation costs more than the host call itself in
// a Go wasm guest.
type retVals struct {
	p *byte
	n uint32
}
