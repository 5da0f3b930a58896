package envoy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/wasmgate/wasmgate/config"
)

func problems(ps config.Problems, sev config.Severity) []string {
	var out []string
	for _, p := range ps {
		if p.Severity == sev {
			out = append(out, p.Error())
		}
	}
	return out
}

// TestHigressDocsEnvoyYAML loads the envoy.yaml of the Higress local-development docs unchanged.
func TestHigressDocsEnvoyYAML(t *testing.T) {
	res := LoadFile(filepath.Join("testdata", "envoy.yaml"))
	if len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	cfg := res.Config
	if cfg.Source != "envoy" || cfg.AdminAddress != "0.0.0.0:9901" {
		t.Fatalf("source %q admin %q", cfg.Source, cfg.AdminAddress)
	}
	if len(cfg.Listeners) != 1 {
		t.Fatalf("listeners = %d", len(cfg.Listeners))
	}
	l := cfg.Listeners[0]
	if l.Name != "listener_0" || l.Address != "0.0.0.0:10000" || l.ChainOrder != config.ChainAsWritten {
		t.Errorf("listener = %q %q", l.Name, l.Address)
	}
	if len(l.VirtualHosts) != 1 || l.VirtualHosts[0].Name != "local_service" || !slices.Equal(l.VirtualHosts[0].Domains, []string{"*"}) {
		t.Fatalf("virtual hosts = %+v", l.VirtualHosts)
	}
	r := l.VirtualHosts[0].Routes
	if len(r) != 1 || r[0].Cluster != "httpbin" || r[0].Match != (config.PathMatch{Kind: config.PathPrefix, Value: "/"}) ||
		r[0].Timeout != 0 || r[0].EffectiveTimeout() != 15*time.Second {
		t.Errorf("routes = %+v", r)
	}
	if len(l.Plugins) != 1 {
		t.Fatalf("plugins = %+v", l.Plugins)
	}
	p := l.Plugins[0]
	want := config.Plugin{
		Name: "wasmdemo", FilterName: "wasmdemo", URL: "/etc/envoy/main.wasm",
		Source:        config.PluginSource{Kind: config.SourceFile, Path: "/etc/envoy/main.wasm"},
		Runtime:       "envoy.wasm.runtime.v8",
		Configuration: []byte("{\n  \"mockEnable\": false\n}\n"),
		Origin: config.Origin{File: filepath.Join("testdata", "envoy.yaml"),
			Field: "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0] (line 34)"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("plugin:\n got %+v\nwant %+v", p, want)
	}
	if len(cfg.Clusters) != 1 {
		t.Fatalf("clusters = %+v", cfg.Clusters)
	}
	c := cfg.Clusters[0]
	if c.Name != "httpbin" || c.Discovery != config.DiscoveryLogicalDNS || c.ConnectTimeout != 30*time.Second ||
		c.DNSFamily != config.DNSV4Only || !slices.Equal(c.Endpoints, []config.Endpoint{{Host: "httpbin", Port: 80}}) || c.TLS != nil {
		t.Errorf("cluster = %+v", c)
	}
}

func TestFullBootstrap(t *testing.T) {
	path := filepath.Join("testdata", "full.yaml")
	res := LoadFile(path)
	if err := res.Problems.Err(); err != nil {
		t.Fatalf("errors: %v", err)
	}
	wantWarnings := []string{
		path + ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1].typed_config (line 80): type envoy.extensions.filters.http.cors.v3.Cors is not known to wasmgate; this extension is ignored",
		path + ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config.vm_config.code.remote.http_uri.timeout (line 65): timeout is not supported by wasmgate; ignored",
		path + ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config.access_log (line 13): access_log is not supported by wasmgate; ignored",
	}
	if got := problems(res.Problems, config.SeverityWarning); !slices.Equal(got, wantWarnings) {
		t.Errorf("warnings:\n got %q\nwant %q", got, wantWarnings)
	}
	l := res.Config.Listeners[0]
	if l.Address != "127.0.0.1:18000" {
		t.Errorf("address = %q", l.Address)
	}
	api := l.VirtualHosts[0]
	if !slices.Equal(api.Domains, []string{"api.example.com", "*.api.example.com"}) || len(api.Routes) != 3 {
		t.Fatalf("api vhost = %+v", api)
	}
	health, users, v2 := api.Routes[0], api.Routes[1], api.Routes[2]
	if health.Name != "health" || health.Match != (config.PathMatch{Kind: config.PathExact, Value: "/health"}) ||
		health.DirectResponse == nil || health.DirectResponse.Status != 200 || string(health.DirectResponse.Body) != "ok" {
		t.Errorf("health = %+v", health)
	}
	if users.Match != (config.PathMatch{Kind: config.PathRegex, Value: "/users/[0-9]+"}) || users.Cluster != "users" || users.Timeout != 2*time.Second {
		t.Errorf("users = %+v", users)
	}
	if v2.Match != (config.PathMatch{Kind: config.PathSeparatedPrefix, Value: "/v2", IgnoreCase: true}) ||
		!slices.Equal(v2.WeightedClusters, []config.WeightedCluster{{Name: "users", Weight: 90}, {Name: "secure", Weight: 10}}) ||
		v2.Timeout != config.NoTimeout || v2.EffectiveTimeout() != 0 || v2.PrefixRewrite != "/api/v2" || v2.HostRewrite != "internal.example.com" {
		t.Errorf("v2 = %+v", v2)
	}

	if len(l.Plugins) != 2 {
		t.Fatalf("plugins = %+v", l.Plugins)
	}
	auth, stats := l.Plugins[0], l.Plugins[1]
	if auth.Name != "auth" || auth.RootID != "auth_root" || auth.VMID != "shared_vm" || auth.FailStrategy != config.FailOpen ||
		!reflect.DeepEqual(auth.Source, config.PluginSource{Kind: config.SourceHTTP, URL: "https://plugins.example.com/auth.wasm"}) ||
		auth.SHA256 != "0e5bd6d69d4ecfd2f8e4e5a8a44baf5e0e04e8b0c3f47d01bb3d47b3f3a8b3b2" ||
		!reflect.DeepEqual(auth.Env, map[string]string{"MODE": "strict"}) || !slices.Equal(auth.HostEnvKeys, []string{"HOME"}) ||
		string(auth.VMConfiguration) != "vm-config" {
		t.Errorf("auth = %+v", auth)
	}
	// A Struct configuration is delivered as JSON.
	var got, want any
	if err := json.Unmarshal(auth.Configuration, &got); err != nil {
		t.Fatalf("auth configuration %q: %v", auth.Configuration, err)
	}
	_ = json.Unmarshal([]byte(`{"consumers":[{"name":"alice","key":"a<&>"}],"limit":10}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("auth configuration = %s", auth.Configuration)
	}
	abs, _ := filepath.Abs(filepath.Join("testdata", "plugins", "stats.wasm"))
	if stats.Name != "stats" || stats.FailStrategy != config.FailReload || stats.URL != "plugins/stats.wasm" ||
		!reflect.DeepEqual(stats.Source, config.PluginSource{Kind: config.SourceFile, Path: abs}) || len(stats.Configuration) != 0 {
		t.Errorf("stats = %+v", stats)
	}

	users1, secure := res.Config.Cluster("users"), res.Config.Cluster("secure")
	if users1.Discovery != config.DiscoveryStatic || users1.ConnectTimeout != config.DefaultConnectTimeout ||
		!slices.Equal(users1.Endpoints, []config.Endpoint{{Host: "127.0.0.1", Port: 8081}, {Host: "::1", Port: 8082}}) {
		t.Errorf("users cluster = %+v", users1)
	}
	if users1.Endpoints[1].Address() != "[::1]:8082" {
		t.Errorf("address = %q", users1.Endpoints[1].Address())
	}
	caAbs, _ := filepath.Abs(filepath.Join("testdata", "certs", "ca.pem"))
	if secure.Discovery != config.DiscoveryStrictDNS || secure.ConnectTimeout != 1500*time.Millisecond ||
		secure.TLS == nil || !reflect.DeepEqual(*secure.TLS, config.TLS{SNI: "secure.example.com", CAFile: caAbs}) {
		t.Errorf("secure cluster = %+v tls %+v", secure, secure.TLS)
	}
}

func TestBrokenBootstrap(t *testing.T) {
	dir := filepath.Join("testdata", "broken")
	tests := []struct {
		file       string
		wantErrors []string
		wantConfig bool
	}{
		{file: "bad-yaml.yaml", wantErrors: []string{"invalid YAML: line 4: found a tab character that violates indentation"}},
		{file: "unknown-field.yaml", wantErrors: []string{
			`static_resources.clusters[0].conect_timeout (line 4): unknown field "conect_timeout" in envoy.config.cluster.v3.Cluster`}},
		{file: "bad-port.yaml", wantErrors: []string{
			"static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value (line 14): value must be less than or equal to 65535"}},
		{file: "bad-duration.yaml", wantErrors: []string{
			`static_resources.clusters[0].connect_timeout (line 4): invalid google.protobuf.Duration value "30 seconds"`}},
		{file: "bad-wasm.yaml", wantConfig: true, wantErrors: []string{
			`static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.value.config.vm_confg (line 28): unknown field "vm_confg" in envoy.extensions.wasm.v3.PluginConfig`}},
		{file: "unsupported.yaml", wantConfig: true, wantErrors: []string{
			`static_resources.clusters[0].type (line 65): cluster "eds_cluster": type EDS is not supported (want STATIC, STRICT_DNS or LOGICAL_DNS)`,
			`static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters (line 20): listener "no_router": the HTTP filters must end with the router filter (envoy.filters.http.router)`,
			`static_resources.listeners[1].filter_chains[0].filters[0].typed_config (line 32): listener "rds": only an inline route_config is supported (not RDS or scoped routes)`,
			`static_resources.listeners[2].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0] (line 55): route: only route and direct_response actions are supported (not redirects or filter actions)`,
			`static_resources.listeners[2].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1] (line 57): route targets unknown cluster "eds_cluster"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			res := LoadFile(path)
			var want []string
			for _, e := range tc.wantErrors {
				want = append(want, path+": "+e)
			}
			if got := problems(res.Problems, config.SeverityError); !slices.Equal(got, want) {
				t.Errorf("errors:\n got %q\nwant %q", got, want)
			}
			if (res.Config != nil) != tc.wantConfig {
				t.Errorf("config = %v, want a config: %v", res.Config, tc.wantConfig)
			}
		})
	}
	// The usable listener of unsupported.yaml is kept.
	res := LoadFile(filepath.Join(dir, "unsupported.yaml"))
	if len(res.Config.Listeners) != 1 || res.Config.Listeners[0].Name != "ok" || len(res.Config.Listeners[0].VirtualHosts[0].Routes) != 1 {
		t.Errorf("listeners = %+v", res.Config.Listeners)
	}
}

func TestLoadFileMissing(t *testing.T) {
	res := LoadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if res.Config != nil || len(res.Problems.Errors()) != 1 {
		t.Fatalf("result = %+v", res)
	}
}

func TestAnyBytes(t *testing.T) {
	str, _ := anypb.New(wrapperspb.String(`{"a": 1}`))
	byt, _ := anypb.New(wrapperspb.Bytes([]byte{0, 1, 2}))
	st, _ := structpb.NewStruct(map[string]any{"b": "<x>", "a": 1.5})
	sta, _ := anypb.New(st)
	other, _ := anypb.New(wrapperspb.UInt32(7))
	tests := []struct {
		name string
		in   *anypb.Any
		want []byte
	}{
		{"nil", nil, nil},
		{"StringValue raw", str, []byte(`{"a": 1}`)},
		{"BytesValue raw", byt, []byte{0, 1, 2}},
		{"Struct as JSON", sta, []byte(`{"a":1.5,"b":"<x>"}`)},
		{"other types serialized", other, other.GetValue()},
	}
	for _, tc := range tests {
		got, err := anyBytes(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: anyBytes = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"StaticResources": "static_resources", "LbEndpoints": "lb_endpoints", "PortValue": "port_value",
		"Ipv4Compat": "ipv4_compat", "Name": "name",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseUnknownTopLevelTypeIsNotFatal(t *testing.T) {
	data := []byte(`
static_resources:
  clusters:
  - name: c
    type: STATIC
    load_assignment:
      cluster_name: c
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}
    typed_extension_protocol_options:
      some.extension:
        "@type": type.googleapis.com/some.unknown.v1.Options
        x: 1
`)
	res := Parse("inline.yaml", data, "")
	if res.Config == nil || len(res.Config.Clusters) != 1 {
		t.Fatalf("result = %+v", res)
	}
	want := []string{"inline.yaml: static_resources.clusters[0].typed_extension_protocol_options.some.extension (line 13): type some.unknown.v1.Options is not known to wasmgate; this extension is ignored"}
	if got := problems(res.Problems, config.SeverityWarning); !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

func TestTypedStructWrappedHCM(t *testing.T) {
	data := []byte(`
static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
    filter_chains:
    - filters:
      - name: hcm
        typed_config:
          "@type": type.googleapis.com/xds.type.v3.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          value:
            stat_prefix: x
            route_config:
              virtual_hosts:
              - {name: all, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 204}}]}
            http_filters:
            - name: router
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`)
	res := Parse("inline.yaml", data, "")
	if len(res.Problems) != 0 || res.Config == nil || len(res.Config.Listeners) != 1 {
		t.Fatalf("result = %+v, problems %v", res.Config, res.Problems)
	}
	r := res.Config.Listeners[0].VirtualHosts[0].Routes[0]
	if r.DirectResponse == nil || r.DirectResponse.Status != 204 {
		t.Errorf("route = %+v", r)
	}
}

// Envoy accepts HTTP filters and wasm plugins of the same name in one chain: both load, told
// apart by Key ("name", "name#2"), each with the name it was given.
func TestRepeatedPluginNames(t *testing.T) {
	wasmFilter := func(cfg string) string {
		return `
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: '` + cfg + `'}
                        vm_config: {vm_id: shared, code: {local: {inline_string: "x"}}}`
	}
	text := `
static_resources:
  listeners:
    - name: main
      address: {socket_address: {address: 127.0.0.1, port_value: 8080}}
      filter_chains:
        - filters:
            - name: hcm
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: in
                route_config:
                  virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: "/"}, direct_response: {status: 200}}]}]
                http_filters:` + wasmFilter("one") + wasmFilter("two") + `
                  - name: envoy.filters.http.router
`
	path := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	res := LoadFile(path)
	if len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	ps := res.Config.Listeners[0].Plugins
	if len(ps) != 2 || ps[0].Key() != "envoy.filters.http.wasm" || ps[1].Key() != "envoy.filters.http.wasm#2" ||
		ps[1].Name != "envoy.filters.http.wasm" || string(ps[1].Configuration) != "two" {
		t.Fatalf("plugins: %+v", ps)
	}
}
