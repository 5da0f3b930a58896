package higress

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/config"
)

func pluginConfig(t *testing.T, cfg *config.Config, name string) map[string]any {
	t.Helper()
	for _, p := range cfg.Listeners[0].Plugins {
		if p.Name == name {
			var m map[string]any
			if err := json.Unmarshal(p.Configuration, &m); err != nil {
				t.Fatalf("%s configuration %q: %v", name, p.Configuration, err)
			}
			return m
		}
	}
	t.Fatalf("no plugin %s in %+v", name, cfg.Listeners[0].Plugins)
	return nil
}

// TestSecretReferences: ${secret.NS/NAME.KEY} and ${secret.NAME.KEY} in a WasmPlugin's spec
// resolve to the data of Secrets from the secrets/ folder or any other file; a missing one is
// an error naming file, field and reference, and the plugin keeps its last good version.
func TestSecretReferences(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "secrets", "keys.yaml"), `apiVersion: v1
kind: Secret
metadata: {name: api-keys, namespace: higress-system}
data:
  token: czNjcjN0     # "s3cr3t"
  plugin_conf.timeout: NTAwMA==
stringData:
  note: plain text
`)
	secretInPluginFile := `apiVersion: v1
kind: Secret
metadata: {name: other, namespace: apps}
stringData: {user: alice}
---
`
	plugin := `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: uses-secrets, namespace: higress-system}
spec:
  url: oci://r/a:1
  defaultConfig:
    token: "Bearer ${secret.api-keys.token}"
    timeout: ${secret.higress-system/api-keys.plugin_conf.timeout}
    note: ${secret.api-keys.note}
    user: ${secret.apps/other.user}
    untouched: ${env.HOME.x}
`
	writeFile(t, filepath.Join(dir, "wasmplugins", "a.yaml"), secretInPluginFile+plugin)
	writeFile(t, filepath.Join(dir, "wasmplugins", "b.yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: plain, namespace: higress-system}
spec: {url: oci://r/b:1, defaultConfig: {k: v}}
`)
	l := NewLoader(dir, Options{})
	res := l.Load()
	if len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	got := pluginConfig(t, res.Config, "uses-secrets")
	want := map[string]any{"token": "Bearer s3cr3t", "timeout": "5000", "note": "plain text", "user": "alice", "untouched": "${env.HOME.x}"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if !slices.Equal(res.Config.Secrets, []string{"5000", "alice", "plain text", "s3cr3t"}) {
		t.Errorf("secret values = %q", res.Config.Secrets)
	}
	if !slices.Contains(res.Files, filepath.Join(l.dir, "secrets", "keys.yaml")) {
		t.Errorf("the secrets folder is watched: %v", res.Files)
	}

	// The key goes missing: an error naming file, field and reference; the last good version
	// stays, and the other plugin is untouched.
	writeFile(t, filepath.Join(dir, "secrets", "keys.yaml"), `apiVersion: v1
kind: Secret
metadata: {name: api-keys, namespace: higress-system}
stringData: {note: plain text, plugin_conf.timeout: "5000"}
`)
	res = l.Load()
	errs := problemStrings(res.Problems, config.SeverityError)
	wantErr := `wasmplugins/a.yaml: document 2: spec.defaultConfig.token: ${secret.api-keys.token}: Secret higress-system/api-keys has no key "token" (it has "note", "plugin_conf.timeout")`
	if !slices.Equal(errs, []string{wantErr}) {
		t.Errorf("errors:\n got %q\nwant %q", errs, wantErr)
	}
	if got := pluginConfig(t, res.Config, "uses-secrets"); got["token"] != "Bearer s3cr3t" {
		t.Errorf("the last good version is kept: %v", got)
	}
	if got := pluginConfig(t, res.Config, "plain"); got["k"] != "v" {
		t.Errorf("other plugin: %v", got)
	}
	if !slices.Contains(res.Config.Secrets, "s3cr3t") {
		t.Errorf("the kept version's secrets are still redacted: %q", res.Config.Secrets)
	}

	// A Secret that does not exist at all.
	writeFile(t, filepath.Join(dir, "secrets", "keys.yaml"), `apiVersion: v1
kind: Secret
metadata: {name: api-keys, namespace: higress-system}
stringData: {note: "x", plugin_conf.timeout: "1", token: "t"}
`)
	writeFile(t, filepath.Join(dir, "wasmplugins", "a.yaml"), strings.Replace(plugin, "${secret.apps/other.user}", "${secret.apps/gone.user}", 1))
	res = Load(dir, Options{})
	errs = problemStrings(res.Problems, config.SeverityError)
	wantErr = `wasmplugins/a.yaml: spec.defaultConfig.user: ${secret.apps/gone.user}: no Secret apps/gone in the data directory (add one, e.g. in secrets/)`
	if !slices.Equal(errs, []string{wantErr}) {
		t.Errorf("errors:\n got %q\nwant %q", errs, wantErr)
	}
}

func TestSecretErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "secrets", "bad.yaml"), `apiVersion: v1
kind: Secret
metadata: {name: bad, namespace: higress-system}
data: {k: "not base64!"}
---
apiVersion: v1
kind: Secret
metadata: {name: bad, namespace: higress-system}
type: Opaque
stringData: {k: v}
`)
	writeFile(t, filepath.Join(dir, "wasmplugins", "q.yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: quote, namespace: higress-system}
spec: {url: oci://r/a:1, defaultConfig: {k: "${secret.q.v}"}}
---
apiVersion: v1
kind: Secret
metadata: {name: q, namespace: higress-system}
stringData: {v: 'a"b'}
`)
	res := Load(dir, Options{})
	errs := problemStrings(res.Problems, config.SeverityError)
	want := []string{
		`wasmplugins/q.yaml: document 1: spec.defaultConfig.k: the spec is not valid JSON once the references are replaced (a value with a quote or backslash breaks it, as in Higress): invalid character 'b' after object key:value pair`,
		`secrets/bad.yaml: document 1: data.k: not base64: illegal base64 data at input byte 3 (use stringData for plain text)`,
		`secrets/bad.yaml: document 2: metadata.name: duplicate Secret higress-system/bad (also defined in secrets/bad.yaml)`,
	}
	if !slices.Equal(errs, want) {
		t.Errorf("errors:\n got %q\nwant %q", errs, want)
	}
}

func TestIngressMatchAnnotations(t *testing.T) {
	dir := t.TempDir()
	ing := func(name, ts string, ann string) string {
		return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ` + name + `
  namespace: default
  creationTimestamp: "` + ts + `"
  annotations:
` + ann + `spec:
  rules:
  - host: a.local
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: svc, port: {number: 80}}}}
`
	}
	writeFile(t, filepath.Join(dir, "ingresses", "i.yaml"), ing("z-old", "2024-01-01T00:00:00Z", "    higress.io/exact-match-header-x-env: prod\n")+"---\n"+
		ing("a-new", "2025-01-01T00:00:00Z", "    higress.io/exact-match-header-x-env: prod\n")+"---\n"+
		ing("b-plain", "2024-06-01T00:00:00Z", "    higress.io/regex-match-query-id: \"[0-9]+\"\n    nginx.ingress.kubernetes.io/exact-match-header-x: \"y\"\n    higress.io/match-method: get POST bogus\n"))
	res := Load(dir, Options{})
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}
	warns := problemStrings(res.Problems, config.SeverityWarning)
	want := []string{
		`ingresses/i.yaml: document 3: metadata.annotations.higress.io/match-method: "BOGUS" is not an HTTP method Higress matches (GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH); ignored`,
		`ingresses/i.yaml: document 3: metadata.annotations.nginx.ingress.kubernetes.io/exact-match-header-x: not a match annotation Higress reads (higress.io/{exact,prefix,regex}-match-header-NAME); ignored`,
		// The older Ingress (by creationTimestamp) takes the route; the same conditions again are a duplicate.
		`ingresses/i.yaml: document 2: spec.rules[0].http.paths[0]: host "a.local" path "/" (Prefix) is already routed by "default/z-old"; this duplicate is ignored`,
	}
	if !slices.Equal(warns, want) {
		t.Errorf("warnings:\n got %q\nwant %q", warns, want)
	}
	// A route with methods comes before one with header conditions (Higress's order).
	routes := res.Config.Listeners[0].VirtualHosts[0].Routes
	if len(routes) != 2 || routes[0].Name != "default/b-plain" || routes[1].Name != "default/z-old" {
		t.Fatalf("routes = %+v", routes)
	}
	h := routes[1].HeaderMatchers
	if len(h) != 1 || h[0].Name != "x-env" || *h[0].Match != (config.StringMatch{Kind: config.MatchExact, Value: "prod"}) {
		t.Errorf("header matchers = %+v", h)
	}
	q, m := routes[0].QueryMatchers, routes[0].HeaderMatchers
	if len(q) != 1 || q[0].Name != "id" || q[0].Match.Kind != config.MatchRegex ||
		len(m) != 1 || m[0].Name != ":method" || m[0].Match.Value != "GET|POST" {
		t.Errorf("query %+v, method %+v", q, m)
	}
}

// TestServiceReferences: services a plugin's configuration names that nothing defines are
// warned about with the plugin, the field and how to declare them; an Endpoints resource
// declares a Kubernetes service's addresses.
func TestServiceReferences(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "services", "known.yaml"), `apiVersion: v1
kind: Endpoints
metadata: {name: known, namespace: default}
subsets:
- addresses: [{ip: 127.0.0.1}, {ip: 127.0.0.2}]
  ports: [{port: 8080, name: http}, {port: 6379}]
`)
	writeFile(t, filepath.Join(dir, "wasmplugins", "p.yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: calls, namespace: higress-system}
spec:
  url: oci://r/a:1
  defaultConfig:
    redis: {serviceName: redis.default.svc.cluster.local, servicePort: 6379}
    auth: http://auth.apps.svc.cluster.local:8080/check
    short: cache.apps.svc
    ok: known.default.svc.cluster.local
    cluster: outbound|8080||known.default.svc.cluster.local
    registry: missing.dns
    text: not a service
`)
	res := Load(dir, Options{})
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}
	warns := problemStrings(res.Problems, config.SeverityWarning)
	prefix := `wasmplugins/p.yaml: spec.defaultConfig.`
	want := []string{
		prefix + `auth: plugin "calls" refers to service auth.apps.svc.cluster.local, which no McpBridge registry, Ingress backend or Endpoints resource of this data directory defines: its calls to it fail with BadArgument (unknown cluster). Declare its addresses locally with an Endpoints resource "auth" in namespace "apps" (services/), or point the plugin at a McpBridge static or dns registry.`,
		prefix + `redis.serviceName: plugin "calls" refers to service redis.default.svc.cluster.local, which no McpBridge registry, Ingress backend or Endpoints resource of this data directory defines: its calls to it fail with BadArgument (unknown cluster). Declare its addresses locally with an Endpoints resource "redis" in namespace "default" (services/), or point the plugin at a McpBridge static or dns registry.`,
		prefix + `registry: plugin "calls" refers to service missing.dns, which no McpBridge registry, Ingress backend or Endpoints resource of this data directory defines: its calls to it fail with BadArgument (unknown cluster). Declare it as a dns registry named "missing" in the McpBridge "default" of higress-system (mcpbridges/).`,
		prefix + `short: plugin "calls" refers to service cache.apps.svc.cluster.local, which no McpBridge registry, Ingress backend or Endpoints resource of this data directory defines: its calls to it fail with BadArgument (unknown cluster). Declare its addresses locally with an Endpoints resource "cache" in namespace "apps" (services/), or point the plugin at a McpBridge static or dns registry.`,
	}
	slices.Sort(warns)
	slices.Sort(want)
	if !slices.Equal(warns, want) {
		t.Errorf("warnings:\n got %q\nwant %q", warns, want)
	}
	c := res.Config.Cluster("outbound|6379||known.default.svc.cluster.local")
	if c == nil || c.Discovery != config.DiscoveryStatic || len(c.Endpoints) != 2 || c.Endpoints[1] != (config.Endpoint{Host: "127.0.0.2", Port: 6379}) {
		t.Errorf("endpoints cluster = %+v", c)
	}
}

// TestResourceFieldsDocumented checks that docs/compatibility.md lists every field of the
// Higress resource tables under its kind.
func TestResourceFieldsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "compatibility.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "### Higress data directory")
	if i < 0 {
		t.Fatal("no Higress section")
	}
	lines := strings.Split(doc[i:], "\n")
	common := withMetadata(map[string]fieldEntry{})
	for kind, table := range resourceFields {
		start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "- `"+kind+"`: ") })
		if start < 0 {
			t.Errorf("no line for %s", kind)
			continue
		}
		block := lines[start]
		for j := start + 1; j < len(lines) && strings.HasPrefix(lines[j], "  - "); j++ {
			block += lines[j]
		}
		for p := range table {
			if c, ok := common[p]; ok && c.note == table[p].note && c.leaf == table[p].leaf {
				continue // listed once for every kind
			}
			if !strings.Contains(block, "`"+p+"`") {
				t.Errorf("docs/compatibility.md does not list %s %s", kind, p)
			}
		}
	}
}

// TestGRPCRegistriesUseHTTP2: McpBridge registries with protocol GRPC and
// GRPCS are reached over HTTP/2 (h2c and h2 over TLS), HTTPS over TLS.
func TestGRPCRegistriesUseHTTP2(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mcpbridges"), 0o755); err != nil {
		t.Fatal(err)
	}
	doc := "apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata: {name: default, namespace: higress-system}\nspec:\n  registries:\n" +
		"  - {name: plain, type: static, domain: 127.0.0.1:1, protocol: grpc}\n" +
		"  - {name: secure, type: static, domain: 127.0.0.1:2, protocol: GRPCS}\n" +
		"  - {name: web, type: static, domain: 127.0.0.1:3, protocol: https}\n"
	if err := os.WriteFile(filepath.Join(dir, "mcpbridges", "default.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	res := Load(dir, Options{})
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]bool{"plain": {true, false}, "secure": {true, true}, "web": {false, true}}
	for _, c := range res.Config.Clusters {
		for name, w := range want {
			if strings.Contains(c.Name, name+".static") {
				if c.HTTP2 != w[0] || (c.TLS != nil) != w[1] {
					t.Errorf("%s: HTTP2 %v TLS %v, want %v", c.Name, c.HTTP2, c.TLS != nil, w)
				}
				delete(want, name)
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("clusters missing: %v in %v", want, res.Config.Clusters)
	}
}
