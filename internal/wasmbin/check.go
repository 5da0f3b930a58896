package wasmbin

import (
	"errors"
	"fmt"
)

// MaxLocals is the most locals a function may declare: V8's limit, so a
// module over it would not load in Envoy either.
const MaxLocals = 50000

// Check reports counts and sizes in the module b that cannot be what they
// claim: a vector with more entries than its section has bytes, a function
// with more than MaxLocals locals, a body or segment longer than what is
// left of its section. Decoders (wazero's among them) allocate by such
// counts before reading the entries, so a module of a few bytes could make
// them allocate gigabytes. Check is not a validator: a module it accepts may
// still be invalid.
func Check(b []byte) error {
	secs, err := Split(b)
	if err != nil {
		return err
	}
	for _, s := range secs {
		r := &reader{b: s.Body}
		switch s.ID {
		case SectionCustom:
			if name, nerr := r.name(); nerr == nil && name == "name" {
				err = checkNames(r)
			}
		case SectionType:
			_, _, err = ReadTypes(s.Body)
		case SectionImport, SectionFunction, SectionTable, SectionMemory, SectionGlobal, SectionExport, SectionTag:
			_, err = r.count("entries")
		case SectionElement:
			err = checkElements(r)
		case SectionCode:
			err = checkCode(r)
		case SectionData:
			_, err = readData(r)
		}
		if err != nil {
			return fmt.Errorf("%s section: %w", sectionName(s.ID), err)
		}
	}
	return nil
}

// count reads a vector length and checks that as many entries (of at least
// one byte each) fit in what is left.
func (r *reader) count(what string) (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n) > uint64(len(r.b)-r.p) {
		return 0, fmt.Errorf("%d %s cannot fit in %d bytes", n, what, len(r.b)-r.p)
	}
	return n, nil
}

func (r *reader) skip(n int) error {
	if n < 0 || r.p+n > len(r.b) {
		return errEOF
	}
	r.p += n
	return nil
}

// valtype skips a value type, with the heap type of a typed reference.
func (r *reader) valtype() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c == 0x63 || c == 0x64 {
		_, err = r.s64()
	}
	return err
}

// FuncType is a function type: the value types of its parameters and
// results (a typed reference is kept as its first byte).
type FuncType struct {
	Params, Results []byte
}

// ReadTypes decodes the body of a type section. It stops at the first type
// that is not a plain function type (the GC proposal's recursive and sub
// types) and returns the types before it with complete false.
func ReadTypes(body []byte) (types []FuncType, complete bool, err error) {
	r := &reader{b: body}
	n, err := r.count("types")
	if err != nil {
		return nil, false, err
	}
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return nil, false, err
		}
		if form != 0x60 {
			return types, false, nil
		}
		var t FuncType
		for _, list := range []struct {
			what string
			vals *[]byte
		}{{"parameters", &t.Params}, {"results", &t.Results}} {
			k, err := r.count(list.what)
			if err != nil {
				return nil, false, fmt.Errorf("type %d: %w", i, err)
			}
			for j := uint32(0); j < k; j++ {
				if r.p >= len(r.b) {
					return nil, false, fmt.Errorf("type %d: %w", i, errEOF)
				}
				c := r.b[r.p]
				if err := r.valtype(); err != nil {
					return nil, false, fmt.Errorf("type %d: %w", i, err)
				}
				*list.vals = append(*list.vals, c)
			}
		}
		types = append(types, t)
	}
	return types, true, nil
}

func checkCode(r *reader) error {
	n, err := r.count("function bodies")
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return fmt.Errorf("function %d: %w", i, err)
		}
		if uint64(size) > uint64(len(r.b)-r.p) {
			return fmt.Errorf("function %d: body of %d bytes past the end of the section", i, size)
		}
		body := &reader{b: r.b[:r.p+int(size)], p: r.p}
		r.p += int(size)
		groups, err := body.count("local declarations")
		if err != nil {
			return fmt.Errorf("function %d: %w", i, err)
		}
		var locals uint64
		for j := uint32(0); j < groups; j++ {
			k, err := body.u32()
			if err != nil {
				return fmt.Errorf("function %d: %w", i, err)
			}
			if locals += uint64(k); locals > MaxLocals {
				return fmt.Errorf("function %d: more than %d locals", i, MaxLocals)
			}
			if err := body.valtype(); err != nil {
				return fmt.Errorf("function %d: %w", i, err)
			}
		}
	}
	return nil
}

// checkElements walks the element segments of every form (flags 0 to 7).
func checkElements(r *reader) error {
	n, err := r.count("segments")
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if err := r.checkElement(); err != nil {
			return fmt.Errorf("segment %d: %w", i, err)
		}
	}
	return nil
}

func (r *reader) checkElement() error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	if flags > 7 {
		return fmt.Errorf("unknown segment flags %d", flags)
	}
	if flags&2 != 0 && flags&1 == 0 { // explicit table index
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	if flags&1 == 0 { // active: offset
		if err := r.skipConstExpr(); err != nil {
			return err
		}
	}
	if flags&3 != 0 { // element kind or reference type
		if err := r.valtype(); err != nil {
			return err
		}
	}
	k, err := r.count("elements")
	if err != nil {
		return err
	}
	for j := uint32(0); j < k; j++ {
		if flags&4 != 0 {
			err = r.skipConstExpr()
		} else {
			_, err = r.u32()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// skipConstExpr skips a constant expression up to its end.
func (r *reader) skipConstExpr() error {
	for steps := 0; steps < 1024; steps++ {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41, 0x42: // i32.const, i64.const
			_, err = r.s64()
		case 0x43:
			err = r.skip(4)
		case 0x44:
			err = r.skip(8)
		case 0x23, 0xd2: // global.get, ref.func
			_, err = r.u32()
		case 0xd0: // ref.null heaptype
			_, err = r.s64()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constant arithmetic
		case 0xfd: // v128.const
			var sub uint32
			if sub, err = r.u32(); err == nil && sub != 12 {
				return fmt.Errorf("opcode 0xfd %d is not allowed in a constant expression", sub)
			}
			if err == nil {
				err = r.skip(16)
			}
		default:
			return fmt.Errorf("opcode 0x%02x is not allowed in a constant expression", op)
		}
		if err != nil {
			return err
		}
	}
	return errors.New("constant expression too long")
}

// checkNames checks the function-name and local-name subsections of the
// "name" custom section, whose counts wazero also allocates by.
func checkNames(r *reader) error {
	for r.p < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return err
		}
		size, err := r.u32()
		if err != nil {
			return err
		}
		if uint64(size) > uint64(len(r.b)-r.p) {
			return fmt.Errorf("name subsection %d of %d bytes past the end", id, size)
		}
		sub := &reader{b: r.b[:r.p+int(size)], p: r.p}
		r.p += int(size)
		switch id {
		case 1: // function names
			_, err = sub.count("function names")
		case 2: // local names: per function, a count of names
			var n uint32
			if n, err = sub.count("functions with local names"); err != nil {
				break
			}
			for i := uint32(0); i < n && err == nil; i++ {
				if _, err = sub.u32(); err == nil {
					var k uint32
					if k, err = sub.count("local names"); err == nil {
						for j := uint32(0); j < k && err == nil; j++ {
							if _, err = sub.u32(); err == nil {
								_, err = sub.name()
							}
						}
					}
				}
			}
		}
		if err != nil {
			return fmt.Errorf("name subsection %d: %w", id, err)
		}
	}
	return nil
}
