package gateway

import (
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// A plugin whose configuration its module rejects on the first load answers
// 503 wasm_fail_stream when it fails closed and is skipped when it fails open.
func TestPluginFailingToStart(t *testing.T) {
	wasm := testwasm.Build(t, "examples/http-call")
	for _, open := range []bool{false, true} {
		p := filePlugin("http-call", wasm, `{"requestPath":"/t"}`) // no tokenHeader: the plugin refuses it
		if open {
			p.FailStrategy = config.FailOpen
		}
		g := startGateway(t, staticConfig([]config.Plugin{p}))
		code, _, body := get(t, g.url+"/get")
		switch {
		case open && code != 200:
			t.Fatalf("fail-open: %d %q", code, body)
		case !open && code != 503:
			t.Fatalf("fail-closed: %d %q", code, body)
		}
		st := g.gw.Plugins()
		if len(st) != 1 || st[0].State != "failed" || !strings.Contains(st[0].Error, "http-call") {
			t.Fatalf("plugins: %+v", st)
		}
	}
}
