// Package wasmbin reads the structure of a WebAssembly binary: its sections,
// imports, exports and custom sections. It does not validate code; it is for
// inspecting modules (ABI markers, linked host functions, sizes).
package wasmbin

import (
	"errors"
	"fmt"
)

// Section ids of the core specification.
const (
	SectionCustom   = 0
	SectionType     = 1
	SectionImport   = 2
	SectionFunction = 3
	SectionTable    = 4
	SectionMemory   = 5
	SectionGlobal   = 6
	SectionExport   = 7
	SectionStart    = 8
	SectionElement  = 9
	SectionCode     = 10
	SectionData     = 11
	SectionDataCnt  = 12
	SectionTag      = 13 // exception handling
)

// Kind is the kind of an import or export.
type Kind byte

const (
	KindFunc   Kind = 0
	KindTable  Kind = 1
	KindMemory Kind = 2
	KindGlobal Kind = 3
	KindTag    Kind = 4
)

func (k Kind) String() string {
	switch k {
	case KindFunc:
		return "func"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	case KindTag:
		return "tag"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Import is one entry of the import section.
type Import struct {
	Module, Name string
	Kind         Kind
	// TypeIndex is an imported function's type index.
	TypeIndex uint32
}

// Export is one entry of the export section.
type Export struct {
	Name string
	Kind Kind
	// Index is the exported item's index in its index space (for a
	// function: imported functions first, then the module's own).
	Index uint32
}

// Section is one section with its payload size in bytes.
type Section struct {
	ID   byte
	Name string // the section name, or the custom section's name
	Size int
}

// Module is what Parse reads.
type Module struct {
	Sections []Section
	Imports  []Import
	Exports  []Export
	// Custom holds the payload of each custom section (name section excluded) by name.
	Custom map[string][]byte
	// Start is the function index of the start section; HasStart says
	// whether the module has one.
	Start    uint32
	HasStart bool
	// Data holds the data section's segments; their bytes alias the input.
	Data []DataSegment
	// ModuleName and FuncNames come from the "name" custom section
	// (subsections 0 and 1), keyed by function index. A malformed name
	// section is ignored: it is debugging information only.
	ModuleName string
	FuncNames  map[uint32]string
}

// DataSegment is one segment of the data section.
type DataSegment struct {
	// Passive segments are copied by memory.init at run time; active ones
	// are placed at Offset in memory Memory when the module is instantiated.
	Passive bool
	Memory  uint32
	// Offset is the start address of an active segment when its offset is a
	// constant expression without global.get (OffsetKnown).
	Offset      uint64
	OffsetKnown bool
	// OffsetI32: the offset expression is exactly an i32.const.
	OffsetI32 bool
	Bytes     []byte
}

var magic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// ErrNotWasm is returned for input that is not a version-1 WebAssembly binary.
var ErrNotWasm = errors.New("not a WebAssembly binary (bad magic or version)")

// Parse reads b. Malformed input gives an error saying where, never a panic.
func Parse(b []byte) (*Module, error) {
	secs, err := Split(b)
	if err != nil {
		return nil, err
	}
	m := &Module{Custom: map[string][]byte{}}
	for _, s := range secs {
		body := &reader{b: s.Body}
		sec := Section{ID: s.ID, Name: sectionName(s.ID), Size: len(s.Body)}
		switch s.ID {
		case SectionCustom:
			name, err := body.name()
			if err != nil {
				return nil, fmt.Errorf("custom section name: %w", err)
			}
			sec.Name = name
			if name == "name" {
				m.readNames(body)
			} else {
				m.Custom[name] = body.b[body.p:]
			}
		case SectionImport:
			if m.Imports, err = readImports(body); err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
		case SectionExport:
			if m.Exports, err = readExports(body); err != nil {
				return nil, fmt.Errorf("export section: %w", err)
			}
		case SectionStart:
			if m.Start, err = body.u32(); err != nil {
				return nil, fmt.Errorf("start section: %w", err)
			}
			m.HasStart = true
		case SectionData:
			if m.Data, err = readData(body); err != nil {
				return nil, fmt.Errorf("data section: %w", err)
			}
		}
		m.Sections = append(m.Sections, sec)
	}
	return m, nil
}

// HasExport reports whether the module exports name.
func (m *Module) HasExport(name string) bool {
	for _, e := range m.Exports {
		if e.Name == name {
			return true
		}
	}
	return false
}

// HasImport reports whether the module imports module.name.
func (m *Module) HasImport(module, name string) bool {
	for _, i := range m.Imports {
		if i.Module == module && i.Name == name {
			return true
		}
	}
	return false
}

func sectionName(id byte) string {
	names := [...]string{"custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount"}
	if int(id) < len(names) {
		return names[id]
	}
	return fmt.Sprintf("unknown(%d)", id)
}

func readImports(r *reader) ([]Import, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) > len(r.b) {
		return nil, fmt.Errorf("%d imports cannot fit", n)
	}
	out := make([]Import, 0, n)
	for i := uint32(0); i < n; i++ {
		mod, err := r.name()
		if err != nil {
			return nil, fmt.Errorf("import %d: %w", i, err)
		}
		name, err := r.name()
		if err != nil {
			return nil, fmt.Errorf("import %d: %w", i, err)
		}
		k, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("import %d: %w", i, err)
		}
		typ, err := r.importDesc(Kind(k))
		if err != nil {
			return nil, fmt.Errorf("import %d (%s.%s): %w", i, mod, name, err)
		}
		out = append(out, Import{Module: mod, Name: name, Kind: Kind(k), TypeIndex: typ})
	}
	return out, nil
}

func readExports(r *reader) ([]Export, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) > len(r.b) {
		return nil, fmt.Errorf("%d exports cannot fit", n)
	}
	out := make([]Export, 0, n)
	for i := uint32(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return nil, fmt.Errorf("export %d: %w", i, err)
		}
		k, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("export %d: %w", i, err)
		}
		idx, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("export %d: %w", i, err)
		}
		out = append(out, Export{Name: name, Kind: Kind(k), Index: idx})
	}
	return out, nil
}

type reader struct {
	b []byte
	p int
}

var errEOF = errors.New("unexpected end of data")

func (r *reader) byte() (byte, error) {
	if r.p >= len(r.b) {
		return 0, errEOF
	}
	c := r.b[r.p]
	r.p++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if v > 0xffffffff {
				return 0, errors.New("LEB128 value overflows u32")
			}
			return uint32(v), nil
		}
	}
	return 0, errors.New("LEB128 value too long")
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if uint64(r.p)+uint64(n) > uint64(len(r.b)) {
		return "", errEOF
	}
	s := string(r.b[r.p : r.p+int(n)])
	r.p += int(n)
	return s, nil
}

func (r *reader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// importDesc reads an import's description and returns a function's type
// index.
func (r *reader) importDesc(k Kind) (uint32, error) {
	switch k {
	case KindFunc:
		return r.u32()
	case KindTable:
		if _, err := r.byte(); err != nil {
			return 0, err
		}
		return 0, r.limits()
	case KindMemory:
		return 0, r.limits()
	case KindGlobal:
		if err := r.valtype(); err != nil {
			return 0, err
		}
		_, err := r.byte()
		return 0, err
	case KindTag:
		if _, err := r.byte(); err != nil {
			return 0, err
		}
		_, err := r.u32()
		return 0, err
	}
	return 0, fmt.Errorf("unknown import kind %d", k)
}
