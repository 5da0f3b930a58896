package echo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
	}
	return resp, m
}

func request(t *testing.T, method, url string, body io.Reader, hdr map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func TestGet(t *testing.T) {
	srv := newServer(t, New())
	req := request(t, "GET", srv.URL+"/get?a=1&b=2&b=3", nil, map[string]string{"hello": "world", "X-Multi": "x"})
	req.Header.Add("X-Multi", "y")
	resp, m := do(t, req)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	want := map[string]any{
		"args":   map[string]any{"a": "1", "b": []any{"2", "3"}},
		"origin": "127.0.0.1",
		"url":    srv.URL + "/get?a=1&b=2&b=3",
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	h := m["headers"].(map[string]any)
	if h["Hello"] != "world" || h["Host"] != host || h["X-Multi"] != "x,y" || h["Accept-Encoding"] != "gzip" {
		t.Errorf("headers = %v", h)
	}
	if _, ok := m["data"]; ok {
		t.Error("/get must not echo a body")
	}
}

func TestMethodsAndBodies(t *testing.T) {
	srv := newServer(t, New())
	tests := []struct {
		name, method, path, ctype, body string
		check                           func(t *testing.T, m map[string]any)
	}{
		{name: "json post", method: "POST", path: "/post", ctype: "application/json", body: `{"a":[1,2],"b":"<x>"}`,
			check: func(t *testing.T, m map[string]any) {
				if m["data"] != `{"a":[1,2],"b":"<x>"}` || !reflect.DeepEqual(m["json"], map[string]any{"a": []any{1.0, 2.0}, "b": "<x>"}) {
					t.Errorf("data %v json %v", m["data"], m["json"])
				}
			}},
		{name: "text put", method: "PUT", path: "/put", ctype: "text/plain", body: "hello",
			check: func(t *testing.T, m map[string]any) {
				if m["data"] != "hello" || m["json"] != nil {
					t.Errorf("data %v json %v", m["data"], m["json"])
				}
			}},
		{name: "form patch", method: "PATCH", path: "/patch", ctype: "application/x-www-form-urlencoded", body: "a=1&b=2&b=3",
			check: func(t *testing.T, m map[string]any) {
				if m["data"] != "" || !reflect.DeepEqual(m["form"], map[string]any{"a": "1", "b": []any{"2", "3"}}) {
					t.Errorf("data %v form %v", m["data"], m["form"])
				}
			}},
		{name: "binary delete", method: "DELETE", path: "/delete", ctype: "application/octet-stream", body: "\xff\x00",
			check: func(t *testing.T, m map[string]any) {
				if m["data"] != "data:application/octet-stream;base64,/wA=" {
					t.Errorf("data %v", m["data"])
				}
			}},
		{name: "anything with method", method: "PURGE", path: "/anything/a/b?x=1", body: "",
			check: func(t *testing.T, m map[string]any) {
				if m["method"] != "PURGE" || !strings.HasSuffix(m["url"].(string), "/anything/a/b?x=1") || m["data"] != "" {
					t.Errorf("method %v url %v data %v", m["method"], m["url"], m["data"])
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, m := do(t, request(t, tc.method, srv.URL+tc.path, strings.NewReader(tc.body), map[string]string{"Content-Type": tc.ctype}))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			tc.check(t, m)
		})
	}
}

func TestMultipart(t *testing.T) {
	srv := newServer(t, New())
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("name", "alice")
	fw, _ := mw.CreateFormFile("upload", "a.txt")
	_, _ = fw.Write([]byte("file content"))
	_ = mw.Close()
	_, m := do(t, request(t, "POST", srv.URL+"/post", &buf, map[string]string{"Content-Type": mw.FormDataContentType()}))
	if !reflect.DeepEqual(m["form"], map[string]any{"name": "alice"}) || !reflect.DeepEqual(m["files"], map[string]any{"upload": "file content"}) {
		t.Errorf("form %v files %v", m["form"], m["files"])
	}
}

func TestWrongMethod(t *testing.T) {
	srv := newServer(t, New())
	resp, _ := do(t, request(t, "POST", srv.URL+"/get", nil, nil))
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("status %d allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp, _ = do(t, request(t, "HEAD", srv.URL+"/get", nil, nil))
	if resp.StatusCode != 200 {
		t.Errorf("HEAD /get status %d", resp.StatusCode)
	}
}

func TestHeadersIPUserAgentAndForwarding(t *testing.T) {
	srv := newServer(t, New())
	_, m := do(t, request(t, "GET", srv.URL+"/headers", nil, map[string]string{"x-envoy-expected-rq-timeout-ms": "15000"}))
	if h := m["headers"].(map[string]any); h["X-Envoy-Expected-Rq-Timeout-Ms"] != "15000" {
		t.Errorf("headers = %v", h)
	}
	_, m = do(t, request(t, "GET", srv.URL+"/ip", nil, map[string]string{"X-Forwarded-For": "10.1.2.3"}))
	if m["origin"] != "10.1.2.3" {
		t.Errorf("origin = %v", m["origin"])
	}
	_, m = do(t, request(t, "GET", srv.URL+"/user-agent", nil, map[string]string{"User-Agent": "curl/8"}))
	if m["user-agent"] != "curl/8" {
		t.Errorf("user-agent = %v", m["user-agent"])
	}
	_, m = do(t, request(t, "GET", srv.URL+"/get", nil, map[string]string{"X-Forwarded-Proto": "https"}))
	if !strings.HasPrefix(m["url"].(string), "https://") {
		t.Errorf("url = %v", m["url"])
	}
}

func TestStatus(t *testing.T) {
	srv := newServer(t, New())
	for path, want := range map[string]int{"/status/418": 418, "/status/204": 204, "/status/500": 500, "/status/abc": 400, "/status/99": 400, "/nope": 404} {
		resp, _ := do(t, request(t, "GET", srv.URL+path, nil, nil))
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestDelay(t *testing.T) {
	srv := newServer(t, &Handler{MaxDelay: 300 * time.Millisecond})
	start := time.Now()
	resp, m := do(t, request(t, "GET", srv.URL+"/delay/0.1", nil, nil))
	if el := time.Since(start); resp.StatusCode != 200 || el < 100*time.Millisecond || m["method"] != "GET" {
		t.Errorf("status %d after %v", resp.StatusCode, el)
	}
	// Bounded by MaxDelay.
	start = time.Now()
	resp, _ = do(t, request(t, "GET", srv.URL+"/delay/60", nil, nil))
	if el := time.Since(start); resp.StatusCode != 200 || el > 5*time.Second || el < 300*time.Millisecond {
		t.Errorf("status %d after %v, want about 300ms", resp.StatusCode, el)
	}
	resp, _ = do(t, request(t, "GET", srv.URL+"/delay/x", nil, nil))
	if resp.StatusCode != 400 {
		t.Errorf("invalid delay status %d", resp.StatusCode)
	}
}

func TestDelayHonoursCancellation(t *testing.T) {
	h := &Handler{}
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", "/delay/10", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { h.ServeHTTP(rec, req); close(done) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("handler did not stop when the request was cancelled")
	}
	if rec.Body.Len() != 0 {
		t.Errorf("cancelled delay wrote %q", rec.Body.String())
	}
}

// flushRecorder records when each Flush happened relative to the bytes written.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushedAt []int
}

func (f *flushRecorder) Flush() {
	f.flushedAt = append(f.flushedAt, f.Body.Len())
	f.ResponseRecorder.Flush()
}

func TestStreamFlushesEachLine(t *testing.T) {
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	New().ServeHTTP(rec, httptest.NewRequest("GET", "/stream/3", nil))
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines = %q", lines)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["id"] != float64(i) || m["url"] == nil {
			t.Errorf("line %d = %q (%v)", i, l, err)
		}
	}
	if len(rec.flushedAt) != 3 || rec.flushedAt[0] != len(lines[0])+1 {
		t.Errorf("flushes at %v", rec.flushedAt)
	}
	// Bounded to 100 lines.
	rec = &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	New().ServeHTTP(rec, httptest.NewRequest("GET", "/stream/1000", nil))
	if n := strings.Count(rec.Body.String(), "\n"); n != 100 {
		t.Errorf("lines = %d, want 100", n)
	}
}

func TestSSEArrivesIncrementally(t *testing.T) {
	srv := newServer(t, New())
	start := time.Now()
	resp, err := http.Get(srv.URL + "/sse/3?interval=200")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	var events []string
	var firstAt time.Duration
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "data: ") {
			if len(events) == 0 {
				firstAt = time.Since(start)
			}
			events = append(events, line)
		}
	}
	total := time.Since(start)
	if len(events) != 3 {
		t.Fatalf("events = %q", events)
	}
	// The first event arrives before the stream ends (about 400ms later).
	if firstAt > 150*time.Millisecond || total < 350*time.Millisecond {
		t.Errorf("first event after %v, stream ended after %v", firstAt, total)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(events[2], "data: ")), &ev); err != nil || ev["id"] != 2.0 {
		t.Errorf("event = %q", events[2])
	}
}

func TestBodyLimit(t *testing.T) {
	srv := newServer(t, &Handler{MaxBody: 10})
	resp, _ := do(t, request(t, "POST", srv.URL+"/post", strings.NewReader(strings.Repeat("x", 11)), nil))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d", resp.StatusCode)
	}
}
