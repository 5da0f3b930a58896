package main

import (
	"testing"

	"github.com/wasmgate/wasmgate/plugintest"
)

// The tests build this package into its wasm module and run it on the
// gateway's host engine.

func TestAnswersHelloWorld(t *testing.T) {
	p := plugintest.Load(t, ".")
	for _, req := range []*plugintest.Request{
		plugintest.Get("/"),
		plugintest.Get("/any/path?x=1").WithHost("other.example.org"),
		plugintest.Post("/upload", "text/plain", []byte("a body nobody reads")).InChunks(2),
	} {
		res := p.Do(t, req)
		if res.Upstream != nil {
			t.Fatalf("%s %s reached the upstream", req.Method, req.Path)
		}
		if res.Local == nil || res.Local.Status != 200 || string(res.Local.Body) != "hello world" {
			t.Fatalf("%s %s: local reply = %+v, want 200 hello world", req.Method, req.Path, res.Local)
		}
		if res.Status != 200 || string(res.Body) != "hello world" || res.Header.Get("content-type") != "text/plain" {
			t.Fatalf("%s %s: client got %d %q %v", req.Method, req.Path, res.Status, res.Body, res.Header)
		}
	}
}

// The plugin takes no configuration: whatever it is given, it answers.
func TestIgnoresConfiguration(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(`{"anything": true}`))
	if res := p.Do(t, plugintest.Get("/")); res.Local == nil || string(res.Local.Body) != "hello world" {
		t.Fatalf("local reply = %+v", res.Local)
	}
}
