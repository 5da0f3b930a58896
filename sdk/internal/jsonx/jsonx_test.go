package jsonx

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestKindOf(t *testing.T) {
	cases := []struct {
		in   string
		want Kind
	}{
		{"", Invalid},
		{"   ", Invalid},
		{"null", Null},
		{" \n\tnull", Null},
		{"nul", Invalid},
		{"true", True},
		{"false", False},
		{"fals", Invalid},
		{"0", Number},
		{"-1.5e3", Number},
		{"7", Number},
		{`"x"`, String},
		{"{}", Object},
		{" [1]", Array},
		{"x", Invalid},
		{"+1", Invalid},
	}
	for _, c := range cases {
		if got := KindOf([]byte(c.in)); got != c.want {
			t.Errorf("KindOf(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

var validCases = []string{
	`null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `12.5`, `1e10`, `1E+2`, `-1.25e-7`, `0.0`,
	`""`, `"abc"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\uD83D\uDE00"`, `"\ud800"`, "\"\xff\xfe\"",
	`{}`, `[]`, ` { } `, "\t[ ]\n", `{"a":1}`, `{"a":{"b":[1,2,{"c":null}]}}`, `[1,"2",[3],{"4":5}]`,
	`{"a":1,"a":2}`, `{"":""}`, "\r\n 1 \r\n",
}

var invalidCases = []string{
	``, ` `, `nul`, `nulll`, `True`, `01`, `-`, `-a`, `1.`, `1.e3`, `.5`, `1e`, `1e+`, `+1`, `0x10`,
	`"abc`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"a\tb\"", "\"\x00\"", `'a'`,
	`{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{a:1}`, `{"a":1 "b":2}`, `{"a" 1}`, `{1:2}`,
	`[`, `]`, `[1,]`, `[,1]`, `[1 2]`, `[1}`, `{"a":1]`, `[}`, `1 2`, `{} {}`, `[]]`, "\xef\xbb\xbf{}",
	`NaN`, `Infinity`, `[1,2`, `{"a":[1,2}`,
}

func TestValid(t *testing.T) {
	for _, c := range validCases {
		if !Valid([]byte(c)) {
			t.Errorf("Valid(%q) = false, want true", c)
		}
		if !json.Valid([]byte(c)) {
			t.Errorf("test case %q is not valid for encoding/json", c)
		}
	}
	for _, c := range invalidCases {
		if Valid([]byte(c)) {
			t.Errorf("Valid(%q) = true, want false", c)
		}
		if json.Valid([]byte(c)) {
			t.Errorf("test case %q is valid for encoding/json", c)
		}
	}
}

func nested(open, close string, depth int) []byte {
	return []byte(strings.Repeat(open, depth) + strings.Repeat(close, depth))
}

func TestDepthLimit(t *testing.T) {
	for _, oc := range [][2]string{{"[", "]"}, {`{"a":`, "}"}} {
		ok := nested(oc[0], oc[1], maxDepth)
		if oc[0] == "[" {
			// innermost is an empty container
		} else {
			ok = []byte(strings.Repeat(oc[0], maxDepth-1) + "{}" + strings.Repeat(oc[1], maxDepth-1))
		}
		if !Valid(ok) || !json.Valid(ok) {
			t.Errorf("depth %d %s: Valid=%v json.Valid=%v, want true", maxDepth, oc[0], Valid(ok), json.Valid(ok))
		}
		tooDeep := append([]byte(oc[0]), ok...)
		tooDeep = append(tooDeep, oc[1]...)
		if Valid(tooDeep) || json.Valid(tooDeep) {
			t.Errorf("depth %d %s: want invalid", maxDepth+1, oc[0])
		}
	}
	// Hostile: a megabyte of opening brackets must fail quickly, without recursion.
	huge := bytes.Repeat([]byte("["), 1<<20)
	if Valid(huge) {
		t.Error("1 MiB of '[' is valid")
	}
	_, err := Elements(huge)
	if err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("Elements(deep) error = %v, want depth error", err)
	}
	// Members and Elements count their own container in the depth.
	inner := nested("[", "]", maxDepth-1)
	if _, err := Elements(append(append([]byte("["), inner...), ']')); err != nil {
		t.Errorf("Elements at max depth: %v", err)
	}
	if _, err := Members(append(append([]byte(`{"k":`), inner...), '}')); err != nil {
		t.Errorf("Members at max depth: %v", err)
	}
	over := nested("[", "]", maxDepth)
	if _, err := Members(append(append([]byte(`{"k":`), over...), '}')); err == nil {
		t.Error("Members over max depth: no error")
	}
}

func TestTruncated(t *testing.T) {
	doc := `{"a":[1,2.5e3,"x\u00e9y",{"b":null,"c":true}],"d":false}`
	if !Valid([]byte(doc)) {
		t.Fatal("doc invalid")
	}
	for i := 0; i < len(doc); i++ {
		p := []byte(doc[:i])
		if Valid(p) {
			t.Errorf("prefix %q valid", p)
		}
		if _, err := Members(p); err == nil {
			t.Errorf("Members(prefix %q) no error", p)
		}
	}
}

func TestMembers(t *testing.T) {
	ms, err := Members([]byte(` { "a" : 1 , "b\n":[1, 2] ,"a":{"x":"y"}, "\u00e9":"s" } `))
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{{"a", []byte("1")}, {"b\n", []byte("[1, 2]")}, {"a", []byte(`{"x":"y"}`)}, {"é", []byte(`"s"`)}}
	if len(ms) != len(want) {
		t.Fatalf("got %d members", len(ms))
	}
	for i := range want {
		if ms[i].Key != want[i].Key || string(ms[i].Value) != string(want[i].Value) {
			t.Errorf("member %d = %q:%q, want %q:%q", i, ms[i].Key, ms[i].Value, want[i].Key, want[i].Value)
		}
	}
	ms, err = Members([]byte(`{}`))
	if err != nil || len(ms) != 0 {
		t.Errorf("Members({}) = %v, %v", ms, err)
	}
	for _, bad := range []string{`[]`, `"x"`, `null`, `{"a":1} x`, `{"a":1,}`, ``, `{"a":1`, `{"a":01}`} {
		if _, err := Members([]byte(bad)); err == nil {
			t.Errorf("Members(%q) no error", bad)
		}
	}
	if _, err := Members([]byte(`[1]`)); err != errNotObject {
		t.Errorf("Members([1]) error = %v", err)
	}
	_, err = Members([]byte(`{"a":1} x`))
	if err == nil || err.Error() != "jsonx: invalid character 'x' after top-level value at offset 8" {
		t.Errorf("trailing error = %v", err)
	}
	_, err = Members([]byte("{\"a\":\x01}"))
	if err == nil || err.Error() != "jsonx: invalid character byte 0x1 at offset 5" {
		t.Errorf("control error = %v", err)
	}
	_, err = Members([]byte(`{"a":`))
	if err == nil || err.Error() != "jsonx: unexpected end of JSON input" {
		t.Errorf("eof error = %v", err)
	}
}

func TestElements(t *testing.T) {
	es, err := Elements([]byte(" [ 1 ,\"two\", [3, 4] , {\"5\": 6},null,true ] \n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1", `"two"`, "[3, 4]", `{"5": 6}`, "null", "true"}
	if len(es) != len(want) {
		t.Fatalf("got %d elements", len(es))
	}
	for i := range want {
		if string(es[i]) != want[i] {
			t.Errorf("element %d = %q, want %q", i, es[i], want[i])
		}
	}
	es, err = Elements([]byte(`[]`))
	if err != nil || len(es) != 0 {
		t.Errorf("Elements([]) = %v, %v", es, err)
	}
	for _, bad := range []string{`{}`, `1`, `[1,]`, `[1 2]`, `[`, `[1]]`, ``} {
		if _, err := Elements([]byte(bad)); err == nil {
			t.Errorf("Elements(%q) no error", bad)
		}
	}
	if _, err := Elements([]byte(`{}`)); err != errNotArray {
		t.Errorf("Elements({}) error = %v", err)
	}
}

func TestUnquote(t *testing.T) {
	cases := []struct{ in, want string }{
		{`""`, ""},
		{`"abc"`, "abc"},
		{` "abc" `, "abc"},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{`"\u0041\u00e9\u4e2d"`, "Aé中"},
		{`"\uD83D\uDE00"`, "😀"},
		{`"\ud83d\ude00x"`, "😀x"},
		{`"\ud800"`, "\uFFFD"},
		{`"\ud800x"`, "\uFFFDx"},
		{`"\ude00\ud83d"`, "\uFFFD\uFFFD"},
		{`"\ud83d\u0041"`, "\uFFFDA"},
		{`"\ud83d\ud83d\ude00"`, "\uFFFD😀"},
		{"\"a\xffb\"", "a\uFFFDb"},
		{"\"\xe4\xb8\"", "\uFFFD\uFFFD"},
		{"\"中文\"", "中文"},
		{`"\u0000"`, "\x00"},
	}
	for _, c := range cases {
		got, err := Unquote([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("Unquote(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		var std string
		if err := json.Unmarshal([]byte(c.in), &std); err != nil || std != got {
			t.Errorf("encoding/json disagrees on %q: %q, %v", c.in, std, err)
		}
	}
	for _, bad := range []string{``, `abc`, `"abc`, `"a"b`, `1`, `"\x"`, `"\u12"`, "\"\t\"", `"a" "b"`} {
		if _, err := Unquote([]byte(bad)); err == nil {
			t.Errorf("Unquote(%q) no error", bad)
		}
	}
	if _, err := Unquote([]byte(`123`)); err != errNotString {
		t.Errorf("Unquote(123) err = %v", err)
	}
}

func TestQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"abc", `"abc"`},
		{"a\"b\\c", `"a\"b\\c"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<&>", `"<&>"`},
		{"é中😀", `"é中😀"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
	}
	for _, c := range cases {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	// Every string round-trips through encoding/json.
	for _, c := range cases {
		var back string
		if err := json.Unmarshal([]byte(Quote(c.in)), &back); err != nil {
			t.Errorf("Quote(%q) not decodable: %v", c.in, err)
		} else if utf8.ValidString(c.in) && back != c.in {
			t.Errorf("round trip %q -> %q", c.in, back)
		}
	}
}

func TestWithout(t *testing.T) {
	cases := []struct{ in, key, want string }{
		{`{"a":1,"b":2,"c":3}`, "b", `{"a":1,"c":3}`},
		{`{"a":1,"b":2,"c":3}`, "a", `{"b":2,"c":3}`},
		{`{"a":1,"b":2,"c":3}`, "c", `{"a":1,"b":2}`},
		{`{"a":1}`, "a", `{}`},
		{` { "a" : 1 } `, "a", ` {  } `},
		{`{"a":1,"b":2,"a":3}`, "a", `{"b":2}`},
		{`{"a":1,"a":2}`, "a", `{}`},
		{"{\n  \"_plugin_id_\": \"x\",\n  \"k\": [1, 2],\n  \"m\" : {\"_plugin_id_\":1}\n}", "_plugin_id_",
			"{\n  \"k\": [1, 2],\n  \"m\" : {\"_plugin_id_\":1}\n}"},
		{`{"x":1, "\u0061":2 ,"y":3}`, "a", `{"x":1 ,"y":3}`},
		{`{"a":1,"b":2}`, "z", `{"a":1,"b":2}`},
		{`{}`, "a", `{}`},
	}
	for _, c := range cases {
		got, err := Without([]byte(c.in), c.key)
		if err != nil || string(got) != c.want {
			t.Errorf("Without(%q, %q) = %q, %v; want %q", c.in, c.key, got, err, c.want)
			continue
		}
		if !Valid(got) {
			t.Errorf("Without(%q, %q) result is invalid", c.in, c.key)
		}
	}
	for _, bad := range []string{`[]`, `{"a":1`, `{"a":1}x`, ``} {
		if _, err := Without([]byte(bad), "a"); err == nil {
			t.Errorf("Without(%q) no error", bad)
		}
	}
}

func TestLargeDocument(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; i < 50000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":12345,"name":"item \"quoted\" \u00e9","tags":["a","b"],"ok":true,"v":-1.5e-3}`)
	}
	b.WriteString(`],"n":1}`)
	data := b.Bytes()
	if !Valid(data) {
		t.Fatal("large document invalid")
	}
	ms, err := Members(data)
	if err != nil || len(ms) != 2 {
		t.Fatalf("Members: %v %d", err, len(ms))
	}
	es, err := Elements(ms[0].Value)
	if err != nil || len(es) != 50000 {
		t.Fatalf("Elements: %v %d", err, len(es))
	}
}

func BenchmarkValid(b *testing.B) {
	doc := []byte(`{"block_urls":["swagger.html"],"_rules_":[{"block_bodies":["foo"],"_match_route_":["default/foo"]},{"block_bodies":["foo","bar"],"_match_domain_":["*.example.com"]},{"block_urls":["x"],"_match_service_":["foo.default.svc.cluster.local:8080"]}]}`)
	b.SetBytes(int64(len(doc)))
	for i := 0; i < b.N; i++ {
		if !Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkMembers(b *testing.B) {
	doc := []byte(`{"block_urls":["swagger.html"],"_rules_":[{"block_bodies":["foo"],"_match_route_":["default/foo"]},{"block_bodies":["foo","bar"],"_match_domain_":["*.example.com"]}],"k":"v\n"}`)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Members(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func addSeeds(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	for _, c := range invalidCases {
		f.Add([]byte(c))
	}
	f.Add(nested("[", "]", 50))
}

// FuzzValid checks that Valid agrees with encoding/json.Valid on every input.
func FuzzValid(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := Valid(data), json.Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", data, got, want)
		}
	})
}

// FuzzUnquote checks Unquote against encoding/json on every valid string
// literal and Quote's round trip.
func FuzzUnquote(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Unquote(data)
		var want string
		stdErr := json.Unmarshal(data, &want)
		isString := KindOf(data) == String
		if isString && (err == nil) != (stdErr == nil) {
			t.Fatalf("Unquote(%q) err = %v, encoding/json err = %v", data, err, stdErr)
		}
		if err == nil {
			if got != want {
				t.Fatalf("Unquote(%q) = %q, encoding/json = %q", data, got, want)
			}
			q := Quote(got)
			if back, err := Unquote([]byte(q)); err != nil || back != got {
				t.Fatalf("Quote round trip of %q: %q, %v", got, back, err)
			}
		}
		s := string(data)
		q := []byte(Quote(s))
		if !json.Valid(q) {
			t.Fatalf("Quote(%q) = %s is invalid JSON", s, q)
		}
		if utf8.ValidString(s) {
			if back, err := Unquote(q); err != nil || back != s {
				t.Fatalf("Unquote(Quote(%q)) = %q, %v", s, back, err)
			}
		}
	})
}

// FuzzMembers checks that Members, Elements and Without accept exactly the
// valid objects/arrays and that Without keeps the document valid.
func FuzzMembers(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := json.Valid(data)
		ms, err := Members(data)
		if (err == nil) != (valid && KindOf(data) == Object) {
			t.Fatalf("Members(%q) err = %v, valid = %v", data, err, valid)
		}
		if err == nil {
			var std map[string]json.RawMessage
			if err := json.Unmarshal(data, &std); err != nil {
				t.Fatalf("encoding/json rejects %q: %v", data, err)
			}
			seen := map[string]bool{}
			for _, m := range ms {
				seen[m.Key] = true
				if !Valid(m.Value) {
					t.Fatalf("member value %q invalid", m.Value)
				}
			}
			if len(seen) != len(std) {
				t.Fatalf("Members(%q) keys %v, encoding/json %d keys", data, seen, len(std))
			}
			for k := range std {
				if !seen[k] {
					t.Fatalf("key %q missing", k)
				}
			}
			if len(ms) > 0 {
				out, err := Without(data, ms[0].Key)
				if err != nil || !Valid(out) {
					t.Fatalf("Without(%q, %q) = %q, %v", data, ms[0].Key, out, err)
				}
				rest, _ := Members(out)
				for _, m := range rest {
					if m.Key == ms[0].Key {
						t.Fatalf("Without left key %q in %q", m.Key, out)
					}
				}
			}
		}
		_, err = Elements(data)
		if (err == nil) != (valid && KindOf(data) == Array) {
			t.Fatalf("Elements(%q) err = %v, valid = %v", data, err, valid)
		}
	})
}
