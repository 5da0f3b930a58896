package gateway

import (
	"bufio"
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

func TestBufferedBodiesMetricsAndLimits(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/bodies")
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("bodies", wasm, "")}))

	resp, err := http.Post(g.url+"/post", "text/plain", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The response was upper-cased, so the echoed data reads "ABC!".
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"DATA": "ABC!"`) || !strings.Contains(string(b), `"HEADERS"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}

	big := strings.NewReader(strings.Repeat("x", 2<<20))
	resp, err = http.Post(g.url+"/post", "text/plain", big)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("2 MiB body through a buffering plugin: status %d body %q", resp.StatusCode, b)
	}
	waitFor(t, "413 details", func() bool { return strings.Contains(g.logs.String(), "details=request_payload_too_large") })

	_, _, prom := get(t, g.admin+"/stats/prometheus")
	if !strings.Contains(prom, "\nbodies_requests 2\n") {
		t.Fatalf("plugin metric missing:\n%s", prom)
	}
}

// A client still sending a body the gateway refused reads the refusal: the
// connection closes after the answer as Envoy's delayed close does, not with
// a reset that would destroy the answer in the client's receive buffer.
func TestRefusedBodyAnswerSurvivesTheClose(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/bodies")
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("bodies", wasm, "")}))
	const size = 8 << 20
	for i := range 10 {
		c, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		sent := make(chan error, 1)
		go func() {
			_, err := fmt.Fprintf(c, "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
			chunk := []byte(strings.Repeat("x", 64<<10))
			for n := 0; err == nil && n < size; n += len(chunk) {
				_, err = c.Write(chunk)
			}
			sent <- err
		}()
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("connection %d: reading the answer: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || err != nil {
			t.Fatalf("connection %d: status %d body %q err %v", i, resp.StatusCode, b, err)
		}
		// The whole body went out: the gateway read what it refused.
		if err := <-sent; err != nil {
			t.Fatalf("connection %d: the client could not send its body: %v", i, err)
		}
		// Then the gateway ends the connection with a FIN, not a reset.
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("connection %d: after the answer: %v, want EOF", i, err)
		}
		c.Close()
	}
}
