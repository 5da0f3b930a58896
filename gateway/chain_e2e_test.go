package gateway

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// Plugins run by phase (AUTHN, AUTHZ, STATS, UNSPECIFIED), then priority
// (higher first) on the request path, and in reverse on the response path.
func TestChainOrderByPhaseAndPriority(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/tag")
	dir := t.TempDir()
	for _, p := range []struct{ name, phase, priority string }{
		{"d", "UNSPECIFIED_PHASE", "900"},
		{"c", "STATS", "500"},
		{"a", "AUTHN", "10"},
		{"b", "AUTHN", "100"},
		{"z", "AUTHZ", "1"},
	} {
		writeFile(t, filepath.Join(dir, "wasmplugins", p.name+".yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: `+p.name+`, namespace: higress-system}
spec:
  phase: `+p.phase+`
  priority: `+p.priority+`
  url: file://`+wasm+`
  defaultConfig: {name: `+p.name+`}
`)
	}
	g := startGateway(t, dataDirSource(dir))
	code, h, body := get(t, g.url+"/headers")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if got := echoHeaders(t, body)["X-Chain"]; got != "b,a,z,c,d" {
		t.Fatalf("request order %q, want b,a,z,c,d", got)
	}
	if got := strings.Join(h.Values("X-Chain"), ","); got != "d,c,z,a,b" {
		t.Fatalf("response order %q, want d,c,z,a,b", got)
	}
}
