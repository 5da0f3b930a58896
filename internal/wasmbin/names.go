package wasmbin

import (
	"errors"
	"fmt"
)

// readNames reads the module and function names of a "name" section. It
// stops at the first malformed subsection and keeps what it read.
func (m *Module) readNames(r *reader) {
	for r.p < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return
		}
		size, err := r.u32()
		if err != nil || uint64(r.p)+uint64(size) > uint64(len(r.b)) {
			return
		}
		sub := &reader{b: r.b[:r.p+int(size)], p: r.p}
		r.p += int(size)
		switch id {
		case 0:
			if name, err := sub.name(); err == nil {
				m.ModuleName = name
			}
		case 1:
			n, err := sub.u32()
			if err != nil || int(n) > len(sub.b)-sub.p {
				return
			}
			names := make(map[uint32]string, n)
			for i := uint32(0); i < n; i++ {
				idx, err := sub.u32()
				if err != nil {
					break
				}
				name, err := sub.name()
				if err != nil {
					break
				}
				names[idx] = name
			}
			m.FuncNames = names
		}
	}
}

// Producer is one tool or language of a "producers" custom section.
type Producer struct {
	Name, Version string
}

// Producers decodes the "producers" custom section (the WebAssembly tool
// convention): field name ("language", "processed-by", "sdk") to values.
// It returns nil and no error when the module has no such section.
func (m *Module) Producers() (map[string][]Producer, error) {
	b, ok := m.Custom["producers"]
	if !ok {
		return nil, nil
	}
	r := &reader{b: b}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("producers section: %w", err)
	}
	if int(n) > len(b) {
		return nil, errors.New("producers section: field count cannot fit")
	}
	out := map[string][]Producer{}
	for i := uint32(0); i < n; i++ {
		field, err := r.name()
		if err != nil {
			return nil, fmt.Errorf("producers section: field %d: %w", i, err)
		}
		k, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("producers section: field %s: %w", field, err)
		}
		if int(k) > len(b) {
			return nil, fmt.Errorf("producers section: field %s: value count cannot fit", field)
		}
		for j := uint32(0); j < k; j++ {
			name, err := r.name()
			if err != nil {
				return nil, fmt.Errorf("producers section: field %s: %w", field, err)
			}
			version, err := r.name()
			if err != nil {
				return nil, fmt.Errorf("producers section: field %s: %w", field, err)
			}
			out[field] = append(out[field], Producer{Name: name, Version: version})
		}
	}
	return out, nil
}
