package host

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/host/internal/pairs"
)

func le8(v uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return "hex:" + hex.EncodeToString(b[:])
}

func TestProperties(t *testing.T) {
	e := testEngine(t)
	script := `{"configure":[{"op":"get_property","path":["plugin_name"]},{"op":"get_property","path":["xds","cluster_name"]},{"op":"get_property","path":["request","path"]},{"op":"set_property","path":["x"],"val":"1"}],
	"request_headers":[
		{"op":"get_property","path":["request","path"]},{"op":"get_property","path":["request","headers","user-agent"]},
		{"op":"get_property","path":["response","code"]},{"op":"get_property","path":["connection","mtls"]},
		{"op":"get_property","path":["route_name"]},{"op":"get_property","path":["cluster_name"]},
		{"op":"get_property","path":["route_metadata","filter_metadata","envoy.filters.http.wasm","auth"]},
		{"op":"get_property","path":["plugin_root_id"]},{"op":"get_property","path":["plugin_vm_id"]},
		{"op":"get_property","path":["xds","node"]},{"op":"get_property","path":["missing"]},{"op":"get_property","path":["bad"]},
		{"op":"set_property","path":["x_request_id"],"val":"rid-1"},{"op":"get_property","path":["x_request_id"]},
		{"op":"set_property","path":["clear_route_cache"],"val":"off"},
		{"op":"get_property","path":["plugin_vm_memory"]}]}`
	plugProps := PropertyMap{"xds.cluster_name": "outbound|80||svc", "xds.node": []byte{0x0a, 0x02, 'i', 'd'}}
	p, rec := scripted(t, e, false, script, withProps(plugProps))
	rec.mustHave(t, "get_property plugin_name st=0 len=8 data=scripted", "get_property xds.cluster_name st=0 len=16 data=outbound|80||svc",
		"get_property request.path st=1", "set_property x st=1")
	rec.reset()
	stProps := PropertyMap{
		"request.path":    "/p?q=1",
		"request.headers": NewHeaderMap("user-agent", "a", "user-agent", "b"),
		"response.code":   int64(200),
		"connection.mtls": true,
		"route_name":      "default/route",
		"cluster_name":    "outbound|80||svc",
		"route_metadata":  map[string]any{"filter_metadata": map[string]any{"envoy.filters.http.wasm": map[string]any{"auth": "yes"}}},
		"bad":             struct{}{},
	}
	s := p.NewStream(StreamOptions{Properties: stProps})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	rec.mustHave(t,
		"get_property request.path st=0 len=6 data=/p?q=1",
		"get_property request.headers.user-agent st=0 len=3 data=a,b",
		"get_property response.code st=0 len=8 data="+le8(200),
		"get_property connection.mtls st=0 len=1 data=hex:01",
		"get_property route_name st=0 len=13 data=default/route",
		"get_property cluster_name st=0 len=16 data=outbound|80||svc",
		"get_property route_metadata.filter_metadata.envoy.filters.http.wasm.auth st=0 len=3 data=yes",
		"get_property plugin_root_id st=0 len=4 data=root",
		"get_property plugin_vm_id st=0",
		"get_property xds.node st=0 len=4 data=hex:0a026964",
		"get_property missing st=1",
		"get_property bad st=3",
		"set_property x_request_id st=0", "get_property x_request_id st=0 len=5 data=rid-1",
		"set_property clear_route_cache st=0",
		"get_property plugin_vm_memory st=0 len=8")
	if fs := s.FilterState(); string(fs["x_request_id"]) != "rid-1" {
		t.Fatal(fs)
	}
}

func TestPluginVMMemoryProperty(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"get_property","path":["plugin_vm_memory"]}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	v := p.g.serving()[0]
	mem := v.memoryBytes()
	rec.mustHave(t, "data="+le8(mem))
	if mem < 1<<20 {
		t.Fatalf("memory %d", mem)
	}
}

func TestClearRouteCacheOff(t *testing.T) {
	e := testEngine(t)
	p, _ := scripted(t, e, false, `{"request_headers":[{"op":"set_property","path":["clear_route_cache"],"val":"off"},{"op":"add_header","map":0,"key":"x","val":"1"}]}`)
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	if s.RouteCacheCleared() {
		t.Fatal("route cache cleared although the plugin turned it off")
	}
	s.Done()
	p, _ = scripted(t, e, false, `{"request_headers":[{"op":"set_property","path":["clear_route_cache"],"val":"off"},{"op":"foreign","name":"clear_route_cache"}]}`)
	s = p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	if !s.RouteCacheCleared() {
		t.Fatal("clear_route_cache foreign function had no effect")
	}
	s.Done()
}

func TestEncodeValue(t *testing.T) {
	ts := time.Unix(0, 1234567890)
	cases := []struct {
		v    any
		want []byte
	}{
		{"s", []byte("s")},
		{[]byte{1, 2}, []byte{1, 2}},
		{true, []byte{1}},
		{false, []byte{0}},
		{int64(-1), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{uint64(258), []byte{2, 1, 0, 0, 0, 0, 0, 0}},
		{1.5, binary.LittleEndian.AppendUint64(nil, math.Float64bits(1.5))},
		{ts, binary.LittleEndian.AppendUint64(nil, 1234567890)},
		{time.Second, binary.LittleEndian.AppendUint64(nil, uint64(time.Second))},
		{map[string]string{"b": "2", "a": "1"}, pairs.Encode(nil, []pairs.Pair{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}})},
		{[]string{"x", "y"}, pairs.Encode(nil, []pairs.Pair{{Key: "x"}, {Key: "y"}})},
		{map[string]any{"n": int64(1)}, pairs.Encode(nil, []pairs.Pair{{Key: "n", Value: string(binary.LittleEndian.AppendUint64(nil, 1))}})},
	}
	for _, c := range cases {
		got, err := EncodeValue(c.v)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("EncodeValue(%#v) = %x, %v; want %x", c.v, got, err, c.want)
		}
	}
	if _, err := EncodeValue(struct{}{}); !errors.Is(err, ErrSerialization) {
		t.Fatal(err)
	}
	if _, err := EncodeValue(map[string]any{"x": struct{}{}}); !errors.Is(err, ErrSerialization) {
		t.Fatal(err)
	}
}

func TestPropertyMapWalk(t *testing.T) {
	m := PropertyMap{
		"a":   map[string]any{"b": []any{"x", map[string]string{"c": "d"}}},
		"a.z": "direct",
		"h":   NewHeaderMap("k", "1"),
	}
	for path, want := range map[string]any{"a.b.1.c": "d", "a.z": "direct", "h.k": "1", "a.b.0": "x"} {
		got, ok := m.Property(splitPath([]byte(stringsReplaceDot(path))))
		if !ok || got != want {
			t.Errorf("%s = %v %v", path, got, ok)
		}
	}
	for _, path := range []string{"a.b.9", "a.q", "nope", "a.b.x"} {
		if _, ok := m.Property(splitPath([]byte(stringsReplaceDot(path)))); ok {
			t.Errorf("%s found", path)
		}
	}
	if got := splitPath([]byte("a\x00b\x00")); len(got) != 2 || got[1] != "b" {
		t.Fatal(got)
	}
}

func stringsReplaceDot(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '.' {
			b[i] = 0
		}
	}
	return string(b)
}

func FuzzPropertyPath(f *testing.F) {
	f.Add([]byte("request\x00path"))
	f.Add([]byte("a\x00b\x001\x00c"))
	f.Add([]byte{0})
	f.Add([]byte("h\x00k\x00"))
	m := PropertyMap{"request.path": "/", "a": map[string]any{"b": []any{"x", map[string]string{"c": "d"}}}, "h": NewHeaderMap("k", "1")}
	f.Fuzz(func(t *testing.T, raw []byte) {
		path := splitPath(raw)
		v, ok := m.Property(path)
		if ok {
			if _, err := EncodeValue(v); err != nil {
				t.Fatalf("value at %q cannot be encoded: %v", path, err)
			}
		}
	})
}

// An Envoy PluginConfig without a name: plugin_name is Ok and empty, whatever Name the
// embedder logs it under.
func TestPluginNameOfUnnamedEnvoyPlugin(t *testing.T) {
	e := testEngine(t)
	empty := ""
	_, rec := scripted(t, e, false, `{"configure":[{"op":"get_property","path":["plugin_name"]}]}`,
		withCfg(func(c *PluginConfig) { c.Name, c.PluginName = "envoy.filters.http.wasm", &empty }))
	rec.mustHave(t, "get_property plugin_name st=0 len=0")
}
