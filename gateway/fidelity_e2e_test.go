package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/envoy"
	"github.com/wasmgate/wasmgate/config/flags"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// headerUpstream answers with the request it saw, as JSON, and a server header of its own.
func headerUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs := map[string]string{}
		for k, v := range r.Header {
			hs[strings.ToLower(k)] = strings.Join(v, ",")
		}
		w.Header().Set("Server", "upstream-test")
		w.Header().Set("X-Upstream-Only", "1")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.RequestURI(), "host": r.Host, "headers": hs})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sdkStyleBootstrap is an envoy.yaml in the style of the proxy-wasm SDK examples: lower-case
// enums, 0.0.0.0 addresses (rewritten to loopback by envoyFile), route metadata read by the
// plugin.
const sdkStyleBootstrap = `
static_resources:
  listeners:
    - name: main
      address:
        socket_address: {address: 0.0.0.0, port_value: LISTEN_PORT}
      filter_chains:
        - filters:
            - name: envoy.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress_http
                codec_type: auto
                scheme_header_transformation: {scheme_to_overwrite: https}
                route_config:
                  name: local_route
                  response_headers_to_add:
                    - header: {key: x-global, value: g}
                  virtual_hosts:
                    - name: local_service
                      domains: ["*"]
                      response_headers_to_add:
                        - header: {key: x-upstream-host, value: "%UPSTREAM_HOST%"}
                      routes:
                        - name: secured
                          match: {prefix: "/one"}
                          route: {cluster: web_service}
                          metadata:
                            filter_metadata:
                              envoy.filters.http.wasm: {auth: x-api-key}
                          request_headers_to_add:
                            - header: {key: x-client, value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"}
                            - header: {key: x-from-req, value: "%REQ(x-api-key)%"}
                              append_action: overwrite_if_exists_or_add
                          request_headers_to_remove: [x-drop]
                          response_headers_to_add:
                            - header: {key: x-route, value: "%ROUTE_NAME%"}
                            - header: {key: x-upstream-only, value: replaced}
                              append: false
                          response_headers_to_remove: [x-remove-me]
                        - name: rewritten
                          match:
                            prefix: "/old/"
                            headers: [{name: ":method", string_match: {exact: GET}}]
                          route:
                            cluster: web_service
                            regex_rewrite: {pattern: {regex: "^/old/(.*)$"}, substitution: "/new/\\1"}
                        - name: open
                          match: {prefix: "/"}
                          route: {cluster: web_service}
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                      type_url: type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      value:
                        config:
                          configuration:
                            "@type": type.googleapis.com/google.protobuf.StringValue
                            value: '{"counters": ["custom_header_value_counts_value=foo_reporter=wasmgosdk"]}'
                          vm_config:
                            runtime: "envoy.wasm.runtime.v8"
                            code: {local: {filename: "PLUGIN"}}
                  - name: envoy.filters.http.router
  clusters:
    - name: web_service
      connect_timeout: 0.25s
      type: static
      lb_policy: round_robin
      load_assignment:
        cluster_name: web_service
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: 127.0.0.1, port_value: UPSTREAM_PORT}
stats_config:
  stats_tags:
    - tag_name: value
      regex: '(_value=([a-zA-Z]+))'
    - tag_name: reporter
      regex: '(_reporter=([a-zA-Z]+))'
admin:
  access_log_path: "/dev/null"
  address:
    socket_address: {address: 0.0.0.0, port_value: ADMIN_PORT}
`

// envoyFile writes a bootstrap with its placeholders filled and 0.0.0.0 rewritten to
// loopback, as a test of a published example would.
func envoyFile(t *testing.T, text string, repl ...string) string {
	t.Helper()
	text = strings.ReplaceAll(text, "0.0.0.0", "127.0.0.1")
	text = strings.NewReplacer(repl...).Replace(text)
	path := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func testPort(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	return addr[i+1:]
}

func request(t *testing.T, method, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return testPort(t, l.Addr().String())
}

// promFamilies fetches /stats/prometheus and parses it with the Prometheus text parser.
func promFamilies(t *testing.T, admin string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(admin + "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /stats/prometheus: %v", err)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestEnvoySDKStyleBootstrapServes(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/routeauth")
	up := headerUpstream(t)
	path := envoyFile(t, sdkStyleBootstrap, "LISTEN_PORT", freePort(t), "UPSTREAM_PORT", testPort(t, up.Listener.Addr().String()),
		"ADMIN_PORT", freePort(t), "PLUGIN", wasm)
	res := envoy.LoadFile(path)
	if len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }))
	base := tg.url

	// Route metadata requires x-api-key: the plugin's local reply carries the route's,
	// the virtual host's and the route configuration's response headers, and server: envoy.
	resp, body := request(t, "GET", base+"/one")
	if resp.StatusCode != 401 || body != "missing x-api-key\n" || resp.Header.Get("X-Denied-By") != "routeauth" {
		t.Fatalf("without the header: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp.Header.Get("X-Route") != "secured" || resp.Header.Get("X-Global") != "g" || resp.Header.Get("Server") != "envoy" {
		t.Errorf("local reply headers: %v", resp.Header)
	}
	if v, ok := resp.Header["X-Upstream-Host"]; ok {
		t.Errorf("a local reply has no upstream host, got %q", v)
	}

	resp, body = request(t, "GET", base+"/one", "x-api-key", "k1", "x-drop", "1")
	if resp.StatusCode != 200 {
		t.Fatalf("with the header: %d %q", resp.StatusCode, body)
	}
	var seen struct {
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(body), &seen); err != nil {
		t.Fatal(err)
	}
	if seen.Headers["x-client"] != "127.0.0.1" || seen.Headers["x-from-req"] != "k1" || seen.Headers["x-drop"] != "" {
		t.Errorf("upstream request headers: %v", seen.Headers)
	}
	if seen.Headers["x-forwarded-proto"] != "http" {
		t.Errorf("x-forwarded-proto follows the connection: %v", seen.Headers)
	}
	h := resp.Header
	if h.Get("X-Route") != "secured" || h.Get("X-Global") != "g" || h.Get("X-Upstream-Host") != up.Listener.Addr().String() ||
		h.Get("X-Upstream-Only") != "replaced" || h.Get("Server") != "envoy" {
		t.Errorf("response headers: %v", h)
	}
	if h.Get("X-Seen-Scheme") != "https,https" || h.Get("X-Seen-Vhost") != "local_service" {
		t.Errorf("the plugin saw scheme %q, vhost %q", h.Get("X-Seen-Scheme"), h.Get("X-Seen-Vhost"))
	}

	resp, body = request(t, "GET", base+"/old/a/b?q=1")
	if resp.StatusCode != 200 || !strings.Contains(body, `"path":"/new/a/b?q=1"`) {
		t.Errorf("regex rewrite: %d %s", resp.StatusCode, body)
	}
	resp, body = request(t, "POST", base+"/old/a")
	if resp.StatusCode != 200 || !strings.Contains(body, `"path":"/old/a"`) || resp.Header.Get("X-Route") != "" {
		t.Errorf("a POST is not the GET-only route: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if resp, _ := request(t, "GET", base+"/open"); resp.StatusCode != 200 || resp.Header.Get("X-Route") != "" {
		t.Errorf("open route: %d %v", resp.StatusCode, resp.Header)
	}

	// stats_tags: labels cut out of the plugin's metric name.
	fams := promFamilies(t, tg.admin)
	f := fams["custom_header_value_counts"]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("custom_header_value_counts family: %v", f)
	}
	m := f.GetMetric()[0]
	if l := labelsOf(m); l["value"] != "foo" || l["reporter"] != "wasmgosdk" || len(l) != 2 {
		t.Errorf("labels = %v", l)
	}
	if f.GetType() != dto.MetricType_COUNTER || m.GetCounter().GetValue() != 5 {
		t.Errorf("counter = %v (5 requests)", m)
	}
}

// TestHigressMetricTags: the tags of Higress's bootstrap turn the ai-statistics metric family
// into labelled series.
func TestHigressMetricTags(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/routeauth")
	cfg := `{"counters": ["route.llm.upstream.qwen.model.qwen-max.consumer.alice.metric.input_token",
		"route.llm.upstream.qwen.model.qwen-max.consumer.bob.metric.input_token", "plain_total"]}`
	tg := startGateway(t, flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: wasm, Config: cfg}}}))
	for range 3 {
		if code, _, _ := get(t, tg.url+"/get"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	fams := promFamilies(t, tg.admin)
	f := fams["route_upstream_model_consumer_metric_input_token"]
	if f == nil || len(f.GetMetric()) != 2 {
		t.Fatalf("family: %v (have %v)", f, familyNames(fams))
	}
	consumers := map[string]float64{}
	for _, m := range f.GetMetric() {
		l := labelsOf(m)
		if l["ai_route"] != "llm" || l["ai_cluster"] != "qwen" || l["ai_model"] != "qwen-max" {
			t.Errorf("labels = %v", l)
		}
		consumers[l["ai_consumer"]] = m.GetCounter().GetValue()
	}
	if consumers["alice"] != 3 || consumers["bob"] != 3 {
		t.Errorf("per consumer = %v", consumers)
	}
	if p := fams["plain_total"]; p == nil || len(p.GetMetric()[0].GetLabel()) != 0 {
		t.Errorf("an untagged metric: %v", p)
	}
}

func familyNames(f map[string]*dto.MetricFamily) []string {
	var out []string
	for k := range f {
		out = append(out, k)
	}
	return out
}

// TestHeaderMutationOrder: route, then virtual host, then route configuration; the last
// overwrite wins, unless most_specific_header_mutations_wins.
func TestHeaderMutationOrder(t *testing.T) {
	up := headerUpstream(t)
	for _, mostSpecific := range []bool{false, true} {
		t.Run(strconv.FormatBool(mostSpecific), func(t *testing.T) {
			ep := config.Endpoint{Host: "127.0.0.1"}
			ep.Port, _ = strconv.Atoi(testPort(t, up.Listener.Addr().String()))
			set := func(v string) config.HeaderMutations {
				return config.HeaderMutations{ResponseAdd: []config.HeaderValue{
					{Key: "x-level", Value: v, Format: config.HeaderFormat{{Literal: v}}, Action: config.OverwriteIfExistsOrAdd},
					{Key: "x-all", Value: v, Format: config.HeaderFormat{{Literal: v}}},
				}}
			}
			cfg := &config.Config{
				Clusters: []config.Cluster{{Name: "up", Endpoints: []config.Endpoint{ep}}},
				Listeners: []config.Listener{{Name: "l", Address: "127.0.0.1:0",
					HTTP: config.HTTPSettings{Headers: set("config"), MostSpecificHeaderMutationsWins: mostSpecific,
						ServerHeader: config.ServerPassThrough},
					VirtualHosts: []config.VirtualHost{{Name: "v", Domains: []string{"*"}, Headers: set("vhost"),
						Routes: []config.Route{{Name: "r", Match: config.PathMatch{Kind: config.PathPrefix, Value: "/"}, Cluster: "up", Headers: set("route")}}}}}},
			}
			tg := startGateway(t, SourceFunc(func() *config.Result { return &config.Result{Config: cfg} }))
			code, h, _ := get(t, tg.url+"/")
			want := "config"
			if mostSpecific {
				want = "route"
			}
			if code != 200 || h.Get("X-Level") != want {
				t.Errorf("x-level = %q, want %q", h.Get("X-Level"), want)
			}
			order := "route,vhost,config"
			if mostSpecific {
				order = "config,vhost,route"
			}
			if got := strings.Join(h.Values("X-All"), ","); got != order {
				t.Errorf("x-all = %q, want %q", got, order)
			}
			if h.Get("Server") != "upstream-test" {
				t.Errorf("PASS_THROUGH keeps the upstream's server header: %q", h.Get("Server"))
			}
		})
	}
}

// TestConfigDumpWarnings: the field walk's warnings are listed in /config_dump.
func TestConfigDumpWarnings(t *testing.T) {
	data := []byte(`
static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
    filter_chains:
    - filters:
      - name: hcm
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: x
          tracing: {}
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 204}}]}
          http_filters:
          - name: envoy.filters.http.router
`)
	tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.Parse("inline.yaml", data, "") }))
	resp, body := request(t, "GET", tg.admin+"/config_dump")
	var dump struct {
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(body), &dump); err != nil || resp.StatusCode != 200 {
		t.Fatalf("config_dump: %d %v", resp.StatusCode, err)
	}
	want := "inline.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing (line 12): tracing is not supported by wasmgate; ignored"
	if len(dump.Warnings) != 1 || dump.Warnings[0] != want {
		t.Errorf("warnings = %q", dump.Warnings)
	}
	if r, _ := request(t, "GET", tg.url+"/"); r.StatusCode != 204 || r.Header.Get("Server") != "envoy" {
		t.Errorf("direct response: %d %v", r.StatusCode, r.Header)
	}
}

// TestDataDirSecretReferences: a WasmPlugin's ${secret.…} references reach the plugin
// resolved; one whose Secret is missing is an error naming file, field and reference while
// the other plugins serve; /config_dump redacts the values unless ?include_secrets.
func TestDataDirSecretReferences(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/routeauth")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "secrets/keys.yaml"), `apiVersion: v1
kind: Secret
metadata: {name: api-keys, namespace: higress-system}
data: {token: czNjcjN0LXRva2Vu}
`)
	plugin := func(name, host, reply string) string {
		return `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: ` + name + `, namespace: higress-system}
spec:
  url: file://` + wasm + `
  defaultConfigDisable: true
  matchRules:
  - domain: [` + host + `]
    config: {reply: "` + reply + `"}
`
	}
	writeFile(t, filepath.Join(dir, "wasmplugins/a.yaml"), plugin("uses-secret", "a.example.com", "token=${secret.api-keys.token}"))
	writeFile(t, filepath.Join(dir, "wasmplugins/b.yaml"), plugin("missing-secret", "b.example.com", "${secret.nope.token}"))
	writeFile(t, filepath.Join(dir, "wasmplugins/c.yaml"), plugin("plain", "c.example.com", "plain"))
	tg := startGateway(t, dataDirSource(dir))

	for host, want := range map[string]string{"a.example.com": "token=s3cr3t-token", "c.example.com": "plain"} {
		if code, _, b := get(t, tg.url+"/", "host", host); code != 200 || b != want {
			t.Errorf("%s: %d %q, want %q", host, code, b, want)
		}
	}
	if code, h, _ := get(t, tg.url+"/get", "host", "b.example.com"); code != 200 || h.Get("X-Replied-By") != "" {
		t.Errorf("b (plugin not loaded) reaches the upstream: %d %v", code, h)
	}
	var dump struct {
		Problems []string `json:"problems"`
		Plugins  []struct {
			Name          string          `json:"name"`
			Configuration json.RawMessage `json:"configuration"`
		} `json:"plugins"`
	}
	_, body := request(t, "GET", tg.admin+"/config_dump")
	if err := json.Unmarshal([]byte(body), &dump); err != nil {
		t.Fatal(err)
	}
	wantErr := "error: wasmplugins/b.yaml: spec.matchRules[0].config.reply: ${secret.nope.token}: no Secret higress-system/nope in the data directory (add one, e.g. in secrets/)"
	if !slices.Contains(dump.Problems, wantErr) {
		t.Errorf("problems = %q", dump.Problems)
	}
	if strings.Contains(body, "s3cr3t") || !strings.Contains(body, "token=[redacted]") {
		t.Errorf("config_dump shows the secret: %s", body)
	}
	if _, full := request(t, "GET", tg.admin+"/config_dump?include_secrets"); !strings.Contains(full, "token=s3cr3t-token") {
		t.Errorf("?include_secrets: %s", full)
	}
}

// TestIngressHeaderMatches: several Ingresses on one host and path, told apart by Higress's
// match annotations, route as Higress routes them: the route with more header conditions
// first, then the one with a query condition, the unconditioned catch-all last; methods too.
func TestIngressHeaderMatches(t *testing.T) {
	dir := t.TempDir()
	var registries strings.Builder
	for _, name := range []string{"stable", "canary", "beta", "reader"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, name)
		}))
		t.Cleanup(srv.Close)
		fmt.Fprintf(&registries, "  - {name: %s, type: static, domain: %q}\n", name, srv.Listener.Addr().String())
	}
	writeFile(t, filepath.Join(dir, "mcpbridges/default.yaml"), "apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata: {name: default, namespace: higress-system}\nspec:\n  registries:\n"+registries.String())
	ingress := func(name, path, backend string, annotations ...string) string {
		ann := "    higress.io/destination: " + backend + ".static:80\n"
		for i := 0; i+1 < len(annotations); i += 2 {
			ann += "    " + annotations[i] + ": " + strconv.Quote(annotations[i+1]) + "\n"
		}
		return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ` + name + `
  namespace: default
  annotations:
` + ann + `spec:
  rules:
  - host: shop.local
    http:
      paths:
      - path: ` + path + `
        pathType: Prefix
        backend:
          resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}
`
	}
	// Named so that name order alone would put the catch-all first.
	writeFile(t, filepath.Join(dir, "ingresses/a-stable.yaml"), ingress("a-stable", "/", "stable"))
	writeFile(t, filepath.Join(dir, "ingresses/b-canary.yaml"), ingress("b-canary", "/", "canary",
		"higress.io/exact-match-header-x-canary", "true", "higress.io/prefix-match-header-x-user", "test-"))
	writeFile(t, filepath.Join(dir, "ingresses/c-beta.yaml"), ingress("c-beta", "/", "beta", "higress.io/regex-match-query-beta", "[0-9]+"))
	writeFile(t, filepath.Join(dir, "ingresses/d-reader.yaml"), ingress("d-reader", "/read", "reader", "higress.io/match-method", "GET HEAD"))
	tg := startGateway(t, dataDirSource(dir))
	for _, c := range []struct {
		method, path string
		headers      []string
		want         string
	}{
		{"POST", "/", nil, "stable"},
		{"GET", "/", nil, "stable"},
		{"GET", "/read/x", nil, "reader"},
		{"POST", "/read/x", nil, "stable"},
		{"POST", "/x", []string{"x-canary", "true", "x-user", "test-1"}, "canary"},
		{"POST", "/x", []string{"x-canary", "true"}, "stable"}, // both header conditions must hold
		{"POST", "/x?beta=12", nil, "beta"},
		{"POST", "/x?beta=1a", nil, "stable"},
		{"GET", "/x?beta=12", []string{"x-canary", "true", "x-user", "test-2"}, "canary"},
	} {
		req, _ := http.NewRequest(c.method, tg.url+c.path, nil)
		req.Host = "shop.local"
		for i := 0; i+1 < len(c.headers); i += 2 {
			req.Header.Set(c.headers[i], c.headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != c.want {
			t.Errorf("%s %s %v: %q, want %q", c.method, c.path, c.headers, b, c.want)
		}
	}
}

// TestDataDirPluginServices: a plugin calling a Kubernetes service reaches it through an
// Endpoints resource of the data directory; a service nothing defines is warned about at load
// and its calls are logged with the cluster name asked for.
func TestDataDirPluginServices(t *testing.T) {
	wasm := testwasm.Build(t, "examples/http-call")
	token := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Token", "from-endpoints")
	}))
	defer token.Close()
	host, port := splitAddr(strings.TrimPrefix(token.URL, "http://"))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "services/token.yaml"), fmt.Sprintf(`apiVersion: v1
kind: Endpoints
metadata: {name: token, namespace: default}
subsets:
- addresses: [{ip: %s}]
  ports: [{port: %d}]
`, host, port))
	writeFile(t, filepath.Join(dir, "wasmplugins/calls.yaml"), fmt.Sprintf(`apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: calls, namespace: higress-system}
spec:
  url: file://%s
  defaultConfigDisable: true
  matchRules:
  - domain: [known.local]
    config: {serviceName: token.default.svc.cluster.local, servicePort: %d, requestPath: /token, tokenHeader: x-token}
  - domain: [unknown.local]
    config: {serviceName: gone.default.svc.cluster.local, servicePort: 8080, requestPath: /token, tokenHeader: x-token}
`, wasm, port))
	tg := startGateway(t, dataDirSource(dir))
	code, _, body := get(t, tg.url+"/headers", "host", "known.local")
	if code != 200 || echoHeaders(t, body)["X-Token"] != "from-endpoints" {
		t.Errorf("through the Endpoints resource: %d %s", code, body)
	}
	if code, _, _ := get(t, tg.url+"/headers", "host", "unknown.local"); code != 200 {
		t.Errorf("unknown service: %d", code)
	}
	waitFor(t, "the unknown cluster's log line", func() bool {
		return strings.Contains(tg.logs.String(), `plugin call to an unknown cluster`) &&
			strings.Contains(tg.logs.String(), `cluster=outbound|8080||gone.default.svc.cluster.local`)
	})
	_, dump := request(t, "GET", tg.admin+"/config_dump")
	if !strings.Contains(dump, `spec.matchRules[1].config.serviceName: plugin \"calls\" refers to service gone.default.svc.cluster.local`) {
		t.Errorf("config_dump warnings: %s", dump)
	}
}

// TestRouteRetries: retry_on 5xx sends a request without a body again, at most num_retries
// times; a request with a body is not retried.
func TestRouteRetries(t *testing.T) {
	var attempts atomic.Int32
	failFirst := int32(2)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := attempts.Add(1)
		if n <= failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "busy")
			return
		}
		_, _ = io.WriteString(w, "ok after "+strconv.Itoa(int(n)))
	}))
	defer up.Close()
	ep := config.Endpoint{Host: "127.0.0.1"}
	ep.Port, _ = strconv.Atoi(testPort(t, up.Listener.Addr().String()))
	route := func(retries int) config.Route {
		return config.Route{Name: "r" + strconv.Itoa(retries), Match: config.PathMatch{Kind: config.PathPrefix, Value: "/" + strconv.Itoa(retries)},
			Cluster: "up", Retry: &config.RetryPolicy{RetryOn: []string{"5xx"}, NumRetries: retries}}
	}
	cfg := &config.Config{
		Clusters: []config.Cluster{{Name: "up", Endpoints: []config.Endpoint{ep}}},
		Listeners: []config.Listener{{Name: "l", Address: "127.0.0.1:0",
			VirtualHosts: []config.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []config.Route{route(2), route(1)}}}}},
	}
	tg := startGateway(t, SourceFunc(func() *config.Result { return &config.Result{Config: cfg} }))

	if code, _, b := get(t, tg.url+"/2"); code != 200 || b != "ok after 3" || attempts.Load() != 3 {
		t.Errorf("two retries: %d %q after %d attempts", code, b, attempts.Load())
	}
	attempts.Store(0)
	if code, _, b := get(t, tg.url+"/1"); code != 503 || b != "busy" || attempts.Load() != 2 {
		t.Errorf("one retry: %d %q after %d attempts", code, b, attempts.Load())
	}
	attempts.Store(0)
	resp, err := http.Post(tg.url+"/2", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || attempts.Load() != 1 {
		t.Errorf("a request with a body: %d after %d attempts", resp.StatusCode, attempts.Load())
	}
}
