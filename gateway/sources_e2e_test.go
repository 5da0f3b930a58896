package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/envoy"
	"github.com/wasmgate/wasmgate/config/higress"
	"github.com/wasmgate/wasmgate/gateway/echo"
	"github.com/wasmgate/wasmgate/internal/testservers"
	"github.com/wasmgate/wasmgate/internal/testwasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var echoCluster = config.Cluster{Name: config.EchoClusterName, Discovery: config.DiscoveryBuiltin, Builtin: config.BuiltinEcho}

func dataDirSource(dir string) Source {
	def := echoCluster
	return SourceFunc(higress.NewLoader(dir, higress.Options{DefaultCluster: &def}).Load)
}

// The seed-002 flow: a WasmPlugin and a McpBridge dns registry for Redis.
func TestDataDirRedisThroughDnsCluster(t *testing.T) {
	wasm := testwasm.Build(t, "examples/redis-dns")
	r := testservers.StartRedis(t)
	r.Do(t, "SET greeting hello-from-redis")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mcpbridges/default.yaml"), `apiVersion: networking.higress.io/v1
kind: McpBridge
metadata:
  name: default
  namespace: higress-system
spec:
  registries:
  - domain: 127.0.0.1
    name: redis-svc
    port: `+strconv.Itoa(r.Port)+`
    type: dns
`)
	writeFile(t, filepath.Join(dir, "wasmplugins/redis-dns.yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata:
  name: redis-dns
  namespace: higress-system
spec:
  priority: 200
  phase: AUTHN
  failStrategy: FAIL_OPEN
  url: file://`+wasm+`
  defaultConfig:
    key: greeting
    redis:
      service_name: redis-svc
      service_port: `+strconv.Itoa(r.Port)+`
      timeout: 2000
  defaultConfigDisable: false
`)
	g := startGateway(t, dataDirSource(dir))
	g.gw.SetPluginLogLevel(types.LogLevelWarn) // Higress's default: plugin info logs hidden

	code, _, body := get(t, g.url+"/headers")
	if code != 200 || echoHeaders(t, body)["X-Redis-Value"] != "hello-from-redis" {
		t.Fatalf("status %d body %s", code, body)
	}
	if strings.Contains(g.logs.String(), "redis value of greeting") {
		t.Fatal("info log shown at warn level")
	}

	_, _, dump := get(t, g.admin+"/config_dump")
	if !strings.Contains(dump, `"service_name": "redis-svc"`) || !strings.Contains(dump, `"key": "greeting"`) {
		t.Fatalf("config_dump lacks the plugin configuration:\n%s", dump)
	}
	if !strings.Contains(dump, "outbound|"+strconv.Itoa(r.Port)+"||redis-svc.dns") {
		t.Fatalf("config_dump lacks the redis cluster:\n%s", dump)
	}

	resp, err := http.Post(g.admin+"/logging?wasm=info", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	get(t, g.url+"/headers")
	waitFor(t, "the plugin's info log", func() bool {
		return strings.Contains(g.logs.String(), "[redis-dns] [nil] [") && strings.Contains(g.logs.String(), "redis value of greeting: hello-from-redis")
	})
}

// The seed-003 matchRules example: route-level and domain-level configs.
func TestDataDirMatchRules(t *testing.T) {
	wasm := testwasm.Build(t, "examples/my-plugin")
	backend := httptest.NewServer(echo.New())
	defer backend.Close()
	host, port := splitAddr(strings.TrimPrefix(backend.URL, "http://"))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mcpbridges/default.yaml"), `apiVersion: networking.higress.io/v1
kind: McpBridge
metadata: {name: default, namespace: higress-system}
spec:
  registries:
  - {name: backend, type: static, domain: "`+host+`:`+strconv.Itoa(port)+`"}
`)
	writeFile(t, filepath.Join(dir, "ingresses/api-route.yaml"), `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api-route
  namespace: default
  annotations:
    higress.io/destination: backend.static:80
spec:
  rules:
  - host: api.local
    http:
      paths:
      - path: /api
        pathType: Prefix
        backend:
          resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}
`)
	writeFile(t, filepath.Join(dir, "wasmplugins/my-plugin.yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata:
  name: my-plugin
  namespace: higress-system
spec:
  defaultConfig:
    mockEnable: false
  matchRules:
  - ingress:
    - default/api-route
    config:
      mockEnable: true
      content: "hello api"
  - domain:
    - "*.example.com"
    config:
      mockEnable: true
      content: "hello example"
  url: file://`+wasm+`
`)
	g := startGateway(t, dataDirSource(dir))
	if code, _, body := get(t, g.url+"/api/x", "Host", "api.local"); code != 200 || body != "hello api" {
		t.Fatalf("route rule: %d %q", code, body)
	}
	if code, _, body := get(t, g.url+"/x", "Host", "shop.example.com"); code != 200 || body != "hello example" {
		t.Fatalf("domain rule: %d %q", code, body)
	}
	code, _, body := get(t, g.url+"/headers", "Host", "other.local")
	if code != 200 || echoHeaders(t, body)["Hello"] != "world" {
		t.Fatalf("default config: %d %s", code, body)
	}
	_, _, dump := get(t, g.admin+"/config_dump")
	var d struct {
		Plugins []struct{ Configuration map[string]any }
	}
	if err := json.Unmarshal([]byte(dump), &d); err != nil || len(d.Plugins) != 1 {
		t.Fatalf("config_dump: %v\n%s", err, dump)
	}
	rules, _ := d.Plugins[0].Configuration["_rules_"].([]any)
	if len(rules) != 2 || !strings.Contains(dump, `"_match_route_": [`) || !strings.Contains(dump, `"_match_domain_": [`) {
		t.Fatalf("delivered configuration: %s", dump)
	}
}

// The seeds' envoy.yaml, changed only in the wasm path and httpbin's address.
func TestSeedEnvoyYAML(t *testing.T) {
	wasm := testwasm.Build(t, "examples/my-plugin")
	seed, err := os.ReadFile("../config/envoy/testdata/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(echo.New())
	defer backend.Close()
	_, port := splitAddr(strings.TrimPrefix(backend.URL, "http://"))
	for _, mock := range []bool{false, true} {
		t.Run("mockEnable="+strconv.FormatBool(mock), func(t *testing.T) {
			y := strings.Replace(string(seed), "/etc/envoy/main.wasm", wasm, 1)
			y = strings.Replace(y, "address: httpbin\n                port_value: 80", "address: 127.0.0.1\n                port_value: "+strconv.Itoa(port), 1)
			y = strings.Replace(y, `"mockEnable": false`, `"mockEnable": `+strconv.FormatBool(mock), 1)
			if !strings.Contains(y, "port_value: "+strconv.Itoa(port)) {
				t.Fatal("httpbin address not replaced: the seed file's layout changed")
			}
			path := filepath.Join(t.TempDir(), "envoy.yaml")
			writeFile(t, path, y)
			g := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }))
			code, _, body := get(t, g.url+"/get")
			if mock {
				if code != 200 || body != "hello world" {
					t.Fatalf("mock: %d %q", code, body)
				}
				return
			}
			if code != 200 || echoHeaders(t, body)["Hello"] != "world" {
				t.Fatalf("proxied: %d %s", code, body)
			}
		})
	}
}
