package host

import (
	"strings"
	"testing"
)

func cbNames(rec *logRecorder) string {
	var out []string
	for _, l := range rec.callbacks() {
		f := strings.Fields(l)
		out = append(out, strings.TrimPrefix(f[0], "cb:")+"("+strings.TrimPrefix(f[2], "a=")+","+strings.TrimPrefix(f[3], "b=")+")")
	}
	return strings.Join(out, " ")
}

func TestCallbackOrderFullStream(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{}`)
	rec.reset()
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	s.RequestBody([]byte("abc"), false)
	s.RequestBody([]byte("de"), false)
	s.RequestTrailers(NewHeaderMap("x-t", "1"))
	s.ResponseHeaders(NewHeaderMap(":status", "200"), false)
	s.ResponseBody([]byte("xyz"), true)
	s.Done()
	want := "context_create(1,0) request_headers(6,0) request_body(3,0) request_body(2,0) request_trailers(1,0) response_headers(1,0) response_body(3,1) log(0,0) done(0,0) delete(0,0)"
	if got := cbNames(rec); got != want {
		t.Fatalf("order:\n%s\nwant\n%s", got, want)
	}
}

func TestNoBodyCallbackAfterHeadersEndStream(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{}`)
	rec.reset()
	s := p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), true); !r.EndStream {
		t.Fatalf("%+v", r)
	}
	if r := s.RequestBody([]byte("late"), true); r.Action != ActionStop {
		t.Fatalf("body after end of stream: %+v", r)
	}
	s.ResponseHeaders(NewHeaderMap(":status", "204"), true)
	s.Done()
	if strings.Contains(cbNames(rec), "body") {
		t.Fatal(cbNames(rec))
	}
}

func TestHeaderPauseABI021IsStopAll(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, true, `{"request_headers":[{"op":"return","value":1}],"request_body":[{"op":"get_body","buf":0,"max":-1}]}`)
	rec.reset()
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	if r := s.RequestHeaders(h, false); r.Action != ActionStop || r.Headers != nil {
		t.Fatalf("headers: %+v", r)
	}
	if r := s.RequestBody([]byte("abc"), false); r.Action != ActionStop {
		t.Fatalf("body 1: %+v", r)
	}
	if r := s.RequestBody([]byte("def"), true); r.Action != ActionStop {
		t.Fatalf("body 2: %+v", r)
	}
	if strings.Contains(cbNames(rec), "request_body") {
		t.Fatal("body delivered while headers were paused:", cbNames(rec))
	}
	r := s.Resume(Request)
	if r.Action != ActionContinue || r.Headers != h || string(r.Body) != "abcdef" || !r.EndStream {
		t.Fatalf("resume: %+v", r)
	}
	rec.mustHave(t, "cb:request_body ctx=2 a=6 b=1", "get_body st=0 len=6 ptr0=false data=abcdef")
	s.Done()
}

func TestHeaderStopIterationABI02100BodyFlows(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"return","value":1}],"request_body":[{"op":"return","value":1,"eos":false}]}`)
	rec.reset()
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	if r := s.RequestHeaders(h, false); r.Action != ActionStop {
		t.Fatalf("headers: %+v", r)
	}
	// The body still reaches the plugin; it buffers the first chunk.
	if r := s.RequestBody([]byte("ab"), false); r.Action != ActionStop {
		t.Fatalf("body 1: %+v", r)
	}
	rec.mustHave(t, "cb:request_body ctx=2 a=2 b=0")
	// Returning Continue from the body resumes the chain before any callout.
	r := s.RequestBody([]byte("cd"), true)
	if r.Action != ActionContinue || r.Headers != h || string(r.Body) != "abcd" || !r.EndStream {
		t.Fatalf("body 2: %+v", r)
	}
	rec.mustHave(t, "cb:request_body ctx=2 a=4 b=1")
	s.Done()
}

func TestHeaderStopAllWatermarkABI02100(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"return","value":4}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	if r := s.RequestBody([]byte("x"), true); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	if rec.has("cb:request_body") {
		t.Fatal("body delivered during StopAllIterationAndWatermark")
	}
	if r := s.Resume(Request); r.Action != ActionContinue || string(r.Body) != "x" {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestHeaderResultMapping(t *testing.T) {
	for _, c := range []struct {
		r    uint32
		abi  ABIVersion
		it   iterState
		wmrk bool
	}{
		{0, ABI_0_2_1, iterContinue, false}, {2, ABI_0_2_1, iterContinue, false},
		{1, ABI_0_2_1, iterStopAll, true}, {1, ABI_0_2_0, iterStopAll, true}, {1, ABI_0_2_100, iterStopSingle, false},
		{3, ABI_0_2_100, iterStopAll, false}, {4, ABI_0_2_100, iterStopAll, true}, {99, ABI_0_2_100, iterStopAll, true},
	} {
		it, w := convertHeaders(c.r, c.abi)
		if it != c.it || w != c.wmrk {
			t.Errorf("convertHeaders(%d, %v) = %v %v", c.r, c.abi, it, w)
		}
	}
}

func TestBodyBufferingCumulativeSize(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_body":[{"op":"get_body","buf":0,"max":-1},{"op":"return","value":1,"eos":false}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	for _, c := range []string{"aaa", "bbb"} {
		if r := s.RequestBody([]byte(c), false); r.Action != ActionStop || r.Body != nil {
			t.Fatalf("%+v", r)
		}
	}
	r := s.RequestBody([]byte("ccc"), true)
	if r.Action != ActionContinue || string(r.Body) != "aaabbbccc" || !r.EndStream {
		t.Fatalf("%+v", r)
	}
	rec.mustHave(t, "cb:request_body ctx=2 a=3 b=0", "cb:request_body ctx=2 a=6 b=0", "cb:request_body ctx=2 a=9 b=1",
		"get_body st=0 len=9 ptr0=false data=aaabbbccc")
	s.Done()
}

func TestBodyBufferLimit(t *testing.T) {
	e := testEngine(t)
	script := `{"request_body":[{"op":"return","value":1}],"response_body":[{"op":"return","value":1}]}`
	p, rec := scripted(t, e, false, script, withCfg(func(c *PluginConfig) { c.BufferLimit = 8 }))
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	s.RequestBody([]byte("12345"), false)
	rec.reset()
	r := s.RequestBody([]byte("67890"), false)
	if r.Action != ActionLocalReply || r.LocalReply.StatusCode != 413 || r.LocalReply.Details != "request_payload_too_large" {
		t.Fatalf("%+v", r)
	}
	if rec.has("cb:request_body") {
		t.Fatal("plugin called for the chunk over the limit")
	}
	s.Done()

	s = p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.ResponseHeaders(NewHeaderMap(":status", "200"), false)
	r = s.ResponseBody([]byte("123456789"), false)
	if r.Action != ActionLocalReply || r.LocalReply.StatusCode != 500 || r.LocalReply.Details != "response_payload_too_large" {
		t.Fatalf("%+v", r)
	}
	s.Done()

	// The limit can be raised per stream (Higress set_decoder_buffer_limit).
	p2, _ := scripted(t, e, false, `{"request_headers":[{"op":"set_property","path":["set_decoder_buffer_limit"],"val":"100"}],"request_body":[{"op":"return","value":1,"eos":false}]}`,
		withCfg(func(c *PluginConfig) { c.BufferLimit = 8 }))
	s = p2.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	s.RequestBody([]byte("12345"), false)
	if r := s.RequestBody([]byte("67890"), true); r.Action != ActionContinue || len(r.Body) != 10 {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestStopAllBufferOverLimit(t *testing.T) {
	e := testEngine(t)
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"return","value":3}]}`, withCfg(func(c *PluginConfig) { c.BufferLimit = 4 }))
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	if r := s.RequestBody([]byte("123456"), false); r.Action != ActionLocalReply || r.LocalReply.StatusCode != 413 {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestSetBufferBytes(t *testing.T) {
	e := testEngine(t)
	for _, c := range []struct {
		start, size uint32
		data, want  string
		st          string
	}{
		{0, 0x7fffffff, "NEW", "NEW", "st=0"},  // replace
		{0, 0, "<", "<hello", "st=0"},          // prepend
		{0x7fffffff, 0, ">", "hello>", "st=0"}, // append
		{5, 0, ">", "hello>", "st=0"},          // start == len appends
		{0, 2, "J", "Jllo", "st=0"},            // drain 2 then prepend
		{2, 1, "X", "hello", "set_body st=2"},  // middle: BadArgument
	} {
		script := `{"request_body":[{"op":"set_body","buf":0,"start":` + itoa(int(c.start)) + `,"size":` + itoa(int(c.size)) + `,"data":"` + c.data + `"}]}`
		p, rec := scripted(t, e, false, script)
		s := p.NewStream(StreamOptions{})
		s.RequestHeaders(reqHeaders(), false)
		r := s.RequestBody([]byte("hello"), true)
		if string(r.Body) != c.want {
			t.Errorf("start=%d size=%d: body %q, want %q", c.start, c.size, r.Body, c.want)
		}
		rec.mustHave(t, c.st)
		s.Done()
	}
	// Immutable and unavailable buffers.
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"set_body","buf":7,"data":"x"},{"op":"set_body","buf":4,"data":"x"},{"op":"set_body","buf":10,"data":"x"},{"op":"set_body","buf":2,"data":"x"},{"op":"set_body","buf":0,"data":"x"},{"op":"get_body","buf":0,"max":100},{"op":"get_body","buf":99,"max":1}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	lines := strings.Join(rec.wasmLines(), "\n")
	for _, w := range []string{"set_body st=2\nset_body st=2\nset_body st=2\nset_body st=1\nset_body st=1", "get_body st=0 len=0 ptr0=true", "get_body st=2"} {
		if !strings.Contains(lines, w) {
			t.Fatalf("missing %q in\n%s", w, lines)
		}
	}
}

func TestGetBufferBytesRange(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_body":[{"op":"get_body","buf":0,"start":2,"max":2},{"op":"get_body","buf":0,"start":3,"max":100},{"op":"get_body","buf":0,"start":9,"max":1},{"op":"get_body","buf":0,"start":4294967295,"max":2},{"op":"buffer_status","buf":0}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	s.RequestBody([]byte("hello"), true)
	s.Done()
	rec.mustHave(t, "data=ll", "data=lo", "get_body st=0 len=0 ptr0=true", "get_body st=2", "buffer_status st=0 len=5 flags=0")
}

func TestContinueStreamInSameCallback(t *testing.T) {
	e := testEngine(t)
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"continue","stream":0},{"op":"return","value":4}]}`)
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	if r := s.RequestHeaders(h, true); r.Action != ActionContinue || r.Headers != h {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestResumeWhenNotPausedIsNoop(t *testing.T) {
	e := testEngine(t)
	ev := newEvents()
	p, rec := scripted(t, e, false, `{"response_headers":[{"op":"continue","stream":0},{"op":"continue","stream":3},{"op":"continue","stream":4}]}`)
	s := p.NewStream(StreamOptions{Events: ev.fn})
	s.RequestHeaders(reqHeaders(), true)
	if r := s.Resume(Request); r.Action != ActionContinue || r.Headers != nil || r.Body != nil {
		t.Fatalf("%+v", r)
	}
	s.ResponseHeaders(NewHeaderMap(":status", "200"), true)
	ev.none(t)
	rec.mustHave(t, "continue st=0", "continue st=12", "continue st=2")
	found := false
	for _, r := range rec.all() {
		if strings.Contains(r.Msg, "not paused") {
			found = true
		}
	}
	if !found {
		t.Fatal("no debug log for a resume while not paused")
	}
	s.Done()
}

func TestLocalReplyFromRequestHeaders(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"local_reply","status":403,"details":"denied by\tpolicy x","body":"nope","pairs":[["X-Reason","Blocked"]],"grpc":-1},{"op":"return","value":0}],
	"response_headers":[{"op":"get_pairs","map":2}],"response_body":[{"op":"get_body","buf":1,"max":-1}]}`)
	s := p.NewStream(StreamOptions{})
	r := s.RequestHeaders(reqHeaders(), false)
	if r.Action != ActionLocalReply {
		t.Fatalf("%+v", r)
	}
	lr := r.LocalReply
	if lr.StatusCode != 403 || string(lr.Body) != "nope" || lr.Details != "denied_by_policy_x" || lr.GRPCStatus != -1 {
		t.Fatalf("%+v", lr)
	}
	want := []HeaderField{{":status", "403"}, {"x-reason", "Blocked"}, {"content-length", "4"}, {"content-type", "text/plain"}}
	if len(lr.Headers.Fields) != len(want) {
		t.Fatalf("headers %v", lr.Headers.Fields)
	}
	for i := range want {
		if lr.Headers.Fields[i] != want[i] {
			t.Fatalf("headers %v", lr.Headers.Fields)
		}
	}
	// The request direction is over.
	if r := s.RequestBody([]byte("x"), true); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	// The reply passes through the plugin's own response callbacks.
	if r := s.ResponseHeaders(lr.Headers, false); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	if r := s.ResponseBody(lr.Body, true); r.Action != ActionContinue || string(r.Body) != "nope" {
		t.Fatalf("%+v", r)
	}
	rec.mustHave(t, "get_pairs st=0 ptr0=false :status=403;x-reason=Blocked;content-length=4;content-type=text/plain", "data=nope")
	s.Done()
}

func TestLocalReplyVariants(t *testing.T) {
	e := testEngine(t)
	// A plugin content-type is kept; gRPC status passes; malformed headers are dropped.
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"local_reply","status":200,"body":"{}","pairs":[["Content-Type","application/json"]],"grpc":7}]}`)
	s := p.NewStream(StreamOptions{})
	lr := s.RequestHeaders(reqHeaders(), true).LocalReply
	if ct, _ := lr.Headers.Get("content-type"); ct != "application/json" || len(lr.Headers.Values("content-type")) != 1 || lr.GRPCStatus != 7 {
		t.Fatalf("%+v %v", lr, lr.Headers.Fields)
	}
	s.Done()
	p, _ = scripted(t, e, false, `{"request_headers":[{"op":"local_reply","status":401,"hex":"0500000001","grpc":-1}]}`)
	s = p.NewStream(StreamOptions{})
	lr = s.RequestHeaders(reqHeaders(), true).LocalReply
	if lr.Headers.Len() != 1 || lr.StatusCode != 401 {
		t.Fatalf("%v", lr.Headers.Fields)
	}
	s.Done()
}

func TestLocalReplyFromResponsePhase(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"response_headers":[{"op":"local_reply","status":502,"body":"bad upstream"}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	r := s.ResponseHeaders(NewHeaderMap(":status", "200"), false)
	if r.Action != ActionLocalReply || r.LocalReply.StatusCode != 502 {
		t.Fatalf("%+v", r)
	}
	rec.reset()
	if r := s.ResponseBody([]byte("x"), true); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	if rec.has("cb:response_body") {
		t.Fatal("response body delivered after a response-phase local reply")
	}
	s.Done()
}

func TestCloseStream(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"close","stream":0},{"op":"close","stream":9}]}`)
	s := p.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), true); r.Action != ActionReset {
		t.Fatalf("%+v", r)
	}
	rec.mustHave(t, "close st=0", "close st=2")
	if r := s.ResponseHeaders(NewHeaderMap(":status", "200"), true); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	s.Done()
	rec.mustHave(t, "cb:log")
}

func TestHeaderAvailability(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{
	"request_body":[{"op":"get_header","map":0,"key":":path"},{"op":"get_pairs","map":0},{"op":"add_header","map":0,"key":"a","val":"b"},{"op":"map_size","map":0},
		{"op":"add_header","map":1,"key":"x-trailer","val":"added","eos":true}],
	"response_headers":[{"op":"get_header","map":0,"key":":path"},{"op":"get_header","map":2,"key":":status"},{"op":"get_header","map":6,"key":":status"},{"op":"get_header","map":8,"key":"x"},{"op":"get_pairs","map":9}],
	"log":[{"op":"get_header","map":0,"key":":path"},{"op":"get_header","map":2,"key":":status"},{"op":"add_header","map":0,"key":"late","val":"1"}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	r := s.RequestBody([]byte("b"), true)
	if r.Trailers == nil || r.EndStream {
		t.Fatalf("trailers added in the last body callback were not released: %+v", r)
	}
	if v, _ := r.Trailers.Get("x-trailer"); v != "added" {
		t.Fatal(r.Trailers.Fields)
	}
	s.ResponseHeaders(NewHeaderMap(":status", "201"), true)
	s.Done()
	got := strings.Join(rec.wasmLines(), "\n")
	for _, w := range []string{
		"cb:request_body ctx=2 a=1 b=1\nget_header :path st=2 val=\nget_pairs st=0 ptr0=true (none)\nadd_header st=2\nmap_size st=2 size=0\nadd_header st=0",
		"cb:response_headers ctx=2 a=1 b=1\nget_header :path st=2 val=\nget_header :status st=0 val=201\nget_header :status st=2 val=\nget_header x st=2 val=\nget_pairs st=2",
		"cb:log ctx=2 a=0 b=0\nget_header :path st=0 val=/p?q=1\nget_header :status st=0 val=201\nadd_header st=2",
	} {
		if !strings.Contains(got, w) {
			t.Fatalf("missing\n%s\nin\n%s", w, got)
		}
	}
}

func TestHeaderMapOperations(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[
		{"op":"add_header","map":0,"key":"X-Dup","val":"1"},{"op":"add_header","map":0,"key":"x-dup","val":"2"},
		{"op":"get_header","map":0,"key":"X-DUP"},{"op":"get_pairs","map":0},{"op":"map_size","map":0},
		{"op":"replace_header","map":0,"key":"x-dup","val":"3"},{"op":"get_pairs","map":0},
		{"op":"remove_header","map":0,"key":"X-Dup"},{"op":"remove_header","map":0,"key":"absent"},{"op":"get_header","map":0,"key":"x-dup"},
		{"op":"get_header","map":0,"key":":authority"},{"op":"replace_header","map":0,"key":"New","val":"n"},
		{"op":"set_pairs","map":1,"pairs":[["a","b"]]}]}`)
	s := p.NewStream(StreamOptions{})
	h := NewHeaderMap(":authority", "h", ":path", "/", ":method", "GET")
	s.RequestHeaders(h, true)
	s.Done()
	rec.mustHave(t,
		"get_header X-DUP st=0 val=1",
		"get_pairs st=0 ptr0=false :authority=h;:path=/;:method=GET;x-dup=1;x-dup=2",
		"map_size st=0 size=39",
		"get_pairs st=0 ptr0=false :authority=h;:path=/;:method=GET;x-dup=3",
		"remove_header st=0", "get_header x-dup st=1 val=", "get_header :authority st=0 val=h",
		"set_pairs st=2")
	if v, _ := h.Get("new"); v != "n" || h.Fields[len(h.Fields)-1].Key != "new" {
		t.Fatal(h.Fields)
	}
	if !s.RouteCacheCleared() {
		t.Fatal("modifying request headers must clear the route cache")
	}
}

func TestSetHeaderPairs(t *testing.T) {
	e := testEngine(t)
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"set_pairs","map":0,"pairs":[[":path","/new"],["X-A","1"]]}],
		"response_headers":[{"op":"set_pairs","map":2,"hex":"01000000ffffff00"}]}`)
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	s.RequestHeaders(h, true)
	if h.Len() != 2 || h.Fields[1] != (HeaderField{"x-a", "1"}) {
		t.Fatal(h.Fields)
	}
	rh := NewHeaderMap(":status", "200", "x", "y")
	s.ResponseHeaders(rh, true)
	if rh.Len() != 0 {
		t.Fatalf("malformed pairs must clear the map: %v", rh.Fields)
	}
	s.Done()
}

func TestHeaderMapLimits(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"add_header","map":0,"key":"k","val":"v","times":1100}]}`)
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	s.RequestHeaders(h, true)
	s.Done()
	if h.Len() != MaxHeaderCount {
		t.Fatalf("len = %d", h.Len())
	}
	rec.mustHave(t, "add_header st=2")
}

// A replace of a present key adds no entry: it succeeds on a map at the
// count limit, where an add fails.
func TestHeaderReplaceAtTheLimit(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"add_header","map":0,"key":"x-more","val":"1"},`+
		`{"op":"replace_header","map":0,"key":"x-user","val":"plugin"},{"op":"replace_header","map":0,"key":"x-new","val":"1"}]}`)
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	h.Add("x-user", "client")
	for h.Len() < MaxHeaderCount {
		h.Add("x-filler", "v")
	}
	s.RequestHeaders(h, true)
	s.Done()
	if v, _ := h.Get("x-user"); v != "plugin" || h.Len() != MaxHeaderCount {
		t.Fatalf("x-user = %q, %d entries", v, h.Len())
	}
	rec.mustHave(t, "add_header st=2", "replace_header st=0", "replace_header st=2")
}

func TestTrailersStopAndResume(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, true, `{"request_headers":[{"op":"return","value":1}],"request_trailers":[{"op":"get_pairs","map":1}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	s.RequestBody([]byte("b"), false)
	tr := NewHeaderMap("grpc-status", "0")
	if r := s.RequestTrailers(tr); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	if rec.has("cb:request_trailers") {
		t.Fatal("trailers delivered while stopped-all")
	}
	r := s.Resume(Request)
	if r.Action != ActionContinue || string(r.Body) != "b" || r.Trailers != tr || r.EndStream {
		t.Fatalf("%+v", r)
	}
	rec.mustHave(t, "cb:request_body ctx=2 a=1 b=0", "cb:request_trailers ctx=2 a=1", "grpc-status=0")
	s.Done()

	// A trailer callback returning StopIteration holds everything until resume.
	p, _ = scripted(t, e, false, `{"request_body":[{"op":"return","value":1}],"request_trailers":[{"op":"return","value":1}]}`)
	s = p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	s.RequestBody([]byte("x"), false)
	if r := s.RequestTrailers(tr); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	if r := s.Resume(Request); r.Action != ActionContinue || string(r.Body) != "x" || r.Trailers != tr {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestNoBufferDropsChunk(t *testing.T) {
	e := testEngine(t)
	p, _ := scripted(t, e, false, `{"request_body":[{"op":"return","value":3,"eos":false}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), false)
	if r := s.RequestBody([]byte("dropped"), false); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	if r := s.RequestBody([]byte("kept"), true); r.Action != ActionContinue || string(r.Body) != "kept" {
		t.Fatalf("%+v", r)
	}
	s.Done()
}
