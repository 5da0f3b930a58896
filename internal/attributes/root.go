package attributes

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Node is the bootstrap's config.core.v3.Node: what the node and xds.node properties answer.
type Node struct {
	ID, Cluster string
	// Metadata is the node's metadata Struct as a tree.
	Metadata map[string]any
}

// Root answers the properties Envoy serves without a stream, in a root context (and, below
// the stream's own, in stream contexts): `xds.node` and the legacy `node` from the node
// description, `listener_metadata` and `listener_direction` from the plugin's listener.
// Everything else Envoy reads from the stream info (route, cluster, request, xds.route_* and
// even xds.listener_metadata) is NotFound there: source/extensions/common/wasm/context.cc
// serves NODE, LISTENER_DIRECTION, LISTENER_METADATA and PLUGIN_* from the plugin, and the
// xds wrapper (source/extensions/filters/common/expr/context.cc) needs stream info for every
// field but node (envoyproxy/envoy#32077).
type Root struct {
	Node Node
	// ListenerMetadata is the metadata of the plugin's listener; HasListener says whether the
	// plugin belongs to one (a bootstrap service does not, and gets NotFound).
	ListenerMetadata Metadata
	HasListener      bool
	// ListenerDirection is the listener_direction value.
	ListenerDirection int64
}

// Property implements host.Properties.
func (r *Root) Property(path []string) (any, bool) {
	if len(path) == 0 {
		return nil, false
	}
	switch path[0] {
	case "node":
		return nodeValue(r.Node, path[1:])
	case "xds":
		if len(path) >= 2 && path[1] == "node" {
			return nodeValue(r.Node, path[2:])
		}
	case "listener_metadata":
		return metadataValue(r.ListenerMetadata, r.HasListener, path[1:])
	case "listener_direction":
		return r.ListenerDirection, len(path) == 1
	}
	return nil, false
}

// nodeValue answers the node or one of its fields as Envoy's CEL walk does: the whole value is
// the serialized Node message, `id` and `cluster` strings (empty when unset), `metadata` the
// Struct as a map, walked by key and index.
func nodeValue(n Node, rest []string) (any, bool) {
	if len(rest) == 0 {
		return nodeWire(n), true
	}
	switch rest[0] {
	case "id":
		return n.ID, len(rest) == 1
	case "cluster":
		return n.Cluster, len(rest) == 1
	case "metadata":
		var v any = map[string]any{}
		if len(n.Metadata) > 0 {
			v = n.Metadata
		}
		return walkTree(v, rest[1:])
	}
	return nil, false
}

// nodeWire encodes config.core.v3.Node: id (1), cluster (2), metadata (3, Struct).
func nodeWire(n Node) []byte {
	var b []byte
	if n.ID != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, n.ID)
	}
	if n.Cluster != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, n.Cluster)
	}
	if len(n.Metadata) > 0 {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, structWire(n.Metadata))
	}
	return b
}
