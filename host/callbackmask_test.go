package host

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// fullStream drives one stream through every callback and returns the
// callbacks the module saw.
func fullStream(t *testing.T, p *Plugin, rec *logRecorder, opts StreamOptions) string {
	t.Helper()
	rec.reset()
	s := p.NewStream(opts)
	s.RequestHeaders(reqHeaders(), false)
	s.RequestBody([]byte("abc"), false)
	s.RequestTrailers(NewHeaderMap("x-t", "1"))
	s.ResponseHeaders(NewHeaderMap(":status", "200"), false)
	s.ResponseBody([]byte("xyz"), false)
	s.ResponseTrailers(NewHeaderMap("x-u", "2"))
	s.Done()
	return cbNames(rec)
}

const everyCallback = "context_create(1,0) request_headers(6,0) request_body(3,0) request_trailers(1,0) " +
	"response_headers(1,0) response_body(3,0) response_trailers(1,0) log(0,0) done(0,0) delete(0,0)"

func TestCallbackMaskSkipsDeclaredCallbacks(t *testing.T) {
	e := testEngine(t)
	cases := []struct {
		mask uint32
		want string
	}{
		{0, everyCallback},
		{MaskRequestBody | MaskRequestTrailers | MaskResponseTrailers | MaskDone,
			"context_create(1,0) request_headers(6,0) response_headers(1,0) response_body(3,0) log(0,0) delete(0,0)"},
		{MaskRequestHeaders | MaskResponseHeaders | MaskResponseBody | MaskLog,
			"context_create(1,0) request_body(3,0) request_trailers(1,0) response_trailers(1,0) done(0,0) delete(0,0)"},
		{0xff, "context_create(1,0) delete(0,0)"},
	}
	for _, c := range cases {
		t.Run(itoa(int(c.mask)), func(t *testing.T) {
			p, rec := scripted(t, e, false, `{"configure":[{"op":"skip_mask","value":`+itoa(int(c.mask))+`}]}`)
			if got := fullStream(t, p, rec, StreamOptions{}); got != c.want {
				t.Errorf("mask %#x:\n%s\nwant\n%s", c.mask, got, c.want)
			}
		})
	}
}

func TestCallbackMaskSkipIsContinue(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"configure":[{"op":"skip_mask","value":255}]}`)
	rec.reset()
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	if r := s.RequestHeaders(h, false); r.Action != ActionContinue || r.Headers != h {
		t.Fatalf("headers: %+v", r)
	}
	if r := s.RequestBody([]byte("abc"), false); r.Action != ActionContinue || string(r.Body) != "abc" {
		t.Fatalf("body: %+v", r)
	}
	tr := NewHeaderMap("x-t", "1")
	if r := s.RequestTrailers(tr); r.Action != ActionContinue || r.Trailers != tr {
		t.Fatalf("trailers: %+v", r)
	}
	if r := s.ResponseHeaders(NewHeaderMap(":status", "200"), true); r.Action != ActionContinue || !r.EndStream {
		t.Fatalf("response headers: %+v", r)
	}
	if got := s.LastCallbackResult(); got != 0 {
		t.Fatalf("last result %d", got)
	}
	s.Done()
}

// The word is read before every callback: a change the module makes in
// one callback applies to the next.
func TestCallbackMaskChangesTakeEffect(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"configure":[{"op":"skip_mask","value":255}],
		"context_create":[{"op":"skip_mask","value":0}],
		"response_headers":[{"op":"skip_mask","value":16}]}`)
	want := "context_create(1,0) request_headers(6,0) request_body(3,0) request_trailers(1,0) " +
		"response_headers(1,0) response_trailers(1,0) log(0,0) done(0,0) delete(0,0)"
	if got := fullStream(t, p, rec, StreamOptions{}); got != want {
		t.Fatalf("\n%s\nwant\n%s", got, want)
	}
}

func TestCallbackMaskIgnored(t *testing.T) {
	t.Run("address outside memory", func(t *testing.T) {
		p, rec := scripted(t, testEngine(t), false, `{"configure":[{"op":"skip_mask_addr","value":4294967290},{"op":"skip_mask","value":255}]}`)
		if got := fullStream(t, p, rec, StreamOptions{}); got != everyCallback {
			t.Fatalf("\n%s\nwant\n%s", got, everyCallback)
		}
	})
	t.Run("engine without the extension", func(t *testing.T) {
		e := newTestEngine(t, EngineConfig{NoCallbackMask: true})
		p, rec := scripted(t, e, false, `{"configure":[{"op":"skip_mask","value":255}]}`)
		if got := fullStream(t, p, rec, StreamOptions{}); got != everyCallback {
			t.Fatalf("\n%s\nwant\n%s", got, everyCallback)
		}
	})
	t.Run("traced stream", func(t *testing.T) {
		p, rec := scripted(t, testEngine(t), false, `{"configure":[{"op":"skip_mask","value":255}]}`)
		if got := fullStream(t, p, rec, StreamOptions{Observer: nopObserver{}}); got != everyCallback {
			t.Fatalf("\n%s\nwant\n%s", got, everyCallback)
		}
	})
}

// on_done of the root context is never skipped: the plugin may defer its
// shutdown there.
func TestCallbackMaskKeepsRootDone(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"configure":[{"op":"skip_mask","value":255}]}`)
	rec.reset()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.Close(ctx)
	if got := cbNames(rec); !strings.Contains(got, "done(0,0)") {
		t.Fatalf("root on_done not called: %s", got)
	}
}

// nopObserver traces a stream and records nothing.
type nopObserver struct{}

func (nopObserver) CallbackStart(*CallbackInfo)       {}
func (nopObserver) CallbackEnd(*CallbackInfo)         {}
func (nopObserver) Callout(*CalloutInfo)              {}
func (nopObserver) Log(types.LogLevel, []byte)        {}
func (nopObserver) PropertySet(string, []byte)        {}
func (nopObserver) Async(*AsyncInfo)                  {}
func (nopObserver) Result(string, Direction, *Result) {}

// A module without a trailers callback is answered Continue, as Envoy's
// context does: the body it held with StopIteration goes on with the
// trailers.
func TestMissingTrailerCallbackIsContinue(t *testing.T) {
	e := testEngine(t)
	m, err := e.Compile(context.Background(), watSource(t, `(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) (i32.const 1)))`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.NewPlugin(context.Background(), m, PluginConfig{Name: "no-trailers", PoolSize: 1, Logger: newRecorder().logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	s := p.NewStream(StreamOptions{})
	defer s.Done()
	for _, dir := range []Direction{Request, Response} {
		headers, body, trailers := s.RequestHeaders, s.RequestBody, s.RequestTrailers
		if dir == Response {
			headers, body, trailers = s.ResponseHeaders, s.ResponseBody, s.ResponseTrailers
		}
		if r := headers(NewHeaderMap(":status", "200"), false); r.Action != ActionContinue {
			t.Fatalf("%v headers: %+v", dir, r)
		}
		if r := body([]byte("abc"), false); r.Action != ActionStop {
			t.Fatalf("%v body: %+v", dir, r)
		}
		tr := NewHeaderMap("x-t", "1")
		if r := trailers(tr); r.Action != ActionContinue || string(r.Body) != "abc" || r.Trailers != tr {
			t.Fatalf("%v trailers: %+v", dir, r)
		}
	}
}
