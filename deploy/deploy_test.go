package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wasmgate/wasmgate/pluginspec"
)

const kubectlBin = "/usr/bin/kubectl"

func testSpec(t *testing.T) *pluginspec.Spec {
	t.Helper()
	s, err := pluginspec.Load("testdata/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testOptions(t *testing.T, target string) Options {
	t.Helper()
	cfg, err := LoadConfig("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := LoadMatchRules("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Target:          target,
		URL:             "oci://127.0.0.1:5000/plugins/request-block:1.2.0",
		ImagePullPolicy: "IfNotPresent",
		FailStrategy:    "FAIL_CLOSE",
		Config:          cfg,
		MatchRules:      rules,
		Spec:            testSpec(t),
	}
}

func render(t *testing.T, opts Options) []byte {
	t.Helper()
	obj, _, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// strictDecode parses YAML into a typed struct, refusing unknown fields.
func strictDecode(t *testing.T, y []byte, into any) {
	t.Helper()
	if err := sigsyaml.UnmarshalStrict(y, into); err != nil {
		t.Fatalf("generated YAML does not parse as %T: %v\n%s", into, err, y)
	}
}

// crdValidator compiles a testdata schema the way the API server applies a
// structural schema with strict field validation: objects with properties
// and without x-kubernetes-preserve-unknown-fields reject unknown fields.
func crdValidator(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	var strict func(v any) any
	strict = func(v any) any {
		switch m := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, x := range m {
				out[k] = strict(x)
			}
			if _, ok := m["properties"]; ok && m["x-kubernetes-preserve-unknown-fields"] != true {
				if _, set := m["additionalProperties"]; !set {
					out["additionalProperties"] = false
				}
			}
			return out
		case []any:
			out := make([]any, len(m))
			for i, x := range m {
				out[i] = strict(x)
			}
			return out
		}
		return v
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	url := "file:///testdata/" + name
	if err := c.AddResource(url, strict(loadSchema(t, name))); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateYAML(t *testing.T, s *jsonschema.Schema, y []byte) error {
	t.Helper()
	js, err := sigsyaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate(v)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		// Spell out every violation, with its location.
		b, _ := json.Marshal(ve.DetailedOutput())
		return fmt.Errorf("%w: %s", err, b)
	}
	return err
}

func TestHigressManifest(t *testing.T) {
	y := render(t, testOptions(t, TargetHigress))
	var wp HigressWasmPlugin
	strictDecode(t, y, &wp)
	if wp.APIVersion != HigressAPIVersion || wp.Kind != "WasmPlugin" || wp.Metadata.Name != "request-block" || wp.Metadata.Namespace != "higress-system" {
		t.Fatalf("header: %+v", wp)
	}
	s := wp.Spec
	if s.URL != "oci://127.0.0.1:5000/plugins/request-block:1.2.0" || s.Phase != "AUTHZ" || s.Priority == nil || *s.Priority != 320 || s.FailStrategy != "FAIL_CLOSE" || s.ImagePullPolicy != "IfNotPresent" {
		t.Fatalf("spec: %+v", s)
	}
	if s.DefaultConfig["blocked_code"] != float64(403) || len(s.MatchRules) != 3 || s.MatchRules[0].Ingress[0] != "default/foo" || s.MatchRules[1].Config["blocked_code"] != float64(451) {
		t.Fatalf("configs: %+v", s)
	}
	if wp.Metadata.Labels["higress.io/wasm-plugin-name"] != "request-block" || wp.Metadata.Labels["higress.io/wasm-plugin-version"] != "1.2.0" || wp.Metadata.Annotations["higress.io/wasm-plugin-title"] != "Request Block" {
		t.Fatalf("metadata: %+v", wp.Metadata)
	}
	if err := validateYAML(t, crdValidator(t, "higress-wasmplugin.schema.json"), y); err != nil {
		t.Fatalf("manifest violates the Higress CRD schema: %v\n%s", err, y)
	}
	// The CRD check is not vacuous: an unknown field and a bad enum fail.
	bad := bytes.Replace(y, []byte("matchRules:"), []byte("matchRule:"), 1)
	bad = bytes.Replace(bad, []byte("phase: AUTHZ"), []byte("phase: LATE"), 1)
	if err := validateYAML(t, crdValidator(t, "higress-wasmplugin.schema.json"), bad); err == nil || !strings.Contains(err.Error(), "matchRule") || !strings.Contains(err.Error(), "/spec/phase") {
		t.Fatalf("schema check let a broken manifest through: %v", err)
	}
}

func TestIstioManifest(t *testing.T) {
	opts := testOptions(t, TargetIstio)
	opts.Selector = map[string]string{"app": "gateway"}
	opts.FailStrategy = "FAIL_RELOAD"
	y := render(t, opts)
	var wp IstioWasmPlugin
	strictDecode(t, y, &wp)
	if wp.APIVersion != IstioAPIVersion || wp.Metadata.Namespace != "istio-system" || wp.Spec.Selector.MatchLabels["app"] != "gateway" || wp.Spec.FailStrategy != "FAIL_RELOAD" {
		t.Fatalf("manifest: %+v", wp)
	}
	pc := wp.Spec.PluginConfig
	rules, ok := pc["_rules_"].([]any)
	if !ok || len(rules) != 2 || pc["blocked_code"] != float64(403) {
		t.Fatalf("pluginConfig: %#v", pc)
	}
	first := rules[0].(map[string]any)
	if !reflect.DeepEqual(first["_match_route_"], []any{"default/foo"}) || first["blocked_code"] != float64(404) {
		t.Fatalf("first rule: %#v", first)
	}
	if !reflect.DeepEqual(rules[1].(map[string]any)["_match_domain_"], []any{"*.example.com"}) {
		t.Fatalf("second rule: %#v", rules[1])
	}
	if err := validateYAML(t, crdValidator(t, "istio-wasmplugin.schema.json"), y); err != nil {
		t.Fatalf("manifest violates the Istio schema: %v\n%s", err, y)
	}
	// Istio manifests do not parse as Higress ones, and the other way round.
	var hw HigressWasmPlugin
	if err := sigsyaml.UnmarshalStrict(y, &hw); err == nil {
		t.Fatal("an Istio manifest with a selector parsed as a Higress one")
	}
}

func TestTranslateRulesLikeTheController(t *testing.T) {
	// The CR spec → plugin JSON example of the Higress controller.
	got, err := TranslateRules(
		map[string]any{"block_urls": []any{"swagger.html"}, "_rules_": "overwritten"},
		[]MatchRule{
			{Ingress: []string{"default/foo"}, Config: map[string]any{"block_bodies": []any{"foo"}}},
			{Domain: []string{"*.example.com"}, Config: map[string]any{"block_bodies": []any{"foo", "bar"}}},
			{Service: []string{"foo.default.svc.cluster.local:8080"}, Config: map[string]any{"block_urls": []any{"x"}}},
		}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_rules_":[{"_match_route_":["default/foo"],"block_bodies":["foo"]},{"_match_domain_":["*.example.com"],"block_bodies":["foo","bar"]},{"_match_service_":["foo.default.svc.cluster.local:8080"],"block_urls":["x"]}],"block_urls":["swagger.html"]}`
	b, _ := json.Marshal(got)
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	// Disabled global config and no active rule: the plugin is removed.
	off := true
	got, err = TranslateRules(map[string]any{"a": 1}, []MatchRule{{Ingress: []string{"x"}, ConfigDisable: &off}}, true)
	if err != nil || got != nil {
		t.Fatalf("want nil, got %v, %v", got, err)
	}
}

func TestSchemaViolationsNameFields(t *testing.T) {
	opts := testOptions(t, TargetHigress)
	opts.Config = map[string]any{"blocked_code": 100, "block_urls": "swagger.html"}
	opts.MatchRules = append(opts.MatchRules,
		MatchRule{Ingress: []string{"r"}, Config: map[string]any{"blocked_code": "404"}},
		MatchRule{Config: map[string]any{"blocked_code": 403}})
	_, _, err := Build(opts)
	var ve *pluginspec.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"config.blocked_code: must be >= 101",
		"config.block_urls: must be array, not string",
		"matchRules[3].config.blocked_code: must be integer, not string",
		"matchRules[4]: has no match condition",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// Required fields of the global config.
	opts = testOptions(t, TargetHigress)
	opts.Config = map[string]any{"block_urls": []any{"a"}, "blocked_cod": 403}
	_, warnings, err := Build(opts)
	if err == nil || !strings.Contains(err.Error(), "config.blocked_code: is required") {
		t.Fatalf("missing required field: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "config.blocked_cod is not declared") {
		t.Fatalf("typo warning: %v", warnings)
	}
	// Options outside the CRD's enums.
	opts = testOptions(t, TargetHigress)
	opts.Phase, opts.FailStrategy, opts.ImagePullPolicy, opts.SHA256 = "LATE", "FAIL_RELOAD", "Never", "xyz"
	_, _, err = Build(opts)
	for _, want := range []string{"spec.phase", "spec.failStrategy", "spec.imagePullPolicy", "spec.sha256"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error naming %s, got %v", want, err)
		}
	}
}

func TestNoConfigEnablesGlobally(t *testing.T) {
	opts := testOptions(t, TargetHigress)
	opts.Config, opts.MatchRules, opts.Spec = nil, nil, nil
	opts.Name = "bare"
	y := render(t, opts)
	if !strings.Contains(string(y), "defaultConfig: {}") {
		t.Fatalf("want an explicit empty defaultConfig:\n%s", y)
	}
}

func TestLoadMatchRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules, err := LoadMatchRules(write("wrapped.yaml", "matchRules:\n- domain: [a.example]\n  config: {x: 1}\n"))
	if err != nil || len(rules) != 1 || rules[0].Domain[0] != "a.example" {
		t.Fatalf("wrapped: %+v, %v", rules, err)
	}
	if _, err := LoadMatchRules(write("typo.yaml", "- domains: [a.example]\n")); err == nil || !strings.Contains(err.Error(), "domains") {
		t.Fatalf("unknown field: %v", err)
	}
}

func kubectl(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(kubectlBin); err != nil {
		t.Fatalf("kubectl is missing at %s: %v", kubectlBin, err)
	}
	return kubectlBin
}

func TestKubectlDryRunValidatesAgainstCRD(t *testing.T) {
	bin := kubectl(t)
	api := startFakeAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"--kubeconfig", api.kubeconfig, "--cache-dir", t.TempDir(), "--dry-run=client", "--validate=strict"}
	for _, target := range []string{TargetHigress, TargetIstio} {
		y := render(t, testOptions(t, target))
		var out bytes.Buffer
		if err := Apply(ctx, y, ApplyOptions{Kubectl: bin, Args: args, Stdout: &out}); err != nil {
			t.Fatalf("%s: %v\n%s", target, err, y)
		}
		if !strings.Contains(out.String(), "created (dry run)") {
			t.Fatalf("%s: kubectl said %q", target, out.String())
		}
	}
	// kubectl's validator does check the manifest against the schema.
	y := render(t, testOptions(t, TargetHigress))
	bad := bytes.Replace(y, []byte("matchRules:"), []byte("matchRule:"), 1)
	bad = bytes.Replace(bad, []byte("priority: 320"), []byte("priority: high"), 1)
	err := Apply(ctx, bad, ApplyOptions{Kubectl: bin, Args: args})
	if err == nil || !strings.Contains(err.Error(), "matchRule") {
		t.Fatalf("kubectl accepted an unknown field: %v", err)
	}
	t.Logf("kubectl: %v", err)
	if !strings.Contains(err.Error(), "priority") {
		t.Fatalf("kubectl accepted a string priority: %v", err)
	}
	// Apply reports a missing kubectl clearly.
	if err := Apply(ctx, y, ApplyOptions{Kubectl: filepath.Join(t.TempDir(), "kubectl")}); err == nil {
		t.Fatal("a missing kubectl went unnoticed")
	}
}
