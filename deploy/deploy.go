// Package deploy writes WasmPlugin manifests for a plugin image — Higress
// (extensions.higress.io/v1alpha1, with defaultConfig and matchRules) or
// Istio (extensions.istio.io/v1alpha1, with pluginConfig) — after
// validating every configuration against the plugin's spec.yaml schema,
// and applies them with kubectl.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wasmgate/wasmgate/pluginspec"
)

// Targets.
const (
	TargetHigress = "higress"
	TargetIstio   = "istio"
)

// Default namespaces: the Higress controller only reads WasmPlugins in its
// own namespace; Istio applies WasmPlugins in its root namespace to every
// workload.
const (
	DefaultHigressNamespace = "higress-system"
	DefaultIstioNamespace   = "istio-system"
)

// Options describe the WasmPlugin to write.
type Options struct {
	// Target is TargetHigress (default) or TargetIstio.
	Target string
	// Name of the resource; empty means the plugin's name from spec.yaml.
	Name string
	// Namespace; empty means the target's default.
	Namespace string
	// URL of the module or image (oci://…, http(s)://…, file://…).
	URL string
	// SHA256 of the module or image, optional.
	SHA256 string
	// ImagePullPolicy: "", UNSPECIFIED_POLICY, IfNotPresent or Always.
	ImagePullPolicy string
	// ImagePullSecret names a docker-registry Secret in Namespace.
	ImagePullSecret string
	// Phase overrides spec.yaml's phase.
	Phase string
	// Priority overrides spec.yaml's priority.
	Priority *int32
	// FailStrategy: FAIL_CLOSE or FAIL_OPEN (and FAIL_RELOAD for Istio).
	FailStrategy string
	// Config is the global configuration; nil means none given.
	Config map[string]any
	// MatchRules are per-route, per-domain and per-service configurations.
	MatchRules []MatchRule
	// DefaultConfigDisable turns the global configuration off.
	DefaultConfigDisable bool
	// Selector restricts an Istio WasmPlugin to workloads with these labels.
	Selector map[string]string
	// Spec is the plugin's spec.yaml; configurations are validated against
	// its schema. Nil skips validation.
	Spec *pluginspec.Spec
}

var (
	dns1123    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelValue = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	sha256Hex  = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// Build validates the options and returns the manifest object (a
// *HigressWasmPlugin or *IstioWasmPlugin) and warnings. Schema violations
// come back together as a *pluginspec.ValidationError whose paths name the
// field: "config.blocked_code: must be >= 101",
// "matchRules[1].config.block_urls: is required".
func Build(opts Options) (any, []string, error) {
	target := opts.Target
	if target == "" {
		target = TargetHigress
	}
	if target != TargetHigress && target != TargetIstio {
		return nil, nil, fmt.Errorf("unknown target %q (want higress or istio)", target)
	}
	var (
		problems []pluginspec.FieldError
		warnings []string
	)
	bad := func(path, msg string) { problems = append(problems, pluginspec.FieldError{Path: path, Message: msg}) }

	name := opts.Name
	if name == "" && opts.Spec != nil {
		name = opts.Spec.PluginName()
	}
	switch {
	case name == "":
		bad("metadata.name", "is required (give --name, or a spec.yaml with info.name)")
	case len(name) > 253 || !dns1123.MatchString(name):
		bad("metadata.name", fmt.Sprintf("%q is not a valid resource name (lower-case letters, digits, '-' and '.')", name))
	}
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultHigressNamespace
		if target == TargetIstio {
			ns = DefaultIstioNamespace
		}
	}
	if !dns1123.MatchString(ns) || strings.Contains(ns, ".") || len(ns) > 63 {
		bad("metadata.namespace", fmt.Sprintf("%q is not a valid namespace", ns))
	}
	if target == TargetHigress && ns != DefaultHigressNamespace {
		warnings = append(warnings, fmt.Sprintf("the Higress controller reads WasmPlugins only in its own namespace (%s by default); %s is ignored unless the controller runs there", DefaultHigressNamespace, ns))
	}
	if opts.URL == "" {
		bad("spec.url", "is required")
	}
	sum := strings.TrimPrefix(strings.ToLower(opts.SHA256), "sha256:")
	if sum != "" && !sha256Hex.MatchString(sum) {
		bad("spec.sha256", "must be 64 hex digits")
	}
	if i := strings.Index(opts.URL, "@sha256:"); i >= 0 && sum != "" && opts.URL[i+len("@sha256:"):] != sum {
		bad("spec.sha256", "does not match the digest in spec.url")
	}
	switch opts.ImagePullPolicy {
	case "", "UNSPECIFIED_POLICY", "IfNotPresent", "Always":
	default:
		bad("spec.imagePullPolicy", "must be one of UNSPECIFIED_POLICY, IfNotPresent, Always")
	}
	phase := opts.Phase
	if phase == "" && opts.Spec != nil {
		phase = opts.Spec.Spec.Phase
	}
	if phase != "" {
		p, err := pluginspec.NormalizePhase(phase)
		if err != nil {
			bad("spec.phase", "must be one of UNSPECIFIED_PHASE, AUTHN, AUTHZ, STATS")
		}
		phase = p
	}
	priority := opts.Priority
	if priority == nil && opts.Spec != nil {
		p := int32(opts.Spec.Spec.Priority)
		priority = &p
	}
	switch opts.FailStrategy {
	case "", "FAIL_CLOSE", "FAIL_OPEN":
	case "FAIL_RELOAD":
		if target == TargetHigress {
			bad("spec.failStrategy", "FAIL_RELOAD is Istio-only; Higress accepts FAIL_CLOSE or FAIL_OPEN")
		}
	default:
		bad("spec.failStrategy", "must be FAIL_CLOSE or FAIL_OPEN")
	}
	if len(opts.Selector) > 0 && target == TargetHigress {
		bad("spec.selector", "is Istio-only; the Higress controller selects its gateways itself")
	}

	// Configurations against the plugin's schema.
	defaultConfig := opts.Config
	if defaultConfig == nil && len(opts.MatchRules) == 0 && !opts.DefaultConfigDisable {
		// A plugin with no configuration at all is not enabled by Higress;
		// an empty object enables it globally.
		defaultConfig = map[string]any{}
	}
	if opts.Spec != nil {
		global, err := opts.Spec.ConfigValidator()
		if err != nil {
			return nil, nil, err
		}
		route, err := opts.Spec.RouteConfigValidator()
		if err != nil {
			return nil, nil, err
		}
		if defaultConfig != nil && !opts.DefaultConfigDisable {
			problems = append(problems, fieldErrors(global.Validate("config", defaultConfig))...)
			warnings = append(warnings, undeclared(opts.Spec, "config", defaultConfig)...)
		}
		for i, r := range opts.MatchRules {
			if r.ConfigDisable != nil && *r.ConfigDisable {
				continue
			}
			path := fmt.Sprintf("matchRules[%d].config", i)
			problems = append(problems, fieldErrors(route.Validate(path, r.Config))...)
			warnings = append(warnings, undeclared(opts.Spec, path, r.Config)...)
		}
	}
	for i, r := range opts.MatchRules {
		if len(r.Ingress)+len(r.Domain)+len(r.Service) == 0 {
			bad(fmt.Sprintf("matchRules[%d]", i), "has no match condition: give ingress, domain or service (the Higress controller rejects the whole WasmPlugin otherwise)")
		}
	}
	if len(problems) > 0 {
		return nil, warnings, &pluginspec.ValidationError{Errors: problems}
	}

	meta := ObjectMeta{Name: name, Namespace: ns}
	if opts.Spec != nil {
		meta.Labels, meta.Annotations, warnings = specMetadata(opts.Spec, warnings)
	}
	var disable *bool
	if opts.DefaultConfigDisable {
		t := true
		disable = &t
	}
	if target == TargetHigress {
		obj := &HigressWasmPlugin{
			APIVersion: HigressAPIVersion,
			Kind:       Kind,
			Metadata:   meta,
			Spec: HigressWasmPluginSpec{
				URL:                  opts.URL,
				SHA256:               sum,
				ImagePullPolicy:      opts.ImagePullPolicy,
				ImagePullSecret:      opts.ImagePullSecret,
				Phase:                phase,
				Priority:             priority,
				FailStrategy:         opts.FailStrategy,
				DefaultConfig:        defaultConfig,
				DefaultConfigDisable: disable,
				MatchRules:           opts.MatchRules,
			},
		}
		return obj, warnings, nil
	}
	pc, err := TranslateRules(defaultConfig, opts.MatchRules, opts.DefaultConfigDisable)
	if err != nil {
		return nil, warnings, err
	}
	if pc == nil {
		return nil, warnings, errors.New("the global configuration is disabled and no match rule is active: Higress would remove the plugin; there is nothing to deploy")
	}
	obj := &IstioWasmPlugin{
		APIVersion: IstioAPIVersion,
		Kind:       Kind,
		Metadata:   meta,
		Spec: IstioWasmPluginSpec{
			URL:             opts.URL,
			SHA256:          sum,
			ImagePullPolicy: opts.ImagePullPolicy,
			ImagePullSecret: opts.ImagePullSecret,
			Phase:           phase,
			Priority:        priority,
			FailStrategy:    opts.FailStrategy,
			PluginConfig:    pc,
		},
	}
	if len(opts.Selector) > 0 {
		obj.Spec.Selector = &WorkloadSelector{MatchLabels: opts.Selector}
	}
	return obj, warnings, nil
}

func fieldErrors(err error) []pluginspec.FieldError {
	if err == nil {
		return nil
	}
	var ve *pluginspec.ValidationError
	if errors.As(err, &ve) {
		return ve.Errors
	}
	return []pluginspec.FieldError{{Path: "config", Message: err.Error()}}
}

// undeclared warns about top-level keys the schema does not declare
// (usually typos: plugins ignore unknown keys).
func undeclared(s *pluginspec.Spec, path string, config map[string]any) []string {
	cs := s.Spec.ConfigSchema
	if cs == nil || cs.OpenAPIV3Schema == nil || len(cs.OpenAPIV3Schema.Properties) == 0 {
		return nil
	}
	var out []string
	for k := range config {
		if strings.HasPrefix(k, "_") {
			continue
		}
		if _, ok := cs.OpenAPIV3Schema.Properties.Get(k); !ok {
			if rs := s.Spec.RouteConfigSchema; rs != nil && rs.OpenAPIV3Schema != nil {
				if _, ok := rs.OpenAPIV3Schema.Properties.Get(k); ok {
					continue
				}
			}
			out = append(out, fmt.Sprintf("%s.%s is not declared in the plugin's schema (the plugin probably ignores it)", path, k))
		}
	}
	sort.Strings(out)
	return out
}

// specMetadata returns the labels and annotations the Higress console puts
// on plugin resources.
func specMetadata(s *pluginspec.Spec, warnings []string) (map[string]string, map[string]string, []string) {
	labels := map[string]string{"higress.io/wasm-plugin-built-in": "false"}
	for k, v := range map[string]string{
		"higress.io/wasm-plugin-name":     s.PluginName(),
		"higress.io/wasm-plugin-version":  s.Info.Version,
		"higress.io/wasm-plugin-category": s.Info.Category,
	} {
		switch {
		case v == "":
		case len(v) <= 63 && labelValue.MatchString(v):
			labels[k] = v
		default:
			warnings = append(warnings, fmt.Sprintf("label %s left out: %q is not a valid label value", k, v))
		}
	}
	ann := map[string]string{}
	if s.Info.Title != "" {
		ann["higress.io/wasm-plugin-title"] = s.Info.Title
	}
	if s.Info.Description != "" {
		ann["higress.io/wasm-plugin-description"] = s.Info.Description
	}
	if s.Info.IconURL != "" {
		ann["higress.io/wasm-plugin-icon"] = s.Info.IconURL
	}
	if len(ann) == 0 {
		ann = nil
	}
	return labels, ann, warnings
}

// TranslateRules builds the plugin configuration a Higress controller
// derives from defaultConfig and matchRules: the global configuration
// (unless disabled) plus "_rules_", one entry per active rule, each its
// config with "_match_route_", "_match_domain_" and "_match_service_"
// added. It returns nil when nothing is left (Higress then removes the
// plugin). The Istio target uses it, since Istio has no matchRules.
func TranslateRules(defaultConfig map[string]any, rules []MatchRule, defaultConfigDisable bool) (map[string]any, error) {
	out := map[string]any{}
	if !defaultConfigDisable {
		for k, v := range defaultConfig {
			out[k] = v
		}
	}
	var list []any
	for i, r := range rules {
		if r.ConfigDisable != nil && *r.ConfigDisable {
			continue
		}
		if len(r.Ingress)+len(r.Domain)+len(r.Service) == 0 {
			return nil, fmt.Errorf("matchRules[%d]: has no match condition", i)
		}
		entry := map[string]any{}
		for k, v := range r.Config {
			entry[k] = v
		}
		if len(r.Ingress) > 0 {
			entry["_match_route_"] = r.Ingress
		}
		if len(r.Domain) > 0 {
			entry["_match_domain_"] = r.Domain
		}
		if len(r.Service) > 0 {
			entry["_match_service_"] = r.Service
		}
		list = append(list, entry)
	}
	if len(list) > 0 {
		out["_rules_"] = list
	} else if defaultConfigDisable {
		return nil, nil
	}
	return out, nil
}

// Render writes a manifest object as YAML.
func Render(obj any) ([]byte, error) {
	b, err := sigsyaml.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("render manifest: %w", err)
	}
	return b, nil
}

// LoadConfig reads a configuration file (YAML or JSON) holding one object.
func LoadConfig(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	var v any
	if err := sigsyaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("config %s: want an object, got %T", path, v)
	}
	return m, nil
}

// LoadMatchRules reads a match-rules file (YAML or JSON): a list of rules,
// or an object with a matchRules list. Unknown fields are errors.
func LoadMatchRules(path string) ([]MatchRule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load match rules: %w", err)
	}
	js, err := sigsyaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("match rules %s: %w", path, err)
	}
	js = bytes.TrimSpace(js)
	if bytes.HasPrefix(js, []byte("{")) {
		var wrap struct {
			MatchRules json.RawMessage `json:"matchRules"`
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&wrap); err != nil {
			return nil, fmt.Errorf("match rules %s: %w", path, err)
		}
		js = wrap.MatchRules
	}
	var rules []MatchRule
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("match rules %s: %w", path, err)
	}
	return rules, nil
}

// ApplyOptions configure Apply.
type ApplyOptions struct {
	// Kubectl is the kubectl binary; empty means "kubectl" on PATH.
	Kubectl string
	// Args are extra kubectl arguments (e.g. --context, --dry-run=server).
	Args []string
	// Stdout and Stderr receive kubectl's output; nil discards it.
	Stdout, Stderr io.Writer
}

// Apply runs `kubectl apply -f -` with the manifest on its standard input.
func Apply(ctx context.Context, manifest []byte, opts ApplyOptions) error {
	bin := opts.Kubectl
	if bin == "" {
		bin = "kubectl"
	}
	args := append([]string{"apply", "-f", "-"}, opts.Args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(manifest)
	var errBuf bytes.Buffer
	cmd.Stdout = opts.Stdout
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(opts.Stderr, &errBuf)
	} else {
		cmd.Stderr = &errBuf
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(errBuf.String()))
	}
	return nil
}
