package trace

import (
	"runtime"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// simulate traces one request through two plugins the way the engine
// reports it: header callbacks changing headers, a body callback, logs.
func simulate(s *Store, path string, logs int) {
	r := s.Start(Begin{Method: "GET", Path: path, Authority: "example.com"})
	r.Routed("route", "cluster", false)
	for _, name := range []string{"a", "b"} {
		p := r.Plugin(name)
		h := host.NewHeaderMap(":method", "GET", ":path", path, "authorization", "secret", "x-big", strings.Repeat("v", 300))
		c := &host.CallbackInfo{Name: "proxy_on_request_headers", Headers: h}
		p.CallbackStart(c)
		h.Set("x-added-"+name, "1")
		h.Set("authorization", "other")
		h.Set("x-big", strings.Repeat("w", 300))
		for i := 0; i < logs; i++ {
			p.Log(types.LogLevelInfo, []byte("log line"))
		}
		p.CallbackEnd(c)
		p.Result("request_headers", host.Request, &host.Result{Action: host.ActionContinue})
		b := &host.CallbackInfo{Name: "proxy_on_request_body", Body: []byte(strings.Repeat("x", 1000))}
		p.CallbackStart(b)
		b.Body = []byte(strings.Repeat("y", 1000))
		p.CallbackEnd(b)
	}
	r.UpstreamStart("cluster")
	r.UpstreamEnd(200, "127.0.0.1:1", nil)
	r.Response(200, "via_upstream")
	r.Finish(200, "via_upstream", "", false)
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestStoreBoundedWith10000Requests(t *testing.T) {
	const maxBytes = 4 << 20
	s := NewStore(Options{MaxRequests: 1000, MaxBytes: maxBytes})
	s.SetSampleRate(1)
	before := heap()
	for i := 0; i < 10000; i++ {
		simulate(s, "/p", 3)
	}
	st := s.Stats()
	if st.Requests > 1000 || st.Bytes > maxBytes || st.Evicted < 9000 {
		t.Fatalf("store holds %+v", st)
	}
	grown := int64(heap()) - int64(before)
	// The estimate must not be far below what the traces really hold.
	if grown > 3*maxBytes {
		t.Fatalf("heap grew by %d bytes holding traces estimated at %d (limit %d)", grown, st.Bytes, maxBytes)
	}
	t.Logf("10000 requests: %d kept, estimated %d bytes, heap grew %d bytes", st.Requests, st.Bytes, grown)
	if l := s.List(Filter{}, 0); len(l) != st.Requests || l[0].ID != 10000 {
		t.Fatalf("list: %d entries, newest %d", len(l), l[0].ID)
	}

	c := NewStore(Options{MaxRequests: 50})
	for i := 0; i < 10000; i++ {
		simulate(c, "/p", 0)
	}
	if st := c.Stats(); st.Requests != 50 {
		t.Fatalf("count bound: %+v", st)
	}
}

func TestRequestBoundedInEvents(t *testing.T) {
	s := NewStore(Options{MaxEvents: 100})
	simulate(s, "/many", 1000)
	r := s.Get(1)
	if r == nil || len(r.Events) > 100 || r.Dropped == 0 {
		t.Fatalf("request not bounded: %d events, %d dropped", len(r.Events), r.Dropped)
	}
}

func TestRedactionAndDiff(t *testing.T) {
	s := NewStore(Options{Redact: []string{"X-Api-Key"}})
	simulate(s, "/r", 0)
	r := s.Get(1)
	var seen []string
	for _, e := range r.Events {
		for _, h := range e.Headers {
			seen = append(seen, h.Op+":"+h.Name+"="+h.Value)
			if h.Name == "authorization" && (h.Value != "[redacted]" || h.Old != "[redacted]") {
				t.Fatalf("authorization shown: %+v", h)
			}
			if len(h.Value) > maxValue+len("…") {
				t.Fatalf("value not truncated: %d bytes", len(h.Value))
			}
		}
	}
	if !strings.Contains(strings.Join(seen, " "), "added:x-added-a=1") {
		t.Fatalf("diffs %v", seen)
	}
	d := s.diff([]host.HeaderField{{Key: "x-api-key", Value: "k1"}}, []host.HeaderField{{Key: "x-api-key", Value: "k2"}})
	if len(d) != 1 || d[0].Value != "[redacted]" {
		t.Fatalf("configured name not redacted: %+v", d)
	}
}

func TestSampling(t *testing.T) {
	s := NewStore(Options{})
	if s.Sample(false) {
		t.Fatal("sampled while off")
	}
	if !s.Sample(true) {
		t.Fatal("forced request not sampled")
	}
	s.SetSampleRate(0.25)
	n := 0
	for i := 0; i < 1000; i++ {
		if s.Sample(false) {
			n++
		}
	}
	if n != 250 {
		t.Fatalf("rate 0.25 sampled %d of 1000", n)
	}
}

func TestFilter(t *testing.T) {
	s := Summary{Status: 503, Path: "/api/x", Method: "GET", Plugins: []string{"ns/auth"}}
	for _, c := range []struct {
		f    Filter
		want bool
	}{
		{Filter{Status: "5xx"}, true}, {Filter{Status: "503"}, true}, {Filter{Status: "4xx"}, false},
		{Filter{Path: "/api"}, true}, {Filter{Path: "/other"}, false},
		{Filter{Plugin: "auth"}, true}, {Filter{Plugin: "cache"}, false},
		{Filter{Errors: true}, false},
	} {
		if got := c.f.Matches(&s); got != c.want {
			t.Errorf("%+v: %v", c.f, got)
		}
	}
}

func TestRESPSummary(t *testing.T) {
	for in, want := range map[string]string{
		"*2\r\n$4\r\nINCR\r\n$3\r\nkey\r\n": "INCR key",
		":5\r\n":                            ":5",
		"$5\r\nhello\r\n":                   `"hello"`,
		"$-1\r\n":                           "nil",
		"-ERR bad\r\n":                      "-ERR bad",
	} {
		if got := respSummary([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
