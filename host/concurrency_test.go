package host

import (
	"sync"
	"testing"
	"time"
)

// asyncHTTP answers every call from its own goroutine.
type asyncHTTP struct{}

func (asyncHTTP) HTTPCall(req *CalloutRequest, done func(*CalloutResponse)) error {
	go func() {
		time.Sleep(time.Millisecond)
		done(ok200("auth-ok"))
	}()
	return nil
}

func TestConcurrentStreams(t *testing.T) {
	e := testEngine(t)
	script := `{"request_headers":[{"op":"add_header","map":0,"key":"x-seen","val":"1"},
		{"op":"http_call","cluster":"auth","pairs":[[":method","GET"],[":path","/check"],[":authority","auth"]],"timeout":10000},{"op":"return","value":4}],
	"http_call_response":[{"op":"set_effective","ctx":-1},{"op":"add_header","map":0,"key":"x-auth","val":"ok"},{"op":"continue","stream":0}],
	"request_body":[{"op":"return","value":1,"eos":false}],
	"response_headers":[{"op":"replace_header","map":2,"key":"x-resp","val":"r"}],
	"response_body":[{"op":"set_body","buf":1,"start":0,"size":4294967295,"data":"rewritten"}]}`
	p, _ := scripted(t, e, false, script, withPool(2), withHTTP(asyncHTTP{}), withLevel(3))
	const workers, perWorker = 6, 25
	var wg sync.WaitGroup
	errs := make(chan string, workers*perWorker)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				ev := newEvents()
				s := p.NewStream(StreamOptions{Events: ev.fn})
				h := reqHeaders()
				if r := s.RequestHeaders(h, false); r.Action != ActionStop {
					errs <- "headers not paused: " + r.Action.String()
					s.Done()
					continue
				}
				s.RequestBody([]byte("part1-"), false)
				if got := ev.wait(t); got.Kind != EventResume {
					errs <- "no resume"
				}
				// Headers go on; the buffered first chunk reaches the plugin,
				// which buffers it until the end of the body.
				r := s.Resume(Request)
				if r.Action != ActionStop || r.Headers != h || r.Body != nil {
					errs <- "resume: " + r.Action.String()
				}
				if v, _ := h.Get("x-auth"); v != "ok" {
					errs <- "x-auth missing"
				}
				r = s.RequestBody([]byte("part2"), true)
				if body := string(r.Body); r.Action != ActionContinue || body != "part1-part2" {
					errs <- "body: " + body
				}
				rh := NewHeaderMap(":status", "200")
				s.ResponseHeaders(rh, false)
				if v, _ := rh.Get("x-resp"); v != "r" {
					errs <- "x-resp missing"
				}
				if r := s.ResponseBody([]byte("orig"), true); string(r.Body) != "rewritten" {
					errs <- "response body " + string(r.Body)
				}
				s.Done()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if p.VMCount() != 2 {
		t.Fatalf("VMCount %d", p.VMCount())
	}
	for _, v := range p.g.serving() {
		if n := v.active.Load(); n != 0 {
			t.Fatalf("vm %d has %d active streams", v.seq, n)
		}
	}
}
