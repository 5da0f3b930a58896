// Command bare is a benchmark plugin: the wrapper with an empty handler.
package main

import (
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("bare", wrapper.ProcessRequestHeaders(func(wrapper.HttpContext, struct{}) types.Action {
		return types.HeaderContinue
	}))
}
