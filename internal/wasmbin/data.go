package wasmbin

import (
	"errors"
	"fmt"
	"sort"
)

func readData(r *reader) ([]DataSegment, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) > len(r.b)-r.p {
		return nil, fmt.Errorf("%d segments cannot fit", n)
	}
	out := make([]DataSegment, 0, n)
	for i := uint32(0); i < n; i++ {
		seg, err := r.dataSegment()
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		out = append(out, seg)
	}
	return out, nil
}

func (r *reader) dataSegment() (DataSegment, error) {
	var seg DataSegment
	flags, err := r.u32()
	if err != nil {
		return seg, err
	}
	switch flags {
	case 0:
	case 1:
		seg.Passive = true
	case 2:
		if seg.Memory, err = r.u32(); err != nil {
			return seg, err
		}
	default:
		return seg, fmt.Errorf("unknown segment flags %d", flags)
	}
	if !seg.Passive {
		start := r.p
		if seg.Offset, seg.OffsetKnown, err = r.constExpr(); err != nil {
			return seg, fmt.Errorf("offset: %w", err)
		}
		// Exactly "i32.const N; end"?
		e := &reader{b: r.b[:r.p-1], p: start + 1}
		if r.b[start] == 0x41 {
			if _, err := e.s64(); err == nil && e.p == r.p-1 {
				seg.OffsetI32 = true
			}
		}
	}
	size, err := r.u32()
	if err != nil {
		return seg, err
	}
	if uint64(r.p)+uint64(size) > uint64(len(r.b)) {
		return seg, errEOF
	}
	seg.Bytes = r.b[r.p : r.p+int(size) : r.p+int(size)]
	r.p += int(size)
	return seg, nil
}

// constExpr reads a constant expression up to its end opcode. It evaluates
// i32/i64 constants and their extended-const arithmetic; known is false when
// the value depends on a global.
func (r *reader) constExpr() (v uint64, known bool, err error) {
	var stack []uint64
	known = true
	pop2 := func() (uint64, uint64, error) {
		if len(stack) < 2 {
			return 0, 0, errors.New("constant expression stack underflow")
		}
		a, b := stack[len(stack)-2], stack[len(stack)-1]
		stack = stack[:len(stack)-2]
		return a, b, nil
	}
	for steps := 0; steps < 1024; steps++ {
		op, err := r.byte()
		if err != nil {
			return 0, false, err
		}
		switch op {
		case 0x0b: // end
			if len(stack) != 1 {
				return 0, false, fmt.Errorf("constant expression leaves %d values", len(stack))
			}
			return stack[0], known, nil
		case 0x41: // i32.const
			x, err := r.s64()
			if err != nil {
				return 0, false, err
			}
			stack = append(stack, uint64(uint32(int32(x))))
		case 0x42: // i64.const
			x, err := r.s64()
			if err != nil {
				return 0, false, err
			}
			stack = append(stack, uint64(x))
		case 0x23: // global.get
			if _, err := r.u32(); err != nil {
				return 0, false, err
			}
			known = false
			stack = append(stack, 0)
		case 0x6a, 0x6b, 0x6c: // i32.add, i32.sub, i32.mul
			a, b, err := pop2()
			if err != nil {
				return 0, false, err
			}
			stack = append(stack, uint64(uint32(arith(op-0x6a, a, b))))
		case 0x7c, 0x7d, 0x7e: // i64.add, i64.sub, i64.mul
			a, b, err := pop2()
			if err != nil {
				return 0, false, err
			}
			stack = append(stack, arith(op-0x7c, a, b))
		default:
			return 0, false, fmt.Errorf("opcode 0x%02x is not allowed in a constant expression", op)
		}
	}
	return 0, false, errors.New("constant expression too long")
}

func arith(op byte, a, b uint64) uint64 {
	switch op {
	case 0:
		return a + b
	case 1:
		return a - b
	}
	return a * b
}

// s64 reads a signed LEB128 value of up to 64 bits.
func (r *reader) s64() (int64, error) {
	var v int64
	var shift uint
	for {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
		if shift >= 70 {
			return 0, errors.New("LEB128 value too long")
		}
	}
}

// ImportedFuncs is the number of imported functions: the index of the
// module's first own function.
func (m *Module) ImportedFuncs() int {
	n := 0
	for _, i := range m.Imports {
		if i.Kind == KindFunc {
			n++
		}
	}
	return n
}

// Export returns the export named name.
func (m *Module) Export(name string) (Export, bool) {
	for _, e := range m.Exports {
		if e.Name == name {
			return e, true
		}
	}
	return Export{}, false
}

// Memory is a sparse image of the module's initial linear memory 0 built
// from its active data segments with known offsets.
type Memory []MemoryRun

// MemoryRun is a contiguous range of initialized memory.
type MemoryRun struct {
	Addr  uint64
	Bytes []byte
}

// InitialMemory lays out the active segments of memory 0 by address.
// Segments separated by at most gap zero bytes are joined into one run
// (toolchains split data where long runs of zeros would be) and the zeros
// are filled in; the zeros filled in never exceed the data's own size plus
// 1 MiB, so hostile offsets cannot make the image large. Where segments overlap, the
// one at the higher address wins.
func (m *Module) InitialMemory(gap int) Memory {
	var segs []DataSegment
	budget := 1 << 20
	for _, s := range m.Data {
		if !s.Passive && s.OffsetKnown && s.Memory == 0 && len(s.Bytes) > 0 {
			segs = append(segs, s)
			budget += len(s.Bytes)
		}
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].Offset < segs[j].Offset })
	var out Memory
	for _, s := range segs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			end := last.Addr + uint64(len(last.Bytes))
			fill := uint64(0)
			if s.Offset > end {
				fill = s.Offset - end
			}
			if fill <= uint64(gap) && fill <= uint64(budget) {
				budget -= int(fill)
				last.Bytes = append(last.Bytes, make([]byte, fill)...)
				start := s.Offset - last.Addr
				if over := start + uint64(len(s.Bytes)); over > uint64(len(last.Bytes)) {
					last.Bytes = append(last.Bytes, make([]byte, over-uint64(len(last.Bytes)))...)
				}
				copy(last.Bytes[start:], s.Bytes)
				continue
			}
		}
		out = append(out, MemoryRun{Addr: s.Offset, Bytes: append([]byte(nil), s.Bytes...)})
	}
	return out
}
