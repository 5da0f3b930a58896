// A Go 1.24 wasm-go plugin using packages wasmgate's SDK does not have.
package main

import (
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/mcp/server"
	"github.com/higress-group/wasm-go/pkg/tokenusage"
	"github.com/higress-group/wasm-go/pkg/wrapper"
	"github.com/tidwall/gjson"
)

func main() {}

func init() {
	wrapper.SetCtx("unsupported",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onHeaders),
		wrapper.ProcessResponseBody(onBody))
	_ = server.NewServer
}

type Config struct{ paths []string }

func parseConfig(json gjson.Result, c *Config) error { return nil }

func onHeaders(ctx wrapper.HttpContext, c Config) types.Action {
	return types.ActionPause
}

func onBody(ctx wrapper.HttpContext, c Config, body []byte) types.Action {
	if v := wrapper.GetValueFromBody(body, c.paths); v != nil {
		ctx.SetContext("model", v.String())
	}
	_ = tokenusage.GetTokenUsage(ctx, body)
	return types.ActionContinue
}
