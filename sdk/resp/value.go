// Package resp reads and writes values of the Redis serialization protocol
// (RESP2): simple strings, errors, integers, bulk strings and arrays.
//
// It offers the same names and results as github.com/tidwall/resp, which
// Higress plugins receive in Redis callbacks, so plugin code that calls
// response.Integer(), response.String(), response.Array() or
// response.Error() ports unchanged. It is written without fmt or reflect to
// keep plugin binaries small, and it adds Parse and Command, the two helpers
// the SDK's Redis client needs to talk to the host.
package resp

import (
	"errors"
	"strconv"
)

// Type is the RESP type of a Value, identified by its leading byte on the
// wire.
type Type byte

// The RESP2 types.
const (
	SimpleString Type = '+'
	Error        Type = '-'
	Integer      Type = ':'
	BulkString   Type = '$'
	Array        Type = '*'
)

// String returns the name of the type ("SimpleString", "Error", "Integer",
// "BulkString", "Array"), or "Unknown".
func (t Type) String() string {
	switch t {
	case SimpleString:
		return "SimpleString"
	case Error:
		return "Error"
	case Integer:
		return "Integer"
	case BulkString:
		return "BulkString"
	case Array:
		return "Array"
	}
	return "Unknown"
}

// Value is one RESP value. The zero Value has no type and cannot be
// marshalled.
type Value struct {
	typ     Type
	integer int
	str     []byte
	array   []Value
	null    bool
}

// Type returns the RESP type of v: SimpleString, Error, Integer, BulkString
// or Array. It is 0 for the zero Value and for the value returned with a read
// error.
func (v Value) Type() Type { return v.typ }

// IsNull reports whether v is a RESP null (a null bulk string "$-1" or a null
// array "*-1").
func (v Value) IsNull() bool { return v.null }

// String returns v as text: the content of a simple string, error or bulk
// string, the decimal form of an integer, and for an array its elements'
// String results separated by spaces inside brackets ("[a b c]"). A null or
// typeless value gives "".
func (v Value) String() string {
	switch v.typ {
	case BulkString, SimpleString, Error:
		return string(v.str)
	case Integer:
		return strconv.Itoa(v.integer)
	case Array:
		return string(v.appendArrayText(nil))
	}
	return ""
}

func (v Value) appendArrayText(b []byte) []byte {
	b = append(b, '[')
	for i, e := range v.array {
		if i > 0 {
			b = append(b, ' ')
		}
		if e.typ == Array {
			b = e.appendArrayText(b)
		} else {
			b = append(b, e.String()...)
		}
	}
	return append(b, ']')
}

// Bytes returns the content of a simple string, error or bulk string
// without copying (nil for a null bulk string, non-nil and empty for an empty
// one). For other types it returns []byte(v.String()).
func (v Value) Bytes() []byte {
	switch v.typ {
	case BulkString, SimpleString, Error:
		return v.str
	}
	return []byte(v.String())
}

// Integer returns v as an int: the value of an integer, or the result of
// parsing v.String() as a base-10 integer with strconv.ParseInt, which is 0
// if the text is not a number (and the nearest limit if it overflows).
func (v Value) Integer() int {
	if v.typ == Integer {
		return v.integer
	}
	n, _ := strconv.ParseInt(v.String(), 10, 64)
	return int(n)
}

// Int returns v as an int64, with the same rules as Integer.
func (v Value) Int() int64 {
	if v.typ == Integer {
		return int64(v.integer)
	}
	n, _ := strconv.ParseInt(v.String(), 10, 64)
	return n
}

// Float returns v as a float64: the value of an integer, or the result of
// parsing v.String() with strconv.ParseFloat (0 if it is not a number).
func (v Value) Float() float64 {
	if v.typ == Integer {
		return float64(v.integer)
	}
	f, _ := strconv.ParseFloat(v.String(), 64)
	return f
}

// Bool reports whether v.Integer() is non-zero. Note that the bulk string
// "true" is therefore false; Redis answers boolean questions with 0 or 1.
func (v Value) Bool() bool { return v.Integer() != 0 }

// Error returns the message of an error value as an error, and nil for every
// other type.
func (v Value) Error() error {
	if v.typ == Error {
		return errors.New(string(v.str))
	}
	return nil
}

// Array returns the elements of an array, or nil if v is not an array or is
// a null array.
func (v Value) Array() []Value {
	if v.typ == Array && !v.null {
		return v.array
	}
	return nil
}

// Equals reports whether v and value have the same RESP encoding. Values that
// cannot be marshalled are never equal.
func (v Value) Equals(value Value) bool {
	a, err := v.MarshalRESP()
	if err != nil {
		return false
	}
	b, err := value.MarshalRESP()
	if err != nil {
		return false
	}
	return string(a) == string(b)
}

var errUnknownType = errors.New("unknown resp type encountered")

// MarshalRESP returns the RESP encoding of v. Carriage returns and line feeds
// inside a simple string or error are written as spaces so the encoding stays
// well formed. The zero Value gives an error.
func (v Value) MarshalRESP() ([]byte, error) {
	return v.appendRESP(make([]byte, 0, v.encodedSizeHint()))
}

func (v Value) encodedSizeHint() int {
	switch v.typ {
	case BulkString, SimpleString, Error:
		return len(v.str) + 16
	case Array:
		return 16 + 16*len(v.array)
	}
	return 24
}

func (v Value) appendRESP(b []byte) ([]byte, error) {
	switch v.typ {
	case SimpleString, Error:
		b = append(b, byte(v.typ))
		start := len(b)
		b = append(b, v.str...)
		for i := start; i < len(b); i++ {
			if b[i] == '\r' || b[i] == '\n' {
				b[i] = ' '
			}
		}
		return append(b, '\r', '\n'), nil
	case Integer:
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(v.integer), 10)
		return append(b, '\r', '\n'), nil
	case BulkString:
		if v.null {
			return append(b, "$-1\r\n"...), nil
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(v.str)), 10)
		b = append(b, '\r', '\n')
		b = append(b, v.str...)
		return append(b, '\r', '\n'), nil
	case Array:
		if v.null {
			return append(b, "*-1\r\n"...), nil
		}
		b = append(b, '*')
		b = strconv.AppendInt(b, int64(len(v.array)), 10)
		b = append(b, '\r', '\n')
		var err error
		for _, e := range v.array {
			if b, err = e.appendRESP(b); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	if v.typ == 0 && v.null {
		return append(b, "$-1\r\n"...), nil
	}
	return nil, errUnknownType
}

// SimpleStringValue returns a simple string. Carriage returns and line feeds
// in s are replaced with spaces, since a simple string is a single line.
func SimpleStringValue(s string) Value {
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return Value{typ: SimpleString, str: b}
}

// BytesValue returns a bulk string holding b (not copied).
func BytesValue(b []byte) Value { return Value{typ: BulkString, str: b} }

// StringValue returns a bulk string holding s.
func StringValue(s string) Value { return Value{typ: BulkString, str: []byte(s)} }

// NullValue returns a null bulk string ("$-1").
func NullValue() Value { return Value{typ: BulkString, null: true} }

// ErrorValue returns an error value carrying err.Error(), or an empty error
// value if err is nil.
func ErrorValue(err error) Value {
	if err == nil {
		return Value{typ: Error}
	}
	return Value{typ: Error, str: []byte(err.Error())}
}

// IntegerValue returns an integer.
func IntegerValue(i int) Value { return Value{typ: Integer, integer: i} }

// BoolValue returns the integer 1 for true and 0 for false.
func BoolValue(t bool) Value {
	if t {
		return Value{typ: Integer, integer: 1}
	}
	return Value{typ: Integer, integer: 0}
}

// FloatValue returns a bulk string holding f in decimal notation without an
// exponent, using the fewest digits that represent f exactly
// (strconv.FormatFloat(f, 'f', -1, 64)).
func FloatValue(f float64) Value {
	return Value{typ: BulkString, str: strconv.AppendFloat(nil, f, 'f', -1, 64)}
}

// ArrayValue returns an array of vals (not copied). A nil slice gives an
// empty array, not a null one.
func ArrayValue(vals []Value) Value { return Value{typ: Array, array: vals} }

// AnyValue returns a Value for v, inferring the type: nil gives a null bulk
// string, every integer type an integer (unsigned values are converted to
// int), bool an integer 0 or 1, float32 and float64 a bulk string as with
// FloatValue, []byte and string a bulk string, and anything else (a Value
// included) a bulk string holding FormatArg(v).
func AnyValue(v interface{}) Value {
	switch v := v.(type) {
	case nil:
		return NullValue()
	case int:
		return IntegerValue(v)
	case int8:
		return IntegerValue(int(v))
	case int16:
		return IntegerValue(int(v))
	case int32:
		return IntegerValue(int(v))
	case int64:
		return IntegerValue(int(v))
	case uint:
		return IntegerValue(int(v))
	case uint8:
		return IntegerValue(int(v))
	case uint16:
		return IntegerValue(int(v))
	case uint32:
		return IntegerValue(int(v))
	case uint64:
		return IntegerValue(int(v))
	case bool:
		return BoolValue(v)
	case float32:
		return FloatValue(float64(v))
	case float64:
		return FloatValue(v)
	case []byte:
		return BytesValue(v)
	case string:
		return StringValue(v)
	}
	return StringValue(FormatArg(v))
}

// MultiBulkValue returns a command: an array whose first element is
// commandName and whose other elements are args as bulk strings. A []byte or
// string argument is used as is, nil becomes a null bulk string, and any
// other argument is formatted with FormatArg.
func MultiBulkValue(commandName string, args ...interface{}) Value {
	vals := make([]Value, len(args)+1)
	vals[0] = StringValue(commandName)
	for i, arg := range args {
		switch a := arg.(type) {
		case nil:
			vals[i+1] = NullValue()
		case []byte:
			vals[i+1] = StringValue(string(a))
		case string:
			vals[i+1] = StringValue(a)
		default:
			vals[i+1] = StringValue(FormatArg(a))
		}
	}
	return ArrayValue(vals)
}

// FormatArg formats one command argument the way fmt.Sprint formats a single
// operand, for the types Redis commands take: strings and []byte as is,
// integers in decimal, floats in the shortest 'g' form, complex numbers as
// "(re+imi)", bools as "true"/"false", nil as "<nil>", errors by their Error
// method, values with a String method by that method, and []string or
// []interface{} as space-separated elements in brackets. Other types, which
// fmt would format by reflection, give "%!v(unsupported)".
func FormatArg(v interface{}) string {
	switch v := v.(type) {
	case nil:
		return "<nil>"
	case string:
		return v
	case []byte:
		return string(v)
	case int:
		return strconv.Itoa(v)
	case int8:
		return strconv.FormatInt(int64(v), 10)
	case int16:
		return strconv.FormatInt(int64(v), 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint:
		return strconv.FormatUint(uint64(v), 10)
	case uint8:
		return strconv.FormatUint(uint64(v), 10)
	case uint16:
		return strconv.FormatUint(uint64(v), 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case uintptr:
		return strconv.FormatUint(uint64(v), 10)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case complex64:
		return strconv.FormatComplex(complex128(v), 'g', -1, 64)
	case complex128:
		return strconv.FormatComplex(v, 'g', -1, 128)
	case bool:
		return strconv.FormatBool(v)
	case error:
		return callString(v.Error)
	case interface{ String() string }:
		return callString(v.String)
	case []string:
		b := []byte{'['}
		for i, s := range v {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, s...)
		}
		return string(append(b, ']'))
	case []interface{}:
		b := []byte{'['}
		for i, e := range v {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, FormatArg(e)...)
		}
		return string(append(b, ']'))
	}
	return "%!v(unsupported)"
}

// callString calls an Error or String method; like fmt, a panic (typically a
// nil pointer receiver) yields "<nil>".
func callString(f func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = "<nil>"
		}
	}()
	return f()
}

// Command encodes a command as a RESP array of bulk strings, the form Redis
// expects requests in: Command("set", "k", "v") is
// "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n".
func Command(args ...string) []byte {
	size := 1 + decimalLen(len(args)) + 2
	for _, a := range args {
		size += 1 + decimalLen(len(a)) + 2 + len(a) + 2
	}
	b := make([]byte, 0, size)
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

func decimalLen(n int) int {
	l := 1
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}
