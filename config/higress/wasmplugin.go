package higress

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/wasmgate/wasmgate/config"
)

// API versions of the WasmPlugin kinds.
const (
	HigressWasmPluginAPI = "extensions.higress.io/v1alpha1"
	IstioWasmPluginAPI   = "extensions.istio.io/v1alpha1"
)

// IstioRootNamespace is Istio's default root namespace; Istio WasmPlugins there apply to every
// gateway, so they apply to this one too.
const IstioRootNamespace = "istio-system"

// WasmPlugin is a decoded WasmPlugin resource of either API (see APIVersion).
type WasmPlugin struct {
	APIVersion string
	Name       string
	Namespace  string
	Spec       WasmPluginSpec
	// Origin is the file and the field prefix of the document ("" for a single-document file).
	Origin config.Origin
}

// IsIstio reports whether the resource is an `extensions.istio.io` WasmPlugin.
func (w *WasmPlugin) IsIstio() bool { return w.APIVersion == IstioWasmPluginAPI }

// WasmPluginSpec is the spec of a WasmPlugin. Configuration objects are generic JSON values
// (map[string]any with json.Number numbers); nil means absent.
type WasmPluginSpec struct {
	URL             string
	SHA256          string
	ImagePullPolicy config.PullPolicy
	ImagePullSecret string
	// PluginConfig is passed to the plugin unchanged when set; Higress then ignores
	// DefaultConfig and MatchRules.
	PluginConfig map[string]any
	PluginName   string
	Phase        config.Phase
	// Priority is nil when unset.
	Priority     *int32
	FailStrategy config.FailStrategy
	Env          []EnvVar
	// Type is the Istio plugin type: "", "UNSPECIFIED_PLUGIN_TYPE", "HTTP" or "NETWORK".
	Type string
	// DefaultConfig is the Higress global config; nil when absent.
	DefaultConfig        map[string]any
	DefaultConfigDisable bool
	MatchRules           []MatchRule
}

// EnvVar is one `vmConfig.env` entry.
type EnvVar struct {
	Name string
	// FromHost is true for `valueFrom: HOST` (the gateway's own environment variable).
	FromHost bool
	Value    string
}

// MatchRule is one Higress `matchRules` entry.
type MatchRule struct {
	Ingress []string
	Domain  []string
	Service []string
	// Config is nil when absent.
	Config        map[string]any
	ConfigDisable bool
	// RouteType is "HTTP" (the default) or "GRPC".
	RouteType string
}

var (
	phaseEnum = map[string]int{"UNSPECIFIED_PHASE": 0, "AUTHN": 1, "AUTHZ": 2, "STATS": 3}
	pullEnum  = map[string]int{"UNSPECIFIED_POLICY": 0, "IfNotPresent": 1, "Always": 2}
	// Higress has no FAIL_RELOAD; Istio does.
	failEnumHigress = map[string]int{"FAIL_CLOSE": 0, "FAIL_OPEN": 1}
	failEnumIstio   = map[string]int{"FAIL_CLOSE": 0, "FAIL_OPEN": 1, "FAIL_RELOAD": 2}
	envSourceEnum   = map[string]int{"INLINE": 0, "HOST": 1}
	routeTypeEnum   = map[string]int{"HTTP": 0, "GRPC": 1}
	pluginTypeEnum  = map[string]int{"UNSPECIFIED_PLUGIN_TYPE": 0, "HTTP": 1, "NETWORK": 2}
)

// decodeWasmPlugin reads a WasmPlugin document (apiVersion and kind already checked).
func decodeWasmPlugin(d *decoder, apiVersion string, doc map[string]any, name, namespace string) *WasmPlugin {
	w := &WasmPlugin{APIVersion: apiVersion, Name: name, Namespace: namespace}
	istio := apiVersion == IstioWasmPluginAPI
	spec, ok := d.obj(doc, "spec", "")
	if !ok {
		if !d.failed {
			d.errorf("spec", "required")
		}
		return nil
	}
	s := &w.Spec

	s.URL = d.str(spec, "url", "spec")
	if s.URL == "" && !d.failed {
		d.errorf("spec.url", "required: the plugin's module (file://, http(s)://, oci:// or a path)")
	}
	s.SHA256 = d.str(spec, "sha256", "spec")
	if s.SHA256 != "" && !config.IsSHA256Hex(s.SHA256) {
		d.errorf("spec.sha256", "%q is not 64 lowercase hex digits", s.SHA256)
	}
	if v, ok := d.enum(spec, "imagePullPolicy", "spec", pullEnum); ok {
		s.ImagePullPolicy = config.PullPolicy(v)
	}
	s.ImagePullSecret = d.str(spec, "imagePullSecret", "spec")
	if pc, ok := d.obj(spec, "pluginConfig", "spec"); ok {
		s.PluginConfig = pc
	}
	s.PluginName = d.str(spec, "pluginName", "spec")
	if v, ok := d.enum(spec, "phase", "spec", phaseEnum); ok {
		s.Phase = config.Phase(v)
	}
	if v, ok := d.integer(spec, "priority", "spec", minInt32, maxInt32); ok {
		p := int32(v)
		s.Priority = &p
	}
	failEnum := failEnumHigress
	if istio {
		failEnum = failEnumIstio
	}
	if v, ok := d.enum(spec, "failStrategy", "spec", failEnum); ok {
		s.FailStrategy = config.FailStrategy(v)
	}
	if vm, ok := d.obj(spec, "vmConfig", "spec"); ok {
		for i, raw := range d.list(vm, "env", "spec.vmConfig") {
			path := index("spec.vmConfig.env", i)
			e, ok := raw.(map[string]any)
			if !ok {
				d.errorf(path, "must be an object, not %s", typeName(raw))
				continue
			}
			ev := EnvVar{Name: d.str(e, "name", path), Value: d.str(e, "value", path)}
			if ev.Name == "" {
				d.errorf(join(path, "name"), "required")
			}
			if v, ok := d.enum(e, "valueFrom", path, envSourceEnum); ok {
				ev.FromHost = v == 1
			}
			s.Env = append(s.Env, ev)
		}
	}
	if verificationKey := d.str(spec, "verificationKey", "spec"); verificationKey != "" {
		d.warnf("spec.verificationKey", "not implemented (as in Higress and Istio), ignored")
	}
	if istio {
		if v, ok := d.enum(spec, "type", "spec", pluginTypeEnum); ok {
			for n, i := range pluginTypeEnum {
				if i == v {
					s.Type = n
				}
			}
		}
		return w
	}

	if dc, ok := d.obj(spec, "defaultConfig", "spec"); ok {
		s.DefaultConfig = dc
	}
	s.DefaultConfigDisable, _ = d.boolean(spec, "defaultConfigDisable", "spec")
	for i, raw := range d.list(spec, "matchRules", "spec") {
		path := index("spec.matchRules", i)
		r, ok := raw.(map[string]any)
		if !ok {
			d.errorf(path, "must be an object, not %s", typeName(raw))
			continue
		}
		rule := MatchRule{
			Ingress: d.strList(r, "ingress", path),
			Domain:  d.strList(r, "domain", path),
			Service: d.strList(r, "service", path),
		}
		if c, ok := d.obj(r, "config", path); ok {
			rule.Config = c
		}
		rule.ConfigDisable, _ = d.boolean(r, "configDisable", path)
		rule.RouteType = "HTTP"
		if v, ok := d.enum(r, "routeType", path, routeTypeEnum); ok && v == 1 {
			rule.RouteType = "GRPC"
		}
		s.MatchRules = append(s.MatchRules, rule)
	}
	if s.PluginConfig != nil && (s.DefaultConfig != nil || len(s.MatchRules) > 0) {
		d.warnf("spec.pluginConfig", "pluginConfig is set, so defaultConfig and matchRules are ignored (as the Higress controller does)")
	}
	return w
}

// RuleError is a translation error located at one matchRules entry.
type RuleError struct {
	Index int
	Err   error
}

func (e *RuleError) Error() string { return fmt.Sprintf("spec.matchRules[%d]: %v", e.Index, e.Err) }

// Unwrap returns the underlying error.
func (e *RuleError) Unwrap() error { return e.Err }

// ErrNoMatchCondition is the Higress controller's error for a rule without ingress, domain or
// service.
var ErrNoMatchCondition = errors.New("invalid match rule has no match condition")

// PluginConfig computes the configuration the Higress controller delivers to the plugin for
// spec, as generic JSON (nil means "no configuration": the plugin receives empty bytes):
//
//  1. pluginConfig, when set, is passed through unchanged;
//  2. otherwise the config starts from defaultConfig, unless defaultConfigDisable;
//  3. each matchRule that is not configDisable becomes its config (or {}) plus
//     `_match_route_` (ingress), `_match_service_` (service) and `_match_domain_` (domain) for
//     the lists that are non-empty; a rule with none of them is an error (*RuleError wrapping
//     ErrNoMatchCondition) that rejects the whole plugin;
//  4. when at least one rule survived, they are set as `_rules_`, replacing any `_rules_` of
//     the default config;
//  5. when no rule survived and defaultConfigDisable is true, the plugin is removed:
//     enabled is false.
//
// For routeType GRPC the controller replaces every ingress entry with the literal "GRPC"; this
// is reproduced (and reported by the loader as a warning).
func PluginConfig(spec *WasmPluginSpec) (cfg map[string]any, enabled bool, err error) {
	if spec.PluginConfig != nil {
		return deepCopy(spec.PluginConfig).(map[string]any), true, nil
	}
	if !spec.DefaultConfigDisable && spec.DefaultConfig != nil {
		cfg = deepCopy(spec.DefaultConfig).(map[string]any)
	}
	hasValidRule := false
	if len(spec.MatchRules) > 0 {
		if cfg == nil {
			cfg = map[string]any{}
		}
		var rules []any
		for i, rule := range spec.MatchRules {
			if rule.ConfigDisable {
				continue
			}
			rc := map[string]any{}
			if rule.Config != nil {
				rc = deepCopy(rule.Config).(map[string]any)
			}
			valid := false
			if len(rule.Ingress) > 0 {
				valid = true
				routes := make([]any, len(rule.Ingress))
				for j, ing := range rule.Ingress {
					if rule.RouteType == "GRPC" {
						ing = "GRPC"
					}
					routes[j] = ing
				}
				rc["_match_route_"] = routes
			}
			if len(rule.Service) > 0 {
				valid = true
				rc["_match_service_"] = stringsToAny(rule.Service)
			}
			if len(rule.Domain) > 0 {
				valid = true
				rc["_match_domain_"] = stringsToAny(rule.Domain)
			}
			if !valid {
				return nil, false, &RuleError{Index: i, Err: ErrNoMatchCondition}
			}
			rules = append(rules, rc)
		}
		if len(rules) > 0 {
			hasValidRule = true
			cfg["_rules_"] = rules
		}
	}
	if !hasValidRule && spec.DefaultConfigDisable {
		return nil, false, nil
	}
	return cfg, true, nil
}

// PluginConfigJSON is PluginConfig rendered as the bytes the plugin reads: empty when the
// configuration is absent or an empty object (Istio then sends an empty Any), compact JSON
// otherwise.
func PluginConfigJSON(spec *WasmPluginSpec) (data []byte, enabled bool, err error) {
	cfg, enabled, err := PluginConfig(spec)
	if err != nil || !enabled || len(cfg) == 0 {
		return nil, enabled, err
	}
	data, err = encodeJSON(cfg)
	if err != nil {
		return nil, false, fmt.Errorf("encoding the plugin configuration: %w", err)
	}
	return data, true, nil
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// toPlugin builds the native plugin from a decoded WasmPlugin and its resolved module source.
func toPlugin(w *WasmPlugin, src config.PluginSource, configuration []byte) config.Plugin {
	p := config.Plugin{
		Name:            w.Name,
		Namespace:       w.Namespace,
		URL:             w.Spec.URL,
		Source:          src,
		SHA256:          w.Spec.SHA256,
		ImagePullPolicy: w.Spec.ImagePullPolicy,
		ImagePullSecret: w.Spec.ImagePullSecret,
		Phase:           w.Spec.Phase,
		FailStrategy:    w.Spec.FailStrategy,
		RootID:          w.Spec.PluginName,
		Configuration:   configuration,
		Origin:          w.Origin,
	}
	if w.Spec.Priority != nil {
		p.Priority, p.HasPriority = *w.Spec.Priority, true
	}
	for _, e := range w.Spec.Env {
		if e.FromHost {
			p.HostEnvKeys = append(p.HostEnvKeys, e.Name)
			continue
		}
		if p.Env == nil {
			p.Env = map[string]string{}
		}
		p.Env[e.Name] = e.Value
	}
	return p
}

// clonePlugin copies a plugin deeply enough that the loader's last-good copy is never shared.
func clonePlugin(p config.Plugin) config.Plugin {
	p.Env = maps.Clone(p.Env)
	p.HostEnvKeys = append([]string(nil), p.HostEnvKeys...)
	p.Configuration = append([]byte(nil), p.Configuration...)
	return p
}

// ParseWasmPlugins decodes the WasmPlugin resources (either API) of a YAML file, for tools that
// write or check WasmPlugin YAML. Other kinds are skipped. Every problem names file and field;
// a resource with errors is not returned. Namespaces are not checked here (see Loader).
func ParseWasmPlugins(file string, data []byte) ([]*WasmPlugin, config.Problems) {
	var ps config.Problems
	docs, err := parseDocuments(data)
	if err != nil {
		ps.Errorf(file, "", "", "%v", err)
		return nil, ps
	}
	var out []*WasmPlugin
	for _, doc := range docs {
		prefix := ""
		if len(docs) > 1 || doc.index > 0 {
			prefix = fmt.Sprintf("document %d: ", doc.index+1)
		}
		d := &decoder{file: file, prefix: prefix, ps: &ps}
		m, ok := doc.value.(map[string]any)
		if !ok {
			d.errorf("", "a resource must be an object, not %s", typeName(doc.value))
			continue
		}
		apiVersion, kind := d.str(m, "apiVersion", ""), d.str(m, "kind", "")
		if kind != "WasmPlugin" {
			continue
		}
		if apiVersion != HigressWasmPluginAPI && apiVersion != IstioWasmPluginAPI {
			d.errorf("apiVersion", "unsupported WasmPlugin apiVersion %q (want %s or %s)", apiVersion, HigressWasmPluginAPI, IstioWasmPluginAPI)
			continue
		}
		meta, _ := d.obj(m, "metadata", "")
		name, namespace := d.str(meta, "name", "metadata"), d.str(meta, "namespace", "metadata")
		if name == "" && !d.failed {
			d.errorf("metadata.name", "required")
		}
		d.object = "WasmPlugin " + namespace + "/" + name
		w := decodeWasmPlugin(d, apiVersion, m, name, namespace)
		if w == nil || d.failed {
			continue
		}
		w.Origin = config.Origin{File: file, Field: strings.TrimSuffix(prefix, ": ")}
		out = append(out, w)
	}
	return out, ps
}
