package higress

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// valueStore holds the Secrets and ConfigMaps of a data directory, by "namespace/name": the
// values `${secret.…}` and `${configmap.…}` references in a WasmPlugin's spec resolve to.
type valueStore struct {
	secrets    map[string]map[string]string
	configMaps map[string]map[string]string
	// origin says where each object was defined, for duplicates.
	origin map[string]string
}

func newValueStore() *valueStore {
	return &valueStore{secrets: map[string]map[string]string{}, configMaps: map[string]map[string]string{}, origin: map[string]string{}}
}

// decodeSecret reads a v1 Secret: `data` values are base64, `stringData` values are text and
// take precedence, as the API server merges them.
func (vs *valueStore) decodeSecret(d *decoder, m map[string]any, name, namespace string) {
	values := map[string]string{}
	if data, ok := d.obj(m, "data", ""); ok {
		for _, k := range sortedKeys(data) {
			s, ok := data[k].(string)
			if !ok {
				d.errorf("data."+k, "must be a base64 string, not %s", typeName(data[k]))
				continue
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				d.errorf("data."+k, "not base64: %v (use stringData for plain text)", err)
				continue
			}
			values[k] = string(b)
		}
	}
	if data, ok := d.obj(m, "stringData", ""); ok {
		for _, k := range sortedKeys(data) {
			s, ok := data[k].(string)
			if !ok {
				d.errorf("stringData."+k, "must be a string, not %s", typeName(data[k]))
				continue
			}
			values[k] = s
		}
	}
	vs.add(d, "Secret", vs.secrets, namespace+"/"+name, values)
}

// decodeConfigMap reads a v1 ConfigMap: `data` values are text, `binaryData` base64.
func (vs *valueStore) decodeConfigMap(d *decoder, m map[string]any, name, namespace string) {
	values := map[string]string{}
	if data, ok := d.obj(m, "data", ""); ok {
		for _, k := range sortedKeys(data) {
			s, ok := data[k].(string)
			if !ok {
				d.errorf("data."+k, "must be a string, not %s", typeName(data[k]))
				continue
			}
			values[k] = s
		}
	}
	if data, ok := d.obj(m, "binaryData", ""); ok {
		for _, k := range sortedKeys(data) {
			s, _ := data[k].(string)
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				d.errorf("binaryData."+k, "not base64: %v", err)
				continue
			}
			values[k] = string(b)
		}
	}
	vs.add(d, "ConfigMap", vs.configMaps, namespace+"/"+name, values)
}

func (vs *valueStore) add(d *decoder, kind string, into map[string]map[string]string, key string, values map[string]string) {
	if prev, dup := vs.origin[kind+" "+key]; dup {
		d.errorf("metadata.name", "duplicate %s %s (also defined in %s)", kind, key, prev)
		return
	}
	vs.origin[kind+" "+key] = d.file
	into[key] = values
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// templateReference is Higress's reference syntax in WasmPlugin specs:
// ${TYPE.NAME.KEY} or ${TYPE.NAMESPACE/NAME.KEY} (pkg/ingress/config/ingress_template.go). The
// key is everything after the name, dots included: it names a data key of the object, as
// written (`plugin_conf.timeout` is one key).
var templateReference = regexp.MustCompile(`\$\{([^.}]+)\.(?:([^/]+)/)?([^.}]+)\.([^}]+)}`)

// reference is one ${…} found in a spec.
type reference struct {
	text                       string // as written
	kind, namespace, name, key string
	field                      string // where it was found, e.g. spec.defaultConfig.apiKey
}

// substituteTemplates resolves the references in a WasmPlugin's spec as the Higress controller
// does: the spec is written as JSON, each reference to a Secret or ConfigMap is replaced by the
// value as it is (a value with a quote or a backslash therefore breaks the JSON, as in
// Higress), and the JSON is read back. References of other types are left as written.
// defaultNS is the namespace of a reference without one (Higress's controller namespace).
// It returns the new spec, the values that came from Secrets, and the first error, which
// names the field and the reference.
func (vs *valueStore) substituteTemplates(spec map[string]any, defaultNS string) (map[string]any, []string, *reference, error) {
	var refs []reference
	findReferences(spec, "spec", &refs)
	if len(refs) == 0 {
		return spec, nil, nil, nil
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, nil, nil, err
	}
	text := string(raw)
	var secrets []string
	for i := range refs {
		r := &refs[i]
		if r.namespace == "" {
			r.namespace = defaultNS
		}
		var store map[string]map[string]string
		switch r.kind {
		case "secret":
			store = vs.secrets
		case "configmap":
			store = vs.configMaps
		default:
			continue // Higress keeps other types as they are
		}
		obj, ok := store[r.namespace+"/"+r.name]
		if !ok {
			return nil, nil, r, fmt.Errorf("%s: no %s %s/%s in the data directory (add one, e.g. in secrets/)", r.text, kindName(r.kind), r.namespace, r.name)
		}
		v, ok := obj[r.key]
		if !ok {
			return nil, nil, r, fmt.Errorf("%s: %s %s/%s has no key %q (it has %s)", r.text, kindName(r.kind), r.namespace, r.name, r.key, keyList(obj))
		}
		if r.kind == "secret" && v != "" {
			secrets = append(secrets, v)
		}
		text = strings.Replace(text, r.text, v, 1)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, nil, &refs[0], fmt.Errorf("the spec is not valid JSON once the references are replaced (a value with a quote or backslash breaks it, as in Higress): %v", err)
	}
	return out, secrets, nil, nil
}

func kindName(t string) string {
	if t == "secret" {
		return "Secret"
	}
	return "ConfigMap"
}

func keyList(m map[string]string) string {
	if len(m) == 0 {
		return "no keys"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// findReferences collects the references in the strings of v (keys included), with the path
// of each, in the order the JSON encoding writes them (keys sorted).
func findReferences(v any, path string, out *[]reference) {
	switch t := v.(type) {
	case string:
		for _, m := range templateReference.FindAllStringSubmatch(t, -1) {
			*out = append(*out, reference{text: m[0], kind: m[1], namespace: m[2], name: m[3], key: m[4], field: path})
		}
	case map[string]any:
		for _, k := range sortedKeys(t) {
			findReferences(k, join(path, k), out)
			findReferences(t[k], join(path, k), out)
		}
	case []any:
		for i, e := range t {
			findReferences(e, index(path, i), out)
		}
	}
}
