package pluginspec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

func generate(t *testing.T) *Spec {
	t.Helper()
	s, warnings, err := FromSource("testdata/requestblock", GenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	return s
}

func TestFromSourceInfo(t *testing.T) {
	s := generate(t)
	if s.APIVersion != "1.0.0" || s.Info.Name != "request-block" || s.Info.Category != "security" ||
		s.Info.Title != "Request Block" || s.Info.Version != "1.2.0" ||
		s.Spec.Phase != PhaseAuthz || s.Spec.Priority != 320 {
		t.Fatalf("info/spec: %+v %+v", s.Info, s.Spec)
	}
	if s.Info.XTitleI18n["zh-CN"] != "请求屏蔽" || s.Info.XDescriptionI18n["zh-CN"] != "按 URL、请求头或请求体屏蔽请求。" {
		t.Fatalf("translations: %v %v", s.Info.XTitleI18n, s.Info.XDescriptionI18n)
	}
	if s.Info.Description != "Blocks requests by URL, header or body." || s.Info.Contact == nil || s.Info.Contact.Email != "team@example.com" {
		t.Fatalf("description/contact: %q %+v", s.Info.Description, s.Info.Contact)
	}
}

func TestFromSourceSchema(t *testing.T) {
	root := generate(t).Spec.ConfigSchema.OpenAPIV3Schema
	var names []string
	for _, p := range root.Properties {
		names = append(names, p.Name)
	}
	want := []string{"block_urls", "block_headers", "blocked_code", "blocked_message", "case_sensitive", "mode", "limits", "report", "timeout", "extra", "labels", "ratio", "log", "hidden_key"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("properties\n got %v\nwant %v", names, want)
	}
	get := func(name string) *Schema {
		s, ok := root.Properties.Get(name)
		if !ok {
			t.Fatalf("no property %s", name)
		}
		return s
	}
	if s := get("block_urls"); s.Type != "array" || s.Items.Type != "string" || *s.MinItems != 1 || s.Description != "URL substrings to block." || s.XTitleI18n["zh-CN"] != "屏蔽的 URL" {
		t.Fatalf("block_urls: %+v", s)
	}
	if s := get("blocked_code"); s.Type != "integer" || *s.Minimum != 101 || *s.Maximum != 599 || s.Default != 403 {
		t.Fatalf("blocked_code: %+v", s)
	}
	if s := get("blocked_message"); s.Type != "string" || *s.MaxLength != 64 || s.Example != "blocked" {
		t.Fatalf("blocked_message: %+v", s)
	}
	if s := get("case_sensitive"); s.Type != "boolean" || s.Default != true {
		t.Fatalf("case_sensitive: %+v", s)
	}
	if s := get("mode"); s.Type != "string" || !reflect.DeepEqual(s.Enum, []any{"exact", "prefix", "regexp"}) || !strings.Contains(s.Description, "compared") {
		t.Fatalf("mode: %+v", s)
	}
	lim := get("limits")
	if lim.Type != "object" || lim.AdditionalProperties == nil || lim.AdditionalProperties.Type != "object" {
		t.Fatalf("limits: %+v", lim)
	}
	if req, _ := lim.AdditionalProperties.Properties.Get("requests"); req.Type != "integer" || *req.Minimum != 0 || !reflect.DeepEqual(lim.AdditionalProperties.Required, []string{"requests"}) {
		t.Fatalf("limits.requests: %+v", req)
	}
	rep := get("report")
	if rep.Type != "object" || rep.Scope != "GLOBAL" || !reflect.DeepEqual(rep.Required, []string{"service"}) {
		t.Fatalf("report: %+v", rep)
	}
	if next, _ := rep.Properties.Get("next"); next.Type != "object" || len(next.Properties) != 0 {
		t.Fatalf("recursive report.next: %+v", next)
	}
	if s := get("timeout"); s.Type != "integer" {
		t.Fatalf("timeout: %+v", s)
	}
	if s := get("extra"); s.Type != "object" || s.AdditionalProperties != nil {
		t.Fatalf("extra: %+v", s)
	}
	if s := get("labels"); s.Pattern != "" || s.AdditionalProperties.Pattern != "^[a-z]+$" {
		t.Fatalf("labels: pattern belongs to the values: %+v", s)
	}
	if s := get("ratio"); s.Type != "number" || !s.ExclusiveMinimum {
		t.Fatalf("ratio: %+v", s)
	}
	if !reflect.DeepEqual(root.Required, []string{"blocked_code"}) {
		t.Fatalf("required: %v", root.Required)
	}
	ex, ok := root.Example.(map[string]any)
	if !ok || ex["blocked_code"] != 403 || ex["mode"] != "exact" {
		t.Fatalf("example: %#v", root.Example)
	}
}

func TestGeneratedSpecRoundTrips(t *testing.T) {
	s := generate(t)
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"apiVersion: 1.0.0\n", "info:\n  category: security\n  name: request-block\n", "phase: AUTHZ\n", "openAPIV3Schema:\n"} {
		if !strings.Contains(text, want) {
			t.Fatalf("spec.yaml lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "block_urls:") > strings.Index(text, "blocked_code:") {
		t.Fatalf("properties out of source order:\n%s", text)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := back.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(b2) != text {
		t.Fatalf("marshal/parse/marshal changed the document:\n%s\n---\n%s", text, b2)
	}
	// Deterministic: generating twice gives the same bytes.
	b3, _ := generate(t).Marshal()
	if string(b3) != text {
		t.Fatal("generation is not deterministic")
	}
}

func violations(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	var out []string
	for _, fe := range ve.Errors {
		out = append(out, fe.String())
	}
	return out
}

func TestValidateConfigNamesFields(t *testing.T) {
	s := generate(t)
	cfg := func(y string) any {
		var v any
		if err := sigsyaml.Unmarshal([]byte(y), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := s.ValidateConfig("config", cfg("blocked_code: 404\nblock_urls: [a]\nlimits: {x: {requests: 3}}")); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range []struct{ config, want string }{
		{"blocked_code: 100", "config.blocked_code: must be >= 101"},
		{"blocked_code: 600", "config.blocked_code: must be <= 599"},
		{"block_urls: []", "config.blocked_code: is required"},
		{"blocked_code: 403\nblock_urls: []", "config.block_urls: must have at least 1 items"},
		{"blocked_code: '403'", "config.blocked_code: must be integer, not string"},
		{"blocked_code: 403\nblock_urls: [a, 3]", "config.block_urls[1]: must be string, not number"},
		{"blocked_code: 403\nmode: fuzzy", `config.mode: must be one of "exact", "prefix", "regexp"`},
		{"blocked_code: 403\nlimits: {x: {burst: 1}}", "config.limits.x.requests: is required"},
		{"blocked_code: 403\nreport: {service: UPPER}", "config.report.service: must match the pattern ^[a-z.-]+$"},
		{"blocked_code: 403\nblocked_message: " + strings.Repeat("x", 65), "config.blocked_message: must be at most 64 characters long"},
		{"blocked_code: 403\nratio: 0", "config.ratio: must be > 0"},
	} {
		err := s.ValidateConfig("config", cfg(tc.config))
		got := violations(t, err)
		found := false
		for _, g := range got {
			found = found || g == tc.want
		}
		if !found {
			t.Errorf("config %q: want %q among %q", tc.config, tc.want, got)
		}
	}
	// Several violations are all reported.
	got := violations(t, s.ValidateConfig("matchRules[2].config", cfg("blocked_code: 1\nmode: x")))
	if len(got) != 2 || !strings.HasPrefix(got[0], "matchRules[2].config.blocked_code") {
		t.Fatalf("violations: %v", got)
	}
}

func TestParseConsoleSpec(t *testing.T) {
	// The shape of the Higress console's request-block spec.yaml.
	doc := `apiVersion: 1.0.0
info:
  category: security
  name: request-block/v1
  title: Request Block
  x-title-i18n:
    zh-CN: 请求屏蔽
  version: 1.0.0
spec:
  phase: default
  priority: 320
  configSchema:
    openAPIV3Schema:
      type: object
      properties:
        block_urls: {type: array, items: {type: string, example: [swagger.html]}}
        blocked_code: {type: number, example: [403]}
        case_sensitive: {type: boolean, default: true}
      required: []
      example: {blocked_code: 404, block_urls: [swagger.html]}
`
	s, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if s.PluginName() != "request-block" || s.Spec.Phase != PhaseUnspecified {
		t.Fatalf("name %q phase %q", s.PluginName(), s.Spec.Phase)
	}
	if err := s.ValidateConfig("config", s.Spec.ConfigSchema.OpenAPIV3Schema.Example); err != nil {
		t.Fatalf("the spec's own example: %v", err)
	}
	got := violations(t, s.ValidateConfig("config", map[string]any{"case_sensitive": "yes"}))
	if len(got) != 1 || got[0] != "config.case_sensitive: must be boolean, not string" {
		t.Fatalf("violations: %v", got)
	}
	if _, err := Parse([]byte("apiVersion: 2.0.0\ninfo: {name: x}\n")); err == nil {
		t.Fatal("wrong apiVersion accepted")
	}
}

func TestFromSourceFindsParseFunction(t *testing.T) {
	s, warnings, err := FromSource("testdata/parsefunc", GenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Info.Name != "parsefunc" || len(warnings) != 2 {
		t.Fatalf("name %q warnings %v", s.Info.Name, warnings)
	}
	if _, ok := s.Spec.ConfigSchema.OpenAPIV3Schema.Properties.Get("mockEnable"); !ok {
		t.Fatal("MyConfig not used")
	}
	if _, _, err := FromSource("testdata/parsefunc", GenOptions{Type: "Nope"}); err == nil {
		t.Fatal("unknown --type accepted")
	}
}

func TestFromSourceRejectsBadExample(t *testing.T) {
	dir := t.TempDir()
	src := `package main

// C is the config.
//
// @Name bad
// @Example
// code: 42
// @End
type C struct {
	Code int ` + "`json:\"code\" minimum:\"100\"`" + `
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := FromSource(dir, GenOptions{})
	if err == nil || !strings.Contains(err.Error(), "example.code: must be >= 100") {
		t.Fatalf("want the example rejected naming the field, got %v", err)
	}
}
