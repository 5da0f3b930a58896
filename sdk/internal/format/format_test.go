package format

import (
	"errors"
	"fmt"
	"testing"
)

type point struct {
	X, Y int
	Name string
}

type named string

func (n named) String() string { return "named:" + string(n) }

func TestSprintfMatchesFmt(t *testing.T) {
	err := errors.New("boom")
	cases := []struct {
		format string
		args   []interface{}
	}{
		{"plain", nil},
		{"%s and %d", []interface{}{"a", 42}},
		{"get status: %d, response body: %s", []interface{}{200, []byte("ok")}},
		{"%v %v %v", []interface{}{true, 3.5, nil}},
		{"%5d|%-5d|%05d", []interface{}{42, 42, -42}},
		{"%x %X %#x %o %b", []interface{}{255, 255, 255, 8, 5}},
		{"%.2f %8.3f %e %g", []interface{}{3.14159, 2.5, 12345.678, 0.000012}},
		{"%q %q", []interface{}{"hi\n", 'x'}},
		{"%v", []interface{}{err}},
		{"call redis error: %v", []interface{}{err}},
		{"%s", []interface{}{named("n")}},
		{"%v", []interface{}{[]int{1, 2, 3}}},
		{"%v", []interface{}{map[string]int{"b": 2, "a": 1}}},
		{"%v %+v", []interface{}{point{1, 2, "p"}, point{1, 2, "p"}}},
		{"%v", []interface{}{&point{3, 4, "q"}}},
		{"%T %T", []interface{}{1, "s"}},
		{"100%%", nil},
		{"%d", nil},
		{"%d %d", []interface{}{1}},
		{"%s", []interface{}{1, 2}},
		{"%.3s|%10s|%-10s|", []interface{}{"abcdef", "right", "left"}},
		{"%t", []interface{}{false}},
		{"%c %U", []interface{}{'A', 0x1F600}},
		{"%v", []interface{}{[]string{"a", "b"}}},
		{"%*d", []interface{}{6, 7}},
		{"%x", []interface{}{"hex"}},
		{"%+d % d", []interface{}{5, 5}},
		{"%v", []interface{}{uint64(18446744073709551615)}},
		{"%v", []interface{}{int8(-8)}},
		{"%d", []interface{}{"str"}},
	}
	for _, c := range cases {
		want := fmt.Sprintf(c.format, c.args...)
		got := Sprintf(c.format, c.args...)
		if got != want {
			t.Errorf("Sprintf(%q, %v) = %q, fmt gives %q", c.format, c.args, got, want)
		}
	}
}

func TestSprintMatchesFmt(t *testing.T) {
	cases := [][]interface{}{
		{"a", "b"},
		{1, 2},
		{"a", 1, 2, "b"},
		{errors.New("x"), 3},
	}
	for _, c := range cases {
		if got, want := Sprint(c...), fmt.Sprint(c...); got != want {
			t.Errorf("Sprint(%v) = %q, fmt gives %q", c, got, want)
		}
	}
}

func FuzzSprintfNoPanic(f *testing.F) {
	f.Add("%d %s %v %5.2f %*d %!", 7, "x")
	f.Fuzz(func(t *testing.T, format string, n int, s string) {
		_ = Sprintf(format, n, s, []byte(s), 1.5, nil)
	})
}
