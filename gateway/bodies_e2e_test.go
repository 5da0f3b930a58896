package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

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
