package envoy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/wasmgate/wasmgate/config"
)

// TestSDKStyleBootstrap loads an envoy.yaml written as the proxy-wasm SDK examples write them:
// lower-case enums, route metadata, an untyped router filter.
func TestSDKStyleBootstrap(t *testing.T) {
	path := filepath.Join("testdata", "sdk-style.yaml")
	res := LoadFile(path)
	if len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	cfg := res.Config
	if cfg.AdminAddress != "0.0.0.0:8001" {
		t.Errorf("admin = %q", cfg.AdminAddress)
	}
	wantTags := []config.StatsTag{{Name: "value", Regex: `(_value=([a-zA-Z]+))`}, {Name: "reporter", Regex: `(_reporter=([a-zA-Z]+))`}}
	if !reflect.DeepEqual(cfg.StatsTags, wantTags) {
		t.Errorf("stats tags = %+v", cfg.StatsTags)
	}
	c := cfg.Clusters[0]
	if c.Discovery != config.DiscoveryStrictDNS || c.DNSFamily != config.DNSV4Only ||
		!reflect.DeepEqual(c.Metadata, config.Metadata{"location": {"region": "eu"}}) {
		t.Errorf("cluster = %+v", c)
	}
	l := cfg.Listeners[0]
	if !reflect.DeepEqual(l.Metadata, config.Metadata{"envoy.filters.http.wasm": {"listener": "main"}}) {
		t.Errorf("listener metadata = %v", l.Metadata)
	}
	if l.HTTP.ServerHeader != config.ServerAppendIfAbsent || l.HTTP.EffectiveServerName() != "envoy" {
		t.Errorf("http settings = %+v", l.HTTP)
	}
	if len(l.HTTP.Headers.ResponseAdd) != 1 || l.HTTP.Headers.ResponseAdd[0].Key != "x-global" {
		t.Errorf("route config headers = %+v", l.HTTP.Headers)
	}
	if len(l.Plugins) != 1 || l.Plugins[0].FailStrategy != config.FailOpen {
		t.Fatalf("plugins = %+v", l.Plugins)
	}
	vh := l.VirtualHosts[0]
	if !reflect.DeepEqual(vh.Metadata, config.Metadata{"envoy.filters.http.wasm": {"vhost": "local"}}) {
		t.Errorf("vhost metadata = %v", vh.Metadata)
	}
	if got := vh.Headers.ResponseAdd; len(got) != 1 || got[0].Action != config.OverwriteIfExistsOrAdd ||
		!reflect.DeepEqual(got[0].Format, config.HeaderFormat{{Command: "DOWNSTREAM_REMOTE_ADDRESS"}}) {
		t.Errorf("vhost headers = %+v", got)
	}
	r := vh.Routes[0]
	wantMeta := config.Metadata{"envoy.filters.http.wasm": {"auth": "cookie", "limits": []any{1.0, 2.5}}}
	if !reflect.DeepEqual(r.Metadata, wantMeta) {
		t.Errorf("route metadata = %v", r.Metadata)
	}
	if len(r.HeaderMatchers) != 1 || r.HeaderMatchers[0].Name != ":method" || r.HeaderMatchers[0].Match == nil || r.HeaderMatchers[0].Match.Value != "GET" {
		t.Errorf("header matchers = %+v", r.HeaderMatchers)
	}
	add := r.Headers.RequestAdd
	if len(add) != 1 || add[0].Action != config.OverwriteIfExistsOrAdd ||
		!reflect.DeepEqual(add[0].Format, config.HeaderFormat{{Command: "REQ", Arg: "user-agent?x-alt", MaxLen: 5}}) ||
		!slices.Equal(r.Headers.RequestRemove, []string{"x-secret"}) {
		t.Errorf("route headers = %+v", r.Headers)
	}
}

// TestEnumSpellings checks that enum values are read as Envoy reads them: any case, or the
// value's number.
func TestEnumSpellings(t *testing.T) {
	for _, spelling := range []string{"STRICT_DNS", "strict_dns", "Strict_Dns", `"1"`, "1"} {
		data := []byte(`
static_resources:
  clusters:
  - name: c
    type: ` + spelling + `
    load_assignment:
      cluster_name: c
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: localhost, port_value: 1}}}
`)
		res := Parse("inline.yaml", data, "")
		if err := res.Problems.Err(); err != nil || res.Config == nil {
			t.Fatalf("%s: %v", spelling, res.Problems)
		}
		if d := res.Config.Clusters[0].Discovery; d != config.DiscoveryStrictDNS {
			t.Errorf("%s: discovery = %v", spelling, d)
		}
	}
	res := Parse("inline.yaml", []byte("static_resources:\n  clusters:\n  - name: c\n    type: strictdns\n"), "")
	if res.Config != nil || !strings.Contains(res.Problems.Err().Error(), "static_resources.clusters[0].type (line 4)") {
		t.Errorf("a misspelt enum: %v", res.Problems)
	}
}

// TestHandledFieldsResolve checks that every entry of the handled table names a real field.
func TestHandledFieldsResolve(t *testing.T) {
	for name := range handled {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, ok := d.(protoreflect.FieldDescriptor); !ok {
			t.Errorf("%s is not a field", name)
		}
	}
}

// TestEveryFieldAppliedOrWarned feeds a bootstrap that sets many fields, supported and not, and
// checks that each one is either applied to the configuration or warned about by path.
func TestEveryFieldAppliedOrWarned(t *testing.T) {
	path := filepath.Join("testdata", "many-fields.yaml")
	res := LoadFile(path)
	if err := res.Problems.Err(); err != nil {
		t.Fatalf("errors: %v", err)
	}
	var warned []string
	for _, p := range res.Problems.Warnings() {
		f := p.Field
		if i := strings.Index(f, " (line"); i >= 0 {
			f = f[:i]
		}
		warned = append(warned, f)
	}
	const hcm = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config"
	const route = hcm + ".route_config.virtual_hosts[0].routes[0]"
	const cluster = "static_resources.clusters[0]"
	wantWarned := []string{
		"layered_runtime",
		"bootstrap_extensions[1].typed_config", // a type wasmgate does not know
		"stats_config.stats_matcher",
		"admin.profile_path",
		"static_resources.listeners[0].listener_filters",
		"static_resources.listeners[0].listener_filters[0].typed_config", // a type wasmgate does not know
		"static_resources.listeners[0].filter_chains[0].name",
		hcm + ".use_remote_address",
		hcm + ".access_log",
		hcm + ".tracing",
		hcm + ".route_config.virtual_hosts[0].cors",
		hcm + ".route_config.virtual_hosts[0].retry_policy",
		route + ".match.grpc",
		route + ".route.cluster_not_found_response_code",
		route + ".route.retry_policy.retry_on",
		route + ".route.retry_policy.per_try_timeout",
		route + ".route.retry_policy.retry_back_off",
		route + ".route.host_rewrite_header",
		route + ".route.hash_policy",
		route + ".decorator",
		route + ".response_headers_to_add[1].header.value",
		hcm + ".http_filters[0].typed_config.config.vm_config.allow_precompiled",
		hcm + ".http_filters[1].typed_config.suppress_envoy_headers",
		cluster + ".lb_policy",
		cluster + ".circuit_breakers",
		cluster + ".load_assignment.endpoints[0].locality",
		cluster + ".load_assignment.endpoints[0].lb_endpoints[0].metadata",
		cluster + ".transport_socket.typed_config.common_tls_context.tls_params.cipher_suites",
	}
	for _, w := range wantWarned {
		if !slices.Contains(warned, w) {
			t.Errorf("no warning at %s", w)
		}
	}
	for _, w := range warned {
		if !slices.Contains(wantWarned, w) {
			t.Errorf("unexpected warning at %s: %v", w, res.Problems.Warnings())
		}
	}
	// The supported fields of the same file are applied.
	cfg := res.Config
	l := cfg.Listeners[0]
	if l.HTTP.ServerName != "edge" || l.HTTP.SchemeOverwrite != "https" || !l.HTTP.MostSpecificHeaderMutationsWins {
		t.Errorf("http = %+v", l.HTTP)
	}
	r := l.VirtualHosts[0].Routes[0]
	if r.RegexRewrite == nil || r.RegexRewrite.Pattern != "^/old/(.*)$" || r.RegexRewrite.Substitution != `/new/\1` {
		t.Errorf("regex rewrite = %+v", r.RegexRewrite)
	}
	if r.Retry == nil || !slices.Equal(r.Retry.RetryOn, []string{"5xx", "connect-failure"}) || r.Retry.NumRetries != 3 {
		t.Errorf("retry = %+v", r.Retry)
	}
	if len(r.QueryMatchers) != 1 || r.QueryMatchers[0].Name != "debug" || !r.QueryMatchers[0].Present {
		t.Errorf("query matchers = %+v", r.QueryMatchers)
	}
	if len(r.HeaderMatchers) != 2 || r.HeaderMatchers[1].Range == nil || !r.HeaderMatchers[1].Invert {
		t.Errorf("header matchers = %+v", r.HeaderMatchers)
	}
	if cfg.Node.ID != "gw-1" || cfg.Node.Cluster != "edge" {
		t.Errorf("node = %+v", cfg.Node)
	}
	if len(cfg.Services) != 1 || !cfg.Services[0].Singleton || cfg.Services[0].Source.Kind != config.SourceFile {
		t.Errorf("services = %+v", cfg.Services)
	}
	if cfg.Clusters[0].TLS == nil || cfg.Clusters[0].TLS.SNI != "up.example.com" {
		t.Errorf("tls = %+v", cfg.Clusters[0].TLS)
	}
}

func TestHeaderMutationErrors(t *testing.T) {
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
          route_config:
            request_headers_to_add:
            - header: {key: ":path", value: /x}
            - header: {key: x-ok, value: "50%"}
            - header: {key: x-both, value: v}
              append: true
              append_action: ADD_IF_ABSENT
            request_headers_to_remove: [host]
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 204}}]}
          http_filters:
          - name: envoy.filters.http.router
`)
	res := Parse("inline.yaml", data, "")
	got := problems(res.Problems, config.SeverityError)
	want := []string{
		`inline.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.request_headers_to_add[0].header.key (line 14): ":path": pseudo-headers and host may not be modified by header mutations (as in Envoy); use the route's rewrites`,
		`inline.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.request_headers_to_add[1].header.value (line 15): invalid header value "50%": no valid command at position 2 (write %% for a literal %)`,
		`inline.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.request_headers_to_add[2] (line 16): append and append_action are both set, which Envoy rejects`,
		`inline.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.request_headers_to_remove[0] (line 19): "host": pseudo-headers and host may not be removed (as in Envoy)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	if res.Config == nil || len(res.Config.Listeners) != 1 {
		t.Fatalf("the listener is kept: %+v", res.Config)
	}
}

// TestHandledFieldsDocumented checks that docs/compatibility.md lists every field of the
// handled table: applied fields under their message, accepted ones by full name.
func TestHandledFieldsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "compatibility.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for name, rule := range handled {
		s := string(name)
		i := strings.LastIndex(s, ".")
		msg, field := s[:i], s[i+1:]
		if rule.note != "" {
			if !strings.Contains(string(b), "`"+s+"`") {
				t.Errorf("docs/compatibility.md does not list %s (accepted: %s)", s, rule.note)
			}
			continue
		}
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, "- `"+msg+"`: ") && strings.Contains(l, "`"+field+"`") {
				found = true
			}
		}
		if !found {
			t.Errorf("docs/compatibility.md does not list %s under `%s`", field, msg)
		}
	}
}
