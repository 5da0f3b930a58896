// A proxy-wasm-go-sdk plugin built with TinyGo: it blocks paths matching a
// pattern (go-re2, because TinyGo's regexp was incomplete) and asks a
// policy service before letting other requests through.
package main

import (
	"github.com/wasilibs/go-re2"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {
	proxywasm.SetVMContext(&vmContext{})
}

type vmContext struct {
	types.DefaultVMContext
}

func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{}
}

type pluginContext struct {
	types.DefaultPluginContext
	blocked *re2.Regexp
}

func (p *pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil || len(cfg) == 0 {
		cfg = []byte(`^/admin`)
	}
	p.blocked = re2.MustCompile(string(cfg))
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{blocked: p.blocked}
}

type httpContext struct {
	types.DefaultHttpContext
	blocked *re2.Regexp
}

func (h *httpContext) OnHttpRequestHeaders(numHeaders int, endOfStream bool) types.Action {
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	if h.blocked.MatchString(path) {
		_ = proxywasm.SendHttpResponse(403, nil, []byte("blocked"), -1)
		return types.ActionContinue
	}
	headers := [][2]string{{":method", "GET"}, {":path", "/allow"}, {":authority", "policy"}}
	if _, err := proxywasm.DispatchHttpCall("policy", headers, nil, nil, 1000, func(int, int, int) {
		_ = proxywasm.ResumeHttpRequest()
	}); err != nil {
		proxywasm.LogErrorf("dispatch: %v", err)
		return types.ActionContinue
	}
	return types.ActionPause
}
