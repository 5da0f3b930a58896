// Command tag is a test plugin that appends its configured name to the
// request header and the response header "x-chain", to show chain order.
package main

import (
	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("tag",
		wrapper.ParseConfig(func(json gjson.Result, c *config) error {
			c.name = json.Get("name").String()
			return nil
		}),
		wrapper.ProcessRequestHeaders(func(ctx wrapper.HttpContext, c config) types.Action {
			_ = proxywasm.AddHttpRequestHeader("x-chain", c.name)
			return types.HeaderContinue
		}),
		wrapper.ProcessResponseHeaders(func(ctx wrapper.HttpContext, c config) types.Action {
			_ = proxywasm.AddHttpResponseHeader("x-chain", c.name)
			return types.HeaderContinue
		}),
	)
}

type config struct{ name string }
