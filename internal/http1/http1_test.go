package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

var testLimits = Limits{MaxHeaderBytes: 60 << 10, MaxHeaders: 100}

func read(t *testing.T, raw string) (*Request, string, error) {
	t.Helper()
	br := bufio.NewReaderSize(strings.NewReader(raw), 64)
	req, err := ReadRequest(br, testLimits)
	if err != nil {
		return req, "", err
	}
	b, err := io.ReadAll(NewBody(br, req, testLimits))
	return req, string(b), err
}

func wantReject(t *testing.T, raw string, status int, details string) {
	t.Helper()
	_, _, err := read(t, raw)
	var e *Error
	if !errors.As(err, &e) || e.Status != status || e.Details != details {
		t.Fatalf("%q: error %v, want %d %s", raw, err, status, details)
	}
}

func TestFraming(t *testing.T) {
	req, body, err := read(t, "POST /up?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-A: b \r\n\r\nhelloNEXT")
	if err != nil || body != "hello" || req.Host != "a" || req.Target != "/up?x=1" || !req.KeepAlive {
		t.Fatalf("%+v %q %v", req, body, err)
	}
	if req.Fields[2] != (Field{"x-a", "b"}) {
		t.Fatalf("fields %+v", req.Fields)
	}
	br := bufio.NewReader(strings.NewReader("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: v\r\n\r\nGET"))
	req, err = ReadRequest(br, testLimits)
	if err != nil || !req.Chunked() {
		t.Fatal(err)
	}
	b := NewBody(br, req, testLimits)
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "hello world" || len(b.Trailers()) != 1 || b.Trailers()[0].Value != "v" {
		t.Fatalf("%q %v %v", got, err, b.Trailers())
	}
	if rest, _ := io.ReadAll(br); string(rest) != "GET" {
		t.Fatalf("next request starts %q", rest)
	}
	req, _, err = read(t, "GET / HTTP/1.0\r\n\r\n")
	if err != nil || req.KeepAlive || req.Minor != 0 {
		t.Fatalf("%+v %v", req, err)
	}
	if req, _, _ := read(t, "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n"); req.KeepAlive {
		t.Fatal("Connection: close ignored")
	}
	if _, _, err := read(t, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"); err != nil {
		t.Fatalf("equal lengths: %v", err)
	}
}

func TestRejections(t *testing.T) {
	cases := []struct {
		raw     string
		status  int
		details string
	}{
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, DetailsChunkedLength},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, DetailsChunkedLength},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, DetailsCodecError},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400, DetailsCodecError},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, DetailsCodecError},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400, DetailsCodecError},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, DetailsInvalidTE},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501, DetailsInvalidTE},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 501, DetailsInvalidTE},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 501, DetailsInvalidTE},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, DetailsInvalidTE},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, DetailsCodecError},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400, DetailsCodecError},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 400, DetailsCodecError},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n", 400, DetailsCodecError},
		{"GET / HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n", 400, DetailsInvalidCharacters},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400, DetailsInvalidCharacters},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, DetailsCodecError},
		{"GET / HTTP/1.1\r\n\r\n", 400, DetailsMissingHost},
		{"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400, DetailsCodecError},
		{"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, DetailsCodecError},
		{"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, DetailsCodecError},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 61<<10) + "\r\n\r\n", 431, DetailsHeadersTooLarge},
		{"GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: v\r\n", 100) + "\r\n", 431, DetailsTooManyHeaders},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: a, b, c, d, e, f, g, h, i, close\r\n\r\n", 400, DetailsConnectionRejected},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: a, b, c, d, e\r\nConnection: f, g, h, keep-alive, close\r\n\r\n", 400, DetailsConnectionRejected},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n", 400, DetailsConnectionRejected},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-forwarded-proto\r\n\r\n", 400, DetailsConnectionRejected},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-forwarded-host\r\n\r\n", 400, DetailsConnectionRejected},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: :path\r\n\r\n", 400, DetailsConnectionRejected},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: te\r\nTE: trailers, " + strings.Repeat("x", 256) + "\r\n\r\n", 400, DetailsConnectionRejected},
	}
	for _, c := range cases {
		wantReject(t, c.raw, c.status, c.details)
	}
	lim := testLimits
	lim.AllowChunkedLength = true
	br := bufio.NewReader(strings.NewReader("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	req, err := ReadRequest(br, lim)
	if err != nil || !req.Chunked() {
		t.Fatal(err)
	}
	for _, f := range req.Fields {
		if f.Name == "content-length" {
			t.Fatal("allow_chunked_length kept the content-length")
		}
	}
}

func TestTruncatedBodies(t *testing.T) {
	for _, raw := range []string{
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
	} {
		if _, _, err := read(t, raw); err != io.ErrUnexpectedEOF {
			t.Fatalf("%q: %v, want io.ErrUnexpectedEOF", raw, err)
		}
	}
	if _, err := ReadRequest(bufio.NewReader(strings.NewReader("")), testLimits); err != ErrIdle {
		t.Fatalf("empty connection: %v", err)
	}
}

func TestResponses(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	w := NewWriter(bw)
	h := w.StartHead(200)
	h.Field("x-a", "b\r\nInjected: yes")
	if err := h.End(Chunked, 0, false); err != nil {
		t.Fatal(err)
	}
	_ = w.Body([]byte("hello"), false)
	_ = w.End([]Field{{"x-t", "v"}})
	h = w.StartHead(204)
	_ = h.End(NoBody, 0, false)
	_ = w.End(nil)
	h = w.StartHead(200)
	_ = h.End(Length, 3, false)
	if err := w.Body([]byte("abcd"), false); err != ErrBodyLength {
		t.Fatalf("overlong body: %v", err)
	}
	_ = w.Body([]byte("abc"), false)
	_ = w.End(nil)

	br := bufio.NewReader(&out)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello" || resp.Trailer.Get("X-T") != "v" || resp.Header.Get("Injected") != "" || resp.Header.Get("X-A") != "b  Injected: yes" {
		t.Fatalf("%q %v %v", b, resp.Header, resp.Trailer)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 204 {
		t.Fatal(resp, err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "abc" {
		t.Fatalf("%q", b)
	}
}

// FuzzReadRequest reads arbitrary bytes as requests on one connection: it
// never panics, never accepts a head that carries both framings, and
// reads a body to exactly its framing.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: v\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://h/p?q HTTP/1.0\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		lim := Limits{MaxHeaderBytes: 1 << 10, MaxHeaders: 20}
		for i := 0; i < 8; i++ {
			req, err := ReadRequest(br, lim)
			if err != nil {
				return
			}
			cl, te := false, false
			for _, fl := range req.Fields {
				cl = cl || fl.Name == "content-length"
				te = te || fl.Name == "transfer-encoding"
			}
			if cl && te {
				t.Fatalf("accepted both framings: %+v", req)
			}
			n, err := io.Copy(io.Discard, NewBody(br, req, lim))
			if err != nil {
				return
			}
			if req.ContentLength >= 0 && n != req.ContentLength {
				t.Fatalf("read %d of a %d-byte body", n, req.ContentLength)
			}
		}
	})
}

// Headers a request's Connection header nominates are removed, as Envoy's
// codec removes them (its sanitizeConnectionHeader): a nominated TE
// listing trailers stays as "trailers", a self-nominated Connection and
// the connection options stay, and an upgrade request keeps everything.
func TestConnectionNominatedHeaders(t *testing.T) {
	fields := func(req *Request) string {
		var b strings.Builder
		for _, f := range req.Fields {
			b.WriteString(f.Name + "=" + f.Value + ";")
		}
		return b.String()
	}
	cases := []struct{ raw, want string }{
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: te, Mike, sam, will, close\r\nTE: gzip, trailers\r\nSam: bar\r\nx-request-foo: downstream\r\nWill: baz\r\n\r\n",
			"host=a;connection=te, Mike, sam, will, close;te=trailers;x-request-foo=downstream;"},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: te\r\nTE: gzip\r\n\r\n", "host=a;connection=te;"},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, connection\r\nX-Secret: 1\r\n\r\n", "host=a;connection=keep-alive, connection;x-secret=1;"},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-secret\r\nX-Secret: 1\r\nX-Secret: 2\r\nX-Other: 3\r\n\r\n", "host=a;connection=x-secret;x-other=3;"},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, x-secret\r\nUpgrade: websocket\r\nX-Secret: 1\r\n\r\n", "host=a;connection=Upgrade, x-secret;upgrade=websocket;x-secret=1;"},
	}
	for _, c := range cases {
		req, _, err := read(t, c.raw)
		if err != nil {
			t.Fatalf("%q: %v", c.raw, err)
		}
		if got := fields(req); got != c.want {
			t.Errorf("%q:\n got  %s\n want %s", c.raw, got, c.want)
		}
	}
}
