// Command hello-world answers every request with "hello world". It has no
// configuration.
package main

import (
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("hello-world", wrapper.ProcessRequestHeaders(onHttpRequestHeaders))
}

// Config is empty: the plugin takes no configuration.
type Config struct{}

func onHttpRequestHeaders(ctx wrapper.HttpContext, _ Config) types.Action {
	_ = proxywasm.SendHttpResponse(200, nil, []byte("hello world"), -1)
	return types.HeaderContinue
}
