package gateway

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

func adminDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}

// Outside dev mode nothing is traced until POST /trace?sample=; the JSON
// list and one trace come from the admin API, and the event stream sends
// each request as it finishes.
func TestTraceAdminAPI(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/traced")
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("trace-headers", wasm, "headers")}))
	get(t, g.url+"/anything/before")
	var list TraceList
	code, body := adminDo(t, "GET", g.admin+"/trace")
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 {
		t.Fatalf("GET /trace: %d %v\n%s", code, err, body)
	}
	if len(list.Requests) != 0 || list.Stats.Rate != 0 {
		t.Fatalf("traced with sampling off: %s", body)
	}
	if code, body := adminDo(t, "GET", g.admin+"/trace?sample=all"); code != 405 {
		t.Fatalf("GET changed sampling: %d %s", code, body)
	}
	if code, body := adminDo(t, "POST", g.admin+"/trace?sample=2"); code != 400 || !strings.Contains(body, "between 0 and 1") {
		t.Fatalf("bad rate: %d %s", code, body)
	}
	if code, body := adminDo(t, "POST", g.admin+"/trace?sample=all"); code != 200 || !strings.Contains(body, `"sampleRate": 1`) {
		t.Fatalf("POST sample=all: %d %s", code, body)
	}

	resp, err := http.Get(g.admin + "/trace/stream?path=/anything/streamed")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream content type %q", ct)
	}
	events := make(chan trace.Summary, 4)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var s trace.Summary
				if json.Unmarshal([]byte(d), &s) == nil {
					events <- s
				}
			}
		}
	}()
	waitFor(t, "the stream's subscription", func() bool { return g.gw.Traces().Stats().Subscribers > 0 })
	get(t, g.url+"/anything/other") // filtered out of the stream
	get(t, g.url+"/anything/streamed")
	select {
	case s := <-events:
		if s.Path != "/anything/streamed" || s.Status != 200 || len(s.Plugins) != 1 {
			t.Fatalf("streamed %+v", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no event for the request")
	}

	code, body = adminDo(t, "GET", g.admin+"/trace?path=/anything/other&limit=5")
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 || len(list.Requests) != 1 {
		t.Fatalf("filtered list: %d %v\n%s", code, err, body)
	}
	id := list.Requests[0].ID
	code, body = adminDo(t, "GET", g.admin+"/trace/"+itoaT(int(id)))
	var tr trace.Request
	if err := json.Unmarshal([]byte(body), &tr); err != nil || code != 200 || tr.Path != "/anything/other" || len(tr.Events) == 0 {
		t.Fatalf("GET /trace/%d: %d %v\n%s", id, code, err, body)
	}
	if code, _ := adminDo(t, "GET", g.admin+"/trace/999999"); code != 404 {
		t.Fatalf("unknown trace: %d", code)
	}
	if code, _ := adminDo(t, "POST", g.admin+"/trace?sample=off"); code != 200 {
		t.Fatal("sample=off refused")
	}
	get(t, g.url+"/anything/after")
	code, body = adminDo(t, "GET", g.admin+"/trace?path=/anything/after")
	if code != 200 || strings.Contains(body, `"/anything/after"`) {
		t.Fatalf("traced after sample=off: %s", body)
	}
}

// x-wasmgate-trace: 1 is honoured in dev mode, or with the admin token in
// x-wasmgate-trace-token, which no plugin or upstream ever sees.
func TestTraceHeaderNeedsDevModeOrToken(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/traced")
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("trace-headers", wasm, "headers")}),
		func(o *Options) { o.AdminToken = "s3cret" })
	traced := func(path string) bool {
		for _, s := range g.gw.Traces().List(trace.Filter{Path: path}, 0) {
			if s.Path == path {
				return true
			}
		}
		return false
	}
	get(t, g.url+"/anything/no-token", "x-wasmgate-trace", "1")
	get(t, g.url+"/anything/bad-token", "x-wasmgate-trace", "1", "x-wasmgate-trace-token", "wrong")
	_, _, body := get(t, g.url+"/anything/token", "x-wasmgate-trace", "1", "x-wasmgate-trace-token", "s3cret")
	if strings.Contains(strings.ToLower(body), "x-wasmgate-trace-token") || strings.Contains(body, "s3cret") {
		t.Fatalf("the token reached the upstream:\n%s", body)
	}
	waitFor(t, "the trace of the request with the token", func() bool { return traced("/anything/token") })
	if traced("/anything/no-token") || traced("/anything/bad-token") {
		t.Fatal("x-wasmgate-trace honoured without the admin token")
	}
	tr := g.gw.Traces().Get(g.gw.Traces().List(trace.Filter{Path: "/anything/token"}, 1)[0].ID)
	if strings.Contains(dumpTrace(tr), "s3cret") {
		t.Fatalf("the token is in the trace:\n%s", dumpTrace(tr))
	}

	dev := startGateway(t, staticConfig(nil), func(o *Options) { o.Trace = TraceOptions{Dev: true} })
	dev.gw.Traces().SetSampleRate(0)
	get(t, dev.url+"/anything/dev", "x-wasmgate-trace", "1")
	waitFor(t, "the dev-mode trace", func() bool {
		return len(dev.gw.Traces().List(trace.Filter{Path: "/anything/dev"}, 1)) == 1
	})
}
