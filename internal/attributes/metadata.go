package attributes

import (
	"encoding/binary"
	"maps"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/wasmgate/wasmgate/host"
)

// Metadata is Envoy's config.core.v3.Metadata filter_metadata: per filter name, a tree as a
// protobuf Struct holds it (map[string]any, []any, string, float64, bool, nil).
type Metadata map[string]map[string]any

// XDS is the configuration a request was routed by, served as the xds.* properties and their
// legacy top-level names.
type XDS struct {
	RouteMetadata       Metadata // route_metadata, xds.route_metadata
	VirtualHostName     string   // xds.virtual_host_name
	VirtualHostMetadata Metadata // xds.virtual_host_metadata
	ClusterMetadata     Metadata // cluster_metadata, xds.cluster_metadata
	ListenerMetadata    Metadata // listener_metadata, xds.listener_metadata
	// HasRoute and HasCluster say whether a route and a cluster were selected: without one,
	// its metadata is NotFound, as in Envoy.
	HasRoute, HasCluster bool
}

// metadataValue answers a metadata property the way Envoy does: the whole value is the
// serialized config.core.v3.Metadata message; `filter_metadata` is a map whose values are the
// Structs as maps; inside a Struct, maps by key and lists by index. `typed_filter_metadata` is
// an empty map (it is not carried). Any other field is NotFound. present says whether the
// configuration object (route, cluster, …) exists at all.
func metadataValue(md Metadata, present bool, rest []string) (any, bool) {
	if !present {
		return nil, false
	}
	if len(rest) == 0 {
		return metadataWire(md), true
	}
	switch rest[0] {
	case "filter_metadata":
		var v any = map[string]any{}
		if len(md) > 0 {
			m := make(map[string]any, len(md))
			for k, s := range md {
				m[k] = s
			}
			v = m
		}
		return walkTree(v, rest[1:])
	case "typed_filter_metadata":
		if len(rest) == 1 {
			return map[string]any{}, true
		}
	}
	return nil, false
}

// walkTree follows a path into a Struct-shaped tree: maps by key, lists by decimal index.
func walkTree(v any, path []string) (any, bool) {
	return host.PropertyMap{"": v}.Property(append([]string{""}, path...))
}

// metadataWire is the protobuf wire form of config.core.v3.Metadata with the filter_metadata
// entries (field 1, map<string, google.protobuf.Struct>), keys in sorted order.
func metadataWire(md Metadata) []byte {
	return appendMapField(nil, md, structWire)
}

// structWire encodes google.protobuf.Struct: fields (1) map<string, Value>.
func structWire(m map[string]any) []byte {
	return appendMapField(nil, m, valueWire)
}

// appendMapField appends the entries of a map<string, message> field number 1, in key order:
// each entry a message of key (1) and value (2).
func appendMapField[V any](b []byte, m map[string]V, value func(V) []byte) []byte {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		var entry []byte
		entry = protowire.AppendTag(entry, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, k)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendBytes(entry, value(m[k]))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, entry)
	}
	return b
}

// valueWire encodes google.protobuf.Value: null_value (1), number_value (2), string_value (3),
// bool_value (4), struct_value (5), list_value (6).
func valueWire(v any) []byte {
	var b []byte
	switch t := v.(type) {
	case nil:
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 0)
	case float64:
		b = protowire.AppendTag(b, 2, protowire.Fixed64Type)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(t))
	case string:
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, t)
	case bool:
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(t))
	case map[string]any:
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, structWire(t))
	case []any:
		var l []byte
		for _, e := range t {
			l = protowire.AppendTag(l, 1, protowire.BytesType)
			l = protowire.AppendBytes(l, valueWire(e))
		}
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendBytes(b, l)
	}
	return b
}
