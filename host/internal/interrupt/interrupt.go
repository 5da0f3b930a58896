// Package interrupt rewrites a WebAssembly module so that a running call can
// be stopped from another goroutine at no per-call cost.
//
// Instrument adds two mutable i32 globals, an interrupt flag (exported as
// GlobalName) and a countdown, and puts before every backward branch (a
// branch to a loop) and every tail call
//
//	global.get $countdown ; i32.const 1 ; i32.sub ; global.set $countdown
//	global.get $countdown ; i32.eqz
//	if
//	  global.get $flag ; if unreachable end
//	  i32.const YieldEvery ; global.set $countdown
//	  i32.const args… ; call $yield ; drop
//	end
//
// A module that never returns (a `for {}` in Go, a spin in any language)
// takes a backward branch or a tail call again and again, so every
// YieldEvery of them it reads the flag: setting the flag to a non-zero value
// from the host (api.MutableGlobal.Set) makes the running call trap with
// "unreachable" within YieldEvery loop iterations; a call that is not
// looping returns by itself. The check costs a decrement and a branch per
// loop iteration, and nothing per call or on entering a loop. Only the host
// writes the flag and only the guest writes the countdown.
//
// A loop that never calls out also never lets the Go scheduler stop its
// goroutine, so a garbage collection starting while it spins would wait for
// it — and the watchdog that sets the flag could never run. The call every
// YieldEvery iterations is that point: a call of one of the module's own
// imports, a host function, with arguments that make it do nothing (the
// caller names the candidates, see Yield; WASI's sched_yield, which Go
// modules import, is the default).
//
// A module importing none of the candidates is not instrumented (Instrument
// fails with ErrNoYield; the caller uses another way of stopping calls).
//
// Only the code, global and export sections change. Custom sections holding
// DWARF (".debug_*") describe code offsets that no longer hold, so they are
// dropped; the "name" section is kept, so traps still name functions.
package interrupt

import (
	"errors"
	"fmt"

	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

// GlobalName is the export name of the interrupt flag.
const GlobalName = "__wasmgate_interrupt"

// YieldEvery is how many loop iterations pass between two calls to
// sched_yield.
const YieldEvery = 4096

// ErrNoYield is returned for a module that imports none of the yield
// candidates.
var ErrNoYield = errors.New("interrupt: the module imports no function to yield through")

// Yield is an import the check may call as its yield point, with the i32
// arguments (one per parameter; the function's parameters must all be i32)
// that make the call do nothing. A result, if any, is dropped.
type Yield struct {
	Module, Name string
	Args         []uint32
}

// SchedYield is WASI's sched_yield under both module names.
var SchedYield = []Yield{
	{Module: "wasi_snapshot_preview1", Name: "sched_yield"},
	{Module: "wasi_unstable", Name: "sched_yield"},
}

const (
	secCustom   = wasmbin.SectionCustom
	secType     = wasmbin.SectionType
	secImport   = wasmbin.SectionImport
	secGlobal   = wasmbin.SectionGlobal
	secExport   = wasmbin.SectionExport
	secCode     = wasmbin.SectionCode
	secTag      = wasmbin.SectionTag
	kindGlobal  = 3
	opLoop      = 0x03
	opGlobalGet = 0x23
	opGlobalSet = 0x24
)

// Instrument returns a copy of wasm with the interrupt global and the loop
// checks added, yielding through the first of yields (SchedYield when none
// are given) that the module imports with a matching type. It fails on a
// module it cannot decode or that imports none of them (the caller may then
// fall back to another way of stopping calls).
func Instrument(wasm []byte, yields ...Yield) ([]byte, error) {
	if len(yields) == 0 {
		yields = SchedYield
	}
	secs, err := wasmbin.Split(wasm)
	if err != nil {
		return nil, fmt.Errorf("interrupt: %w", err)
	}

	// Index of the new globals: imported globals, then defined ones.
	var importedGlobals, definedGlobals uint32
	var imports []funcImport
	var types []wasmbin.FuncType
	for _, s := range secs {
		switch s.ID {
		case secType:
			// A type section in a form wasmbin does not read (the GC
			// proposal's recursive types) offers no yield point.
			if ts, complete, err := wasmbin.ReadTypes(s.Body); err == nil && complete {
				types = ts
			}
		case secImport:
			n, fs, err := readImports(s.Body)
			if err != nil {
				return nil, err
			}
			importedGlobals, imports = n, fs
		case secGlobal:
			sr := &reader{b: s.Body}
			definedGlobals = sr.u32()
			if sr.err != nil {
				return nil, fmt.Errorf("interrupt: global section: %w", sr.err)
			}
		}
	}
	yield, args, results, ok := pickYield(yields, imports, types)
	if !ok {
		return nil, ErrNoYield
	}
	gidx := importedGlobals + definedGlobals
	cidx := gidx + 1
	// countdown -= 1; if countdown == 0 { if flag { unreachable };
	// countdown = YieldEvery; sched_yield() }
	check := []byte{opGlobalGet}
	check = wasmbin.AppendU32(check, cidx)
	check = append(check, 0x41, 0x01, 0x6b, opGlobalSet) // i32.const 1; i32.sub; global.set
	check = wasmbin.AppendU32(check, cidx)
	check = append(check, opGlobalGet)
	check = wasmbin.AppendU32(check, cidx)
	check = append(check, 0x45, 0x04, 0x40, opGlobalGet) // i32.eqz; if (empty); global.get flag
	check = wasmbin.AppendU32(check, gidx)
	check = append(check, 0x04, 0x40, 0x00, 0x0b, 0x41) // if (empty) unreachable end; i32.const
	check = wasmbin.AppendS32(check, YieldEvery)
	check = append(check, opGlobalSet)
	check = wasmbin.AppendU32(check, cidx)
	for _, a := range args {
		check = append(check, 0x41) // i32.const
		check = wasmbin.AppendS32(check, int32(a))
	}
	check = append(check, 0x10) // call
	check = wasmbin.AppendU32(check, yield)
	if results == 1 {
		check = append(check, 0x1a) // drop
	}
	check = append(check, 0x0b) // end

	// The new globals: the flag (mut i32) (i32.const 0) and the countdown
	// (mut i32) (i32.const YieldEvery).
	newGlobal := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01, 0x41}
	newGlobal = wasmbin.AppendS32(newGlobal, YieldEvery)
	newGlobal = append(newGlobal, 0x0b)
	var newExport []byte
	newExport = wasmbin.AppendU32(newExport, uint32(len(GlobalName)))
	newExport = append(newExport, GlobalName...)
	newExport = append(newExport, kindGlobal)
	newExport = wasmbin.AppendU32(newExport, gidx)

	var out []wasmbin.RawSection
	emit := func(id byte, body []byte) { out = append(out, wasmbin.RawSection{ID: id, Body: body}) }
	haveGlobal, haveExport := false, false
	for _, s := range secs {
		// A missing global or export section goes before the first
		// section that must follow it.
		if !haveGlobal && s.ID != secCustom && order(s.ID) > order(secGlobal) {
			emit(secGlobal, appendVec(nil, 2, newGlobal))
			haveGlobal = true
		}
		if !haveExport && s.ID != secCustom && order(s.ID) > order(secExport) {
			emit(secExport, appendVec(nil, 1, newExport))
			haveExport = true
		}
		switch s.ID {
		case secCustom:
			if isDebugSection(s.Body) {
				continue
			}
			emit(s.ID, s.Body)
		case secGlobal:
			body, err := extendVec(s.Body, 2, newGlobal)
			if err != nil {
				return nil, fmt.Errorf("interrupt: global section: %w", err)
			}
			emit(s.ID, body)
			haveGlobal = true
		case secExport:
			body, err := extendVec(s.Body, 1, newExport)
			if err != nil {
				return nil, fmt.Errorf("interrupt: export section: %w", err)
			}
			emit(s.ID, body)
			haveExport = true
		case secCode:
			body, err := instrumentCode(s.Body, check)
			if err != nil {
				return nil, err
			}
			emit(s.ID, body)
		default:
			emit(s.ID, s.Body)
		}
	}
	if !haveGlobal {
		emit(secGlobal, appendVec(nil, 2, newGlobal))
	}
	if !haveExport {
		emit(secExport, appendVec(nil, 1, newExport))
	}
	return wasmbin.Join(out), nil
}

// order is a section's position in the binary format's required order.
func order(id byte) int {
	switch id {
	case secTag:
		return 55 // between memory (5) and global (6)
	case 12: // data count: before code
		return 95
	default:
		return int(id) * 10
	}
}

func isDebugSection(body []byte) bool {
	r := &reader{b: body}
	n := r.u32()
	name := r.bytes(int(n))
	return r.err == nil && len(name) >= 7 && string(name[:7]) == ".debug_"
}

// funcImport is an imported function: its names, function index and type
// index.
type funcImport struct {
	module, name string
	index, typ   uint32
}

// readImports counts the imported globals and lists the imported functions.
func readImports(body []byte) (uint32, []funcImport, error) {
	imps, err := wasmbin.ReadImports(body)
	if err != nil {
		return 0, nil, fmt.Errorf("interrupt: import section: %w", err)
	}
	var globals, funcs uint32
	var fs []funcImport
	for _, imp := range imps {
		switch imp.Kind {
		case wasmbin.KindFunc:
			fs = append(fs, funcImport{module: imp.Module, name: imp.Name, index: funcs, typ: imp.TypeIndex})
			funcs++
		case wasmbin.KindGlobal:
			globals++
		}
	}
	return globals, fs, nil
}

// pickYield finds the first candidate the module imports with i32
// parameters matching its arguments and at most one result.
func pickYield(yields []Yield, imports []funcImport, types []wasmbin.FuncType) (index uint32, args []uint32, results int, ok bool) {
	for _, y := range yields {
		for _, f := range imports {
			if f.module != y.Module || f.name != y.Name || uint64(f.typ) >= uint64(len(types)) {
				continue
			}
			t := types[f.typ]
			if len(t.Params) != len(y.Args) || len(t.Results) > 1 {
				continue
			}
			allI32 := true
			for _, p := range t.Params {
				allI32 = allI32 && p == 0x7f
			}
			if allI32 {
				return f.index, y.Args, len(t.Results), true
			}
		}
	}
	return 0, nil, 0, false
}

// extendVec appends k already-encoded items to a vector section body.
func extendVec(body []byte, k uint32, items []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	out := wasmbin.AppendU32(nil, n+k)
	out = append(out, body[r.p:]...)
	return append(out, items...), nil
}

func appendVec(dst []byte, n uint32, items []byte) []byte {
	dst = wasmbin.AppendU32(dst, n)
	return append(dst, items...)
}

func instrumentCode(body, check []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	out := make([]byte, 0, len(body)+len(body)/8)
	out = wasmbin.AppendU32(out, n)
	var fn []byte
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("interrupt: code section, function %d: %w", i, r.err)
		}
		var err error
		fn, err = instrumentFunc(fn[:0], code, check)
		if err != nil {
			return nil, fmt.Errorf("interrupt: code section, function %d: %w", i, err)
		}
		out = wasmbin.AppendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.p != len(r.b) {
		return nil, errors.New("interrupt: code section: trailing bytes")
	}
	return out, nil
}

// instrumentFunc copies one function body, inserting check before every
// backward branch: a br, br_if, br_table or br_on_* whose target (any
// target, for br_table) is a loop, and before every tail call
// (return_call*), which can cycle without a loop. A loop's head is also
// reached on entry, and Go's wasm backend opens every function with one (for
// its resume points), so checking at back edges instead of loop heads keeps
// the check off the path of every call.
func instrumentFunc(dst, code, check []byte) ([]byte, error) {
	r := &reader{b: code}
	groups := r.u32()
	for i := uint32(0); i < groups && r.err == nil; i++ {
		r.u32()
		r.valtype()
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %w", r.err)
	}
	// The kinds of the open blocks, innermost last; the function body is
	// the outermost block.
	blocks := []bool{false} // true: a loop
	isLoop := func(label uint32) bool {
		return uint64(label) < uint64(len(blocks)) && blocks[len(blocks)-1-int(label)]
	}
	last := 0
	for r.p < len(r.b) {
		at := r.p
		op := r.byte()
		backward := false
		switch op {
		case 0x02, 0x04, 0x06, 0x1f: // block if try try_table
			blocks = append(blocks, false)
		case opLoop:
			blocks = append(blocks, true)
		case 0x0b, 0x18: // end, delegate (ends a try)
			if len(blocks) == 0 {
				return nil, errors.New("unbalanced end")
			}
			blocks = blocks[:len(blocks)-1]
		case 0x0c, 0x0d, 0xd5, 0xd6: // br br_if br_on_null br_on_non_null
			backward = isLoop(r.peekU32())
		case 0x0e: // br_table
			backward = r.brTableHitsLoop(isLoop)
		case 0x12, 0x13, 0x15: // return_call return_call_indirect return_call_ref
			backward = true
		}
		if err := r.skipImmediates(op); err != nil {
			return nil, err
		}
		if r.err != nil {
			return nil, fmt.Errorf("opcode 0x%02x: %w", op, r.err)
		}
		if backward {
			dst = append(dst, code[last:at]...)
			dst = append(dst, check...)
			last = at
		}
	}
	if len(blocks) != 0 {
		return nil, errors.New("unbalanced blocks")
	}
	return append(dst, code[last:]...), nil
}

// peekU32 decodes the u32 at the read position without consuming it.
func (r *reader) peekU32() uint32 {
	p, err := r.p, r.err
	v := r.u32()
	r.p, r.err = p, err
	return v
}

// brTableHitsLoop reports whether any target of the br_table whose
// immediates start at the read position is a loop, without consuming them.
func (r *reader) brTableHitsLoop(isLoop func(uint32) bool) bool {
	p, err := r.p, r.err
	defer func() { r.p, r.err = p, err }()
	n := r.u32()
	for i := uint32(0); i <= n && r.err == nil; i++ {
		if isLoop(r.u32()) {
			return true
		}
	}
	return false
}

type reader struct {
	b   []byte
	p   int
	err error
}

var errEOF = errors.New("unexpected end")

func (r *reader) byte() byte {
	if r.p >= len(r.b) {
		r.fail(errEOF)
		return 0
	}
	c := r.b[r.p]
	r.p++
	return c
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.p = len(r.b)
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || r.p+n > len(r.b) {
		r.fail(errEOF)
		return nil
	}
	s := r.b[r.p : r.p+n]
	r.p += n
	return s
}

// leb skips or decodes an LEB128 number of at most maxBytes bytes.
func (r *reader) leb(maxBytes int) uint64 {
	var v uint64
	var shift uint
	for i := 0; i < maxBytes; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		if c&0x80 == 0 {
			return v
		}
		shift += 7
	}
	r.fail(errors.New("LEB128 too long"))
	return 0
}

func (r *reader) u32() uint32 { return uint32(r.leb(5)) }

func (r *reader) limits() {
	flags := r.byte()
	r.leb(10)
	if flags&1 != 0 {
		r.leb(10)
	}
}

// valtype skips a value type (including the typed reference forms).
func (r *reader) valtype() {
	switch c := r.byte(); c {
	case 0x63, 0x64: // (ref null ht), (ref ht)
		r.leb(5)
	default:
		_ = c
	}
}

// blocktype skips a block type: empty, a value type, or a type index (s33).
func (r *reader) blocktype() {
	if r.p >= len(r.b) {
		r.fail(errEOF)
		return
	}
	switch c := r.b[r.p]; {
	case c == 0x40:
		r.p++
	case c == 0x63 || c == 0x64:
		r.p++
		r.leb(5)
	case c >= 0x6a && c <= 0x7f: // value types (numeric, vector, reference)
		r.p++
	default:
		r.leb(5)
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: memory index follows
		r.u32()
	}
	r.leb(10)
}

// skipImmediates skips the immediates of op. It knows the opcodes of
// WebAssembly 2.0 and the threads, tail-call, exception-handling and
// typed-function-reference proposals.
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04 || op == 0x06: // block loop if try
		r.blocktype()
	case op == 0x1f: // try_table
		r.blocktype()
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			switch r.byte() {
			case 0x00, 0x01:
				r.u32()
				r.u32()
			case 0x02, 0x03:
				r.u32()
			default:
				return errors.New("try_table: unknown catch kind")
			}
		}
	case op == 0x07 || op == 0x08 || op == 0x09 || op == 0x18: // catch throw rethrow delegate
		r.u32()
	case op == 0x0c || op == 0x0d || op == 0xd5 || op == 0xd6: // br br_if br_on_null br_on_non_null
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x10 || op == 0x12 || op == 0x14 || op == 0x15 || op == 0xd2: // call return_call call_ref return_call_ref ref.func
		r.u32()
	case op == 0x11 || op == 0x13: // call_indirect return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.valtype()
		}
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f || op == 0x40: // memory.size memory.grow
		r.u32()
	case op == 0x41:
		r.leb(5)
	case op == 0x42:
		r.leb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0: // ref.null heaptype
		r.blocktype()
	case op <= 0x01 || op == 0x05 || op == 0x0a || op == 0x0b || op == 0x0f || op == 0x19 ||
		op == 0x1a || op == 0x1b || (op >= 0x45 && op <= 0xc4) || op == 0xd1 || op == 0xd3 || op == 0xd4:
		// no immediates
	case op == 0xfc:
		return r.skipFC(r.u32())
	case op == 0xfd:
		return r.skipFD(r.u32())
	case op == 0xfe:
		sub := r.u32()
		if sub == 0x03 { // atomic.fence
			r.byte()
		} else {
			r.memarg()
		}
	default:
		return fmt.Errorf("unknown opcode 0x%02x", op)
	}
	return nil
}

func (r *reader) skipFC(sub uint32) error {
	switch {
	case sub <= 7: // trunc_sat
	case sub == 8: // memory.init
		r.u32()
		r.u32()
	case sub == 9 || sub == 13 || sub == 11 || sub == 15 || sub == 16 || sub == 17: // data.drop elem.drop memory.fill table.grow/size/fill
		r.u32()
	case sub == 10 || sub == 12 || sub == 14: // memory.copy table.init table.copy
		r.u32()
		r.u32()
	default:
		return fmt.Errorf("unknown opcode 0xfc %d", sub)
	}
	return nil
}

func (r *reader) skipFD(sub uint32) error {
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // v128 loads/stores, load*_zero
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load/store lane
		r.memarg()
		r.byte()
	case sub <= 0x113:
		// every other SIMD and relaxed-SIMD opcode has no immediate
	default:
		return fmt.Errorf("unknown opcode 0xfd %d", sub)
	}
	return nil
}
