// Package arena keeps bytes the host writes into a wasm guest, such as a
// request's headers, in shared chunks, so that the guest does not pay an
// allocation (and its share of garbage collection) or a copy for every
// value it keeps from a host call.
//
// A chunk is written only forward and never reused: bytes taken stay valid
// and unchanged for as long as they are referenced. The price is that a
// value still referenced keeps its whole chunk alive.
package arena

// chunkSize is the size of one chunk.
const chunkSize = 8 << 10

// Chunks hands out room in shared chunks. The zero value is ready to use.
// It is not safe for concurrent use (a wasm guest is single-threaded).
type Chunks struct {
	chunk []byte
}

// Free returns the unused rest of the current chunk, empty with a capacity
// of at least n (starting a new chunk when less is left), for bytes written
// in place; Take then keeps them. It returns nil when n is more than a
// chunk holds.
func (a *Chunks) Free(n int) []byte {
	if n > chunkSize {
		return nil
	}
	if n > cap(a.chunk)-len(a.chunk) {
		a.chunk = make([]byte, 0, chunkSize)
	}
	return a.chunk[len(a.chunk):len(a.chunk)]
}

// Take keeps the first n bytes of what Free last returned, written since:
// values that view them stay valid and unchanged. n must not be more than
// Free's capacity.
func (a *Chunks) Take(n int) { a.chunk = a.chunk[:len(a.chunk)+n] }
