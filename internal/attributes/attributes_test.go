package attributes

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/host"
)

func TestRequestProperties(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &Request{
		ID: "req-1", Start: start, Now: func() time.Time { return start.Add(3 * time.Second) },
		Protocol: "HTTP/1.1", Source: "127.0.0.1:40000", Destination: "[::1]:8080", ConnectionID: 7,
	}
	req := &host.HeaderMap{}
	for _, kv := range [][2]string{
		{":method", "POST"}, {":path", "/a/b?x=1"}, {":authority", "example.com"}, {":scheme", "http"},
		{"user-agent", "ua"}, {"x-tag", "one"}, {"x-tag", "two"},
	} {
		req.Add(kv[0], kv[1])
	}
	r.SetRequestHeaders(req)
	r.SetRoute("r1", "outbound|80||svc", "10.0.0.1:80")

	want := map[string]any{
		"request.id": "req-1", "request.method": "POST", "request.path": "/a/b?x=1",
		"request.url_path": "/a/b", "request.query": "x=1", "request.host": "example.com",
		"request.scheme": "http", "request.protocol": "HTTP/1.1", "request.useragent": "ua",
		"request.time": start, "request.duration": 3 * time.Second,
		"request.headers.X-Tag": "one,two",
		"source.address":        "127.0.0.1:40000", "source.port": int64(40000),
		"destination.address": "[::1]:8080", "destination.port": int64(8080),
		"upstream.address": "10.0.0.1:80", "upstream.port": int64(80),
		"connection.id": uint64(7), "connection_id": uint64(7), "connection.mtls": false,
		"route_name": "r1", "cluster_name": "outbound|80||svc",
		"xds.route_name": "r1", "xds.cluster_name": "outbound|80||svc",
	}
	for name, v := range want {
		got, ok := r.Property(split(name))
		if !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %#v, %v; want %#v", name, got, ok, v)
		}
	}
	for _, name := range []string{
		"", "request", "request.referer", "request.headers.missing", "response.code",
		"route_name.x", "connection_id.x", "xds", "source", "source.address.x", "nope",
	} {
		if got, ok := r.Property(split(name)); ok {
			t.Errorf("%s = %#v, want absent", name, got)
		}
	}

	resp := &host.HeaderMap{}
	resp.Add(":status", "201")
	resp.Add("content-type", "text/plain")
	r.SetResponse(201, resp, "via_upstream")
	r.SetResponse(201, resp, "")
	for name, v := range map[string]any{
		"response.code": int64(201), "response.code_details": "via_upstream", "response.flags": int64(0),
		"response.headers.content-type": "text/plain",
		"response.headers":              map[string]string{":status": "201", "content-type": "text/plain"},
	} {
		if got, ok := r.Property(split(name)); !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %#v, %v; want %#v", name, got, ok, v)
		}
	}

	// The whole header map is a copy: changing it does not change the request.
	m, _ := r.Property([]string{"request", "headers"})
	m.(map[string]string)["x-tag"] = "changed"
	if v, _ := r.Property([]string{"request", "headers", "x-tag"}); v != "one,two" {
		t.Errorf("request.headers.x-tag = %v after changing a copy", v)
	}
}

func split(name string) []string {
	if name == "" {
		return nil
	}
	return strings.Split(name, ".")
}
