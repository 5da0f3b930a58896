package attributes

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// The root context serves the node (as the serialized Node proto, and field by field), the
// plugin's listener metadata and direction; route, cluster and the other xds fields are
// NotFound, as in Envoy without stream info.
func TestRootProperties(t *testing.T) {
	r := &Root{
		Node:             Node{ID: "gw-1", Cluster: "edge", Metadata: map[string]any{"region": "eu", "tags": []any{"a", "b"}}},
		ListenerMetadata: Metadata{"envoy.filters.http.wasm": {"tier": "gold"}},
		HasListener:      true,
	}
	whole, ok := r.Property([]string{"xds", "node"})
	if !ok {
		t.Fatal("xds.node not found")
	}
	var n corev3.Node
	if err := proto.Unmarshal(whole.([]byte), &n); err != nil {
		t.Fatal(err)
	}
	md, _ := structpb.NewStruct(map[string]any{"region": "eu", "tags": []any{"a", "b"}})
	if n.GetId() != "gw-1" || n.GetCluster() != "edge" || !proto.Equal(n.GetMetadata(), md) {
		t.Fatalf("node = %v", &n)
	}
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"node", "id"}, "gw-1"},
		{[]string{"xds", "node", "cluster"}, "edge"},
		{[]string{"xds", "node", "metadata", "region"}, "eu"},
		{[]string{"node", "metadata", "tags", "1"}, "b"},
		{[]string{"listener_metadata", "filter_metadata", "envoy.filters.http.wasm", "tier"}, "gold"},
		{[]string{"listener_direction"}, int64(0)},
	} {
		got, ok := r.Property(c.path)
		if !ok || got != c.want {
			t.Errorf("%v = %v, %v; want %v", c.path, got, ok, c.want)
		}
	}
	for _, p := range [][]string{
		{"route_name"}, {"cluster_name"}, {"route_metadata"}, {"cluster_metadata"},
		{"xds", "route_name"}, {"xds", "listener_metadata"}, {"xds", "cluster_metadata"},
		{"request", "path"}, {"node", "user_agent_name", "x"}, {"node", "id", "x"},
	} {
		if v, ok := r.Property(p); ok {
			t.Errorf("%v = %v in the root context, want NotFound", p, v)
		}
	}
	// A service belongs to no listener.
	if _, ok := (&Root{}).Property([]string{"listener_metadata"}); ok {
		t.Error("listener_metadata of a service")
	}
	if b, ok := (&Root{}).Property([]string{"node"}); !ok || len(b.([]byte)) != 0 {
		t.Errorf("empty node = %v, %v; want an empty message", b, ok)
	}
}
