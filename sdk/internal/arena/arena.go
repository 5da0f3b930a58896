// Package arena keeps copies of short strings in shared chunks, so that a
// wasm guest does not pay an allocation (and its share of garbage
// collection) for every value it keeps from a host call.
//
// A chunk is written only forward and never reused: a string handed out
// stays valid and unchanged for as long as it is referenced. The price is
// that a string still referenced keeps its whole chunk alive.
package arena

import (
	"strings"
	"unsafe"
)

const (
	// chunkSize is the size of one chunk.
	chunkSize = 8 << 10
	// maxShared is the longest string stored in a chunk; longer ones get
	// an allocation of their own.
	maxShared = 512
)

// Strings hands out copies of strings. The zero value is ready to use. It
// is not safe for concurrent use (a wasm guest is single-threaded).
type Strings struct {
	chunk []byte
}

// Clone returns a copy of s that does not share memory with s.
func (a *Strings) Clone(s string) string {
	n := len(s)
	if n == 0 {
		return ""
	}
	if n > maxShared {
		return strings.Clone(s)
	}
	if n > cap(a.chunk)-len(a.chunk) {
		a.chunk = make([]byte, 0, chunkSize)
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, s...)
	return unsafe.String(&a.chunk[start], n)
}
