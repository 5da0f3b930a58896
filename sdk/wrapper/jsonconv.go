package wrapper

import (
	"reflect"
	"strconv"

	"github.com/wasmgate/wasmgate/sdk/internal/jsonx"
)

// gjson.Result's Type values.
const (
	gjsonNull   = 0
	gjsonFalse  = 1
	gjsonNumber = 2
	gjsonString = 3
	gjsonTrue   = 4
	gjsonJSON   = 5
)

// jsonConverter returns a function that makes a J — which must be
// github.com/tidwall/gjson.Result — from raw JSON, with the same result as
// gjson.Parse. It panics when J is another type, so a wrong parser signature
// fails at plugin registration with a message that says what to write.
func jsonConverter[J any]() func(raw []byte) J {
	t := reflect.TypeFor[J]()
	if t.Kind() != reflect.Struct || t.Name() != "Result" || t.PkgPath() != "github.com/tidwall/gjson" {
		panic("wrapper: the json parameter of a config parser must be gjson.Result (github.com/tidwall/gjson), not " + t.String())
	}
	field := func(name string, kind reflect.Kind) int {
		f, ok := t.FieldByName(name)
		if !ok || f.Type.Kind() != kind || len(f.Index) != 1 {
			panic("wrapper: unsupported github.com/tidwall/gjson version: Result." + name)
		}
		return f.Index[0]
	}
	typ, raw, str, num := field("Type", reflect.Int), field("Raw", reflect.String), field("Str", reflect.String), field("Num", reflect.Float64)
	return func(data []byte) J {
		var j J
		v := reflect.ValueOf(&j).Elem()
		s := string(data)
		i := 0
		for i < len(s) && s[i] <= ' ' {
			i++
		}
		s = s[i:]
		if s == "" {
			return j
		}
		switch c := s[0]; {
		case c == '{' || c == '[':
			v.Field(typ).SetInt(gjsonJSON)
			v.Field(raw).SetString(s)
		case c == '"':
			lit := firstValue(s)
			v.Field(typ).SetInt(gjsonString)
			v.Field(raw).SetString(lit)
			u, _ := jsonx.Unquote([]byte(lit))
			v.Field(str).SetString(u)
		case c == 't':
			v.Field(typ).SetInt(gjsonTrue)
			v.Field(raw).SetString(firstValue(s))
		case c == 'f':
			v.Field(typ).SetInt(gjsonFalse)
			v.Field(raw).SetString(firstValue(s))
		case c == 'n':
			v.Field(typ).SetInt(gjsonNull)
			v.Field(raw).SetString(firstValue(s))
		case c == '-' || (c >= '0' && c <= '9'):
			lit := firstValue(s)
			f, _ := strconv.ParseFloat(lit, 64)
			v.Field(typ).SetInt(gjsonNumber)
			v.Field(raw).SetString(lit)
			v.Field(num).SetFloat(f)
		}
		return j
	}
}

// firstValue returns the scalar JSON literal at the start of s.
func firstValue(s string) string {
	if s[0] == '"' {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return s[:i+1]
			}
		}
		return s
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', ',', ']', '}':
			return s[:i]
		}
	}
	return s
}
