// Package format implements the subset of fmt.Sprintf that plugin log lines
// use, without linking package fmt (which costs a plugin about 400 KB).
//
// Verbs: %v %+v %s %q %d %b %o %x %X %c %U %e %E %f %F %g %G %t %T %p %%, with
// the flags '-', '+', '0', ' ', '#', width and precision (also '*'). Values:
// every basic kind, error, interface{ String() string }, []byte, and through
// reflection slices, arrays, maps, structs and pointers, printed the way fmt
// prints them. Output for exotic combinations may differ from fmt in detail.
package format

import (
	"reflect"
	"strconv"
	"unicode/utf8"
)

type stringer interface{ String() string }

type spec struct {
	minus, plus, zero, space, sharp bool
	plusV                           bool // %+v: struct field names
	width, prec                     int
	hasWidth, hasPrec               bool
	verb                            byte
}

// Sprintf formats according to a format specifier, like fmt.Sprintf.
func Sprintf(format string, args ...interface{}) string {
	b := make([]byte, 0, len(format)+16*len(args))
	argi := 0
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			j := i + 1
			for j < len(format) && format[j] != '%' {
				j++
			}
			b = append(b, format[i:j]...)
			i = j
			continue
		}
		i++
		var s spec
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				s.minus = true
			case '+':
				s.plus = true
			case '0':
				s.zero = true
			case ' ':
				s.space = true
			case '#':
				s.sharp = true
			default:
				break flags
			}
		}
		if i < len(format) && format[i] == '*' {
			i++
			if argi < len(args) {
				if n, ok := toInt(args[argi]); ok {
					s.width, s.hasWidth = n, true
					if n < 0 {
						s.minus, s.width = true, -n
					}
				}
				argi++
			}
		} else {
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				s.width = s.width*10 + int(format[i]-'0')
				s.hasWidth = true
				i++
			}
		}
		if i < len(format) && format[i] == '.' {
			i++
			s.hasPrec = true
			if i < len(format) && format[i] == '*' {
				i++
				if argi < len(args) {
					if n, ok := toInt(args[argi]); ok && n >= 0 {
						s.prec = n
					} else {
						s.hasPrec = false
					}
					argi++
				}
			} else {
				for i < len(format) && format[i] >= '0' && format[i] <= '9' {
					s.prec = s.prec*10 + int(format[i]-'0')
					i++
				}
			}
		}
		if i >= len(format) {
			b = append(b, "%!(NOVERB)"...)
			break
		}
		verb, size := utf8.DecodeRuneInString(format[i:])
		i += size
		if verb == '%' {
			b = append(b, '%')
			continue
		}
		if verb >= utf8.RuneSelf {
			b = append(b, "%!"...)
			b = utf8.AppendRune(b, verb)
			b = append(b, "(BADVERB)"...)
			continue
		}
		s.verb = byte(verb)
		if s.verb == 'v' && s.plus {
			s.plus, s.plusV = false, true
		}
		if argi >= len(args) {
			b = append(b, '%', '!', s.verb)
			b = append(b, "(MISSING)"...)
			continue
		}
		b = s.pad(b, s.value(nil, args[argi]))
		argi++
	}
	if argi < len(args) {
		b = append(b, "%!(EXTRA "...)
		for k, a := range args[argi:] {
			if k > 0 {
				b = append(b, ", "...)
			}
			b = append(b, typeName(a)...)
			b = append(b, '=')
			b = (&spec{verb: 'v'}).value(b, a)
		}
		b = append(b, ')')
	}
	return string(b)
}

// Sprint formats its operands like fmt.Sprint.
func Sprint(args ...interface{}) string {
	var b []byte
	for i, a := range args {
		_, isStr := a.(string)
		if i > 0 && !isStr {
			if _, prevStr := args[i-1].(string); !prevStr {
				b = append(b, ' ')
			}
		}
		b = (&spec{verb: 'v'}).value(b, a)
	}
	return string(b)
}

func toInt(a interface{}) (int, bool) {
	switch v := a.(type) {
	case int:
		return v, true
	case int32:
		return int(v), true
	case int64:
		return int(v), true
	case uint:
		return int(v), true
	case uint32:
		return int(v), true
	}
	return 0, false
}

func (s *spec) pad(dst, v []byte) []byte {
	if !s.hasWidth || utf8.RuneCount(v) >= s.width {
		return append(dst, v...)
	}
	n := s.width - utf8.RuneCount(v)
	if s.minus {
		dst = append(dst, v...)
		for ; n > 0; n-- {
			dst = append(dst, ' ')
		}
		return dst
	}
	fill := byte(' ')
	if s.zero && s.isNumeric() {
		fill = '0'
		if len(v) > 0 && (v[0] == '-' || v[0] == '+' || v[0] == ' ') {
			dst = append(dst, v[0])
			v = v[1:]
		}
	}
	for ; n > 0; n-- {
		dst = append(dst, fill)
	}
	return append(dst, v...)
}

func (s *spec) isNumeric() bool {
	switch s.verb {
	case 'd', 'b', 'o', 'x', 'X', 'e', 'E', 'f', 'F', 'g', 'G', 'v':
		return true
	}
	return false
}

// value appends the formatted operand (without padding) to b.
func (s *spec) value(b []byte, a interface{}) []byte {
	if s.verb == 'T' {
		return append(b, typeName(a)...)
	}
	if s.verb == 'p' {
		return s.pointer(b, reflect.ValueOf(a))
	}
	if isInteger(a) && !s.intVerb() {
		return s.bad(b, a)
	}
	switch v := a.(type) {
	case nil:
		return append(b, "<nil>"...)
	case string:
		return s.str(b, v)
	case []byte:
		if s.verb == 's' || s.verb == 'q' || s.verb == 'x' || s.verb == 'X' {
			return s.str(b, string(v))
		}
	case bool:
		if s.verb == 'v' || s.verb == 't' {
			return strconv.AppendBool(b, v)
		}
		return s.bad(b, a)
	case int:
		return s.integer(b, int64(v), false, 0)
	case int8:
		return s.integer(b, int64(v), false, 0)
	case int16:
		return s.integer(b, int64(v), false, 0)
	case int32:
		return s.integer(b, int64(v), false, 0)
	case int64:
		return s.integer(b, v, false, 0)
	case uint:
		return s.integer(b, 0, true, uint64(v))
	case uint8:
		return s.integer(b, 0, true, uint64(v))
	case uint16:
		return s.integer(b, 0, true, uint64(v))
	case uint32:
		return s.integer(b, 0, true, uint64(v))
	case uint64:
		return s.integer(b, 0, true, v)
	case uintptr:
		return s.integer(b, 0, true, uint64(v))
	case float32:
		return s.float(b, float64(v), 32)
	case float64:
		return s.float(b, v, 64)
	case error:
		if s.verb == 'v' || s.verb == 's' || s.verb == 'q' {
			return s.str(b, v.Error())
		}
	case stringer:
		if s.verb == 'v' || s.verb == 's' || s.verb == 'q' {
			return s.str(b, v.String())
		}
	}
	return s.reflectValue(b, reflect.ValueOf(a), 0)
}

func (s *spec) str(b []byte, v string) []byte {
	switch s.verb {
	case 'v', 's':
		if s.hasPrec && s.prec < utf8.RuneCountInString(v) {
			n := 0
			for i := range v {
				if n == s.prec {
					v = v[:i]
					break
				}
				n++
			}
		}
		return append(b, v...)
	case 'q':
		if s.sharp && strconv.CanBackquote(v) {
			return append(append(append(b, '`'), v...), '`')
		}
		return strconv.AppendQuote(b, v)
	case 'x', 'X':
		const lower, upper = "0123456789abcdef", "0123456789ABCDEF"
		digits := lower
		if s.verb == 'X' {
			digits = upper
		}
		for i := 0; i < len(v); i++ {
			b = append(b, digits[v[i]>>4], digits[v[i]&0xf])
		}
		return b
	}
	return s.badString(b, "string", v)
}

func (s *spec) integer(b []byte, i int64, unsigned bool, u uint64) []byte {
	neg := !unsigned && i < 0
	if !unsigned {
		if neg {
			u = uint64(-i)
		} else {
			u = uint64(i)
		}
	}
	switch s.verb {
	case 'c':
		return utf8.AppendRune(b, rune(u))
	case 'q':
		return strconv.AppendQuoteRune(b, rune(u))
	case 'U':
		b = append(b, "U+"...)
		h := strconv.FormatUint(u, 16)
		for n := len(h); n < 4; n++ {
			b = append(b, '0')
		}
		for _, r := range h {
			if r >= 'a' {
				r -= 'a' - 'A'
			}
			b = append(b, byte(r))
		}
		return b
	}
	base := 10
	prefix := ""
	switch s.verb {
	case 'v', 'd':
	case 'b':
		base = 2
	case 'o':
		base = 8
		if s.sharp {
			prefix = "0"
		}
	case 'x', 'X':
		base = 16
		if s.sharp {
			prefix = "0x"
			if s.verb == 'X' {
				prefix = "0X"
			}
		}
	case 'e', 'E', 'f', 'F', 'g', 'G':
		if neg {
			return s.float(b, -float64(u), 64)
		}
		return s.float(b, float64(u), 64)
	default:
		return s.bad(b, i)
	}
	digits := strconv.FormatUint(u, base)
	if s.verb == 'X' {
		up := []byte(digits)
		for k, c := range up {
			if c >= 'a' && c <= 'f' {
				up[k] = c - ('a' - 'A')
			}
		}
		digits = string(up)
	}
	if s.hasPrec {
		for n := len(digits); n < s.prec; n++ {
			digits = "0" + digits
		}
	}
	switch {
	case neg:
		b = append(b, '-')
	case s.plus:
		b = append(b, '+')
	case s.space:
		b = append(b, ' ')
	}
	b = append(b, prefix...)
	return append(b, digits...)
}

func isInteger(a interface{}) bool {
	switch a.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		return true
	}
	return false
}

func (s *spec) intVerb() bool {
	switch s.verb {
	case 'v', 'd', 'b', 'o', 'x', 'X', 'c', 'q', 'U', 'e', 'E', 'f', 'F', 'g', 'G':
		return true
	}
	return false
}

func (s *spec) float(b []byte, f float64, bits int) []byte {
	verb := s.verb
	prec := -1
	if s.hasPrec {
		prec = s.prec
	}
	switch verb {
	case 'v':
		verb = 'g'
	case 'F':
		verb = 'f'
	case 'e', 'E', 'f', 'g', 'G':
	default:
		return s.bad(b, f)
	}
	if (verb == 'e' || verb == 'E' || verb == 'f') && prec < 0 {
		prec = 6
	}
	if s.plus && f >= 0 {
		b = append(b, '+')
	} else if s.space && f >= 0 {
		b = append(b, ' ')
	}
	return strconv.AppendFloat(b, f, verb, prec, bits)
}

func (s *spec) pointer(b []byte, v reflect.Value) []byte {
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return append(append(b, "0x"...), strconv.FormatUint(uint64(v.Pointer()), 16)...)
	}
	return append(b, "%!p("...)
}

func (s *spec) bad(b []byte, a interface{}) []byte {
	b = append(b, '%', '!', s.verb, '(')
	b = append(b, typeName(a)...)
	b = append(b, '=')
	b = (&spec{verb: 'v'}).value(b, a)
	return append(b, ')')
}

func (s *spec) badString(b []byte, typ, v string) []byte {
	b = append(b, '%', '!', s.verb, '(')
	b = append(b, typ...)
	b = append(b, '=')
	b = append(b, v...)
	return append(b, ')')
}

func typeName(a interface{}) string {
	if a == nil {
		return "<nil>"
	}
	return reflect.TypeOf(a).String()
}

const maxDepth = 8

// reflectValue prints composite values the way fmt's %v does.
func (s *spec) reflectValue(b []byte, v reflect.Value, depth int) []byte {
	if !v.IsValid() {
		return append(b, "<nil>"...)
	}
	if depth > maxDepth {
		return append(b, "..."...)
	}
	if depth > 0 && v.CanInterface() {
		switch x := v.Interface().(type) {
		case error:
			if v.Kind() != reflect.Pointer || !v.IsNil() {
				return s.str(b, x.Error())
			}
		case stringer:
			if v.Kind() != reflect.Pointer || !v.IsNil() {
				return s.str(b, x.String())
			}
		}
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return s.integer(b, v.Int(), false, 0)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return s.integer(b, 0, true, v.Uint())
	case reflect.Float32:
		return s.float(b, v.Float(), 32)
	case reflect.Float64:
		return s.float(b, v.Float(), 64)
	case reflect.String:
		return s.str(b, v.String())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 && (s.verb == 's' || s.verb == 'q' || s.verb == 'x') {
			return s.str(b, string(v.Bytes()))
		}
		b = append(b, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ' ')
			}
			b = s.reflectValue(b, v.Index(i), depth+1)
		}
		return append(b, ']')
	case reflect.Map:
		b = append(b, "map["...)
		keys := v.MapKeys()
		sortValues(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ' ')
			}
			b = s.reflectValue(b, k, depth+1)
			b = append(b, ':')
			b = s.reflectValue(b, v.MapIndex(k), depth+1)
		}
		return append(b, ']')
	case reflect.Struct:
		b = append(b, '{')
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if i > 0 {
				b = append(b, ' ')
			}
			if s.plusV {
				b = append(b, t.Field(i).Name...)
				b = append(b, ':')
			}
			b = s.reflectValue(b, v.Field(i), depth+1)
		}
		return append(b, '}')
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, "<nil>"...)
		}
		if depth == 0 {
			switch v.Elem().Kind() {
			case reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
				b = append(b, '&')
				return s.reflectValue(b, v.Elem(), depth+1)
			}
		}
		return s.pointer(b, v)
	case reflect.Interface:
		if v.IsNil() {
			return append(b, "<nil>"...)
		}
		return s.reflectValue(b, v.Elem(), depth+1)
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		if v.IsNil() {
			return append(b, "<nil>"...)
		}
		return s.pointer(b, v)
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		b = append(b, '(')
		b = strconv.AppendFloat(b, real(c), 'g', -1, 64)
		if imag(c) >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendFloat(b, imag(c), 'g', -1, 64)
		return append(b, "i)"...)
	}
	return append(b, '?')
}

// sortValues orders map keys as fmt does for the common key kinds.
func sortValues(keys []reflect.Value) {
	less := func(a, b reflect.Value) bool {
		switch a.Kind() {
		case reflect.String:
			return a.String() < b.String()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return a.Int() < b.Int()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return a.Uint() < b.Uint()
		case reflect.Float32, reflect.Float64:
			return a.Float() < b.Float()
		case reflect.Bool:
			return !a.Bool() && b.Bool()
		}
		return false
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && less(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}
