package gateway

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/internal/testwasm"
)

func wasmPluginYAML(name, wasm, domain, content string, priority int) string {
	return `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata:
  name: ` + name + `
  namespace: higress-system
spec:
  priority: ` + itoaT(priority) + `
  url: file://` + wasm + `
  defaultConfigDisable: true
  matchRules:
  - domain: ["` + domain + `"]
    config:
      mockEnable: true
      content: "` + content + `"
`
}

// One plugin's bad configuration never blocks another plugin's update.
func TestBadPluginDoesNotBlockOthers(t *testing.T) {
	wasm := testwasm.Build(t, "examples/my-plugin")
	httpCall := testwasm.Build(t, "examples/http-call")
	dir := t.TempDir()
	a := filepath.Join(dir, "wasmplugins/a.yaml")
	b := filepath.Join(dir, "wasmplugins/b.yaml")
	c := filepath.Join(dir, "wasmplugins/c.yaml")
	writeFile(t, a, wasmPluginYAML("a", wasm, "a.local", "A1", 30))
	writeFile(t, b, wasmPluginYAML("b", wasm, "b.local", "B1", 20))
	writeFile(t, c, `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: c, namespace: higress-system}
spec:
  priority: 10
  url: file://`+httpCall+`
  defaultConfigDisable: true
  matchRules:
  - domain: ["c.local"]
    config: {serviceName: token.static, servicePort: 80, requestPath: /t, tokenHeader: x-token}
`)
	src := dataDirSource(dir)
	g := startGateway(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	done, err := g.gw.StartWatch(ctx, src, src.Load(), filepath.Join(dir, "wasmplugins"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()

	for host, want := range map[string]string{"a.local": "A1", "b.local": "B1"} {
		if code, _, body := get(t, g.url+"/", "Host", host); code != 200 || body != want {
			t.Fatalf("%s: %d %q", host, code, body)
		}
	}
	// a: broken YAML; c: a configuration its plugin rejects; b: a good update.
	writeFile(t, a, "apiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nspec: [unclosed\n")
	writeFile(t, c, strings.Replace(mustRead(t, c), "tokenHeader: x-token", "tokenHeader: \"\"", 1))
	writeFile(t, b, wasmPluginYAML("b", wasm, "b.local", "B2", 20))
	waitFor(t, "b's update", func() bool {
		_, _, body := get(t, g.url+"/", "Host", "b.local")
		return body == "B2"
	})
	if _, _, body := get(t, g.url+"/", "Host", "a.local"); body != "A1" {
		t.Fatalf("a lost its last good configuration: %q", body)
	}
	waitFor(t, "c's start failure in /plugins", func() bool {
		_, _, body := get(t, g.admin+"/plugins")
		var ps []PluginStatus
		_ = json.Unmarshal([]byte(body), &ps)
		for _, p := range ps {
			if strings.HasSuffix(p.Name, "/c") && p.State == "stale" && strings.Contains(p.Error, "c") {
				return true
			}
		}
		return false
	})
	_, _, dump := get(t, g.admin+"/config_dump")
	if !strings.Contains(dump, "a.yaml") {
		t.Fatalf("config_dump does not report the broken file:\n%s", dump)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
