// Command bodies is a test plugin that buffers bodies: it appends "!" to the
// request body, upper-cases the response body and counts requests in the
// plugin-defined counter "bodies_requests".
package main

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("bodies",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onRequestHeaders),
		wrapper.ProcessRequestBody(onRequestBody),
		wrapper.ProcessResponseHeaders(onResponseHeaders),
		wrapper.ProcessResponseBody(onResponseBody),
	)
}

type config struct {
	requests proxywasm.MetricCounter
}

func parseConfig(_ gjson.Result, c *config) error {
	c.requests = proxywasm.DefineCounterMetric("bodies_requests")
	return nil
}

func onRequestHeaders(ctx wrapper.HttpContext, c config) types.Action {
	c.requests.Increment(1)
	_ = proxywasm.RemoveHttpRequestHeader("content-length")
	return types.HeaderContinue
}

func onRequestBody(ctx wrapper.HttpContext, c config, body []byte) types.Action {
	_ = proxywasm.AppendHttpRequestBody([]byte("!"))
	return types.DataContinue
}

func onResponseHeaders(ctx wrapper.HttpContext, c config) types.Action {
	_ = proxywasm.RemoveHttpResponseHeader("content-length")
	return types.HeaderContinue
}

func onResponseBody(ctx wrapper.HttpContext, c config, body []byte) types.Action {
	_ = proxywasm.ReplaceHttpResponseBody(bytes.ToUpper(body))
	return types.DataContinue
}
