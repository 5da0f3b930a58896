package host

import (
	"context"
	"testing"
)

// A callback's result is known from the module's exports; one exported
// without a result reads as 0, whatever its argument left on the stack.
func TestCallbackResultsComeFromTheExports(t *testing.T) {
	e := testEngine(t)
	m, err := e.Compile(context.Background(), watSource(t, `(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1)))`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind cbKind
		want resultKind
	}{
		{cbContextCreate, resultNone},
		{cbReqHeaders, resultNone},
		{cbRespHeaders, resultValue},
		{cbDone, resultValue},
		{cbLog, resultUnknown}, // not exported
		{cbStart, resultUnknown},
	} {
		if got := m.results[c.kind]; got != c.want {
			t.Errorf("%v: %v, want %v", c.kind, got, c.want)
		}
	}
}

func TestStreamIndexForgetsRemovedStreams(t *testing.T) {
	x := streamIndex{m: map[uint32]*Stream{}}
	a, b := &Stream{id: 3}, &Stream{id: 4}
	x.add(a)
	x.add(b)
	if x.get(3) != a || x.get(4) != b || x.get(5) != nil {
		t.Fatal("lookup by id")
	}
	x.use(a)
	x.remove(a)
	if x.get(3) != nil {
		t.Fatal("a removed stream is still found")
	}
	if x.get(4) != b {
		t.Fatal("the other stream is lost")
	}
}
