package pairs

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
)

func TestEncodeExample(t *testing.T) {
	got := Encode(nil, []Pair{{"a", "1"}, {"b", "22"}})
	want, _ := hex.DecodeString("02000000" + "01000000" + "01000000" + "01000000" + "02000000" + "6100" + "3100" + "6200" + "323200")
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = %x, want %x", got, want)
	}
	if Size([]Pair{{"a", "1"}, {"b", "22"}}) != len(want) {
		t.Fatalf("Size mismatch")
	}
}

func TestRoundTrip(t *testing.T) {
	in := []Pair{{":path", "/"}, {"x", ""}, {"", "v"}, {"dup", "1"}, {"dup", "2"}}
	out, err := Decode(Encode([]byte("prefix"), in)[6:])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip = %v", out)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := Encode(nil, []Pair{{"k", "v"}})
	cases := map[string][]byte{
		"short":         {1, 0},
		"count too big": {0x01, 0x04, 0, 0},
		"trailing":      append(append([]byte{}, good...), 0),
		"truncated":     good[:len(good)-1],
		"no nul key":    func() []byte { b := append([]byte{}, good...); b[13] = 'x'; return b }(),
		"no nul value":  func() []byte { b := append([]byte{}, good...); b[15] = 'x'; return b }(),
		"huge lengths":  {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"over 1MiB":     make([]byte, MaxBytes+1),
	}
	for name, b := range cases {
		ps, err := Decode(b)
		if !errors.Is(err, ErrMalformed) || ps != nil {
			t.Errorf("%s: Decode = %v, %v; want ErrMalformed", name, ps, err)
		}
	}
	if ps, err := Decode(nil); err != nil || ps != nil {
		t.Errorf("empty: %v %v", ps, err)
	}
	if ps, err := Decode([]byte{0, 0, 0, 0}); err != nil || len(ps) != 0 {
		t.Errorf("zero count: %v %v", ps, err)
	}
}

func TestDecodeCountLimit(t *testing.T) {
	ps := make([]Pair, MaxCount+1)
	if _, err := Decode(Encode(nil, ps)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("1025 entries accepted")
	}
	if got, err := Decode(Encode(nil, ps[:MaxCount])); err != nil || len(got) != MaxCount {
		t.Fatalf("1024 entries rejected: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(nil, []Pair{{"a", "1"}, {"b", "22"}}))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := Decode(b)
		if err != nil {
			if ps != nil {
				t.Fatal("pairs returned with an error")
			}
			return
		}
		if len(b) == 0 {
			return
		}
		if re := Encode(nil, ps); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs: %x vs %x", re, b)
		}
	})
}
