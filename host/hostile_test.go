package host

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func TestHostileArguments(t *testing.T) {
	const bad = 0xFFFFFFF0
	cases := []struct {
		fn   string
		args []uint64
		st   types.Status
	}{
		{"proxy_log", []uint64{2, bad, 100}, types.StatusInvalidMemoryAccess},
		{"proxy_log", []uint64{2, 0, 0x7FFFFFFF}, types.StatusInvalidMemoryAccess},
		{"proxy_log", []uint64{77, 0, 0}, types.StatusBadArgument},
		{"proxy_get_log_level", []uint64{0xFFFFFFFF}, types.StatusInvalidMemoryAccess},
		{"proxy_get_current_time_nanoseconds", []uint64{0xFFFFFFFC}, types.StatusInvalidMemoryAccess},
		{"proxy_get_status", []uint64{bad, 0, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_get_property", []uint64{bad, 4, 0, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_set_property", []uint64{0, 4, bad, 4}, types.StatusInvalidMemoryAccess},
		{"proxy_continue_stream", []uint64{7}, types.StatusBadArgument},
		{"proxy_close_stream", []uint64{7}, types.StatusBadArgument},
		{"proxy_send_local_response", []uint64{200, bad, 10, 0, 0, 0, 0, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_get_shared_data", []uint64{bad, 3, 0, 0, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_set_shared_data", []uint64{0, 3, bad, 3, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_register_shared_queue", []uint64{bad, 3, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_resolve_shared_queue", []uint64{0, 0, bad, 3, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_enqueue_shared_queue", []uint64{9999, 0, 0}, types.StatusNotFound},
		{"proxy_dequeue_shared_queue", []uint64{9999, 0, 0}, types.StatusNotFound},
		{"proxy_get_header_map_value", []uint64{0, bad, 5, 0, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_get_header_map_value", []uint64{99, 0, 5, 0, 0}, types.StatusBadArgument},
		{"proxy_add_header_map_value", []uint64{0, bad, 5, 0, 1}, types.StatusInvalidMemoryAccess},
		{"proxy_replace_header_map_value", []uint64{0, 0, 1, bad, 100}, types.StatusInvalidMemoryAccess},
		{"proxy_remove_header_map_value", []uint64{0, bad, 4}, types.StatusInvalidMemoryAccess},
		{"proxy_get_header_map_pairs", []uint64{0, bad, bad + 4}, types.StatusInvalidMemoryAccess},
		{"proxy_get_header_map_pairs", []uint64{12, 0, 0}, types.StatusBadArgument},
		{"proxy_set_header_map_pairs", []uint64{2, 0, 0x100000}, types.StatusBadArgument},
		{"proxy_set_header_map_pairs", []uint64{0, bad, 0x100000}, types.StatusInvalidMemoryAccess},
		{"proxy_get_header_map_size", []uint64{9, 0}, types.StatusBadArgument},
		{"proxy_get_header_map_size", []uint64{0, 0xFFFFFFFF}, types.StatusInvalidMemoryAccess},
		{"proxy_get_buffer_bytes", []uint64{0, 0, 10, bad, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_get_buffer_bytes", []uint64{99, 0, 10, 0, 0}, types.StatusBadArgument},
		{"proxy_get_buffer_bytes", []uint64{6, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0}, types.StatusBadArgument},
		{"proxy_set_buffer_bytes", []uint64{0, 0, 0, bad, 10}, types.StatusNotFound},
		{"proxy_get_buffer_status", []uint64{0, bad, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_http_call", []uint64{bad, 10, 0, 0, 0, 0, 0, 0, 0, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_http_call", []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, bad}, types.StatusInvalidMemoryAccess},
		{"proxy_define_metric", []uint64{0, bad, 10, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_increment_metric", []uint64{12345, 1}, types.StatusNotFound},
		{"proxy_record_metric", []uint64{12345, 1}, types.StatusNotFound},
		{"proxy_get_metric", []uint64{12345, 0}, types.StatusNotFound},
		{"proxy_set_effective_context", []uint64{12345}, types.StatusBadArgument},
		{"proxy_call_foreign_function", []uint64{bad, 3, 0, 0, 0, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_redis_init", []uint64{bad, 3, 0, 0, 0, 0, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_redis_call", []uint64{0, 0, bad, 3, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_inject_encoded_data_to_filter_chain", []uint64{bad, 3, 0}, types.StatusInvalidMemoryAccess},
		{"proxy_set_upstream_override_host", []uint64{bad, 3}, types.StatusInvalidMemoryAccess},
		{"proxy_get_upstream_hosts", []uint64{0, 0}, types.StatusNotFound},
	}
	var ops []string
	for _, c := range cases {
		var args []string
		for _, a := range c.args {
			args = append(args, itoa(int(a)))
		}
		ops = append(ops, `{"op":"raw","fn":"`+c.fn+`","args":[`+strings.Join(args, ",")+`]}`)
	}
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[`+strings.Join(ops, ",")+`]}`)
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	if r := s.RequestHeaders(h, true); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	s.Done()
	var got []string
	for _, l := range rec.wasmLines() {
		if strings.HasPrefix(l, "raw ") {
			got = append(got, l)
		}
	}
	if len(got) != len(cases) {
		t.Fatalf("%d results for %d calls:\n%s", len(got), len(cases), strings.Join(rec.wasmLines(), "\n"))
	}
	for i, c := range cases {
		if want := "raw " + c.fn + " st=" + itoa(int(c.st)); got[i] != want {
			t.Errorf("call %d: %s, want %s", i, got[i], want)
		}
	}
	if h.Len() != reqHeaders().Len() {
		t.Fatalf("headers changed: %v", h.Fields)
	}
	// The VM is still healthy.
	s = p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), true); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

// FuzzHostFunctions calls every env host function with arbitrary
// arguments inside a stream callback. The host must answer with a status
// and never panic.
func FuzzHostFunctions(f *testing.F) {
	// A small memory limit keeps the bump allocator of the guest from
	// growing towards 1 GiB over millions of inputs.
	e := newTestEngine(f, EngineConfig{MemoryLimitPages: 64})
	m, err := e.Compile(context.Background(), wat(f, "malloc_only"))
	if err != nil {
		f.Fatal(err)
	}
	p, err := e.NewPlugin(context.Background(), m, PluginConfig{Name: "fuzz", PoolSize: 1, Logger: newRecorder().logger(),
		Configuration: []byte("cfg"), VMConfiguration: []byte("vm")})
	if err != nil {
		f.Fatal(err)
	}
	s := p.NewStream(StreamOptions{Properties: PropertyMap{"request.path": "/"}})
	f.Cleanup(func() {
		s.Done()
		p.Close(context.Background())
	})
	h := reqHeaders()
	h.Add("x-empty", "") // malloc_only.wat traps without it
	if r := s.RequestHeaders(h, false); r.Action != ActionContinue {
		f.Fatalf("%+v", r)
	}
	v := s.v

	for i := range envFunctions {
		seed := make([]byte, 48)
		for j := 0; j < 12; j++ {
			binary.LittleEndian.PutUint32(seed[4*j:], uint32(j*16))
		}
		f.Add(uint8(i), uint8(cbReqBody), seed)
		binary.LittleEndian.PutUint32(seed, 0xFFFFFFF0)
		f.Add(uint8(i), uint8(cbHTTPResponse), seed)
	}
	f.Fuzz(func(t *testing.T, idx uint8, cb uint8, raw []byte) {
		hf := envFunctions[int(idx)%len(envFunctions)]
		if hf.name == "proxy_done" || hf.name == "proxy_set_tick_period_milliseconds" {
			return // lifecycle calls, not argument handling
		}
		stack := make([]uint64, 12)
		for j := 0; j < 12 && 4*j+4 <= len(raw); j++ {
			stack[j] = uint64(binary.LittleEndian.Uint32(raw[4*j:]))
		}
		v.lock()
		defer v.unlock()
		if v.closed {
			t.Fatal("vm closed")
		}
		v.cb, v.curID, v.effID = cbKind(cb%uint8(cbForeign+1)), s.id, 0
		if v.cb == cbHTTPResponse {
			v.callResp = ok200("body")
		}
		s.req.buf = []byte("request body")
		s.req.headers = reqHeaders()
		// Half the inputs run with the fast-path extension on, where the
		// host reads a buffer address and capacity from the result slots.
		v.fastPath = len(raw)%2 == 1
		st := hf.fn(v, v.ctx, v.mod, stack)
		v.cb, v.curID, v.callResp, v.fastPath = cbNone, 0, nil, false
		v.discardActions()
		if st > types.StatusUnimplemented {
			t.Fatalf("%s returned status %d", hf.name, st)
		}
	})
}
