// Package jsonx is a small, allocation-conscious JSON reader for the SDK.
//
// It exists so that SDK packages compiled into every plugin (the rule matcher,
// the configuration plumbing) can walk JSON without pulling reflection-based
// encoders or third-party parsers into the binary. It offers validation,
// iteration over object members and array elements (as raw, trimmed JSON),
// string decoding and encoding, and member removal.
//
// The scanner is iterative, not recursive: nesting is tracked on an explicit
// stack, so hostile input cannot exhaust the goroutine stack. Validation
// follows RFC 8259 and agrees exactly with encoding/json.Valid: raw bytes
// inside strings are not checked for UTF-8 validity (decoding replaces
// invalid bytes with U+FFFD), and nesting deeper than 10000 levels is
// rejected.
package jsonx

import (
	"errors"
	"strconv"
)

// maxDepth is the deepest nesting of objects and arrays accepted by every
// function of this package. It equals the limit of encoding/json, so both
// agree on which documents are valid. The scanner keeps its own stack, so
// the limit bounds memory, not goroutine stack use.
const maxDepth = 10000

// Kind is the type of a JSON value.
type Kind int

// The kinds of JSON values. Invalid means the input does not start with a
// JSON value.
const (
	Invalid Kind = iota
	Null
	False
	True
	Number
	String
	Object
	Array
)

// KindOf reports the kind of the JSON value at the start of raw, after any
// leading whitespace. It looks only at the first token: a complete literal
// (null, true, false) or the first byte of a number, string, object or
// array. It does not validate the rest of the value; use Valid for that.
func KindOf(raw []byte) Kind {
	i := skipWS(raw, 0)
	if i >= len(raw) {
		return Invalid
	}
	switch c := raw[i]; c {
	case '{':
		return Object
	case '[':
		return Array
	case '"':
		return String
	case 'n':
		if hasLiteral(raw[i:], "null") {
			return Null
		}
	case 't':
		if hasLiteral(raw[i:], "true") {
			return True
		}
	case 'f':
		if hasLiteral(raw[i:], "false") {
			return False
		}
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return Number
		}
	}
	return Invalid
}

func hasLiteral(b []byte, lit string) bool {
	return len(b) >= len(lit) && string(b[:len(lit)]) == lit
}

// Valid reports whether data is exactly one valid JSON value, optionally
// surrounded by whitespace.
func Valid(data []byte) bool {
	end, e := skipValue(data, skipWS(data, 0), 0)
	return e == scanOK && skipWS(data, end) == len(data)
}

// scanResult classifies the outcome of a scan.
type scanResult uint8

const (
	scanOK scanResult = iota
	scanSyntax
	scanEOF
	scanDepth
)

// scanError turns a failed scan of data at offset pos into an error.
func scanError(data []byte, pos int, r scanResult) error {
	switch r {
	case scanEOF:
		return errors.New("jsonx: unexpected end of JSON input")
	case scanDepth:
		return errors.New("jsonx: exceeded maximum nesting depth at offset " + strconv.Itoa(pos))
	}
	if pos >= len(data) {
		return errors.New("jsonx: unexpected end of JSON input")
	}
	return errors.New("jsonx: invalid character " + quoteByte(data[pos]) + " at offset " + strconv.Itoa(pos))
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f && c != '\'' {
		return "'" + string(rune(c)) + "'"
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

// isSpace reports whether c is JSON insignificant whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(data []byte, i int) int {
	for i < len(data) && data[i] <= ' ' && isSpace(data[i]) {
		i++
	}
	return i
}

// skipValue scans one JSON value that starts at data[i] (leading whitespace
// allowed) inside depth enclosing containers, and returns the index just past
// it. On failure it returns the offending offset and the failure class.
func skipValue(data []byte, i, depth int) (int, scanResult) {
	var stackBuf [32]byte
	stack := stackBuf[:0]
	n := len(data)
	var r scanResult
	for {
		// A value is expected at i.
		i = skipWS(data, i)
		if i >= n {
			return i, scanEOF
		}
		switch c := data[i]; c {
		case '{', '[':
			if depth+len(stack) >= maxDepth {
				return i, scanDepth
			}
			i = skipWS(data, i+1)
			if i >= n {
				return i, scanEOF
			}
			if c == '{' {
				if data[i] == '}' {
					i++
					break
				}
				stack = append(stack, '{')
				if i, r = skipKey(data, i); r != scanOK {
					return i, r
				}
				continue
			}
			if data[i] == ']' {
				i++
				break
			}
			stack = append(stack, '[')
			continue
		case '"':
			if i, r = skipString(data, i); r != scanOK {
				return i, r
			}
		case 't':
			if i, r = skipLiteral(data, i, "true"); r != scanOK {
				return i, r
			}
		case 'f':
			if i, r = skipLiteral(data, i, "false"); r != scanOK {
				return i, r
			}
		case 'n':
			if i, r = skipLiteral(data, i, "null"); r != scanOK {
				return i, r
			}
		default:
			if i, r = skipNumber(data, i); r != scanOK {
				return i, r
			}
		}

		// A value ended at i: close containers or move to the next item.
	after:
		for {
			if len(stack) == 0 {
				return i, scanOK
			}
			i = skipWS(data, i)
			if i >= n {
				return i, scanEOF
			}
			top := stack[len(stack)-1]
			switch data[i] {
			case ',':
				i++
				if top == '{' {
					i = skipWS(data, i)
					if i, r = skipKey(data, i); r != scanOK {
						return i, r
					}
				}
				break after
			case '}':
				if top != '{' {
					return i, scanSyntax
				}
			case ']':
				if top != '[' {
					return i, scanSyntax
				}
			default:
				return i, scanSyntax
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

// skipKey scans `"key" :` starting at data[i] and returns the index after
// the colon.
func skipKey(data []byte, i int) (int, scanResult) {
	if i >= len(data) {
		return i, scanEOF
	}
	if data[i] != '"' {
		return i, scanSyntax
	}
	i, r := skipString(data, i)
	if r != scanOK {
		return i, r
	}
	i = skipWS(data, i)
	if i >= len(data) {
		return i, scanEOF
	}
	if data[i] != ':' {
		return i, scanSyntax
	}
	return i + 1, scanOK
}

// skipString scans a string literal whose opening quote is data[i] and
// returns the index after the closing quote.
func skipString(data []byte, i int) (int, scanResult) {
	n := len(data)
	i++
	for i < n {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, scanOK
		case c == '\\':
			i++
			if i >= n {
				return i, scanEOF
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				for k := 1; k <= 4; k++ {
					if i+k >= n {
						return n, scanEOF
					}
					if !isHex(data[i+k]) {
						return i + k, scanSyntax
					}
				}
				i += 5
			default:
				return i, scanSyntax
			}
		case c < 0x20:
			return i, scanSyntax
		default:
			i++
		}
	}
	return n, scanEOF
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipLiteral scans the literal lit at data[i].
func skipLiteral(data []byte, i int, lit string) (int, scanResult) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(data) {
			return i + k, scanEOF
		}
		if data[i+k] != lit[k] {
			return i + k, scanSyntax
		}
	}
	return i + len(lit), scanOK
}

// skipNumber scans a number at data[i]:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func skipNumber(data []byte, i int) (int, scanResult) {
	n := len(data)
	if data[i] == '-' {
		i++
		if i >= n {
			return i, scanEOF
		}
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < n && isDigit(data[i]) {
			i++
		}
	default:
		return i, scanSyntax
	}
	if i < n && data[i] == '.' {
		i++
		if i >= n {
			return i, scanEOF
		}
		if !isDigit(data[i]) {
			return i, scanSyntax
		}
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= n {
			return i, scanEOF
		}
		if !isDigit(data[i]) {
			return i, scanSyntax
		}
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	return i, scanOK
}
