package resp

import (
	"bytes"
	"errors"
	"io"
)

// Limits that protect against hostile or corrupt input. Declared lengths are
// never trusted for allocation: memory grows only with data that actually
// arrives.
const (
	// MaxBulkLength is the largest accepted bulk string (512 MiB, Redis's
	// own proto-max-bulk-len default).
	MaxBulkLength = 512 * 1024 * 1024
	// MaxArrayLength is the largest accepted number of array elements.
	MaxArrayLength = 1024 * 1024
	// MaxDepth is the deepest accepted nesting of arrays (an array inside an
	// array has depth 2).
	MaxDepth = 1000
	// maxInline bounds one inline (telnet-style) command line, as Redis does.
	maxInline = 64 * 1024
	// readSize is the smallest read issued to the underlying reader.
	readSize = 4096
)

// protocolError is a malformed-input error; its text starts with
// "Protocol error: ".
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

var (
	errInvalidBulkLength  = &protocolError{"invalid bulk length"}
	errInvalidArrayLength = &protocolError{"invalid array length"}
	errInvalidMultiBulk   = &protocolError{"invalid multibulk length"}
	errInvalidInteger     = &protocolError{"invalid integer"}
	errBulkLineEnding     = &protocolError{"invalid bulk line ending"}
	errUnknownFirstByte   = &protocolError{"unknown first byte"}
	errTooDeep            = &protocolError{"arrays nested too deeply"}
	errLineTooLong        = &protocolError{"line too long"}
	errInlineTooLong      = &protocolError{"too big inline request"}
	errUnbalancedQuotes   = &protocolError{"unbalanced quotes in request"}
)

// nullValue is what the readers return together with an error.
var nullValue = Value{null: true}

// decoder parses RESP from a buffer that it can refill from an io.Reader.
// Values alias the buffer, so bytes that were handed out are never
// overwritten: when more room is needed a new buffer is allocated and only
// the unread bytes are copied.
type decoder struct {
	buf  []byte // buf[p:] is unread
	p    int
	base int       // stream offset of buf[0]
	rd   io.Reader // nil: buf is all there is
	rerr error     // sticky error of rd
}

func (d *decoder) offset() int { return d.base + d.p }

// fill makes at least want unread bytes available, reading as needed. Growth
// is at most doubling per step, so a huge declared length costs memory only
// in proportion to the data received.
func (d *decoder) fill(want int) error {
	for len(d.buf)-d.p < want {
		if d.rd == nil {
			return io.EOF
		}
		if d.rerr != nil {
			return d.rerr
		}
		avail := len(d.buf) - d.p
		if cap(d.buf)-len(d.buf) < readSize {
			extra := want - avail
			limit := avail
			if limit < readSize {
				limit = readSize
			}
			if extra > limit {
				extra = limit
			}
			if extra < readSize {
				extra = readSize
			}
			nb := make([]byte, avail, avail+extra)
			copy(nb, d.buf[d.p:])
			d.base += d.p
			d.buf, d.p = nb, 0
		}
		var n int
		for tries := 0; n == 0 && d.rerr == nil; tries++ {
			if tries == 100 {
				d.rerr = io.ErrNoProgress
				break
			}
			n, d.rerr = d.rd.Read(d.buf[len(d.buf):cap(d.buf)])
			d.buf = d.buf[:len(d.buf)+n]
		}
	}
	return nil
}

// readByte returns the next byte.
func (d *decoder) readByte() (byte, error) {
	if d.p >= len(d.buf) {
		if err := d.fill(1); err != nil {
			return 0, err
		}
	}
	c := d.buf[d.p]
	d.p++
	return c, nil
}

// readLine returns the bytes up to the next "\r\n" and consumes both.
func (d *decoder) readLine(limit int) ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.Index(d.buf[d.p+scanned:], crlf); i >= 0 {
			end := d.p + scanned + i
			line := d.buf[d.p:end:end]
			d.p = end + 2
			return line, nil
		}
		avail := len(d.buf) - d.p
		if avail > limit {
			return nil, errLineTooLong
		}
		if avail > 0 {
			scanned = avail - 1 // a '\r' at the end may pair with the next '\n'
		}
		if err := d.fill(avail + 1); err != nil {
			return nil, err
		}
	}
}

var crlf = []byte("\r\n")

// readIntLine reads a line holding a decimal integer.
func (d *decoder) readIntLine() (int, bool, error) {
	// Fast path: a short line that is already buffered.
	buf := d.buf[d.p:]
	if len(buf) > 20 {
		buf = buf[:21]
	}
	for i, c := range buf {
		if c == '\r' {
			if i+1 < len(buf) && buf[i+1] == '\n' {
				n, ok := parseInt(buf[:i])
				d.p += i + 2
				return n, ok, nil
			}
			break
		}
	}
	line, err := d.readLine(32)
	if err == errLineTooLong {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, ok := parseInt(line)
	return n, ok, nil
}

// parseInt parses an optionally negative decimal integer that fits in an
// int64, rejecting empty input, signs without digits and overflow.
func parseInt(b []byte) (int, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int(-int64(u)), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int(u), true
}

// mode selects how values other than RESP are treated.
type mode uint8

const (
	modeStrict    mode = iota // only RESP (Parse)
	modeValue                 // ReadValue: inline command at the top level
	modeMultiBulk             // ReadMultiBulk: top level must be an array or inline
)

// readValue reads one value; depth is the number of enclosing arrays.
func (d *decoder) readValue(m mode, depth int) (Value, bool, error) {
	c, err := d.readByte()
	if err != nil {
		return nullValue, false, err
	}
	var v Value
	switch {
	case c == '*':
		v, err = d.readArray(m, depth)
	case m == modeMultiBulk && depth == 0:
		d.p--
		v, err = d.readInline()
		return v, err == nil, noEOF(err)
	case c == '+' || c == '-':
		var line []byte
		if line, err = d.readLine(MaxBulkLength); err == nil {
			v = Value{typ: Type(c), str: line}
		}
	case c == ':':
		var n int
		var ok bool
		if n, ok, err = d.readIntLine(); err == nil {
			if ok {
				v = Value{typ: Integer, integer: n}
			} else {
				err = errInvalidInteger
			}
		}
	case c == '$':
		v, err = d.readBulk()
	case m == modeMultiBulk:
		err = &protocolError{"expected '$', got '" + string(rune(c)) + "'"}
	case m == modeValue && depth == 0:
		d.p--
		v, err = d.readInline()
		return v, err == nil, noEOF(err)
	default:
		err = errUnknownFirstByte
	}
	if err != nil {
		return nullValue, false, noEOF(err)
	}
	return v, false, nil
}

// noEOF turns io.EOF inside a value into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (d *decoder) readBulk() (Value, error) {
	n, ok, err := d.readIntLine()
	if err != nil {
		return nullValue, err
	}
	if !ok || n < -1 || n > MaxBulkLength {
		return nullValue, errInvalidBulkLength
	}
	if n == -1 {
		return Value{typ: BulkString, null: true}, nil
	}
	if err := d.fill(n + 2); err != nil {
		return nullValue, err
	}
	b := d.buf[d.p : d.p+n : d.p+n]
	if d.buf[d.p+n] != '\r' || d.buf[d.p+n+1] != '\n' {
		return nullValue, errBulkLineEnding
	}
	d.p += n + 2
	return Value{typ: BulkString, str: b}, nil
}

func (d *decoder) readArray(m mode, depth int) (Value, error) {
	n, ok, err := d.readIntLine()
	if err != nil {
		return nullValue, err
	}
	if !ok || n < -1 || n > MaxArrayLength {
		if m == modeMultiBulk {
			return nullValue, errInvalidMultiBulk
		}
		return nullValue, errInvalidArrayLength
	}
	if n == -1 {
		return Value{typ: Array, null: true}, nil
	}
	if depth >= MaxDepth {
		return nullValue, errTooDeep
	}
	// Every element takes at least three bytes, so never reserve more
	// room than the buffered data can fill; append grows as data arrives.
	reserve := (len(d.buf)-d.p)/3 + 1
	if reserve > n {
		reserve = n
	}
	vals := make([]Value, 0, reserve)
	for i := 0; i < n; i++ {
		v, _, err := d.readValue(m, depth+1)
		if err != nil {
			return nullValue, err
		}
		vals = append(vals, v)
	}
	return Value{typ: Array, array: vals}, nil
}

// readInline reads an inline command: one line of space-separated
// arguments, where double quotes group an argument that contains spaces.
// The result is an array of bulk strings.
func (d *decoder) readInline() (Value, error) {
	scanned := 0
	var line []byte
	for {
		if i := bytes.IndexByte(d.buf[d.p+scanned:], '\n'); i >= 0 {
			end := d.p + scanned + i
			line = d.buf[d.p:end:end]
			d.p = end + 1
			break
		}
		avail := len(d.buf) - d.p
		if avail > maxInline {
			return nullValue, errInlineTooLong
		}
		scanned = avail
		if err := d.fill(avail + 1); err != nil {
			return nullValue, err
		}
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[: n-1 : n-1]
	}
	var args []Value
	for i := 0; i < len(line); {
		switch line[i] {
		case ' ', '\t':
			i++
			continue
		case '"':
			end := bytes.IndexByte(line[i+1:], '"')
			if end < 0 {
				return nullValue, errUnbalancedQuotes
			}
			j := i + 1 + end
			if j+1 < len(line) && line[j+1] != ' ' && line[j+1] != '\t' {
				return nullValue, errUnbalancedQuotes
			}
			args = append(args, Value{typ: BulkString, str: line[i+1 : j : j]})
			i = j + 1
			continue
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		args = append(args, Value{typ: BulkString, str: line[i:j:j]})
		i = j
	}
	if args == nil {
		args = []Value{}
	}
	return Value{typ: Array, array: args}, nil
}

// Parse decodes one complete RESP value from the start of b and returns it
// with the number of bytes it occupies; bytes after it are ignored. String
// contents of the result alias b. Empty input gives io.EOF, input that ends
// inside the value io.ErrUnexpectedEOF, and malformed input an error whose
// text starts with "Protocol error: ". On error n is 0.
func Parse(b []byte) (v Value, n int, err error) {
	d := decoder{buf: b}
	v, _, err = d.readValue(modeStrict, 0)
	if err != nil {
		return nullValue, 0, err
	}
	return v, d.p, nil
}

// Reader reads RESP values from a stream.
type Reader struct {
	d decoder
}

// NewReader returns a Reader that reads from rd. It buffers: it may read
// more from rd than the values it returns.
func NewReader(rd io.Reader) *Reader {
	return &Reader{d: decoder{rd: rd}}
}

// ReadValue reads the next value and returns it with the number of bytes it
// took. A line that does not start with a RESP type byte is read as an inline
// command (an array of its space-separated words). At the end of the stream it
// returns io.EOF, or io.ErrUnexpectedEOF if the stream ends inside a value.
func (rd *Reader) ReadValue() (value Value, n int, err error) {
	start := rd.d.offset()
	value, _, err = rd.d.readValue(modeValue, 0)
	return value, rd.d.offset() - start, err
}

// ReadMultiBulk reads the next command as a server would: a RESP array of
// bulk strings (nested arrays, integers and simple strings are accepted as
// elements), or an inline command line, in which case telnet is true.
func (rd *Reader) ReadMultiBulk() (value Value, telnet bool, n int, err error) {
	start := rd.d.offset()
	value, telnet, err = rd.d.readValue(modeMultiBulk, 0)
	return value, telnet, rd.d.offset() - start, err
}

// Writer writes RESP values to a stream.
type Writer struct {
	wr io.Writer
}

// NewWriter returns a Writer that writes to wr.
func NewWriter(wr io.Writer) *Writer { return &Writer{wr: wr} }

// WriteValue writes the encoding of v. It returns the marshalling error or
// the error of the underlying writer.
func (wr *Writer) WriteValue(v Value) error {
	b, err := v.MarshalRESP()
	if err != nil {
		return err
	}
	_, err = wr.wr.Write(b)
	return err
}

// WriteSimpleString writes a simple string (see SimpleStringValue).
func (wr *Writer) WriteSimpleString(s string) error { return wr.WriteValue(SimpleStringValue(s)) }

// WriteBytes writes b as a bulk string.
func (wr *Writer) WriteBytes(b []byte) error { return wr.WriteValue(BytesValue(b)) }

// WriteString writes s as a bulk string.
func (wr *Writer) WriteString(s string) error { return wr.WriteValue(StringValue(s)) }

// WriteNull writes a null bulk string.
func (wr *Writer) WriteNull() error { return wr.WriteValue(NullValue()) }

// WriteError writes an error value (see ErrorValue).
func (wr *Writer) WriteError(err error) error { return wr.WriteValue(ErrorValue(err)) }

// WriteInteger writes an integer.
func (wr *Writer) WriteInteger(i int) error { return wr.WriteValue(IntegerValue(i)) }

// WriteArray writes an array.
func (wr *Writer) WriteArray(vals []Value) error { return wr.WriteValue(ArrayValue(vals)) }

// WriteMultiBulk writes a command (see MultiBulkValue).
func (wr *Writer) WriteMultiBulk(commandName string, args ...interface{}) error {
	return wr.WriteValue(MultiBulkValue(commandName, args...))
}

// IsProtocolError reports whether err is a malformed-input error returned by
// Parse or a Reader.
func IsProtocolError(err error) bool {
	var pe *protocolError
	return errors.As(err, &pe)
}
