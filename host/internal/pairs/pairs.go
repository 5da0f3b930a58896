// Package pairs encodes and decodes the proxy-wasm map serialization: a
// little-endian u32 count, count × (u32 key length, u32 value length), then
// count × (key bytes, NUL, value bytes, NUL).
//
// Decoding follows proxy-wasm-cpp-host: any malformation (too many entries,
// too many bytes, leftover bytes, a missing NUL terminator) yields no pairs at
// all, never a partial list.
package pairs

import (
	"encoding/binary"
	"errors"
)

// Limits of a serialized map, as enforced by proxy-wasm-cpp-host.
const (
	MaxCount = 1024
	MaxBytes = 1 << 20
)

// Pair is one map entry.
type Pair struct {
	Key   string
	Value string
}

// ErrMalformed reports a buffer that is not a well-formed serialized map.
var ErrMalformed = errors.New("malformed serialized map")

// Size returns the serialized size of ps.
func Size(ps []Pair) int {
	n := 4
	for _, p := range ps {
		n += 8 + len(p.Key) + 1 + len(p.Value) + 1
	}
	return n
}

// Encode appends the serialization of ps to dst and returns the result.
func Encode(dst []byte, ps []Pair) []byte {
	start := len(dst)
	total := Size(ps)
	if cap(dst)-start < total {
		nd := make([]byte, start, start+total)
		copy(nd, dst)
		dst = nd
	}
	dst = dst[:start+total]
	b := dst[start:]
	binary.LittleEndian.PutUint32(b, uint32(len(ps)))
	h := 4
	d := 4 + 8*len(ps)
	for _, p := range ps {
		binary.LittleEndian.PutUint32(b[h:], uint32(len(p.Key)))
		binary.LittleEndian.PutUint32(b[h+4:], uint32(len(p.Value)))
		h += 8
		d += copy(b[d:], p.Key)
		b[d] = 0
		d++
		d += copy(b[d:], p.Value)
		b[d] = 0
		d++
	}
	return dst
}

// Decode parses a serialized map. An empty buffer decodes to no pairs.
// Malformed input returns ErrMalformed and no pairs.
func Decode(b []byte) ([]Pair, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) > MaxBytes || len(b) < 4 {
		return nil, ErrMalformed
	}
	n := binary.LittleEndian.Uint32(b)
	if n > MaxCount {
		return nil, ErrMalformed
	}
	if uint64(len(b)) < 4+8*uint64(n) {
		return nil, ErrMalformed
	}
	ps := make([]Pair, 0, n)
	d := uint64(4 + 8*n)
	for i := uint32(0); i < n; i++ {
		kl := uint64(binary.LittleEndian.Uint32(b[4+8*i:]))
		vl := uint64(binary.LittleEndian.Uint32(b[8+8*i:]))
		if d+kl+1+vl+1 > uint64(len(b)) {
			return nil, ErrMalformed
		}
		k := b[d : d+kl]
		if b[d+kl] != 0 {
			return nil, ErrMalformed
		}
		d += kl + 1
		v := b[d : d+vl]
		if b[d+vl] != 0 {
			return nil, ErrMalformed
		}
		d += vl + 1
		ps = append(ps, Pair{Key: string(k), Value: string(v)})
	}
	if d != uint64(len(b)) {
		return nil, ErrMalformed
	}
	return ps, nil
}
