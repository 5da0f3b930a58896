// Command trap is a test plugin that crashes its VM (an unrecovered panic)
// on requests to /anything/trap and adds "x-trap-plugin: ok" to all others.
package main

import (
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &ctx{} })
}

type ctx struct{ types.DefaultHttpContext }

func (*ctx) OnHttpRequestHeaders(int, bool) types.Action {
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	if path == "/anything/trap" {
		panic("trap requested")
	}
	_ = proxywasm.AddHttpRequestHeader("x-trap-plugin", "ok")
	return types.ActionContinue
}
