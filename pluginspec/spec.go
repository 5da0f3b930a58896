// Package pluginspec reads, writes and checks spec.yaml, the metadata file
// of a Higress plugin image: the plugin's identity (info), where it runs in
// the filter chain (phase, priority) and the OpenAPI v3 schema of its
// configuration. Configurations are validated against that schema with
// errors that name the offending field (see Spec.ValidateConfig). The
// generator in this package derives a spec.yaml from the plugin's Go
// source (see FromSource).
package pluginspec

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// APIVersion is the only spec.yaml format version.
const APIVersion = "1.0.0"

// Filter-chain phases, as written in spec.yaml and in WasmPlugin.phase.
const (
	PhaseAuthn       = "AUTHN"
	PhaseAuthz       = "AUTHZ"
	PhaseStats       = "STATS"
	PhaseUnspecified = "UNSPECIFIED_PHASE"
)

// NormalizePhase maps the spellings found in spec.yaml files (any case,
// "default", empty) to the WasmPlugin phase names.
func NormalizePhase(s string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "DEFAULT", "UNSPECIFIED", PhaseUnspecified:
		return PhaseUnspecified, nil
	case PhaseAuthn:
		return PhaseAuthn, nil
	case PhaseAuthz:
		return PhaseAuthz, nil
	case PhaseStats:
		return PhaseStats, nil
	}
	return "", fmt.Errorf("unknown phase %q (want AUTHN, AUTHZ, STATS or UNSPECIFIED_PHASE)", s)
}

// Categories the Higress console groups plugins by.
var Categories = []string{"auth", "security", "protocol", "flow-control", "flow-monitor", "custom", "ai", "traffic", "transformation"}

// Spec is a spec.yaml document.
type Spec struct {
	APIVersion string `yaml:"apiVersion"`
	Info       Info   `yaml:"info"`
	Spec       Body   `yaml:"spec"`

	raw []byte // the document as read, for validation
}

// Info identifies the plugin.
type Info struct {
	Category         string            `yaml:"category,omitempty"`
	Name             string            `yaml:"name"`
	Title            string            `yaml:"title,omitempty"`
	XTitleI18n       map[string]string `yaml:"x-title-i18n,omitempty"`
	Description      string            `yaml:"description,omitempty"`
	XDescriptionI18n map[string]string `yaml:"x-description-i18n,omitempty"`
	IconURL          string            `yaml:"iconUrl,omitempty"`
	Version          string            `yaml:"version,omitempty"`
	Contact          *Contact          `yaml:"contact,omitempty"`
}

// Contact is the plugin's maintainer.
type Contact struct {
	Name  string `yaml:"name,omitempty"`
	URL   string `yaml:"url,omitempty"`
	Email string `yaml:"email,omitempty"`
}

// Body is the spec section.
type Body struct {
	Phase             string        `yaml:"phase"`
	Priority          int           `yaml:"priority"`
	ConfigSchema      *ConfigSchema `yaml:"configSchema,omitempty"`
	RouteConfigSchema *ConfigSchema `yaml:"routeConfigSchema,omitempty"`
}

// ConfigSchema wraps the schema as spec.yaml nests it.
type ConfigSchema struct {
	OpenAPIV3Schema *Schema `yaml:"openAPIV3Schema"`
}

// Schema is the subset of an OpenAPI v3 schema object spec.yaml uses, with
// the Higress extensions (x-title-i18n, x-description-i18n, scope).
// Properties keep their order.
type Schema struct {
	Type                 string            `yaml:"type,omitempty"`
	Title                string            `yaml:"title,omitempty"`
	XTitleI18n           map[string]string `yaml:"x-title-i18n,omitempty"`
	Description          string            `yaml:"description,omitempty"`
	XDescriptionI18n     map[string]string `yaml:"x-description-i18n,omitempty"`
	Format               string            `yaml:"format,omitempty"`
	Enum                 []any             `yaml:"enum,omitempty"`
	Default              any               `yaml:"default,omitempty"`
	Minimum              *float64          `yaml:"minimum,omitempty"`
	Maximum              *float64          `yaml:"maximum,omitempty"`
	ExclusiveMinimum     bool              `yaml:"exclusiveMinimum,omitempty"`
	ExclusiveMaximum     bool              `yaml:"exclusiveMaximum,omitempty"`
	MinLength            *int              `yaml:"minLength,omitempty"`
	MaxLength            *int              `yaml:"maxLength,omitempty"`
	Pattern              string            `yaml:"pattern,omitempty"`
	MinItems             *int              `yaml:"minItems,omitempty"`
	MaxItems             *int              `yaml:"maxItems,omitempty"`
	Items                *Schema           `yaml:"items,omitempty"`
	Properties           Properties        `yaml:"properties,omitempty"`
	AdditionalProperties *Schema           `yaml:"additionalProperties,omitempty"`
	Required             []string          `yaml:"required,omitempty"`
	Scope                string            `yaml:"scope,omitempty"`
	Example              any               `yaml:"example,omitempty"`
}

// Property is one named property of an object schema.
type Property struct {
	Name   string
	Schema *Schema
}

// Properties are an object's properties in declaration order.
type Properties []Property

// Get returns the named property's schema.
func (ps Properties) Get(name string) (*Schema, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p.Schema, true
		}
	}
	return nil, false
}

// MarshalYAML writes the properties as a mapping in their order.
func (ps Properties) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, p := range ps {
		var v yaml.Node
		if err := v.Encode(p.Schema); err != nil {
			return nil, fmt.Errorf("property %s: %w", p.Name, err)
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.Name}, &v)
	}
	return n, nil
}

// UnmarshalYAML reads a mapping keeping its order.
func (ps *Properties) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: properties must be a mapping", n.Line)
	}
	*ps = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		var s Schema
		if err := n.Content[i+1].Decode(&s); err != nil {
			return fmt.Errorf("property %s: %w", n.Content[i].Value, err)
		}
		*ps = append(*ps, Property{Name: n.Content[i].Value, Schema: &s})
	}
	return nil
}

// Parse reads a spec.yaml document. Unknown fields are kept out of the
// typed view but still take part in validation (see Spec.ValidateConfig),
// which works on the raw document.
func Parse(data []byte) (*Spec, error) {
	var s Spec
	if err := yaml.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("spec.yaml: %w", err)
	}
	if s.APIVersion != APIVersion {
		return nil, fmt.Errorf("spec.yaml: apiVersion %q, want %q", s.APIVersion, APIVersion)
	}
	if s.Info.Name == "" {
		return nil, fmt.Errorf("spec.yaml: info.name is empty")
	}
	phase, err := NormalizePhase(s.Spec.Phase)
	if err != nil {
		return nil, fmt.Errorf("spec.yaml: spec.phase: %w", err)
	}
	s.Spec.Phase = phase
	s.raw = append([]byte(nil), data...)
	return &s, nil
}

// Load reads and parses a spec.yaml file.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Marshal writes the spec as YAML.
func (s *Spec) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("marshal spec: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal spec: %w", err)
	}
	return buf.Bytes(), nil
}

// PluginName returns info.name without a "/vN" suffix ("basic-auth/v1"
// gives "basic-auth").
func (s *Spec) PluginName() string {
	name := s.Info.Name
	if i := strings.LastIndex(name, "/"); i > 0 && strings.HasPrefix(name[i+1:], "v") {
		name = name[:i]
	}
	return name
}
