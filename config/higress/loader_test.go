package higress

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

func problemStrings(ps config.Problems, sev config.Severity) []string {
	var out []string
	for _, p := range ps {
		if p.Severity == sev {
			out = append(out, p.Error())
		}
	}
	return out
}

func pluginByKey(t *testing.T, cfg *config.Config, key string) *config.Plugin {
	t.Helper()
	for i := range cfg.Listeners[0].Plugins {
		if p := &cfg.Listeners[0].Plugins[i]; p.Key() == key {
			return p
		}
	}
	t.Fatalf("plugin %q not loaded", key)
	return nil
}

func chainKeys(cfg *config.Config) []string {
	var out []string
	for _, p := range cfg.Listeners[0].Plugins {
		out = append(out, p.Key())
	}
	return out
}

func TestLoadStandaloneDataDir(t *testing.T) {
	dir := filepath.Join("testdata", "standalone")
	abs, _ := filepath.Abs(dir)
	res := Load(dir, Options{})
	if err := res.Problems.Err(); err != nil {
		t.Fatalf("unexpected errors: %v", err)
	}
	wantWarnings := []string{
		"wasmplugins/my-plugin.yaml: spec.url: /data/wasmplugins/my-plugin.wasm does not exist here; using " +
			filepath.Join(abs, "wasmplugins", "my-plugin.wasm") + " (the data directory is mounted at /data in the Higress container)",
	}
	if got := problemStrings(res.Problems, config.SeverityWarning); !slices.Equal(got, wantWarnings) {
		t.Fatalf("warnings:\n got %q\nwant %q", got, wantWarnings)
	}
	cfg := res.Config
	if cfg.Source != "higress" || len(cfg.Listeners) != 1 || cfg.Listeners[0].Address != config.DefaultListen {
		t.Fatalf("listener = %+v", cfg.Listeners)
	}
	if cfg.Listeners[0].ChainOrder != config.ChainByPhase {
		t.Fatal("chain order not marked as by phase")
	}

	// Chain: AUTHN (priority 200: my-plugin, redis-demo by name), AUTHZ (request-block),
	// STATS (stats-logger), UNSPECIFIED (my-plugin-rules).
	wantChain := []string{
		"higress-system/my-plugin", "higress-system/redis-demo", "higress-system/request-block",
		"higress-system/stats-logger", "higress-system/my-plugin-rules",
	}
	if got := chainKeys(cfg); !slices.Equal(got, wantChain) {
		t.Fatalf("chain:\n got %q\nwant %q", got, wantChain)
	}

	my := pluginByKey(t, cfg, "higress-system/my-plugin")
	jsonEqual(t, my.Configuration, `{"some_field":"hello"}`)
	if my.Phase != config.PhaseAuthn || !my.HasPriority || my.Priority != 200 || my.FailStrategy != config.FailOpen {
		t.Errorf("my-plugin phase/priority/fail = %v/%d/%v", my.Phase, my.Priority, my.FailStrategy)
	}
	if my.Source.Kind != config.SourceFile || my.Source.Path != filepath.Join(abs, "wasmplugins", "my-plugin.wasm") {
		t.Errorf("my-plugin source = %+v", my.Source)
	}
	if my.URL != "file:///data/wasmplugins/my-plugin.wasm" || my.LogName() != "higress-system.my-plugin" {
		t.Errorf("my-plugin url %q, log name %q", my.URL, my.LogName())
	}
	if my.Origin.File != "wasmplugins/my-plugin.yaml" {
		t.Errorf("my-plugin origin = %+v", my.Origin)
	}

	rules := pluginByKey(t, cfg, "higress-system/my-plugin-rules")
	jsonEqual(t, rules.Configuration, `{"mockEnable":false,"_rules_":[
		{"mockEnable":true,"content":"hello api","_match_route_":["default/api-route"]},
		{"mockEnable":true,"content":"hello example","_match_domain_":["*.example.com"]}]}`)
	if rules.Source.Kind != config.SourceOCI || rules.Source.URL != "your-registry.com/plugins/my-plugin:1.0.0" {
		t.Errorf("rules source = %+v", rules.Source)
	}

	redis := pluginByKey(t, cfg, "higress-system/redis-demo")
	jsonEqual(t, redis.Configuration, `{"redis":{"service_name":"redis-svc","service_port":6379,"timeout":2000},"qpm":10}`)
	if redis.RootID != "redis-demo-root" || redis.Env["REDIS_MODE"] != "local" || !slices.Equal(redis.HostEnvKeys, []string{"HOME"}) {
		t.Errorf("redis-demo root %q env %v host env %v", redis.RootID, redis.Env, redis.HostEnvKeys)
	}
	if redis.Source.Path != filepath.Join(abs, "wasmplugins", "redis-demo.wasm") {
		t.Errorf("relative url resolved to %q", redis.Source.Path)
	}

	block := pluginByKey(t, cfg, "higress-system/request-block")
	jsonEqual(t, block.Configuration, `{"block_urls":["swagger.html"],"_rules_":[
		{"block_bodies":["foo"],"_match_route_":["default/foo"]},
		{"block_bodies":["foo","bar"],"_match_domain_":["*.example.com"]},
		{"block_urls":["x"],"_match_service_":["foo.default.svc.cluster.local:8080"]}]}`)
	if block.Source.Kind != config.SourceOCI || block.ImagePullPolicy != config.PullAlways || block.ImagePullSecret != "my-registry-secret" {
		t.Errorf("request-block = %+v", block)
	}
	if block.Origin.String() != "wasmplugins/stats.yaml: document 2" {
		t.Errorf("request-block origin = %q", block.Origin)
	}

	stats := pluginByKey(t, cfg, "higress-system/stats-logger")
	jsonEqual(t, stats.Configuration, `{"level":"info","_rules_":[{"_match_domain_":["api.example.com"],"level":"debug"}]}`)
	if stats.FailStrategy != config.FailReload || stats.Source.Kind != config.SourceHTTP ||
		stats.SHA256 != "0e5bd6d69d4ecfd2f8e4e5a8a44baf5e0e04e8b0c3f47d01bb3d47b3f3a8b3b2" {
		t.Errorf("stats-logger = %+v", stats)
	}

	// Clusters: McpBridge registries first (in order), then Kubernetes services by name.
	var names []string
	for _, c := range cfg.Clusters {
		names = append(names, c.Name)
	}
	wantClusters := []string{
		"outbound|6379||redis-svc.dns",
		"outbound|80||token-svc.static",
		"outbound|443||github.dns",
		"outbound|8080||httpbin.default.svc.cluster.local",
		"outbound|80||api-v1.default.svc.cluster.local",
	}
	slices.Sort(wantClusters[3:])
	if !slices.Equal(names, wantClusters) {
		t.Fatalf("clusters:\n got %q\nwant %q", names, wantClusters)
	}
	redisCl := cfg.Cluster("outbound|6379||redis-svc.dns")
	if redisCl.Discovery != config.DiscoveryStrictDNS || !slices.Equal(redisCl.Endpoints, []config.Endpoint{{Host: "host.docker.internal", Port: 6379}}) {
		t.Errorf("redis cluster = %+v", redisCl)
	}
	tokenCl := cfg.Cluster("outbound|80||token-svc.static")
	if tokenCl.Discovery != config.DiscoveryStatic ||
		!slices.Equal(tokenCl.Endpoints, []config.Endpoint{{Host: "127.0.0.1", Port: 8001}, {Host: "127.0.0.2", Port: 8002}}) {
		t.Errorf("static cluster = %+v", tokenCl)
	}
	if gh := cfg.Cluster("outbound|443||github.dns"); gh.TLS == nil || gh.TLS.SNI != "api.github.com" {
		t.Errorf("github cluster TLS = %+v", gh.TLS)
	}

	// Routes.
	vhs := cfg.Listeners[0].VirtualHosts
	if len(vhs) != 2 || vhs[0].Name != "api.example.com" || vhs[1].Name != "*" {
		t.Fatalf("virtual hosts = %+v", vhs)
	}
	if !slices.Equal(vhs[0].Domains, []string{"api.example.com", "api.example.com:*"}) {
		t.Errorf("domains = %q", vhs[0].Domains)
	}
	type rt struct {
		name, cluster string
		match         config.PathMatch
		timeout       time.Duration
	}
	var got []rt
	for _, r := range vhs[0].Routes {
		got = append(got, rt{r.Name, r.Cluster, r.Match, r.Timeout})
	}
	want := []rt{
		{"default/api-route", "outbound|80||api-v1.default.svc.cluster.local", config.PathMatch{Kind: config.PathExact, Value: "/v1/health"}, 30 * time.Second},
		{"default/api-route", "outbound|80||api-v1.default.svc.cluster.local", config.PathMatch{Kind: config.PathSeparatedPrefix, Value: "/v1"}, 30 * time.Second},
		{"default/api-route", "outbound|8080||httpbin.default.svc.cluster.local", config.PathMatch{Kind: config.PathPrefix, Value: "/"}, 30 * time.Second},
	}
	if !slices.Equal(got, want) {
		t.Errorf("api.example.com routes:\n got %+v\nwant %+v", got, want)
	}
	star := vhs[1].Routes
	if len(star) != 2 || star[0].Name != "split" || star[1].Name != "github-api" {
		t.Fatalf("* routes = %+v", star)
	}
	if !slices.Equal(star[0].WeightedClusters, []config.WeightedCluster{
		{Name: "outbound|80||token-svc.static", Weight: 80}, {Name: "outbound|6379||redis-svc.dns", Weight: 20}}) {
		t.Errorf("split = %+v", star[0].WeightedClusters)
	}
	if star[1].Cluster != "outbound|443||github.dns" || star[1].HostRewrite != "api.github.com" || star[1].Timeout != config.NoTimeout ||
		star[1].Match != (config.PathMatch{Kind: config.PathSeparatedPrefix, Value: "/api"}) {
		t.Errorf("github-api = %+v", star[1])
	}
	if star[0].Origin.String() != "ingresses/github-api.yaml: document 2: spec.rules[0].http.paths[0]" {
		t.Errorf("split origin = %q", star[0].Origin)
	}
}

func TestLoadBrokenDataDir(t *testing.T) {
	res := Load(filepath.Join("testdata", "broken"), Options{})
	wantErrors := []string{
		"wasmplugins/bad-priority.yaml: spec.priority: must be an integer, not a string",
		"wasmplugins/bad-yaml.yaml: invalid YAML: line 9: did not find expected ',' or ']'",
		"wasmplugins/foo.yaml: spec.matchRules[1]: invalid match rule has no match condition",
		"wasmplugins/missing-url.yaml: spec.url: required: the plugin's module (file://, http(s)://, oci:// or a path)",
		`wasmplugins/multi.yaml: document 2: spec.failStrategy: unknown value "FAIL_RELOAD" (want one of FAIL_CLOSE, FAIL_OPEN)`,
		`wasmplugins/unknown-phase.yaml: spec.phase: unknown value "AUTHX" (want one of UNSPECIFIED_PHASE, AUTHN, AUTHZ, STATS)`,
		"mcpbridges/default.yaml: spec.registries[0].port: 70000 is out of range 1-65535",
		"mcpbridges/default.yaml: spec.registries[1].port: required for a dns registry (1-65535)",
		`mcpbridges/default.yaml: spec.registries[3].domain: static endpoint "10.0.0.1" is not ip:port`,
		"ingresses/bad.yaml: spec.rules[0].http.paths[0].pathType: required (Exact, Prefix or ImplementationSpecific)",
		`ingresses/bad.yaml: spec.rules[0].http.paths[1].backend.service.port: named port "http" needs the Service object, which a data directory does not have; use port.number`,
		`ingresses/bad.yaml: metadata.annotations.higress.io/destination: destination missing.dns: no such registry in mcpbridges/ (a McpBridge named "default" in higress-system with a dns registry named "missing")`,
	}
	if got := problemStrings(res.Problems, config.SeverityError); !slices.Equal(got, wantErrors) {
		t.Errorf("errors:\n got %q\nwant %q", got, wantErrors)
	}
	wantWarnings := []string{
		"wasmplugins/good.yaml: spec.defaultconfig: unknown field, ignored",
		`wasmplugins/other-namespace.yaml: metadata.namespace: not applied: only WasmPlugins in namespace "higress-system" take effect (this one is in "default")`,
		`mcpbridges/default.yaml: spec.registries[2]: registry "my-nacos" of type nacos2 is not supported locally (only dns and static are); its services are not available`,
		"ingresses/bad.yaml: metadata.annotations: not supported locally, ignored: nginx.ingress.kubernetes.io/rewrite-target",
	}
	if got := problemStrings(res.Problems, config.SeverityWarning); !slices.Equal(got, wantWarnings) {
		t.Errorf("warnings:\n got %q\nwant %q", got, wantWarnings)
	}
	// Everything valid still loads.
	if got := chainKeys(res.Config); !slices.Equal(got, []string{"higress-system/good", "higress-system/multi-good"}) {
		t.Errorf("chain = %q", got)
	}
	jsonEqual(t, pluginByKey(t, res.Config, "higress-system/good").Configuration, `{"ok":true}`)
	var clusters []string
	for _, c := range res.Config.Clusters {
		clusters = append(clusters, c.Name)
	}
	if want := []string{"outbound|80||good-static.static", "outbound|6379||good-dns.dns", "outbound|80||s.higress-system.svc.cluster.local"}; !slices.Equal(clusters, want) {
		t.Errorf("clusters = %q, want %q", clusters, want)
	}
	routes := res.Config.Listeners[0].VirtualHosts[0].Routes
	if len(routes) != 1 || routes[0].Name != "bad" || routes[0].Match.Value != "/ok" {
		t.Errorf("routes = %+v", routes)
	}
	// Problems name the object they concern, so the gateway can report them per plugin.
	for _, p := range res.Problems {
		if strings.HasPrefix(p.File, "wasmplugins/foo.yaml") && p.Object != "WasmPlugin higress-system/foo" {
			t.Errorf("problem object = %q", p.Object)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const pluginA = `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: a, namespace: higress-system}
spec:
  url: oci://r/a:1
  defaultConfig: {version: %s}
`

func TestLoaderKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	aPath := filepath.Join(dir, "wasmplugins", "a.yaml")
	bPath := filepath.Join(dir, "wasmplugins", "b.yaml")
	writeFile(t, aPath, strings.Replace(pluginA, "%s", "1", 1))
	writeFile(t, bPath, strings.ReplaceAll(strings.Replace(pluginA, "%s", "1", 1), "name: a", "name: b"))
	l := NewLoader(dir, Options{})

	res := l.Load()
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, pluginByKey(t, res.Config, "higress-system/a").Configuration, `{"version":1}`)

	// a gets a rule without a condition, b is updated: a keeps version 1, b moves to 2.
	writeFile(t, aPath, strings.Replace(pluginA, "%s", "2", 1)+"  matchRules:\n  - config: {x: 1}\n")
	writeFile(t, bPath, strings.ReplaceAll(strings.Replace(pluginA, "%s", "2", 1), "name: a", "name: b"))
	res = l.Load()
	if got := problemStrings(res.Problems, config.SeverityError); !slices.Equal(got, []string{
		"wasmplugins/a.yaml: spec.matchRules[0]: invalid match rule has no match condition"}) {
		t.Fatalf("errors = %q", got)
	}
	if got := problemStrings(res.Problems, config.SeverityWarning); !slices.Equal(got, []string{
		"wasmplugins/a.yaml: keeping the last good version of WasmPlugin higress-system/a"}) {
		t.Fatalf("warnings = %q", got)
	}
	jsonEqual(t, pluginByKey(t, res.Config, "higress-system/a").Configuration, `{"version":1}`)
	jsonEqual(t, pluginByKey(t, res.Config, "higress-system/b").Configuration, `{"version":2}`)

	// A YAML syntax error keeps the whole last good file.
	writeFile(t, aPath, "spec: [broken\n")
	res = l.Load()
	if got := problemStrings(res.Problems, config.SeverityError); len(got) != 1 || !strings.HasPrefix(got[0], "wasmplugins/a.yaml: invalid YAML: line 1:") {
		t.Fatalf("errors = %q", got)
	}
	jsonEqual(t, pluginByKey(t, res.Config, "higress-system/a").Configuration, `{"version":1}`)

	// Fixed: the new version loads.
	writeFile(t, aPath, strings.Replace(pluginA, "%s", "3", 1))
	res = l.Load()
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, pluginByKey(t, res.Config, "higress-system/a").Configuration, `{"version":3}`)

	// Removed: gone, no last good version resurrected.
	if err := os.Remove(aPath); err != nil {
		t.Fatal(err)
	}
	res = l.Load()
	if got := chainKeys(res.Config); !slices.Equal(got, []string{"higress-system/b"}) {
		t.Fatalf("chain after removal = %q", got)
	}
	// A fresh loader has no memory: the broken plugin is simply absent.
	writeFile(t, aPath, strings.Replace(pluginA, "%s", "4", 1)+"  phase: NOPE\n")
	res = Load(dir, Options{})
	if got := chainKeys(res.Config); !slices.Equal(got, []string{"higress-system/b"}) {
		t.Fatalf("chain = %q", got)
	}
}

func TestWasmPluginScopeAndKinds(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wasmplugins", "p.yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: no-namespace}
spec: {url: oci://r/a:1}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: istio-root, namespace: istio-system}
spec: {url: oci://r/a:1, pluginConfig: {a: 1}, priority: 5}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: istio-other, namespace: apps}
spec: {url: oci://r/a:1}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: network, namespace: higress-system}
spec: {url: oci://r/a:1, type: NETWORK}
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: disabled, namespace: higress-system}
spec: {url: oci://r/a:1, defaultConfig: {a: 1}, defaultConfigDisable: true}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: higress-system}
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: disabled, namespace: higress-system}
spec: {url: oci://r/a:2}
`)
	res := Load(dir, Options{})
	wantWarnings := []string{
		`wasmplugins/p.yaml: document 1: metadata.namespace: not applied: only WasmPlugins in namespace "higress-system" take effect (this one is in "default")`,
		`wasmplugins/p.yaml: document 3: metadata.namespace: not applied: only Istio WasmPlugins in "higress-system" or "istio-system" take effect (this one is in "apps")`,
		`wasmplugins/p.yaml: document 4: spec.type: NETWORK plugins are not supported (only HTTP plugins), ignored`,
		`wasmplugins/p.yaml: document 5: spec.defaultConfigDisable: the plugin is not loaded: the default config is disabled and no match rule is enabled (as in Higress)`,
	}
	if got := problemStrings(res.Problems, config.SeverityWarning); !slices.Equal(got, wantWarnings) {
		t.Errorf("warnings:\n got %q\nwant %q", got, wantWarnings)
	}
	wantErrors := []string{
		`wasmplugins/p.yaml: document 7: metadata.name: duplicate WasmPlugin higress-system/disabled (also defined in wasmplugins/p.yaml)`,
	}
	if got := problemStrings(res.Problems, config.SeverityError); !slices.Equal(got, wantErrors) {
		t.Errorf("errors:\n got %q\nwant %q", got, wantErrors)
	}
	if got := chainKeys(res.Config); !slices.Equal(got, []string{"istio-system/istio-root"}) {
		t.Errorf("chain = %q", got)
	}
}

func TestIngressRoutingOrderAndDefaultBackend(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ingresses", "a.yaml"), `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: zeta
  namespace: shop
  annotations: {higress.io/ignore-path-case: "true"}
spec:
  defaultBackend: {service: {name: fallback, port: {number: 80}}}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /a, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}
      - {path: /abc/, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}
      - {path: /abc, pathType: Exact, backend: {service: {name: s, port: {number: 80}}}}
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: root, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: alpha
  namespace: shop
  annotations: {higress.io/use-regex: "true", higress.io/timeout: "5"}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: "/re/[0-9]+", pathType: ImplementationSpecific, backend: {service: {name: r, port: {number: 81}}}}
      - {path: /a, pathType: Prefix, backend: {service: {name: r, port: {number: 81}}}}
`)
	res := Load(dir, Options{})
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}
	vhs := res.Config.Listeners[0].VirtualHosts
	type rt struct {
		name  string
		match config.PathMatch
	}
	summary := func(vh config.VirtualHost) []rt {
		var out []rt
		for _, r := range vh.Routes {
			out = append(out, rt{r.Name, r.Match})
		}
		return out
	}
	if len(vhs) != 2 || vhs[0].Name != "shop.example.com" || vhs[1].Name != "*" {
		t.Fatalf("vhosts = %+v", vhs)
	}
	// Exact first, then prefixes longest first, then regex; the default backend last.
	wantShop := []rt{
		{"shop/zeta", config.PathMatch{Kind: config.PathExact, Value: "/abc", IgnoreCase: true}},
		{"shop/zeta", config.PathMatch{Kind: config.PathSeparatedPrefix, Value: "/abc", IgnoreCase: true}},
		{"shop/zeta", config.PathMatch{Kind: config.PathSeparatedPrefix, Value: "/a", IgnoreCase: true}},
		{"shop/alpha", config.PathMatch{Kind: config.PathRegex, Value: "/re/[0-9]+.*"}},
		{"shop/alpha", config.PathMatch{Kind: config.PathRegex, Value: "/a.*"}},
		{"shop/zeta-default", config.PathMatch{Kind: config.PathPrefix, Value: "/"}},
	}
	if got := summary(vhs[0]); !slices.Equal(got, wantShop) {
		t.Errorf("shop routes:\n got %+v\nwant %+v", got, wantShop)
	}
	// The default backend replaces the catch-all of the "*" host.
	wantStar := []rt{{"shop/zeta-default", config.PathMatch{Kind: config.PathPrefix, Value: "/"}}}
	if got := summary(vhs[1]); !slices.Equal(got, wantStar) {
		t.Errorf("* routes:\n got %+v\nwant %+v", got, wantStar)
	}
	if c := vhs[1].Routes[0].Cluster; c != "outbound|80||fallback.shop.svc.cluster.local" {
		t.Errorf("default backend cluster = %q", c)
	}
	if to := vhs[0].Routes[3].Timeout; to != 5*time.Second {
		t.Errorf("timeout = %v", to)
	}
}

func TestDefaultClusterCatchAll(t *testing.T) {
	dir := t.TempDir()
	echo := config.Cluster{Name: config.EchoClusterName, Discovery: config.DiscoveryBuiltin, Builtin: config.BuiltinEcho}
	res := Load(dir, Options{DefaultCluster: &echo, Listen: "127.0.0.1:18080"})
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}
	l := res.Config.Listeners[0]
	if l.Address != "127.0.0.1:18080" || len(l.VirtualHosts) != 1 || len(l.VirtualHosts[0].Routes) != 1 {
		t.Fatalf("listener = %+v", l)
	}
	if r := l.VirtualHosts[0].Routes[0]; r.Cluster != config.EchoClusterName || r.Match.Value != "/" {
		t.Fatalf("catch-all = %+v", r)
	}
	if res.Config.Cluster(config.EchoClusterName) == nil {
		t.Fatal("echo cluster missing")
	}
}

func TestMissingDataDir(t *testing.T) {
	res := Load(filepath.Join(t.TempDir(), "nope"), Options{})
	if res.Config == nil || len(res.Problems.Errors()) != 1 || !strings.Contains(res.Problems[0].Error(), "cannot read the data directory") {
		t.Fatalf("problems = %v", res.Problems)
	}
}

func TestYAML11BooleanKeysWarn(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wasmplugins", "p.yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: p, namespace: higress-system}
spec:
  url: oci://r/a:1
  defaultConfig:
    y: 1
    "n": 2
    on: 3
`)
	res := Load(dir, Options{})
	want := []string{
		`wasmplugins/p.yaml: line 7: the unquoted key "y" is read as "true" (YAML 1.1, as kubectl reads it); quote it to keep it a string`,
		`wasmplugins/p.yaml: line 9: the unquoted key "on" is read as "true" (YAML 1.1, as kubectl reads it); quote it to keep it a string`,
	}
	if got := problemStrings(res.Problems, config.SeverityWarning); !slices.Equal(got, want) {
		t.Fatalf("warnings:\n got %q\nwant %q", got, want)
	}
	// The configuration is what kubectl would have stored.
	jsonEqual(t, pluginByKey(t, res.Config, "higress-system/p").Configuration, `{"true":3,"n":2}`)
}
