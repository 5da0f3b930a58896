package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const callScript = `{"request_headers":[
	{"op":"http_call","cluster":"backend","pairs":[[":method","POST"],[":path","/auth"],[":authority","auth.local"],["X-Mixed","v"]],"body":"payload","timeout":5000},
	{"op":"http_call","cluster":"backend","pairs":[[":method","GET"],[":path","/2"],[":authority",""]],"timeout":0},
	{"op":"return","value":4}],
"http_call_response":[{"op":"get_header","map":6,"key":":status"},{"op":"get_pairs","map":7},{"op":"get_body","buf":4,"max":-1},{"op":"get_status"},
	{"op":"set_effective","ctx":-1},{"op":"get_header","map":0,"key":":path"},{"op":"continue","stream":0}]}`

func TestHTTPCallTokensAndResume(t *testing.T) {
	e := testEngine(t)
	up := newFakeHTTP("backend")
	p, rec := scripted(t, e, false, callScript, withHTTP(up))
	ev := newEvents()
	s := p.NewStream(StreamOptions{Events: ev.fn})
	h := reqHeaders()
	if r := s.RequestHeaders(h, true); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	rec.mustHave(t, "http_call st=0 token=4", "http_call st=0 token=8")
	up.mu.Lock()
	req := up.reqs[0]
	up.mu.Unlock()
	if req.Cluster != "backend" || req.Timeout != 5*time.Second || string(req.Body) != "payload" {
		t.Fatalf("%+v", req)
	}
	if v, _ := req.Headers.Get("x-mixed"); v != "v" || req.Headers.Fields[3].Key != "x-mixed" {
		t.Fatal(req.Headers.Fields)
	}
	if v, _ := req.Headers.Get("content-length"); v != "7" {
		t.Fatal(req.Headers.Fields)
	}
	up.answer(0, &CalloutResponse{Headers: NewHeaderMap(":status", "200"), Body: []byte("ok!"), Trailers: NewHeaderMap("t", "1")})
	got := ev.wait(t)
	if got.Kind != EventResume || got.Dir != Request {
		t.Fatalf("%+v", got)
	}
	rec.mustHave(t, "cb:http_call_response ctx=1 a=4", "http_call_response token=4 headers=1 body=3 trailers=1",
		"get_header :status st=0 val=200", "get_pairs st=0 ptr0=false t=1", "data=ok!", "get_status st=0 code=0 msg=",
		"set_effective 2 st=0", "get_header :path st=0 val=/p?q=1")
	r := s.Resume(Request)
	if r.Action != ActionContinue || r.Headers != h || !r.EndStream {
		t.Fatalf("%+v", r)
	}
	// The second call answers after the stream resumed: resume is a no-op.
	up.answer(1, ok200(""))
	rec.waitFor(t, "http_call_response token=8")
	ev.none(t)
	s.Done()
}

func TestHTTPCallArgumentErrors(t *testing.T) {
	e := testEngine(t)
	up := newFakeHTTP("backend")
	p, rec := scripted(t, e, false, `{"request_headers":[
		{"op":"http_call","cluster":"backend","pairs":[[":method","GET"],[":path","/"]]},
		{"op":"http_call","cluster":"nope","pairs":[[":method","GET"],[":path","/"],[":authority","a"]]},
		{"op":"raw","fn":"proxy_http_call","args":[0,0,0,0,0,0,0,0,4294967295,64]},
		{"op":"grpc_call"},
		{"op":"set_effective","ctx":77}]}`, withHTTP(up))
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	lines := strings.Join(rec.wasmLines(), "\n")
	for _, w := range []string{"http_call st=2 token=0\nhttp_call st=2 token=0", "raw proxy_http_call st=2", "grpc_call st=2 token=0", "set_effective 77 st=2"} {
		if !strings.Contains(lines, w) {
			t.Fatalf("missing %q:\n%s", w, lines)
		}
	}
	// Without an HTTPCaller every cluster is unknown.
	p2, rec2 := scripted(t, e, false, `{"request_headers":[{"op":"http_call","cluster":"x","pairs":[[":method","GET"],[":path","/"],[":authority","a"]]}]}`)
	s = p2.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	rec2.mustHave(t, "http_call st=2")
}

type failingHTTP struct{}

func (failingHTTP) HTTPCall(*CalloutRequest, func(*CalloutResponse)) error {
	return errors.New("connection pool exhausted")
}

func TestHTTPCallStartFailure(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"http_call","cluster":"x","pairs":[[":method","GET"],[":path","/"],[":authority","a"]]}]}`, withHTTP(failingHTTP{}))
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	rec.mustHave(t, "http_call st=10")
}

func TestHTTPCallReset(t *testing.T) {
	e := testEngine(t)
	up := newFakeHTTP("backend")
	p, rec := scripted(t, e, false, callScript, withHTTP(up))
	s := p.NewStream(StreamOptions{Events: newEvents().fn})
	s.RequestHeaders(reqHeaders(), true)
	up.answer(0, &CalloutResponse{Reset: true, Headers: NewHeaderMap(":status", "200")})
	rec.waitFor(t, "get_status")
	rec.mustHave(t, "http_call_response token=4 headers=0 body=0 trailers=0", "get_header :status st=1", "get_status st=0 code=11 msg=reset")
	s.Done()
}

func TestHTTPCallTimeout(t *testing.T) {
	clock := newManualClock()
	e := newTestEngine(t, EngineConfig{Clock: clock})
	up := newFakeHTTP("backend")
	p, rec := scripted(t, e, false, callScript, withHTTP(up))
	ev := newEvents()
	s := p.NewStream(StreamOptions{Events: ev.fn})
	s.RequestHeaders(reqHeaders(), true)
	clock.Advance(4 * time.Second)
	if rec.has("cb:http_call_response") {
		t.Fatal("response before the timeout")
	}
	clock.Advance(2 * time.Second)
	rec.mustHave(t, "http_call_response token=4 headers=3 body=24", "get_header :status st=0 val=504", "data=upstream request timeout")
	if ev.wait(t).Kind != EventResume {
		t.Fatal("no resume")
	}
	// A late answer from the embedder is dropped.
	rec.reset()
	up.answer(0, ok200("late"))
	if rec.has("cb:http_call_response") {
		t.Fatal("late answer delivered")
	}
	s.Done()
}

func TestHTTPCallAnsweredSynchronouslyIsDeferred(t *testing.T) {
	e := testEngine(t)
	up := newFakeHTTP("backend")
	up.auto = ok200("sync")
	p, rec := scripted(t, e, false, callScript, withHTTP(up))
	ev := newEvents()
	s := p.NewStream(StreamOptions{Events: ev.fn})
	r := s.RequestHeaders(reqHeaders(), true)
	if r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	lines := strings.Join(rec.wasmLines(), "\n")
	// Both calls were dispatched before the first response was delivered.
	i1, i2 := strings.Index(lines, "http_call st=0 token=8"), strings.Index(lines, "cb:http_call_response")
	if i1 < 0 || i2 < 0 || i2 < i1 {
		t.Fatalf("response not deferred:\n%s", lines)
	}
	if ev.wait(t).Kind != EventResume {
		t.Fatal("no resume event")
	}
	if r := s.Resume(Request); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestHTTPCallResponseAfterStreamDone(t *testing.T) {
	e := testEngine(t)
	up := newFakeHTTP("backend")
	p, rec := scripted(t, e, false, callScript, withHTTP(up))
	ev := newEvents()
	s := p.NewStream(StreamOptions{Events: ev.fn})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	up.answer(0, ok200("x"))
	rec.waitFor(t, "continue st=0")
	rec.mustHave(t, "cb:http_call_response ctx=1", "set_effective 2 st=2")
	ev.none(t)
	// The VM is still healthy.
	s2 := p.NewStream(StreamOptions{})
	if r := s2.RequestHeaders(reqHeaders(), true); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	s2.Done()
}

func TestLocalReplyFromCallout(t *testing.T) {
	e := testEngine(t)
	up := newFakeHTTP("backend")
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"http_call","cluster":"backend","pairs":[[":method","GET"],[":path","/"],[":authority","a"]]},{"op":"return","value":1}],
	"http_call_response":[{"op":"set_effective","ctx":-1},{"op":"local_reply","status":429,"body":"slow down","details":"rate limited"}]}`, withHTTP(up))
	ev := newEvents()
	s := p.NewStream(StreamOptions{Events: ev.fn})
	s.RequestHeaders(reqHeaders(), false)
	up.answer(0, ok200(""))
	got := ev.wait(t)
	if got.Kind != EventLocalReply || got.Reply.StatusCode != 429 || got.Reply.Details != "rate_limited" {
		t.Fatalf("%+v", got)
	}
	if r := s.RequestBody([]byte("x"), true); r.Action != ActionStop {
		t.Fatalf("%+v", r)
	}
	if r := s.ResponseHeaders(got.Reply.Headers, false); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

func TestCloseStreamFromCallout(t *testing.T) {
	e := testEngine(t)
	up := newFakeHTTP("backend")
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"http_call","cluster":"backend","pairs":[[":method","GET"],[":path","/"],[":authority","a"]]},{"op":"return","value":1}],
	"http_call_response":[{"op":"set_effective","ctx":-1},{"op":"close","stream":0}]}`, withHTTP(up))
	ev := newEvents()
	s := p.NewStream(StreamOptions{Events: ev.fn})
	s.RequestHeaders(reqHeaders(), true)
	up.answer(0, ok200(""))
	if got := ev.wait(t); got.Kind != EventReset {
		t.Fatalf("%+v", got)
	}
	s.Done()
}

type fakeRedis struct {
	inits []string
	calls chan func([]byte, error)
	qs    chan string
}

func (f *fakeRedis) RedisInit(cluster, user, pass string, timeout time.Duration) error {
	if strings.HasPrefix(cluster, "unknown") {
		return ErrUnknownCluster
	}
	f.inits = append(f.inits, cluster+"|"+user+"|"+pass+"|"+timeout.String())
	return nil
}

func (f *fakeRedis) RedisCall(cluster string, q []byte, done func([]byte, error)) error {
	if cluster != "outbound|6379||redis.static" {
		return ErrUnknownCluster
	}
	f.qs <- string(q)
	f.calls <- done
	return nil
}

func TestRedisInitAndCall(t *testing.T) {
	e := testEngine(t)
	rd := &fakeRedis{calls: make(chan func([]byte, error), 4), qs: make(chan string, 4)}
	p, rec := scripted(t, e, false, `{"configure":[{"op":"redis_init","cluster":"outbound|6379||redis.static?db=1&buffer_flush_timeout=3","user":"u","pass":"p","timeout":1000},{"op":"redis_init","cluster":"unknown"}],
	"request_headers":[{"op":"redis_call","cluster":"outbound|6379||redis.static","data":"*1\r\n$4\r\nPING\r\n"},{"op":"redis_call","cluster":"other"},{"op":"return","value":4}],
	"redis_call_response":[{"op":"get_body","buf":9,"max":-1},{"op":"set_effective","ctx":-1},{"op":"continue","stream":0}]}`, withRedis(rd))
	rec.mustHave(t, "redis_init st=0", "redis_init st=2")
	if len(rd.inits) != 1 || rd.inits[0] != "outbound|6379||redis.static?db=1&buffer_flush_timeout=3|u|p|1s" {
		t.Fatal(rd.inits)
	}
	ev := newEvents()
	s := p.NewStream(StreamOptions{Events: ev.fn})
	s.RequestHeaders(reqHeaders(), true)
	rec.mustHave(t, "redis_call st=0 token=4", "redis_call st=2 token=0")
	if q := <-rd.qs; q != "*1\r\n$4\r\nPING\r\n" {
		t.Fatalf("%q", q)
	}
	(<-rd.calls)([]byte("+PONG\r\n"), nil)
	rec.waitFor(t, "get_body")
	rec.mustHave(t, "cb:redis_call_response ctx=1", "redis_call_response token=4 status=0 size=7", "get_body st=0 len=7")
	if got := ev.wait(t); got.Kind != EventResume {
		t.Fatalf("%+v", got)
	}
	s.Done()

	// A failed call gives a non-zero status and no data.
	s = p.NewStream(StreamOptions{Events: ev.fn})
	s.RequestHeaders(reqHeaders(), true)
	<-rd.qs
	(<-rd.calls)(nil, errors.New("connection refused"))
	rec.waitFor(t, "status=1 size=0")
	s.Done()
	_ = context.Background
}
