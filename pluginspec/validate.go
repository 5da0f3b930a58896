package pluginspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	sigsyaml "sigs.k8s.io/yaml"
)

// FieldError is one schema violation.
type FieldError struct {
	// Path names the field: "config.blocked_code",
	// "matchRules[1].config.block_urls[0]".
	Path string
	// Message says what is wrong: "must be >= 101".
	Message string
}

func (e FieldError) String() string { return e.Path + ": " + e.Message }

// ValidationError lists every violation found in one configuration.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.String()
	}
	return strings.Join(parts, "; ")
}

// Validator checks configurations against one schema.
type Validator struct {
	schema *jsonschema.Schema
}

// ConfigValidator compiles spec.configSchema.openAPIV3Schema. It returns
// nil (accept anything) when the spec declares no schema.
func (s *Spec) ConfigValidator() (*Validator, error) {
	return s.validator("configSchema")
}

// RouteConfigValidator compiles the schema for configurations of match
// rules: spec.routeConfigSchema when the spec has one, else configSchema
// (a rule's config replaces the global one).
func (s *Spec) RouteConfigValidator() (*Validator, error) {
	if s.Spec.RouteConfigSchema != nil && s.Spec.RouteConfigSchema.OpenAPIV3Schema != nil {
		return s.validator("routeConfigSchema")
	}
	return s.validator("configSchema")
}

// ValidateConfig validates a global configuration; root prefixes field
// paths in errors (e.g. "config").
func (s *Spec) ValidateConfig(root string, config any) error {
	v, err := s.ConfigValidator()
	if err != nil {
		return err
	}
	return v.Validate(root, config)
}

func (s *Spec) validator(section string) (*Validator, error) {
	doc := s.raw
	if doc == nil {
		var err error
		if doc, err = s.Marshal(); err != nil {
			return nil, err
		}
	}
	js, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("spec.yaml: %w", err)
	}
	root, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, fmt.Errorf("spec.yaml: %w", err)
	}
	schema := dig(root, "spec", section, "openAPIV3Schema")
	if schema == nil {
		return nil, nil
	}
	schema = openAPIToDraft4(schema)
	c := jsonschema.NewCompiler()
	// OpenAPI v3.0 schema objects (and Kubernetes' JSONSchemaProps) follow
	// JSON Schema draft 4: boolean exclusiveMinimum/Maximum and so on.
	c.DefaultDraft(jsonschema.Draft4)
	url := "file:///wasmgate/spec.yaml/" + section + ".json"
	if err := c.AddResource(url, schema); err != nil {
		return nil, fmt.Errorf("spec.yaml %s: %w", section, err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("spec.yaml %s is not a valid schema: %w", section, err)
	}
	return &Validator{schema: compiled}, nil
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// openAPIToDraft4 removes what draft 4 rejects but OpenAPI schemas
// contain: empty required lists.
func openAPIToDraft4(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if k == "required" {
				if l, ok := x.([]any); ok && len(l) == 0 {
					continue
				}
			}
			out[k] = openAPIToDraft4(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = openAPIToDraft4(x)
		}
		return out
	}
	return v
}

// Validate checks config, a value as decoded from JSON or YAML, against
// the schema. A nil Validator accepts everything. Violations come back as
// a *ValidationError whose paths start with root.
func (v *Validator) Validate(root string, config any) error {
	if v == nil {
		return nil
	}
	inst, err := normalize(config)
	if err != nil {
		return fmt.Errorf("%s: %w", root, err)
	}
	err = v.schema.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("%s: %w", root, err)
	}
	var out []FieldError
	collect(root, ve, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	uniq := out[:0]
	for i, fe := range out {
		if i == 0 || fe != out[i-1] {
			uniq = append(uniq, fe)
		}
	}
	return &ValidationError{Errors: uniq}
}

// normalize turns any JSON-like value into what the validator expects.
func normalize(config any) (any, error) {
	if config == nil {
		config = map[string]any{}
	}
	b, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

var printer = message.NewPrinter(language.English)

func collect(root string, ve *jsonschema.ValidationError, out *[]FieldError) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collect(root, c, out)
		}
		return
	}
	path := joinPath(root, ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, FieldError{Path: path + "." + m, Message: "is required"})
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			*out = append(*out, FieldError{Path: path + "." + p, Message: "is not a field of this plugin's configuration"})
		}
	default:
		*out = append(*out, FieldError{Path: path, Message: describe(ve.ErrorKind)})
	}
}

func joinPath(root string, loc []string) string {
	var b strings.Builder
	b.WriteString(root)
	for _, tok := range loc {
		if isIndex(tok) {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func rat(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return strings.TrimRight(strings.TrimRight(r.FloatString(6), "0"), ".")
}

func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("must be %s, not %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Minimum:
		return "must be >= " + rat(k.Want)
	case *kind.Maximum:
		return "must be <= " + rat(k.Want)
	case *kind.ExclusiveMinimum:
		return "must be > " + rat(k.Want)
	case *kind.ExclusiveMaximum:
		return "must be < " + rat(k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long", k.Want)
	case *kind.Pattern:
		return fmt.Sprintf("must match the pattern %s", k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			b, _ := json.Marshal(w)
			want[i] = string(b)
		}
		return "must be one of " + strings.Join(want, ", ")
	}
	return k.LocalizedString(printer)
}
