package wasmbin

import "fmt"

// RawSection is one section of a binary as it is: its id and payload.
type RawSection struct {
	ID   byte
	Body []byte
}

// Split returns the sections of the module b in order; their bodies alias b.
func Split(b []byte) ([]RawSection, error) {
	if len(b) < 8 || string(b[:8]) != string(magic) {
		return nil, ErrNotWasm
	}
	var secs []RawSection
	r := &reader{b: b, p: 8}
	for r.p < len(b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section %d size: %w", id, err)
		}
		if uint64(r.p)+uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("section %d at offset %d: size %d past end of file", id, r.p, size)
		}
		secs = append(secs, RawSection{ID: id, Body: b[r.p : r.p+int(size) : r.p+int(size)]})
		r.p += int(size)
	}
	return secs, nil
}

// Join encodes sections as a module binary.
func Join(secs []RawSection) []byte {
	n := len(magic)
	for _, s := range secs {
		n += 6 + len(s.Body)
	}
	out := append(make([]byte, 0, n), magic...)
	for _, s := range secs {
		out = append(out, s.ID)
		out = AppendU32(out, uint32(len(s.Body)))
		out = append(out, s.Body...)
	}
	return out
}

// ReadImports decodes the body of an import section.
func ReadImports(body []byte) ([]Import, error) {
	return readImports(&reader{b: body})
}

// ReadData decodes the body of a data section.
func ReadData(body []byte) ([]DataSegment, error) {
	return readData(&reader{b: body})
}

// AppendU32 appends v as an unsigned LEB128 number.
func AppendU32(dst []byte, v uint32) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// AppendS32 appends v as a signed LEB128 number (an i32.const immediate).
func AppendS32(dst []byte, v int32) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(dst, b)
		}
		dst = append(dst, b|0x80)
	}
}
