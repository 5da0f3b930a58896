package higress

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/wasmgate/wasmgate/config"
)

// specFromYAML decodes the spec of a WasmPlugin given as YAML text.
func specFromYAML(t *testing.T, apiVersion, specYAML string) *WasmPluginSpec {
	t.Helper()
	doc := "apiVersion: " + apiVersion + "\nkind: WasmPlugin\nmetadata: {name: p, namespace: higress-system}\nspec:\n" + specYAML
	docs, err := parseDocuments([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var ps config.Problems
	d := &decoder{file: "test.yaml", ps: &ps}
	w := decodeWasmPlugin(d, apiVersion, docs[0].value.(map[string]any), "p", "higress-system")
	if d.failed || w == nil {
		t.Fatalf("decode failed: %v", ps.Err())
	}
	return &w.Spec
}

// jsonEqual compares two JSON texts semantically (key order and spacing do not matter).
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	if want == "" {
		if len(got) != 0 {
			t.Fatalf("configuration = %s, want empty", got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("configuration %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("configuration mismatch\n got: %s\nwant: %s", got, want)
	}
}

func TestPluginConfigTranslation(t *testing.T) {
	tests := []struct {
		name        string
		api         string
		spec        string
		want        string // JSON, "" for empty bytes
		wantEnabled bool
		wantRule    int // index of the failing rule, -1 for none
	}{
		{
			name: "reference example: default config and three rules in order",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfig: {block_urls: ["swagger.html"]}
  matchRules:
  - ingress: ["default/foo"]
    config: {block_bodies: ["foo"]}
  - domain: ["*.example.com"]
    config: {block_bodies: ["foo","bar"]}
  - service: ["foo.default.svc.cluster.local:8080"]
    config: {block_urls: ["x"]}
`,
			want: `{"block_urls":["swagger.html"],
 "_rules_":[
   {"block_bodies":["foo"],"_match_route_":["default/foo"]},
   {"block_bodies":["foo","bar"],"_match_domain_":["*.example.com"]},
   {"block_urls":["x"],"_match_service_":["foo.default.svc.cluster.local:8080"]}]}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "route-level and domain-level rules of the deployment guide",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfig: {mockEnable: false}
  matchRules:
  - ingress: [default/api-route]
    config: {mockEnable: true, content: "hello api"}
  - domain: ["*.example.com"]
    config: {mockEnable: true, content: "hello example"}
`,
			want: `{"mockEnable":false,"_rules_":[
 {"mockEnable":true,"content":"hello api","_match_route_":["default/api-route"]},
 {"mockEnable":true,"content":"hello example","_match_domain_":["*.example.com"]}]}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "a rule with several conditions keeps all keys; a rule without config gets {}",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  matchRules:
  - ingress: [a, b]
    domain: [x.com]
    service: [s.ns.svc.cluster.local]
`,
			want:        `{"_rules_":[{"_match_route_":["a","b"],"_match_domain_":["x.com"],"_match_service_":["s.ns.svc.cluster.local"]}]}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "configDisable rules are skipped",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfig: {a: 1}
  matchRules:
  - ingress: [r1]
    config: {a: 2}
    configDisable: true
  - ingress: [r2]
    config: {a: 3}
`,
			want:        `{"a":1,"_rules_":[{"a":3,"_match_route_":["r2"]}]}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "_rules_ written in defaultConfig is overwritten by matchRules",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfig:
    a: 1
    _rules_: [{_match_route_: [old], a: 9}]
  matchRules:
  - domain: [new.com]
    config: {a: 2}
`,
			want:        `{"a":1,"_rules_":[{"a":2,"_match_domain_":["new.com"]}]}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "_rules_ written in defaultConfig survives when every rule is disabled",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfig:
    _rules_: [{_match_route_: [old], a: 9}]
  matchRules:
  - domain: [new.com]
    configDisable: true
`,
			want:        `{"_rules_":[{"_match_route_":["old"],"a":9}]}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "defaultConfigDisable with rules keeps only the rules",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfig: {a: 1}
  defaultConfigDisable: true
  matchRules:
  - ingress: [r]
    config: {a: 2}
`,
			want:        `{"_rules_":[{"a":2,"_match_route_":["r"]}]}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "defaultConfigDisable without rules removes the plugin",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfig: {a: 1}
  defaultConfigDisable: true
`,
			wantEnabled: false, wantRule: -1,
		},
		{
			name: "defaultConfigDisable with only disabled rules removes the plugin",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfigDisable: true
  matchRules:
  - ingress: [r]
    configDisable: true
`,
			wantEnabled: false, wantRule: -1,
		},
		{
			name: "a rule without a condition is an error naming the rule",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  matchRules:
  - ingress: [r]
  - config: {a: 1}
`,
			wantRule: 1,
		},
		{
			name: "a disabled rule without a condition is not checked",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  defaultConfig: {a: 1}
  matchRules:
  - config: {a: 2}
    configDisable: true
`,
			want:        `{"a":1}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name:        "no configuration at all delivers empty bytes",
			api:         HigressWasmPluginAPI,
			spec:        "  url: oci://r/p:1\n",
			wantEnabled: true, wantRule: -1,
		},
		{
			name:        "an empty defaultConfig delivers empty bytes (Istio sends an empty Any)",
			api:         HigressWasmPluginAPI,
			spec:        "  url: oci://r/p:1\n  defaultConfig: {}\n",
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "pluginConfig is passed through and the Higress fields are ignored",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  pluginConfig: {raw: true, _rules_: [{_match_route_: [x]}]}
  defaultConfig: {a: 1}
  matchRules:
  - config: {}
`,
			want:        `{"raw":true,"_rules_":[{"_match_route_":["x"]}]}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name:        "Istio pluginConfig",
			api:         IstioWasmPluginAPI,
			spec:        "  url: oci://r/p:1\n  pluginConfig: {x: [1, 2.5, \"<&>\"], big: 12345678901234567890}\n",
			want:        `{"x":[1,2.5,"<&>"],"big":12345678901234567890}`,
			wantEnabled: true, wantRule: -1,
		},
		{
			name: "GRPC routeType replaces the ingress names, as the controller does",
			api:  HigressWasmPluginAPI,
			spec: `  url: oci://r/p:1
  matchRules:
  - ingress: [default/grpc-route]
    routeType: GRPC
    config: {a: 1}
`,
			want:        `{"_rules_":[{"a":1,"_match_route_":["GRPC"]}]}`,
			wantEnabled: true, wantRule: -1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := specFromYAML(t, tc.api, tc.spec)
			got, enabled, err := PluginConfigJSON(spec)
			if tc.wantRule >= 0 {
				var re *RuleError
				if !errors.As(err, &re) || re.Index != tc.wantRule || !errors.Is(err, ErrNoMatchCondition) {
					t.Fatalf("err = %v, want a no-match-condition error at rule %d", err, tc.wantRule)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if enabled != tc.wantEnabled {
				t.Fatalf("enabled = %v, want %v", enabled, tc.wantEnabled)
			}
			jsonEqual(t, got, tc.want)
		})
	}
}

func TestPluginConfigPreservesNumbersAndDoesNotEscapeHTML(t *testing.T) {
	spec := specFromYAML(t, HigressWasmPluginAPI, "  url: oci://r/p:1\n  defaultConfig: {num: 12345678901234567890, f: 0.1, s: \"a<b>&c\"}\n")
	got, _, err := PluginConfigJSON(spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"f":0.1,"num":12345678901234567890,"s":"a<b>&c"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestPluginConfigDoesNotModifySpec(t *testing.T) {
	spec := specFromYAML(t, HigressWasmPluginAPI, "  url: oci://r/p:1\n  defaultConfig: {a: 1}\n  matchRules:\n  - ingress: [r]\n    config: {b: 2}\n")
	for range 2 {
		got, _, err := PluginConfigJSON(spec)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, got, `{"a":1,"_rules_":[{"b":2,"_match_route_":["r"]}]}`)
	}
	if _, ok := spec.DefaultConfig["_rules_"]; ok {
		t.Fatal("defaultConfig was modified")
	}
	if _, ok := spec.MatchRules[0].Config["_match_route_"]; ok {
		t.Fatal("rule config was modified")
	}
}

func TestParseDestination(t *testing.T) {
	tests := []struct {
		in      string
		want    []destination
		wantSum int
		wantErr bool
	}{
		{in: "github.dns", want: []destination{{weight: 100, host: "github.dns"}}, wantSum: 100},
		{in: "redis-svc.dns:6379", want: []destination{{weight: 100, host: "redis-svc.dns", port: 6379}}, wantSum: 100},
		{in: "100% my-svc.DEFAULT-GROUP.xxxx.nacos:8080 v1",
			want: []destination{{weight: 100, host: "my-svc.DEFAULT-GROUP.xxxx.nacos", port: 8080, subset: "v1"}}, wantSum: 100},
		{in: "50% a.static\n\n50% b.dns:443\n",
			want: []destination{{weight: 50, host: "a.static"}, {weight: 50, host: "b.dns", port: 443}}, wantSum: 100},
		{in: "30% a.static", want: []destination{{weight: 30, host: "a.static"}}, wantSum: 30},
		// A suffix that is not a valid port stays part of the host, as in Higress.
		{in: "a.dns:99999", want: []destination{{weight: 100, host: "a.dns:99999"}}, wantSum: 100},
		{in: "x% a.dns", wantErr: true},
		{in: "50%", wantErr: true},
		{in: "  \n", wantErr: true},
	}
	for _, tc := range tests {
		got, sum, err := parseDestination(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseDestination(%q) err = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (!reflect.DeepEqual(got, tc.want) || sum != tc.wantSum) {
			t.Errorf("parseDestination(%q) = %+v (sum %d), want %+v (sum %d)", tc.in, got, sum, tc.want, tc.wantSum)
		}
	}
}

func TestResolveSource(t *testing.T) {
	exists := map[string]bool{"/data-dir/wasmplugins/a.wasm": true, "/opt/x.wasm": true}
	r := &sourceResolver{dataDir: "/data-dir", dataMount: "/data", stat: func(p string) error {
		if exists[p] {
			return nil
		}
		return errors.New("missing")
	}}
	tests := []struct {
		url      string
		want     config.PluginSource
		wantNote bool
		wantErr  string
	}{
		{url: "file:///opt/x.wasm", want: config.PluginSource{Kind: config.SourceFile, Path: "/opt/x.wasm"}},
		{url: "file:///data/wasmplugins/a.wasm", want: config.PluginSource{Kind: config.SourceFile, Path: "/data-dir/wasmplugins/a.wasm"}, wantNote: true},
		{url: "file:///data/wasmplugins/missing.wasm", want: config.PluginSource{Kind: config.SourceFile, Path: "/data/wasmplugins/missing.wasm"}},
		{url: "file://rel/x.wasm", want: config.PluginSource{Kind: config.SourceFile, Path: "/yaml/dir/rel/x.wasm"}},
		{url: "./x.wasm", want: config.PluginSource{Kind: config.SourceFile, Path: "/yaml/dir/x.wasm"}},
		{url: "../x.wasm", want: config.PluginSource{Kind: config.SourceFile, Path: "/yaml/x.wasm"}},
		{url: "plugin.wasm", want: config.PluginSource{Kind: config.SourceFile, Path: "/yaml/dir/plugin.wasm"}},
		{url: "/abs/plugin.wasm", want: config.PluginSource{Kind: config.SourceFile, Path: "/abs/plugin.wasm"}},
		{url: "https://h/p.wasm", want: config.PluginSource{Kind: config.SourceHTTP, URL: "https://h/p.wasm"}},
		{url: "http://h/p.wasm", want: config.PluginSource{Kind: config.SourceHTTP, URL: "http://h/p.wasm"}},
		{url: "oci://reg.io/plugins/a:1.0", want: config.PluginSource{Kind: config.SourceOCI, URL: "reg.io/plugins/a:1.0"}},
		{url: "reg.io/plugins/a:1.0", want: config.PluginSource{Kind: config.SourceOCI, URL: "reg.io/plugins/a:1.0"}},
		{url: "localhost:5000/plugins/a.wasm:1", want: config.PluginSource{Kind: config.SourceOCI, URL: "localhost:5000/plugins/a.wasm:1"}},
		{url: "ftp://h/p.wasm", wantErr: `unsupported URL scheme "ftp" (want file, http, https or oci)`},
		{url: "oci://", wantErr: "oci:// URL has no image reference"},
	}
	for _, tc := range tests {
		got, note, err := r.resolve(tc.url, "/yaml/dir")
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("resolve(%q) err = %v, want %q", tc.url, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) || (note != "") != tc.wantNote {
			t.Errorf("resolve(%q) = %+v, note %q, err %v; want %+v, note %v", tc.url, got, note, err, tc.want, tc.wantNote)
		}
	}
}

func TestCheckDigest(t *testing.T) {
	d := "0e5bd6d69d4ecfd2f8e4e5a8a44baf5e0e04e8b0c3f47d01bb3d47b3f3a8b3b2"
	if err := checkDigest("oci://r/p@sha256:"+d, d); err != nil {
		t.Errorf("matching digest: %v", err)
	}
	if err := checkDigest("oci://r/p:1", d); err != nil {
		t.Errorf("no digest in url: %v", err)
	}
	if err := checkDigest("oci://r/p@sha256:"+d, "1"+d[1:]); err == nil {
		t.Error("mismatching digest accepted")
	}
}

func TestParseWasmPlugins(t *testing.T) {
	data := []byte(`apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: a, namespace: higress-system}
spec: {url: oci://r/a:1, phase: AUTHN, priority: 7, defaultConfig: {x: 1}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: b, namespace: istio-system}
spec: {url: oci://r/b:1, failStrategy: FAIL_RELOAD, pluginConfig: {yy: 2}}
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: c}
spec: {url: oci://r/c:1, priority: 3000000000}
`)
	ws, ps := ParseWasmPlugins("plugin.yaml", data)
	if got := problemStrings(ps, config.SeverityError); len(got) != 1 ||
		got[0] != "plugin.yaml: document 4: spec.priority: 3000000000 is out of range -2147483648-2147483647" {
		t.Fatalf("errors = %q", got)
	}
	if len(ws) != 2 || ws[0].Name != "a" || ws[0].Spec.Phase != config.PhaseAuthn || *ws[0].Spec.Priority != 7 ||
		ws[1].Name != "b" || !ws[1].IsIstio() || ws[1].Spec.FailStrategy != config.FailReload {
		t.Fatalf("plugins = %+v", ws)
	}
	got, _, err := PluginConfigJSON(&ws[1].Spec)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, got, `{"yy":2}`)
}
