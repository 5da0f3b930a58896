// Package datamerge rewrites a module's data section into fewer segments.
//
// Go's wasm linker emits one active data segment per run of non-zero
// bytes: examples/hello-world has about 27,000. wazero keeps a slice header
// per segment in every instance (about 650 KiB per VM for that module) and
// evaluates each segment's offset at every instantiation. Merging segments
// that lie close together, with the gap between them written as zeros
// (which linear memory holds anyway), gives the same initial memory with a
// handful of segments.
package datamerge

import (
	"cmp"
	"slices"

	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

// MaxGap is the largest run of zeros written between two merged segments.
const MaxGap = 4096

// Merge returns wasm with consecutive active data segments of memory 0
// whose gap is at most MaxGap merged, and how many segments were saved. A
// module it does not rewrite safely (an imported memory, whose bytes the
// gaps would overwrite; a data count section, which code naming segments
// needs; passive segments; offsets that are not a plain i32.const;
// overlapping segments; bytes it cannot decode) is returned as it is,
// with 0.
func Merge(wasm []byte) ([]byte, int) {
	secs, err := wasmbin.Split(wasm)
	if err != nil {
		return wasm, 0
	}
	di := -1
	for i, s := range secs {
		switch s.ID {
		case wasmbin.SectionData:
			if di >= 0 {
				return wasm, 0 // two data sections: not a valid module
			}
			di = i
		case wasmbin.SectionDataCnt:
			// Code may name segments (memory.init, data.drop): their
			// indices must stay.
			return wasm, 0
		case wasmbin.SectionImport:
			// An imported memory may hold bytes where the gaps are.
			imps, err := wasmbin.ReadImports(s.Body)
			if err != nil {
				return wasm, 0
			}
			for _, imp := range imps {
				if imp.Kind == wasmbin.KindMemory {
					return wasm, 0
				}
			}
		}
	}
	if di < 0 {
		return wasm, 0
	}
	segs, err := wasmbin.ReadData(secs[di].Body)
	if err != nil || len(segs) < 2 {
		return wasm, 0
	}
	for _, s := range segs {
		if s.Passive || s.Memory != 0 || !s.OffsetI32 {
			return wasm, 0
		}
	}
	// Segments that do not overlap may be applied in any order.
	slices.SortStableFunc(segs, func(a, b wasmbin.DataSegment) int { return cmp.Compare(a.Offset, b.Offset) })
	for i := 1; i < len(segs); i++ {
		if segs[i].Offset < end(segs[i-1]) {
			return wasm, 0
		}
	}
	// A run is the segments segs[first:last] merged into one.
	type run struct{ first, last int }
	var runs []run
	for i, s := range segs {
		if n := len(runs); n > 0 && s.Offset-end(segs[i-1]) <= MaxGap {
			runs[n-1].last = i + 1
			continue
		}
		runs = append(runs, run{i, i + 1})
	}
	if len(runs) == len(segs) {
		return wasm, 0
	}
	size := 5
	for _, r := range runs {
		size += 13 + int(end(segs[r.last-1])-segs[r.first].Offset)
	}
	body := wasmbin.AppendU32(make([]byte, 0, size), uint32(len(runs)))
	for _, r := range runs {
		offset := segs[r.first].Offset
		n := int(end(segs[r.last-1]) - offset)
		body = append(body, 0x00, 0x41) // active, memory 0; i32.const
		body = wasmbin.AppendS32(body, int32(uint32(offset)))
		body = append(body, 0x0b) // end
		body = wasmbin.AppendU32(body, uint32(n))
		// The capacity was zeroed by make: the gaps stay zero.
		data := body[len(body) : len(body)+n]
		for _, p := range segs[r.first:r.last] {
			copy(data[p.Offset-offset:], p.Bytes)
		}
		body = body[:len(body)+n]
	}
	out := make([]wasmbin.RawSection, len(secs))
	copy(out, secs)
	out[di].Body = body
	return wasmbin.Join(out), len(segs) - len(runs)
}

func end(s wasmbin.DataSegment) uint64 { return s.Offset + uint64(len(s.Bytes)) }
