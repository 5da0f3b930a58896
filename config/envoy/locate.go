package envoy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	yamlv3 "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// fieldPath is a path into a document: object keys and list indexes.
type fieldPath []any // string keys, int indexes

func (p fieldPath) key(k string) fieldPath { return append(slices.Clip(p), k) }
func (p fieldPath) idx(i int) fieldPath    { return append(slices.Clip(p), i) }

// String renders the path as `a.b[0].c`.
func (p fieldPath) String() string {
	var b strings.Builder
	for _, s := range p {
		switch v := s.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		}
	}
	return b.String()
}

// located is where a protojson decoding error is, found by decoding ever smaller parts of the
// document.
type located struct {
	path fieldPath
	msg  string
	// unresolved is set when the error is an Any whose @type is not a known message; replace
	// swaps that Any for a placeholder so decoding can go on.
	unresolved string
	replace    func(any)
}

var protoErrPrefix = regexp.MustCompile(`^proto:[\s\x{00a0}]*(syntax error )?(\(line \d+:\d+\):[\s\x{00a0}]*)?`)

// cleanProtoErr strips protojson's "proto: (line 1:23): " prefix, whose positions refer to the
// intermediate JSON, not to the user's YAML.
func cleanProtoErr(err error) string {
	return protoErrPrefix.ReplaceAllString(err.Error(), "")
}

var wellKnownJSON = map[protoreflect.FullName]bool{
	"google.protobuf.Duration": true, "google.protobuf.Timestamp": true, "google.protobuf.FieldMask": true,
	"google.protobuf.Struct": true, "google.protobuf.Value": true, "google.protobuf.ListValue": true,
	"google.protobuf.Empty": true, "google.protobuf.BoolValue": true, "google.protobuf.StringValue": true,
	"google.protobuf.BytesValue": true, "google.protobuf.Int32Value": true, "google.protobuf.Int64Value": true,
	"google.protobuf.UInt32Value": true, "google.protobuf.UInt64Value": true, "google.protobuf.FloatValue": true,
	"google.protobuf.DoubleValue": true,
}

const structTypeURL = "type.googleapis.com/google.protobuf.Struct"

// locate finds the innermost part of node (the JSON form of a message of type md) that protojson
// rejects. It returns nil when node decodes.
func locate(md protoreflect.MessageDescriptor, node any, path fieldPath, set func(any)) *located {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
	if err != nil {
		return &located{path: path, msg: err.Error()}
	}
	raw, _ := json.Marshal(node)
	decodeErr := protojson.Unmarshal(raw, mt.New().Interface())
	if decodeErr == nil {
		return nil
	}
	here := &located{path: path, msg: cleanProtoErr(decodeErr)}
	obj, ok := node.(map[string]any)
	if !ok || wellKnownJSON[md.FullName()] {
		return here
	}
	if md.FullName() == "google.protobuf.Any" {
		typeURL, _ := obj["@type"].(string)
		if typeURL == "" {
			here.path = path.key("@type")
			here.msg = "missing @type"
			return here
		}
		inner, err := protoregistry.GlobalTypes.FindMessageByURL(typeURL)
		if err != nil {
			rest := map[string]any{}
			for k, v := range obj {
				if k != "@type" {
					rest[k] = v
				}
			}
			return &located{path: path, unresolved: typeURL, replace: func(any) {
				set(map[string]any{"@type": structTypeURL, "value": rest})
			}}
		}
		if wellKnownJSON[inner.Descriptor().FullName()] {
			if v, ok := obj["value"]; ok {
				if l := locate(inner.Descriptor(), v, path.key("value"), func(x any) { obj["value"] = x }); l != nil {
					return l
				}
			}
			return here
		}
		body := make(map[string]any, len(obj))
		for k, v := range obj {
			if k != "@type" {
				body[k] = v
			}
		}
		// body shares its values with obj, so replacements inside it land in the document.
		if l := locate(inner.Descriptor(), body, path, func(any) {}); l != nil {
			return l
		}
		return here
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fields := md.Fields()
	for _, k := range keys {
		fd := fields.ByName(protoreflect.Name(k))
		if fd == nil {
			fd = fields.ByJSONName(k)
		}
		if fd == nil {
			return &located{path: path.key(k), msg: fmt.Sprintf("unknown field %q in %s", k, md.FullName())}
		}
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			// A scalar: the error is here when the field alone does not decode.
			one, _ := json.Marshal(map[string]any{k: obj[k]})
			if err := protojson.Unmarshal(one, mt.New().Interface()); err != nil {
				return &located{path: path.key(k), msg: cleanProtoErr(err)}
			}
			continue
		}
		v := obj[k]
		switch {
		case fd.IsList():
			l, ok := v.([]any)
			if !ok {
				continue
			}
			for i, el := range l {
				if loc := locate(fd.Message(), el, path.key(k).idx(i), func(x any) { l[i] = x }); loc != nil {
					return loc
				}
			}
		case fd.IsMap():
			m, ok := v.(map[string]any)
			if !ok || fd.MapValue().Message() == nil {
				continue
			}
			mkeys := make([]string, 0, len(m))
			for mk := range m {
				mkeys = append(mkeys, mk)
			}
			slices.Sort(mkeys)
			for _, mk := range mkeys {
				if loc := locate(fd.MapValue().Message(), m[mk], path.key(k).key(mk), func(x any) { m[mk] = x }); loc != nil {
					return loc
				}
			}
		default:
			if loc := locate(fd.Message(), v, path.key(k), func(x any) { obj[k] = x }); loc != nil {
				return loc
			}
		}
	}
	return here
}

// unresolvedType is an Any whose type is not known, replaced by an empty placeholder.
type unresolvedType struct {
	path    fieldPath
	typeURL string
}

// decodeProto decodes the generic JSON document doc into msg. Any values of unknown types are
// replaced by a google.protobuf.Struct placeholder (and returned) so that one unsupported
// extension does not make the whole file unreadable; any other error is located and returned
// with its field path.
func decodeProto(doc any, msg proto.Message, base fieldPath) ([]unresolvedType, *located) {
	var unresolved []unresolvedType
	normalizeEnums(msg.ProtoReflect().Descriptor(), doc)
	for range 1000 {
		raw, err := json.Marshal(doc)
		if err != nil {
			return unresolved, &located{path: base, msg: err.Error()}
		}
		err = protojson.Unmarshal(raw, msg)
		if err == nil {
			return unresolved, nil
		}
		loc := locate(msg.ProtoReflect().Descriptor(), doc, base, func(x any) { doc = x })
		if loc == nil {
			return unresolved, &located{path: base, msg: cleanProtoErr(err)}
		}
		if loc.unresolved == "" {
			return unresolved, loc
		}
		unresolved = append(unresolved, unresolvedType{path: loc.path, typeURL: loc.unresolved})
		loc.replace(nil)
	}
	return unresolved, &located{path: base, msg: "too many unknown types"}
}

// validationErrors flattens protoc-gen-validate errors into (field path, reason) pairs. Field
// names come out of the generated Go names (StaticResources, Clusters[0]) and are turned back
// into the snake_case names of the YAML.
func validationErrors(err error, base fieldPath) []located {
	type fieldErr interface {
		Field() string
		Reason() string
		Cause() error
	}
	type multi interface{ AllErrors() []error }
	var out []located
	var walk func(error, fieldPath)
	walk = func(err error, p fieldPath) {
		var m multi
		if errors.As(err, &m) && !isFieldErr(err) {
			for _, e := range m.AllErrors() {
				walk(e, p)
			}
			return
		}
		fe, ok := err.(fieldErr)
		if !ok {
			out = append(out, located{path: p, msg: err.Error()})
			return
		}
		np := appendGoField(p, fe.Field())
		if fe.Cause() != nil {
			walk(fe.Cause(), np)
			return
		}
		out = append(out, located{path: np, msg: fe.Reason()})
	}
	walk(err, base)
	return out
}

func isFieldErr(err error) bool {
	_, ok := err.(interface{ Field() string })
	return ok
}

var goIndex = regexp.MustCompile(`^(\w+)\[(.*)\]$`)

// appendGoField appends a PGV field ("PortValue", "Clusters[0]", "TypedPerFilterConfig[name]").
func appendGoField(p fieldPath, f string) fieldPath {
	if m := goIndex.FindStringSubmatch(f); m != nil {
		p = p.key(snake(m[1]))
		if i, err := strconv.Atoi(m[2]); err == nil {
			return p.idx(i)
		}
		return p.key(m[2])
	}
	return p.key(snake(f))
}

// snake converts a generated Go field name to the proto field name: "LbEndpoints" →
// "lb_endpoints", "Ipv4Compat" → "ipv4_compat".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lineOf returns the 1-based line of the YAML node at path, or 0 when it cannot be found.
func lineOf(root *yamlv3.Node, path fieldPath) int {
	n := root
	if n == nil {
		return 0
	}
	if n.Kind == yamlv3.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, s := range path {
		for n.Kind == yamlv3.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch v := s.(type) {
		case int:
			if n.Kind != yamlv3.SequenceNode || v >= len(n.Content) {
				return line
			}
			n = n.Content[v]
		case string:
			if n.Kind != yamlv3.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == v {
					n, found = n.Content[i+1], true
					if n.Line == 0 {
						n.Line = n.Content[i].Line
					}
					break
				}
			}
			if !found {
				return line
			}
		}
		line = n.Line
	}
	return line
}

// parseYAMLTree parses the YAML for line lookups; errors are ignored (the JSON conversion reports
// them).
func parseYAMLTree(data []byte) *yamlv3.Node {
	var n yamlv3.Node
	if err := yamlv3.NewDecoder(bytes.NewReader(data)).Decode(&n); err != nil {
		return nil
	}
	return &n
}
