// Command routeauth is a test plugin that enforces authentication per route
// from the route's metadata, as the proxy-wasm SDK "properties" example does:
// when route_metadata.filter_metadata["envoy.filters.http.wasm"].auth names a
// header, a request without that header gets 401. It also reports what it saw
// (:scheme, request.scheme, the virtual host) in response headers, and counts
// requests in the counters its configuration names. With "reply" in its
// configuration it answers every request with that text.
package main

import (
	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

type config struct {
	counters []proxywasm.MetricCounter
	deny     bool
	reply    string
	hasReply bool
}

func init() {
	wrapper.SetCtx("routeauth",
		wrapper.ParseConfig(func(json gjson.Result, c *config) error {
			for _, n := range json.Get("counters").Array() {
				c.counters = append(c.counters, proxywasm.DefineCounterMetric(n.String()))
			}
			c.deny = json.Get("deny").Bool()
			if r := json.Get("reply"); r.Exists() {
				c.reply, c.hasReply = r.String(), true
			}
			return nil
		}),
		wrapper.ProcessRequestHeaders(func(ctx wrapper.HttpContext, c config) types.Action {
			for _, m := range c.counters {
				m.Increment(1)
			}
			scheme, _ := proxywasm.GetHttpRequestHeader(":scheme")
			prop, _ := proxywasm.GetProperty([]string{"request", "scheme"})
			ctx.SetContext("scheme", scheme+","+string(prop))
			if vh, err := proxywasm.GetProperty([]string{"xds", "virtual_host_name"}); err == nil {
				ctx.SetContext("vhost", string(vh))
			}
			if c.hasReply {
				_ = proxywasm.SendHttpResponse(200, [][2]string{{"x-replied-by", "routeauth"}}, []byte(c.reply), -1)
				return types.ActionPause
			}
			if c.deny {
				_ = proxywasm.SendHttpResponse(403, [][2]string{{"x-denied-by", "routeauth"}}, []byte("denied by config\n"), -1)
				return types.ActionPause
			}
			need, err := proxywasm.GetProperty([]string{"route_metadata", "filter_metadata", "envoy.filters.http.wasm", "auth"})
			if err != nil {
				return types.ActionContinue
			}
			if v, err := proxywasm.GetHttpRequestHeader(string(need)); err != nil || v == "" {
				_ = proxywasm.SendHttpResponse(401, [][2]string{{"x-denied-by", "routeauth"}}, []byte("missing "+string(need)+"\n"), -1)
				return types.ActionPause
			}
			return types.ActionContinue
		}),
		wrapper.ProcessResponseHeaders(func(ctx wrapper.HttpContext, c config) types.Action {
			if s, ok := ctx.GetContext("scheme").(string); ok {
				_ = proxywasm.AddHttpResponseHeader("x-seen-scheme", s)
			}
			if s, ok := ctx.GetContext("vhost").(string); ok {
				_ = proxywasm.AddHttpResponseHeader("x-seen-vhost", s)
			}
			return types.ActionContinue
		}),
	)
}
