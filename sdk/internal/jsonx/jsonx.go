package jsonx

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Member is one member of a JSON object.
type Member struct {
	// Key is the decoded member name.
	Key string
	// Value is the raw JSON text of the member value, without surrounding
	// whitespace. It aliases the input of Members.
	Value []byte
}

// span locates one object member (or array element) inside its container:
// the raw key literal with quotes [keyStart, keyEnd) and the raw value
// [valStart, valEnd). For arrays only the value positions are used.
type span struct {
	keyStart, keyEnd int
	valStart, valEnd int
}

// Members returns the members of the JSON object obj in document order,
// duplicates included. obj must be exactly one valid JSON object, optionally
// surrounded by whitespace; anything else is an error and no members are
// returned.
func Members(obj []byte) ([]Member, error) {
	var out []Member
	err := walkObject(obj, func(sp span) {
		out = append(out, Member{Key: decodeString(obj[sp.keyStart:sp.keyEnd]), Value: obj[sp.valStart:sp.valEnd]})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Elements returns the elements of the JSON array arr in order, each as raw
// JSON without surrounding whitespace (aliasing arr). arr must be exactly one
// valid JSON array, optionally surrounded by whitespace.
func Elements(arr []byte) ([][]byte, error) {
	var out [][]byte
	err := walkArray(arr, func(sp span) {
		out = append(out, arr[sp.valStart:sp.valEnd])
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Without returns obj with every member whose decoded name equals key
// removed. Every other byte of obj (the remaining members, whitespace and
// separators) is kept as it was. If no member is named key, obj itself is
// returned. obj must be exactly one valid JSON object.
func Without(obj []byte, key string) ([]byte, error) {
	var spans []span
	removed := 0
	var drop []bool
	err := walkObject(obj, func(sp span) {
		match := keyEquals(obj[sp.keyStart:sp.keyEnd], key)
		if match {
			if drop == nil {
				drop = make([]bool, len(spans), len(spans)+4)
			}
			removed++
		}
		if drop != nil {
			drop = append(drop, match)
		}
		spans = append(spans, sp)
	})
	if err != nil {
		return nil, err
	}
	if removed == 0 {
		return obj, nil
	}
	out := make([]byte, 0, len(obj))
	out = append(out, obj[:spans[0].keyStart]...)
	first := true
	for k, sp := range spans {
		if drop[k] {
			continue
		}
		if !first {
			// The separator that preceded this member in the input.
			out = append(out, obj[spans[k-1].valEnd:sp.keyStart]...)
		}
		first = false
		out = append(out, obj[sp.keyStart:sp.valEnd]...)
	}
	out = append(out, obj[spans[len(spans)-1].valEnd:]...)
	return out, nil
}

var (
	errNotObject = errors.New("jsonx: value is not a JSON object")
	errNotArray  = errors.New("jsonx: value is not a JSON array")
	errNotString = errors.New("jsonx: value is not a JSON string")
)

// walkObject validates that data is exactly one JSON object and calls visit
// for each member in order. visit may be called before a later syntax error
// is found; callers discard their results when an error is returned.
func walkObject(data []byte, visit func(sp span)) error {
	return walk(data, '{', '}', errNotObject, visit)
}

// walkArray validates that data is exactly one JSON array and calls visit for
// each element in order (only valStart and valEnd are set).
func walkArray(data []byte, visit func(sp span)) error {
	return walk(data, '[', ']', errNotArray, visit)
}

// walk validates that data is exactly one JSON object (open '{') or array
// (open '[') and calls visit for each member or element; notKind is the
// error for a valid value of another kind.
func walk(data []byte, open, close byte, notKind error, visit func(sp span)) error {
	n := len(data)
	i := skipWS(data, 0)
	if i >= n {
		return scanError(data, i, scanEOF)
	}
	if data[i] != open {
		if KindOf(data[i:]) == Invalid {
			return scanError(data, i, scanSyntax)
		}
		return notKind
	}
	i = skipWS(data, i+1)
	if i < n && data[i] == close {
		return checkTrailing(data, i+1)
	}
	var r scanResult
	for {
		var sp span
		if open == '{' {
			if i >= n {
				return scanError(data, i, scanEOF)
			}
			if data[i] != '"' {
				return scanError(data, i, scanSyntax)
			}
			sp.keyStart = i
			if i, r = skipString(data, i); r != scanOK {
				return scanError(data, i, r)
			}
			sp.keyEnd = i
			i = skipWS(data, i)
			if i >= n {
				return scanError(data, i, scanEOF)
			}
			if data[i] != ':' {
				return scanError(data, i, scanSyntax)
			}
			i = skipWS(data, i+1)
		}
		sp.valStart = i
		if i, r = skipValue(data, i, 1); r != scanOK {
			return scanError(data, i, r)
		}
		sp.valEnd = i
		visit(sp)
		i = skipWS(data, i)
		if i >= n {
			return scanError(data, i, scanEOF)
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case close:
			return checkTrailing(data, i+1)
		default:
			return scanError(data, i, scanSyntax)
		}
	}
}

// checkTrailing verifies that only whitespace follows offset i.
func checkTrailing(data []byte, i int) error {
	i = skipWS(data, i)
	if i < len(data) {
		return errors.New("jsonx: invalid character " + quoteByte(data[i]) +
			" after top-level value at offset " + strconv.Itoa(i))
	}
	return nil
}

// Unquote decodes the JSON string literal raw (surrounding whitespace
// allowed). All escapes are decoded, including \uXXXX surrogate pairs. As in
// encoding/json, an unpaired surrogate escape and every byte that is not
// valid UTF-8 decode to U+FFFD.
func Unquote(raw []byte) (string, error) {
	i := skipWS(raw, 0)
	if i >= len(raw) {
		return "", scanError(raw, i, scanEOF)
	}
	if raw[i] != '"' {
		if KindOf(raw[i:]) == Invalid {
			return "", scanError(raw, i, scanSyntax)
		}
		return "", errNotString
	}
	end, r := skipString(raw, i)
	if r != scanOK {
		return "", scanError(raw, end, r)
	}
	if err := checkTrailing(raw, end); err != nil {
		return "", err
	}
	return decodeString(raw[i:end]), nil
}

// plainString reports whether the literal content s needs no decoding: no
// escapes and valid UTF-8.
func plainString(s []byte) bool {
	ascii := true
	for _, c := range s {
		if c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(s)
}

// keyEquals reports whether the validated string literal lit decodes to key,
// without allocating in the common case.
func keyEquals(lit []byte, key string) bool {
	s := lit[1 : len(lit)-1]
	if plainString(s) {
		return string(s) == key
	}
	return decodeString(lit) == key
}

// decodeString decodes a string literal (with quotes) that skipString has
// already validated.
func decodeString(lit []byte) string {
	s := lit[1 : len(lit)-1]
	if plainString(s) {
		return string(s)
	}
	b := make([]byte, 0, len(s))
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch e := s[r]; e {
			case 'b':
				b = append(b, '\b')
				r++
			case 'f':
				b = append(b, '\f')
				r++
			case 'n':
				b = append(b, '\n')
				r++
			case 'r':
				b = append(b, '\r')
				r++
			case 't':
				b = append(b, '\t')
				r++
			case 'u':
				rr := hex4(s[r+1 : r+5])
				r += 5
				if utf16.IsSurrogate(rr) {
					dec := utf8.RuneError
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' && validHex4(s[r+2:r+6]) {
						if d := utf16.DecodeRune(rr, hex4(s[r+2:r+6])); d != utf8.RuneError {
							dec = d
							r += 6
						}
					}
					rr = dec
				}
				b = utf8.AppendRune(b, rr)
			default: // '"', '\\', '/'
				b = append(b, e)
				r++
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[r:r+size]...)
			}
			r += size
		}
	}
	return string(b)
}

func validHex4(s []byte) bool {
	return isHex(s[0]) && isHex(s[1]) && isHex(s[2]) && isHex(s[3])
}

// hex4 decodes four hexadecimal digits that are known to be valid.
func hex4(s []byte) rune {
	var v rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		v = v<<4 | rune(c)
	}
	return v
}

const hexDigits = "0123456789abcdef"

// Quote returns s encoded as a JSON string literal. Quotes, backslashes and
// control characters are escaped (\n, \r, \t, \b, \f or \u00XX), as are
// U+2028 and U+2029; bytes that are not valid UTF-8 become \ufffd. HTML
// characters are not escaped.
func Quote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	b = append(b, '"')
	return string(b)
}
