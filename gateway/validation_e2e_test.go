package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

var builtinEcho = config.Cluster{Name: config.EchoClusterName, Discovery: config.DiscoveryBuiltin, Builtin: config.BuiltinEcho}

// rawExchange sends raw bytes on a new connection and reads one response.
func rawExchange(t *testing.T, g *testGateway, raw string) (*http.Response, string, *bufio.Reader, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response to %q: %v", raw[:min(len(raw), 80)], err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), br, c
}

// closed reports whether the server closed the connection after the response.
func closed(br *bufio.Reader, c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := br.ReadByte()
	return err != nil
}

func requestWithHeaders(path string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: x\r\n", path)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "x-h%d: v\r\n", i)
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestHeaderCountLimitAnswers431(t *testing.T) {
	g := startGateway(t, pathConfig{cluster: builtinEcho}.source())
	if resp, _, _, _ := rawExchange(t, g, requestWithHeaders("/get", 100)); resp.StatusCode != 200 {
		t.Fatalf("100 headers: %d", resp.StatusCode)
	}
	resp, body, br, c := rawExchange(t, g, requestWithHeaders("/many", 101))
	if resp.StatusCode != 431 || body != "Request Header Fields Too Large" || !closed(br, c) {
		t.Fatalf("101 headers: %d %q", resp.StatusCode, body)
	}
	waitAccess(t, g, "/many", "status=431", "details=http1.too_many_headers", "flags=DPE")
}

func TestHTTP10NeedsAcceptHTTP10(t *testing.T) {
	g := startGateway(t, pathConfig{cluster: builtinEcho}.source())
	resp, _, _, _ := rawExchange(t, g, "GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 426 {
		t.Fatalf("HTTP/1.0: %d", resp.StatusCode)
	}
	waitAccess(t, g, "/old", "status=426", "details=low_version")

	g = startGateway(t, pathConfig{cluster: builtinEcho, http: config.HTTPOptions{AcceptHTTP10: true}}.source())
	if resp, _, _, _ := rawExchange(t, g, "GET /get HTTP/1.0\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("HTTP/1.0 accepted: %d", resp.StatusCode)
	}
}

func TestServerAndDateHeaders(t *testing.T) {
	g := startGateway(t, pathConfig{cluster: builtinEcho}.source())
	_, h, _ := get(t, g.url+"/get")
	if h.Get("Server") != "envoy" || h.Get("Date") == "" {
		t.Fatalf("headers %v", h)
	}
	g = startGateway(t, pathConfig{cluster: builtinEcho, settings: config.HTTPSettings{ServerName: "edge", ServerHeader: config.ServerAppendIfAbsent}}.source())
	if _, h, _ := get(t, g.url+"/get"); h.Get("Server") != "edge" {
		t.Fatalf("server %q", h.Get("Server"))
	}
}

func TestPluginReplaceWinsWithAThousandHeaders(t *testing.T) {
	wasm := testwasm.Build(t, "host/testdata/goplugin/scripted")
	p := filePlugin("user", wasm, `{"request_headers":[{"op":"replace_header","map":0,"key":"x-user","val":"from-plugin"},{"op":"return","value":0}]}`)
	g := startGateway(t, pathConfig{cluster: builtinEcho, plugins: []config.Plugin{p},
		http: config.HTTPOptions{MaxHeadersCount: 2000, MaxRequestHeadersKB: 256}}.source())
	// 1,018 headers besides Host fill the plugin's map to the host's limit
	// (4 pseudo-headers, x-forwarded-proto and x-request-id besides): a
	// replace counted as growth would fail.
	raw := requestWithHeaders("/headers", 1018)
	raw = strings.Replace(raw, "Host: x\r\n", "Host: x\r\nx-user: from-client\r\n", 1)
	resp, body, _, _ := rawExchange(t, g, raw)
	if resp.StatusCode != 200 {
		t.Fatalf("1,019 headers with the limit raised: %d %q", resp.StatusCode, body)
	}
	var got struct{ Headers map[string]string }
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Headers["X-User"] != "from-plugin" || got.Headers["X-H999"] != "v" {
		t.Fatalf("upstream saw x-user %q, x-h999 %q; want the plugin's value and every header", got.Headers["X-User"], got.Headers["X-H999"])
	}
	if !strings.Contains(g.logs.String(), "replace_header st=0") {
		t.Fatalf("the replace failed:\n%s", g.logs)
	}
}

func TestContentLengthWithChunkedAnswers400AndCloses(t *testing.T) {
	g := startGateway(t, pathConfig{cluster: builtinEcho}.source())
	// The hidden request after the chunked body's end would be a second
	// request to a proxy that took the chunked framing and a part of the
	// body to one that took the length.
	hidden := "GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n"
	raw := fmt.Sprintf("POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s", 5+len(hidden), hidden)
	resp, body, br, c := rawExchange(t, g, raw)
	if resp.StatusCode != 400 || body != "Bad Request" || !resp.Close || !closed(br, c) {
		t.Fatalf("CL+TE: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	waitAccess(t, g, "/smuggle", "status=400", "details=http1.content_length_and_chunked_not_allowed", "flags=DPE")
	if ls := accessLines(g, "/hidden"); len(ls) != 0 {
		t.Fatalf("the hidden request was served: %v", ls)
	}
	for _, bad := range []struct{ raw, details string }{
		{"POST /twolengths HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "http1.codec_error"},
		{"POST /gzip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "http1.invalid_transfer_encoding"},
		{"GET /fold HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "http1.codec_error"},
	} {
		resp, _, br, c := rawExchange(t, g, bad.raw)
		if resp.StatusCode < 400 || !closed(br, c) {
			t.Fatalf("%q: %d, want a rejection and a close", bad.raw, resp.StatusCode)
		}
		path := strings.Fields(bad.raw)[1]
		waitAccess(t, g, path, "details="+bad.details)
	}

	// Envoy's allow_chunked_length takes the chunked framing and drops the length.
	g = startGateway(t, pathConfig{cluster: builtinEcho, http: config.HTTPOptions{AllowChunkedLength: true}}.source())
	resp, body, _, _ = rawExchange(t, g, "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	if resp.StatusCode != 200 || !strings.Contains(body, `"data": "abc"`) {
		t.Fatalf("allow_chunked_length: %d %s", resp.StatusCode, body)
	}
}

func TestAbsoluteFormTargetIsRoutedByItsPath(t *testing.T) {
	g := startGateway(t, pathConfig{cluster: builtinEcho}.source())
	resp, body, _, _ := rawExchange(t, g, "GET http://other.example/headers?q HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("absolute-form: %d %q", resp.StatusCode, body)
	}
	var got struct{ Headers map[string]string }
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// Envoy's codec takes :authority from the target, as RFC 9112 §3.2.2 says.
	if got.Headers["Host"] != "other.example" {
		t.Fatalf("upstream Host %q", got.Headers["Host"])
	}
	waitAccess(t, g, "/headers?q", "status=200")
}
