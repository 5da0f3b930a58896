package envoy

import (
	"encoding/json"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// normalizeEnums rewrites, in place, the enum values of the generic JSON document node (the
// JSON form of a message of type md) the way Envoy's loader reads them: Envoy parses JSON with
// protobuf's case_insensitive_enum_parsing, so `codec_type: auto` and `lb_policy: round_robin`
// mean AUTO and ROUND_ROBIN, and a value may also be given as its number ("1" or 1). Go's
// protojson only accepts the exact names, so names are upper-cased and numeric strings turned
// into numbers before decoding. Values that match nothing are left for protojson to reject.
//
// Any values are followed through their @type; a TypedStruct's value is normalized when it is
// decoded (decodeProto runs this on it too).
func normalizeEnums(md protoreflect.MessageDescriptor, node any) {
	obj, ok := node.(map[string]any)
	if !ok || wellKnownJSON[md.FullName()] {
		return
	}
	if md.FullName() == "google.protobuf.Any" {
		typeURL, _ := obj["@type"].(string)
		mt, err := protoregistry.GlobalTypes.FindMessageByURL(typeURL)
		if err != nil {
			return
		}
		inner := mt.Descriptor()
		if wellKnownJSON[inner.FullName()] {
			return
		}
		for k, v := range obj {
			if k != "@type" {
				normalizeField(inner, obj, k, v)
			}
		}
		return
	}
	for k, v := range obj {
		normalizeField(md, obj, k, v)
	}
}

// normalizeField normalizes obj[k] (= v), a field of a message of type md.
func normalizeField(md protoreflect.MessageDescriptor, obj map[string]any, k string, v any) {
	fd := md.Fields().ByName(protoreflect.Name(k))
	if fd == nil {
		fd = md.Fields().ByJSONName(k)
	}
	if fd == nil {
		return // protojson reports the unknown field
	}
	switch {
	case fd.IsMap():
		if m, ok := v.(map[string]any); ok {
			for mk, mv := range m {
				normalizeValue(fd.MapValue(), mv, func(x any) { m[mk] = x })
			}
		}
	case fd.IsList():
		if l, ok := v.([]any); ok {
			for i, el := range l {
				normalizeValue(fd, el, func(x any) { l[i] = x })
			}
		}
	default:
		normalizeValue(fd, v, func(x any) { obj[k] = x })
	}
}

// normalizeValue normalizes one value of field fd (an element, for lists and maps); set
// replaces it.
func normalizeValue(fd protoreflect.FieldDescriptor, v any, set func(any)) {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if nv, ok := enumValue(fd.Enum(), v); ok {
			set(nv)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		normalizeEnums(fd.Message(), v)
	}
}

// enumValue returns the form protojson accepts for an enum value written v, and whether it
// differs from v.
func enumValue(ed protoreflect.EnumDescriptor, v any) (any, bool) {
	s, ok := v.(string)
	if !ok || ed.FullName() == "google.protobuf.NullValue" {
		return nil, false
	}
	values := ed.Values()
	if values.ByName(protoreflect.Name(s)) != nil {
		return nil, false
	}
	if up := strings.ToUpper(s); values.ByName(protoreflect.Name(up)) != nil {
		return up, true
	}
	if _, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32); err == nil {
		return json.Number(strings.TrimSpace(s)), true
	}
	return nil, false
}
