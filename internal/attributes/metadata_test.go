package attributes

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/wasmgate/wasmgate/host"
)

func TestMetadataProperties(t *testing.T) {
	route := Metadata{"envoy.filters.http.wasm": {"auth": "cookie", "n": 2.5, "on": true, "list": []any{"a", 1.0}, "nested": map[string]any{"k": "v"}, "nothing": nil}}
	r := &Request{}
	r.SetXDS(XDS{RouteMetadata: route, HasRoute: true, VirtualHostName: "vh", ListenerMetadata: Metadata{"l": {"x": "y"}}})

	for _, name := range []string{"route_metadata", "xds.route_metadata"} {
		path := append(splitDots(name), "filter_metadata", "envoy.filters.http.wasm", "auth")
		if v, ok := r.Property(path); !ok || v != "cookie" {
			t.Errorf("%s …auth = %v, %v", name, v, ok)
		}
		// The whole value is the Metadata message, as Envoy serializes it.
		v, ok := r.Property(splitDots(name))
		if !ok {
			t.Fatalf("%s not found", name)
		}
		var md corev3.Metadata
		if err := proto.Unmarshal(v.([]byte), &md); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, _ := structpb.NewStruct(route["envoy.filters.http.wasm"])
		if !proto.Equal(md.GetFilterMetadata()["envoy.filters.http.wasm"], want) {
			t.Errorf("%s decodes to %v", name, &md)
		}
	}
	enc := func(path ...string) ([]byte, error) {
		v, ok := r.Property(path)
		if !ok {
			return nil, nil
		}
		return host.EncodeValue(v)
	}
	if b, _ := enc("route_metadata", "filter_metadata", "envoy.filters.http.wasm", "n"); len(b) != 8 {
		t.Errorf("a number is 8 bytes: %v", b)
	}
	if b, _ := enc("route_metadata", "filter_metadata", "envoy.filters.http.wasm", "on"); len(b) != 1 || b[0] != 1 {
		t.Errorf("a bool is 1 byte: %v", b)
	}
	if v, ok := r.Property([]string{"route_metadata", "filter_metadata", "envoy.filters.http.wasm", "list", "0"}); !ok || v != "a" {
		t.Errorf("list index: %v %v", v, ok)
	}
	if v, ok := r.Property([]string{"route_metadata", "filter_metadata", "envoy.filters.http.wasm", "nested", "k"}); !ok || v != "v" {
		t.Errorf("nested: %v %v", v, ok)
	}
	if _, err := enc("route_metadata", "filter_metadata", "envoy.filters.http.wasm", "nothing"); err == nil {
		t.Errorf("null must fail to serialize, as in Envoy")
	}
	if b, err := enc("listener_metadata", "filter_metadata"); err != nil || len(b) == 0 {
		t.Errorf("filter_metadata as pairs: %v %v", b, err)
	}
	if _, err := enc("route_metadata", "filter_metadata"); err == nil {
		t.Errorf("a map holding a null must fail to serialize, as in Envoy")
	}
	for _, missing := range [][]string{
		{"route_metadata", "filter_metadata", "other"}, {"route_metadata", "nope"},
		{"cluster_metadata"}, {"xds", "cluster_metadata", "filter_metadata"},
	} {
		if v, ok := r.Property(missing); ok {
			t.Errorf("%v = %v, want NotFound", missing, v)
		}
	}
	if v, ok := r.Property([]string{"xds", "virtual_host_name"}); !ok || v != "vh" {
		t.Errorf("xds.virtual_host_name = %v", v)
	}
	if v, ok := r.Property([]string{"listener_metadata", "filter_metadata", "l", "x"}); !ok || v != "y" {
		t.Errorf("listener_metadata = %v", v)
	}
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
