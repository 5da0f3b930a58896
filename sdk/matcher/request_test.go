//go:build !wasm

package matcher

import (
	"testing"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
)

// fakeHost answers request-header and property reads from maps; a missing
// entry is NotFound, an entry in broken is BadArgument.
type fakeHost struct {
	abi.UnimplementedHost
	headers    map[string]string
	properties map[string]string
	broken     map[string]bool
	reads      []string
}

func (h *fakeHost) GetHeaderMapValue(mapType uint32, key string) ([]byte, abi.Status) {
	h.reads = append(h.reads, "header:"+key)
	if mapType != 0 {
		return nil, abi.StatusBadArgument
	}
	if h.broken[key] {
		return nil, abi.StatusBadArgument
	}
	v, ok := h.headers[key]
	if !ok {
		return nil, abi.StatusNotFound
	}
	return []byte(v), abi.StatusOK
}

func (h *fakeHost) GetProperty(path []byte) ([]byte, abi.Status) {
	key := string(path)
	h.reads = append(h.reads, "property:"+key)
	if h.broken[key] {
		return nil, abi.StatusBadArgument
	}
	v, ok := h.properties[key]
	if !ok {
		return nil, abi.StatusNotFound
	}
	return []byte(v), abi.StatusOK
}

func TestGetMatchConfig(t *testing.T) {
	m := mustParse(t, controllerJSON)
	h := &fakeHost{
		headers:    map[string]string{":authority": "shop.example.com:443"},
		properties: map[string]string{},
	}
	release := abi.SetHost(h)
	defer release()

	// route_name and cluster_name absent (NotFound): the domain rule matches.
	c, err := m.GetMatchConfig()
	if err != nil || name(c) != "r-domain" {
		t.Fatalf("GetMatchConfig = %s, %v", name(c), err)
	}
	h.properties["route_name"] = "default/foo"
	if c, err = m.GetMatchConfig(); err != nil || name(c) != "r-route" {
		t.Errorf("route: %s, %v", name(c), err)
	}
	h.headers[":authority"] = "other.io"
	h.properties["route_name"] = "x"
	h.properties["cluster_name"] = "outbound|8080||foo.default.svc.cluster.local"
	if c, err = m.GetMatchConfig(); err != nil || name(c) != "r-service" {
		t.Errorf("service: %s, %v", name(c), err)
	}
	h.properties["cluster_name"] = "outbound|1||none"
	if c, err = m.GetMatchConfig(); err != nil || name(c) != "global" {
		t.Errorf("global: %s, %v", name(c), err)
	}

	// Errors other than NotFound are returned.
	h.broken = map[string]bool{"route_name": true}
	if _, err = m.GetMatchConfig(); err == nil {
		t.Error("route_name error swallowed")
	}
	h.broken = map[string]bool{"cluster_name": true}
	if _, err = m.GetMatchConfig(); err == nil {
		t.Error("cluster_name error swallowed")
	}
	h.broken = nil
	delete(h.headers, ":authority")
	if _, err = m.GetMatchConfig(); err == nil {
		t.Error("missing :authority accepted")
	}
}

func TestGetMatchConfigConsumer(t *testing.T) {
	m := mustParse(t, `{"_rules_":[{"_match_route_prefix_":["api"],"_match_consumer_":["alice"],"name":"alice"}]}`)
	h := &fakeHost{
		headers:    map[string]string{":authority": "a.io", ConsumerHeaderKey: "alice"},
		properties: map[string]string{"route_name": "api-v1"},
	}
	defer abi.SetHost(h)()
	if c, err := m.GetMatchConfig(); err != nil || name(c) != "alice" {
		t.Errorf("consumer: %s, %v", name(c), err)
	}
	h.headers[ConsumerHeaderKey] = "bob"
	if c, err := m.GetMatchConfig(); err != nil || c != nil {
		t.Errorf("other consumer: %s, %v", name(c), err)
	}

	// Without consumer rules the header is never read.
	m = mustParse(t, `{"_rules_":[{"_match_route_":["r"]}]}`)
	h.reads = nil
	if _, err := m.GetMatchConfig(); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.reads {
		if r == "header:"+ConsumerHeaderKey {
			t.Error("consumer header read without consumer rules")
		}
	}
}
