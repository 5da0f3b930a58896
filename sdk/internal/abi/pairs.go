package abi

import "unsafe"

// The "pairs" encoding of header maps and property maps:
//
//	u32 N, N × (u32 keyLen, u32 valueLen), N × (key 0x00 value 0x00)
//
// with every integer little-endian.

// SerializePairs encodes pairs in the pairs format. An empty map encodes as a
// count of zero, so the buffer is never empty.
func SerializePairs(pairs [][2]string) []byte {
	size := 4
	for _, p := range pairs {
		size += 8 + len(p[0]) + 1 + len(p[1]) + 1
	}
	b := make([]byte, size)
	putU32(b, uint32(len(pairs)))
	off := 4
	for _, p := range pairs {
		putU32(b[off:], uint32(len(p[0])))
		putU32(b[off+4:], uint32(len(p[1])))
		off += 8
	}
	for _, p := range pairs {
		off += copy(b[off:], p[0])
		b[off] = 0
		off++
		off += copy(b[off:], p[1])
		b[off] = 0
		off++
	}
	return b
}

// DeserializePairs decodes the pairs format. Malformed input (truncated,
// lengths out of range, missing terminators, trailing bytes) gives ok=false;
// it never panics.
func DeserializePairs(b []byte) (pairs [][2]string, ok bool) {
	if len(b) >= 4 {
		pairs = make([][2]string, 0, min(uint64(getU32(b)), uint64(len(b)-4)/8))
	}
	ok = RangePairs(b, true, func(k, v string) { pairs = append(pairs, [2]string{k, v}) })
	if !ok {
		return nil, false
	}
	return pairs, true
}

// RangePairs decodes the pairs format and calls f with each key and value
// in order. The keys and values are substrings of one string (allocations
// dominate the cost of decoding in a wasm guest): a copy of b when clone is
// true, else a view of b, which must then stay unchanged while they are in
// use. Malformed input (truncated, lengths out of range, missing
// terminators, trailing bytes) gives false, possibly after some calls of f;
// it never panics.
func RangePairs(b []byte, clone bool, f func(key, value string)) bool {
	if len(b) == 0 {
		return true
	}
	if len(b) < 4 {
		return false
	}
	n := uint64(getU32(b))
	if n > uint64(len(b)-4)/8 {
		return false
	}
	hdr := 4 + 8*n
	var data string
	if clone {
		data = string(b[hdr:])
	} else {
		data = unsafe.String(unsafe.SliceData(b[hdr:]), len(b)-int(hdr))
	}
	// The sizes are read in place and the terminators checked through
	// one pointer: in a wasm guest every slice expression and bounds check
	// is several instructions, and this loop runs for every header.
	sizes := unsafe.Pointer(unsafe.SliceData(b))
	base := unsafe.Pointer(unsafe.StringData(data))
	end := uint64(len(data))
	off := uint64(0)
	for i := uint64(0); i < n; i++ {
		kl := uint64(loadU32(unsafe.Add(sizes, 4+8*i)))
		vl := uint64(loadU32(unsafe.Add(sizes, 8+8*i)))
		next := off + kl + 1 + vl + 1
		if next > end || *(*byte)(unsafe.Add(base, off+kl)) != 0 || *(*byte)(unsafe.Add(base, next-1)) != 0 {
			return false
		}
		f(data[off:off+kl], data[off+kl+1:next-1])
		off = next
	}
	return off == end
}

// SerializePath joins property path segments with NUL, with no trailing NUL.
// The result is read-only: a single segment is returned as a view of its
// string, without a copy.
func SerializePath(path []string) []byte {
	if len(path) == 1 {
		if len(path[0]) == 0 {
			return nil
		}
		return unsafe.Slice(unsafe.StringData(path[0]), len(path[0]))
	}
	size := 0
	for i, s := range path {
		if i > 0 {
			size++
		}
		size += len(s)
	}
	b := make([]byte, 0, size)
	for i, s := range path {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, s...)
	}
	return b
}

func putU32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func getU32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// PutUint64 and Uint64 convert little-endian 8-byte values (property and
// foreign-function encodings).
func PutUint64(v uint64) []byte {
	return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24), byte(v >> 32), byte(v >> 40), byte(v >> 48), byte(v >> 56)}
}

// Uint64 reads a little-endian uint64 from the first 8 bytes of b; ok is false when b is shorter.
func Uint64(b []byte) (v uint64, ok bool) {
	if len(b) < 8 {
		return 0, false
	}
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, true
}

// Uint32 reads a little-endian uint32 from the first 4 bytes of b; ok is false when b is shorter.
func Uint32(b []byte) (uint32, bool) {
	if len(b) < 4 {
		return 0, false
	}
	return getU32(b), true
}
