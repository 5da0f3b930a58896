package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func mustParse(t *testing.T, s string) Value {
	t.Helper()
	v, n, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	if n != len(s) {
		t.Fatalf("Parse(%q) consumed %d of %d bytes", s, n, len(s))
	}
	return v
}

func marshal(t *testing.T, v Value) string {
	t.Helper()
	b, err := v.MarshalRESP()
	if err != nil {
		t.Fatalf("MarshalRESP: %v", err)
	}
	return string(b)
}

func TestTypeString(t *testing.T) {
	want := map[Type]string{SimpleString: "SimpleString", Error: "Error", Integer: "Integer",
		BulkString: "BulkString", Array: "Array", 0: "Unknown", 'x': "Unknown"}
	for typ, name := range want {
		if typ.String() != name {
			t.Errorf("%q.String() = %q, want %q", byte(typ), typ.String(), name)
		}
	}
	if SimpleString != '+' || Error != '-' || Integer != ':' || BulkString != '$' || Array != '*' {
		t.Error("type bytes")
	}
}

func TestConstructorsEncode(t *testing.T) {
	cases := []struct {
		v    Value
		want string
		typ  Type
	}{
		{SimpleStringValue("OK"), "+OK\r\n", SimpleString},
		{SimpleStringValue("a\r\nb\nc"), "+a  b c\r\n", SimpleString},
		{ErrorValue(errors.New("ERR bad")), "-ERR bad\r\n", Error},
		{ErrorValue(nil), "-\r\n", Error},
		{IntegerValue(42), ":42\r\n", Integer},
		{IntegerValue(-7), ":-7\r\n", Integer},
		{BoolValue(true), ":1\r\n", Integer},
		{BoolValue(false), ":0\r\n", Integer},
		{StringValue("hello"), "$5\r\nhello\r\n", BulkString},
		{StringValue(""), "$0\r\n\r\n", BulkString},
		{BytesValue([]byte("a\r\nb")), "$4\r\na\r\nb\r\n", BulkString},
		{NullValue(), "$-1\r\n", BulkString},
		{FloatValue(1.5), "$3\r\n1.5\r\n", BulkString},
		{FloatValue(1e21), "$22\r\n1000000000000000000000\r\n", BulkString},
		{FloatValue(0.1), "$3\r\n0.1\r\n", BulkString},
		{ArrayValue(nil), "*0\r\n", Array},
		{ArrayValue([]Value{StringValue("a"), IntegerValue(1), ArrayValue([]Value{NullValue()})}),
			"*3\r\n$1\r\na\r\n:1\r\n*1\r\n$-1\r\n", Array},
		{MultiBulkValue("set", "k", []byte("v"), 10, nil, 1.5, true),
			"*7\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\n10\r\n$-1\r\n$3\r\n1.5\r\n$4\r\ntrue\r\n", Array},
	}
	for _, c := range cases {
		if got := marshal(t, c.v); got != c.want {
			t.Errorf("marshal = %q, want %q", got, c.want)
		}
		if c.v.Type() != c.typ {
			t.Errorf("%q: Type() = %v, want %v", c.want, c.v.Type(), c.typ)
		}
		// Round trip.
		back := mustParse(t, c.want)
		if !back.Equals(c.v) || marshal(t, back) != c.want {
			t.Errorf("round trip of %q gave %q", c.want, marshal(t, back))
		}
	}
}

func TestZeroValue(t *testing.T) {
	var v Value
	if _, err := v.MarshalRESP(); err == nil || err.Error() != "unknown resp type encountered" {
		t.Errorf("zero MarshalRESP err = %v", err)
	}
	if v.Equals(Value{}) {
		t.Error("zero values compare equal")
	}
	if v.Type() != 0 || v.IsNull() || v.String() != "" || v.Integer() != 0 || v.Array() != nil || v.Error() != nil {
		t.Error("zero value accessors")
	}
	if got := marshal(t, Value{null: true}); got != "$-1\r\n" {
		t.Errorf("typeless null = %q", got)
	}
	nested := ArrayValue([]Value{{}})
	if _, err := nested.MarshalRESP(); err == nil {
		t.Error("array with zero element marshalled")
	}
}

func TestAccessors(t *testing.T) {
	type acc struct {
		s       string
		integer int
		i64     int64
		f       float64
		b       bool
		null    bool
	}
	cases := []struct {
		name string
		v    Value
		want acc
	}{
		{"int", IntegerValue(12), acc{"12", 12, 12, 12, true, false}},
		{"zero", IntegerValue(0), acc{"0", 0, 0, 0, false, false}},
		{"bulk number", StringValue("34"), acc{"34", 34, 34, 34, true, false}},
		{"bulk float", StringValue("2.5"), acc{"2.5", 0, 0, 2.5, false, false}},
		{"bulk text", StringValue("abc"), acc{"abc", 0, 0, 0, false, false}},
		{"bulk true", StringValue("true"), acc{"true", 0, 0, 0, false, false}},
		{"bulk overflow", StringValue("99999999999999999999"), acc{"99999999999999999999", math.MaxInt64, math.MaxInt64, 1e20, true, false}},
		{"simple", SimpleStringValue("OK"), acc{"OK", 0, 0, 0, false, false}},
		{"simple num", SimpleStringValue("-5"), acc{"-5", -5, -5, -5, true, false}},
		{"error", ErrorValue(errors.New("ERR x")), acc{"ERR x", 0, 0, 0, false, false}},
		{"null", NullValue(), acc{"", 0, 0, 0, false, true}},
		{"array", ArrayValue([]Value{StringValue("a"), IntegerValue(2), ArrayValue([]Value{StringValue("c"), NullValue()})}),
			acc{"[a 2 [c ]]", 0, 0, 0, false, false}},
		{"empty array", ArrayValue(nil), acc{"[]", 0, 0, 0, false, false}},
	}
	for _, c := range cases {
		v := c.v
		got := acc{v.String(), v.Integer(), v.Int(), v.Float(), v.Bool(), v.IsNull()}
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	if b := NullValue().Bytes(); b != nil {
		t.Errorf("null Bytes = %v, want nil", b)
	}
	if b := mustParse(t, "$0\r\n\r\n").Bytes(); b == nil || len(b) != 0 {
		t.Errorf("empty bulk Bytes = %#v, want non-nil empty", b)
	}
	if b := IntegerValue(5).Bytes(); string(b) != "5" {
		t.Errorf("integer Bytes = %q", b)
	}
	if err := ErrorValue(errors.New("NOAUTH Authentication required.")).Error(); err == nil || err.Error() != "NOAUTH Authentication required." {
		t.Errorf("Error() = %v", err)
	}
	if StringValue("x").Error() != nil || IntegerValue(1).Error() != nil {
		t.Error("non-error Error() not nil")
	}
	if StringValue("x").Array() != nil {
		t.Error("bulk Array() not nil")
	}
	nullArr := mustParse(t, "*-1\r\n")
	if !nullArr.IsNull() || nullArr.Type() != Array || nullArr.Array() != nil || marshal(t, nullArr) != "*-1\r\n" {
		t.Error("null array")
	}
	if a := ArrayValue([]Value{IntegerValue(1)}).Array(); len(a) != 1 || a[0].Integer() != 1 {
		t.Error("Array()")
	}
}

func TestEquals(t *testing.T) {
	if !StringValue("a").Equals(BytesValue([]byte("a"))) {
		t.Error("bulk a != bulk a")
	}
	if StringValue("a").Equals(SimpleStringValue("a")) {
		t.Error("bulk equals simple")
	}
	if StringValue("1").Equals(IntegerValue(1)) {
		t.Error("bulk 1 equals integer 1")
	}
	if StringValue("a").Equals(StringValue("b")) {
		t.Error("a equals b")
	}
	if !NullValue().Equals(Value{null: true}) {
		t.Error("null bulk != typeless null")
	}
	if NullValue().Equals(StringValue("")) {
		t.Error("null equals empty")
	}
}

func TestAnyValue(t *testing.T) {
	type stringer struct{ Value }
	cases := []struct {
		in   interface{}
		want string
	}{
		{nil, "$-1\r\n"},
		{7, ":7\r\n"},
		{int8(-8), ":-8\r\n"},
		{int16(16), ":16\r\n"},
		{int32(32), ":32\r\n"},
		{int64(64), ":64\r\n"},
		{uint(1), ":1\r\n"},
		{uint8(8), ":8\r\n"},
		{uint16(16), ":16\r\n"},
		{uint32(32), ":32\r\n"},
		{uint64(64), ":64\r\n"},
		{true, ":1\r\n"},
		{false, ":0\r\n"},
		{2.25, "$4\r\n2.25\r\n"},
		{float32(0.5), "$3\r\n0.5\r\n"},
		{[]byte("b"), "$1\r\nb\r\n"},
		{"s", "$1\r\ns\r\n"},
		{errors.New("e"), "$1\r\ne\r\n"},
		{IntegerValue(3), "$1\r\n3\r\n"},
		{[]string{"x", "y"}, "$5\r\n[x y]\r\n"},
	}
	for _, c := range cases {
		if got := marshal(t, AnyValue(c.in)); got != c.want {
			t.Errorf("AnyValue(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}

type nilStringer struct{ s string }

func (n *nilStringer) String() string { return n.s }

func TestFormatArg(t *testing.T) {
	var np *nilStringer
	cases := []struct {
		in   interface{}
		want string
	}{
		{nil, "<nil>"},
		{"s", "s"},
		{[]byte("b"), "b"},
		{-3, "-3"},
		{int64(math.MinInt64), "-9223372036854775808"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{uintptr(9), "9"},
		{1.5, "1.5"},
		{1e21, "1e+21"},
		{100000.0, "100000"},
		{float32(0.1), "0.1"},
		{complex(1, 2), "(1+2i)"},
		{true, "true"},
		{errors.New("boom"), "boom"},
		{&nilStringer{"st"}, "st"},
		{np, "<nil>"},
		{[]interface{}{1, "a", nil}, "[1 a <nil>]"},
		{struct{}{}, "%!v(unsupported)"},
	}
	for _, c := range cases {
		if got := FormatArg(c.in); got != c.want {
			t.Errorf("FormatArg(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCommand(t *testing.T) {
	got := Command("set", "key", "", "a\r\nb")
	want := "*4\r\n$3\r\nset\r\n$3\r\nkey\r\n$0\r\n\r\n$4\r\na\r\nb\r\n"
	if string(got) != want {
		t.Errorf("Command = %q, want %q", got, want)
	}
	if cap(got) != len(got) {
		t.Errorf("Command allocated %d for %d bytes", cap(got), len(got))
	}
	if string(Command()) != "*0\r\n" {
		t.Errorf("Command() = %q", Command())
	}
	long := strings.Repeat("x", 12345)
	v := mustParse(t, string(Command("get", long)))
	if a := v.Array(); len(a) != 2 || a[0].String() != "get" || a[1].String() != long {
		t.Error("Command round trip")
	}
	mb, _ := MultiBulkValue("get", long).MarshalRESP()
	if !bytes.Equal(mb, Command("get", long)) {
		t.Error("Command differs from MultiBulkValue")
	}
}

func TestParseNested(t *testing.T) {
	in := "*3\r\n*2\r\n+OK\r\n-ERR no\r\n*0\r\n*2\r\n:5\r\n*1\r\n$3\r\nfoo\r\n"
	v := mustParse(t, in)
	a := v.Array()
	if len(a) != 3 {
		t.Fatalf("len %d", len(a))
	}
	if a[0].Array()[0].String() != "OK" || a[0].Array()[0].Type() != SimpleString {
		t.Error("a[0][0]")
	}
	if e := a[0].Array()[1].Error(); e == nil || e.Error() != "ERR no" {
		t.Error("a[0][1]")
	}
	if a[1].Type() != Array || len(a[1].Array()) != 0 || a[1].IsNull() {
		t.Error("a[1]")
	}
	if a[2].Array()[0].Integer() != 5 || a[2].Array()[1].Array()[0].String() != "foo" {
		t.Error("a[2]")
	}
	if v.String() != "[[OK ERR no] [] [5 [foo]]]" {
		t.Errorf("String = %q", v.String())
	}
	if marshal(t, v) != in {
		t.Error("re-marshal differs")
	}
}

func TestParseConsumesOneValue(t *testing.T) {
	v, n, err := Parse([]byte(":1\r\n:2\r\n"))
	if err != nil || n != 4 || v.Integer() != 1 {
		t.Errorf("Parse = %v, %d, %v", v, n, err)
	}
}

func TestParseAliasesInput(t *testing.T) {
	in := []byte("$3\r\nabc\r\n+tail\r\n")
	v, _, _ := Parse(in)
	b := v.Bytes()
	if cap(b) != len(b) {
		t.Error("bulk slice capacity exceeds its length; appends would clobber input")
	}
	b = append(b, 'X')
	if string(in[7:9]) != "\r\n" {
		t.Error("append to a value overwrote the input")
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in  string
		err string
	}{
		{"", "EOF"},
		{"+OK", "unexpected EOF"},
		{"+OK\r", "unexpected EOF"},
		{":12", "unexpected EOF"},
		{"$5\r\nabc", "unexpected EOF"},
		{"$5\r\nabcde", "unexpected EOF"},
		{"$5\r\nabcde\r", "unexpected EOF"},
		{"*2\r\n:1\r\n", "unexpected EOF"},
		{"*1\r\n", "unexpected EOF"},
		{"*", "unexpected EOF"},
		{"$3\r\nabcXY", "Protocol error: invalid bulk line ending"},
		{"$-2\r\n", "Protocol error: invalid bulk length"},
		{"$-100\r\n", "Protocol error: invalid bulk length"},
		{"$abc\r\n", "Protocol error: invalid bulk length"},
		{"$\r\n", "Protocol error: invalid bulk length"},
		{"$-\r\n", "Protocol error: invalid bulk length"},
		{"$99999999999999999999999\r\n", "Protocol error: invalid bulk length"},
		{"$536870913\r\n", "Protocol error: invalid bulk length"},
		{"$9223372036854775807\r\n", "Protocol error: invalid bulk length"},
		{"*-2\r\n", "Protocol error: invalid array length"},
		{"*1048577\r\n", "Protocol error: invalid array length"},
		{"*x\r\n", "Protocol error: invalid array length"},
		{":abc\r\n", "Protocol error: invalid integer"},
		{":\r\n", "Protocol error: invalid integer"},
		{":9223372036854775808\r\n", "Protocol error: invalid integer"},
		{"?x\r\n", "Protocol error: unknown first byte"},
		{"PING\r\n", "Protocol error: unknown first byte"},
		{"*1\r\n?\r\n", "Protocol error: unknown first byte"},
	}
	for _, c := range cases {
		v, n, err := Parse([]byte(c.in))
		if err == nil || err.Error() != c.err {
			t.Errorf("Parse(%q) err = %v, want %q", c.in, err, c.err)
			continue
		}
		if n != 0 || !v.IsNull() || v.Type() != 0 {
			t.Errorf("Parse(%q) on error returned %v, %d", c.in, v, n)
		}
		if strings.HasPrefix(c.err, "Protocol") != IsProtocolError(err) {
			t.Errorf("IsProtocolError(%v) wrong", err)
		}
	}
	if _, _, err := Parse(nil); err != io.EOF {
		t.Errorf("Parse(nil) err = %v", err)
	}
	if _, _, err := Parse([]byte("$3\r\nab")); err != io.ErrUnexpectedEOF {
		t.Errorf("truncated err = %v", err)
	}
	v := mustParse(t, ":-9223372036854775808\r\n")
	if v.Int() != math.MinInt64 {
		t.Errorf("min int = %d", v.Int())
	}
}

func TestTruncatedEverywhere(t *testing.T) {
	in := string(Command("hset", "key", strings.Repeat("v", 100), "f")) + ""
	in = "*3\r\n" + in + ":-12\r\n*2\r\n$-1\r\n*-1\r\n"
	mustParse(t, in)
	for i := 0; i < len(in); i++ {
		_, n, err := Parse([]byte(in[:i]))
		if err == nil {
			t.Fatalf("prefix %d parsed (n=%d)", i, n)
		}
		if i > 0 && err != io.ErrUnexpectedEOF {
			t.Fatalf("prefix %d: err %v, want unexpected EOF", i, err)
		}
		// The stream reader agrees.
		_, _, err = NewReader(strings.NewReader(in[:i])).ReadValue()
		if err == nil {
			t.Fatalf("reader prefix %d parsed", i)
		}
	}
}

func TestHostileLengthsDoNotAllocate(t *testing.T) {
	inputs := []string{
		"$536870912\r\nabc",        // max bulk declared, 3 bytes present
		"*1048576\r\n:1\r\n",       // max array declared, one element present
		"*1048576\r\n*1048576\r\n", // nested huge arrays
	}
	for _, in := range inputs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, _, err := Parse([]byte(in)); err != io.ErrUnexpectedEOF {
			t.Errorf("Parse(%q) err = %v", in, err)
		}
		if _, _, err := NewReader(strings.NewReader(in)).ReadValue(); err != io.ErrUnexpectedEOF {
			t.Errorf("ReadValue(%q) err = %v", in, err)
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%q allocated %d bytes", in, grew)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	ok := strings.Repeat("*1\r\n", MaxDepth-1) + "*0\r\n"
	if _, _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	deep := strings.Repeat("*1\r\n", MaxDepth) + "*0\r\n"
	if _, _, err := Parse([]byte(deep)); err == nil || !IsProtocolError(err) {
		t.Errorf("depth %d: err = %v", MaxDepth+1, err)
	}
	// A megabyte of nested array headers fails cleanly (no stack exhaustion).
	huge := strings.Repeat("*1\r\n", 1<<18)
	if _, _, err := NewReader(strings.NewReader(huge)).ReadValue(); err == nil {
		t.Error("huge nesting parsed")
	}
}

func TestBigPayloads(t *testing.T) {
	big := make([]byte, 6<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>9)
	}
	arr := ArrayValue([]Value{BytesValue(big), StringValue("tail"), ArrayValue([]Value{BytesValue(big[:3<<20])})})
	enc, err := arr.MarshalRESP()
	if err != nil {
		t.Fatal(err)
	}
	v, n, err := Parse(enc)
	if err != nil || n != len(enc) {
		t.Fatalf("Parse big: %v n=%d", err, n)
	}
	if !bytes.Equal(v.Array()[0].Bytes(), big) || v.Array()[1].String() != "tail" ||
		!bytes.Equal(v.Array()[2].Array()[0].Bytes(), big[:3<<20]) {
		t.Error("big payload mismatch (Parse)")
	}
	// Streaming, in small odd-sized reads.
	readers := map[string]io.Reader{
		"onebyte":  iotest.OneByteReader(bytes.NewReader(enc[:100000])),
		"half":     iotest.HalfReader(bytes.NewReader(enc)),
		"data+EOF": iotest.DataErrReader(bytes.NewReader(enc)),
	}
	for name, r := range readers {
		rd := NewReader(r)
		v, n, err := rd.ReadValue()
		if name == "onebyte" {
			if err != io.ErrUnexpectedEOF {
				t.Errorf("%s: err %v", name, err)
			}
			continue
		}
		if err != nil || n != len(enc) {
			t.Fatalf("%s: %v n=%d", name, err, n)
		}
		if !v.Equals(arr) {
			t.Errorf("%s: mismatch", name)
		}
		if _, _, err := rd.ReadValue(); err != io.EOF {
			t.Errorf("%s: after value err = %v, want EOF", name, err)
		}
	}
}

func TestReaderSequence(t *testing.T) {
	in := "+OK\r\n:100\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n-ERR x\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"
	rd := NewReader(iotest.OneByteReader(strings.NewReader(in)))
	var got []Value
	total := 0
	for {
		v, n, err := rd.ReadValue()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		total += n
		got = append(got, v)
	}
	if total != len(in) || len(got) != 7 {
		t.Fatalf("read %d values, %d bytes", len(got), total)
	}
	// Earlier values stay intact while the reader keeps buffering.
	if got[0].String() != "OK" || got[1].Integer() != 100 || got[2].String() != "hello" ||
		!got[3].IsNull() || got[3].Type() != BulkString || !got[4].IsNull() || got[4].Type() != Array ||
		got[5].Error().Error() != "ERR x" || got[6].String() != "[a b]" {
		t.Errorf("values: %v", got)
	}
	var out bytes.Buffer
	for _, v := range got {
		b, _ := v.MarshalRESP()
		out.Write(b)
	}
	if out.String() != in {
		t.Errorf("re-encoded %q", out.String())
	}
}

func TestReaderInline(t *testing.T) {
	rd := NewReader(strings.NewReader("PING\r\nset  key \"hello world\"\n\r\n*1\r\n$4\r\nPING\r\n"))
	v, telnet, n, err := rd.ReadMultiBulk()
	if err != nil || !telnet || n != 6 || v.String() != "[PING]" {
		t.Errorf("inline 1: %v %v %d %v", v, telnet, n, err)
	}
	v, telnet, _, err = rd.ReadMultiBulk()
	if a := v.Array(); err != nil || !telnet || len(a) != 3 || a[2].String() != "hello world" {
		t.Errorf("inline 2: %v %v %v", v, telnet, err)
	}
	v, telnet, _, err = rd.ReadMultiBulk()
	if err != nil || !telnet || v.Type() != Array || len(v.Array()) != 0 {
		t.Errorf("inline empty: %v %v %v", v, telnet, err)
	}
	v, telnet, _, err = rd.ReadMultiBulk()
	if err != nil || telnet || v.String() != "[PING]" {
		t.Errorf("multibulk: %v %v %v", v, telnet, err)
	}
	// ReadValue also falls back to inline at the top level.
	v, _, err = NewReader(strings.NewReader("GET k\r\n")).ReadValue()
	if err != nil || v.String() != "[GET k]" {
		t.Errorf("ReadValue inline: %v %v", v, err)
	}
	_, _, _, err = NewReader(strings.NewReader("set \"a b\r\n")).ReadMultiBulk()
	if err == nil || err.Error() != "Protocol error: unbalanced quotes in request" {
		t.Errorf("unbalanced: %v", err)
	}
	_, _, _, err = NewReader(strings.NewReader("*1\r\n?x\r\n")).ReadMultiBulk()
	if err == nil || err.Error() != "Protocol error: expected '$', got '?'" {
		t.Errorf("expected $: %v", err)
	}
	_, _, _, err = NewReader(strings.NewReader("*x\r\n")).ReadMultiBulk()
	if err == nil || err.Error() != "Protocol error: invalid multibulk length" {
		t.Errorf("multibulk length: %v", err)
	}
	_, _, err = NewReader(strings.NewReader(strings.Repeat("a", maxInline+10))).ReadValue()
	if err == nil || !IsProtocolError(err) {
		t.Errorf("long inline: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	steps := []error{
		w.WriteSimpleString("OK"),
		w.WriteError(errors.New("ERR e")),
		w.WriteInteger(3),
		w.WriteString("s"),
		w.WriteBytes([]byte("b")),
		w.WriteNull(),
		w.WriteArray([]Value{IntegerValue(1)}),
		w.WriteMultiBulk("get", "k"),
		w.WriteValue(BoolValue(true)),
	}
	for i, err := range steps {
		if err != nil {
			t.Errorf("step %d: %v", i, err)
		}
	}
	want := "+OK\r\n-ERR e\r\n:3\r\n$1\r\ns\r\n$1\r\nb\r\n$-1\r\n*1\r\n:1\r\n*2\r\n$3\r\nget\r\n$1\r\nk\r\n:1\r\n"
	if b.String() != want {
		t.Errorf("wrote %q", b.String())
	}
	if err := NewWriter(failWriter{}).WriteInteger(1); err == nil {
		t.Error("write error swallowed")
	}
	if err := NewWriter(&b).WriteValue(Value{}); err == nil {
		t.Error("zero value written")
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	if _, _, err := NewReader(zeroReader{}).ReadValue(); err != io.ErrNoProgress {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkParseArray(b *testing.B) {
	var vals []Value
	for i := 0; i < 100; i++ {
		vals = append(vals, StringValue("member-value"), IntegerValue(i))
	}
	enc, _ := ArrayValue(vals).MarshalRESP()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := Parse(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"+OK\r\n", ":1\r\n", "$3\r\nabc\r\n", "*2\r\n$-1\r\n*-1\r\n", "-ERR\r\n", "*1\r\n*1\r\n:0\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, n, err := Parse(data)
		if err != nil {
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("n = %d for %d bytes", n, len(data))
		}
		enc, err := v.MarshalRESP()
		if err != nil {
			t.Fatalf("MarshalRESP of parsed value: %v", err)
		}
		v2, n2, err := Parse(enc)
		if err != nil || n2 != len(enc) || !v2.Equals(v) {
			t.Fatalf("re-parse of %q: %v", enc, err)
		}
		rv, rn, err := NewReader(iotest.HalfReader(bytes.NewReader(data))).ReadValue()
		if err != nil || rn != n || !rv.Equals(v) {
			t.Fatalf("reader disagrees on %q: %v n=%d want %d", data, err, rn, n)
		}
	})
}
