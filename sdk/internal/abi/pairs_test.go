package abi

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

func TestSerializePairsExample(t *testing.T) {
	// {a:1, b:22} from the ABI specification.
	want, _ := hex.DecodeString("02000000" + "01000000" + "01000000" + "01000000" + "02000000" + "610031006200323200")
	got := SerializePairs([][2]string{{"a", "1"}, {"b", "22"}})
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}

func TestPairsRoundTrip(t *testing.T) {
	cases := [][][2]string{
		{},
		{{"", ""}},
		{{":authority", "example.com"}, {"x-dup", "1"}, {"x-dup", "2"}, {"empty", ""}},
		{{"bin\x01", "v\xff"}},
	}
	for _, c := range cases {
		b := SerializePairs(c)
		got, ok := DeserializePairs(b)
		if !ok {
			t.Fatalf("%v: deserialize failed", c)
		}
		if len(c) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip %v = %v", c, got)
		}
	}
	if got, ok := DeserializePairs(nil); !ok || len(got) != 0 {
		t.Fatalf("empty buffer = %v, %v", got, ok)
	}
}

func TestDeserializePairsRejectsMalformed(t *testing.T) {
	good := SerializePairs([][2]string{{"key", "value"}, {"k2", "v2"}})
	for i := 1; i < len(good); i++ {
		if _, ok := DeserializePairs(good[:i]); ok {
			t.Errorf("truncated to %d bytes accepted", i)
		}
	}
	trailing := append(append([]byte(nil), good...), 0)
	if _, ok := DeserializePairs(trailing); ok {
		t.Error("trailing byte accepted")
	}
	noNul := append([]byte(nil), good...)
	noNul[4+16+3] = 'x' // the NUL after "key"
	if _, ok := DeserializePairs(noNul); ok {
		t.Error("missing terminator accepted")
	}
	huge := []byte{0xff, 0xff, 0xff, 0x7f}
	if _, ok := DeserializePairs(huge); ok {
		t.Error("huge count accepted")
	}
}

func TestSerializePath(t *testing.T) {
	cases := map[string][]string{
		"":                    nil,
		"route_name":          {"route_name"},
		"request\x00path":     {"request", "path"},
		"a\x00\x00c":          {"a", "", "c"},
		"xds\x00cluster_name": {"xds", "cluster_name"},
	}
	for want, path := range cases {
		if got := string(SerializePath(path)); got != want {
			t.Errorf("SerializePath(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestLittleEndian(t *testing.T) {
	b := PutUint64(0x0102030405060708)
	if !bytes.Equal(b, []byte{8, 7, 6, 5, 4, 3, 2, 1}) {
		t.Fatalf("PutUint64 = %x", b)
	}
	if v, ok := Uint64(b); !ok || v != 0x0102030405060708 {
		t.Fatalf("Uint64 = %x %v", v, ok)
	}
	if _, ok := Uint64(b[:7]); ok {
		t.Fatal("short input accepted")
	}
	if v, ok := Uint32([]byte{1, 0, 0, 0}); !ok || v != 1 {
		t.Fatalf("Uint32 = %d", v)
	}
}

func FuzzDeserializePairs(f *testing.F) {
	f.Add(SerializePairs([][2]string{{"a", "1"}, {"b", "22"}}))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, ok := DeserializePairs(b)
		if !ok {
			return
		}
		if len(b) > 0 && !bytes.Equal(SerializePairs(pairs), b) {
			t.Fatalf("accepted input does not re-serialize identically: %x", b)
		}
	})
}

func TestRangePairsViewsOrCopies(t *testing.T) {
	b := SerializePairs([][2]string{{"k1", "v1"}, {"k2", "v2"}})
	for _, clone := range []bool{false, true} {
		buf := append([]byte(nil), b...)
		var got [][2]string
		if !RangePairs(buf, clone, func(k, v string) { got = append(got, [2]string{k, v}) }) {
			t.Fatalf("clone=%v: rejected", clone)
		}
		for i := range buf {
			buf[i] = '#'
		}
		want := "k1=v1 k2=v2"
		if clone {
			if s := got[0][0] + "=" + got[0][1] + " " + got[1][0] + "=" + got[1][1]; s != want {
				t.Errorf("copy changed with its source: %s", s)
			}
		} else if got[0][0] != "##" {
			t.Errorf("view = %q, want the source's bytes", got[0][0])
		}
	}
	good := SerializePairs([][2]string{{"key", "value"}, {"k2", "v2"}})
	for i := 1; i < len(good); i++ {
		if RangePairs(good[:i], false, func(string, string) {}) {
			t.Errorf("truncated to %d bytes accepted", i)
		}
	}
	if !RangePairs(nil, true, func(string, string) { t.Error("f called for no pairs") }) {
		t.Error("empty input rejected")
	}
}
