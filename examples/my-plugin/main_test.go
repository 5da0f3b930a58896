package main

import (
	"testing"

	"github.com/wasmgate/wasmgate/plugintest"
)

// The tests build this package into its wasm module and run it on the
// gateway's host engine.

func TestAddsHeader(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(`{"mockEnable": false}`))
	res := p.Do(t, plugintest.Get("/get").WithHeader("x-user", "ann"))
	if res.Upstream == nil {
		t.Fatalf("the request did not reach the upstream: local reply %+v", res.Local)
	}
	if got := res.Upstream.Header.Get("hello"); got != "world" {
		t.Fatalf("upstream got hello=%q, want world", got)
	}
	if got := res.Upstream.Header.Get("x-user"); got != "ann" {
		t.Fatalf("upstream got x-user=%q, want the client's header kept", got)
	}
	if res.Local != nil || res.Status != 200 {
		t.Fatalf("client got %d, local reply %+v; want the upstream's 200", res.Status, res.Local)
	}
}

func TestNoConfigurationAddsHeader(t *testing.T) {
	p := plugintest.Load(t, ".")
	res := p.Do(t, plugintest.Get("/"))
	if res.Upstream == nil || res.Upstream.Header.Get("hello") != "world" {
		t.Fatalf("upstream = %+v, local = %+v; want the request forwarded with hello: world", res.Upstream, res.Local)
	}
}

func TestMockEnable(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(`{"mockEnable": true}`))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Local == nil || res.Local.Status != 200 || string(res.Local.Body) != "hello world" {
		t.Fatalf("local reply = %+v, want 200 hello world", res.Local)
	}
	if res.Upstream != nil {
		t.Fatal("the request reached the upstream")
	}
	if res.Status != 200 || string(res.Body) != "hello world" {
		t.Fatalf("client got %d %q, want 200 hello world", res.Status, res.Body)
	}
	if a, _ := res.Action(plugintest.RequestHeaders); a != plugintest.ActionLocalReply {
		t.Fatalf("request headers action = %v, want local_reply", a)
	}
}

func TestMockContent(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.ConfigYAML("mockEnable: true\ncontent: |-\n  custom answer\n"))
	res := p.Do(t, plugintest.Post("/post", "text/plain", []byte("ignored")))
	if res.Local == nil || res.Local.Status != 200 || string(res.Local.Body) != "custom answer" {
		t.Fatalf("local reply = %+v, want 200 custom answer", res.Local)
	}
	if res.Upstream != nil {
		t.Fatal("the request reached the upstream")
	}
}

// The mock applies per route when it is configured in a rule.
func TestMockPerRoute(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(`{
		"mockEnable": false,
		"_rules_": [{"_match_route_": ["mocked"], "mockEnable": true, "content": "from the rule"}]
	}`))
	res := p.Do(t, plugintest.Get("/").Route("mocked"))
	if res.Local == nil || string(res.Local.Body) != "from the rule" {
		t.Fatalf("route mocked: local reply = %+v, want the rule's answer", res.Local)
	}
	res = p.Do(t, plugintest.Get("/").Route("other"))
	if res.Local != nil || res.Upstream == nil || res.Upstream.Header.Get("hello") != "world" {
		t.Fatalf("route other: local reply = %+v, upstream = %+v; want the global configuration", res.Local, res.Upstream)
	}
}
