// Command props is a test plugin that reports properties: for each dotted
// path in its configuration's "props" list it reads the property when the
// request headers arrive and adds x-prop-PATH (dots as dashes) to the
// response: the value as text, "true"/"false" for a one-byte bool, or
// "absent" when the host does not find it. The paths of "respProps" are read
// when the response headers arrive, and reported the same way.
package main

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

type config struct{ props, respProps []string }

func init() {
	wrapper.SetCtx("props",
		wrapper.ParseConfig(func(json gjson.Result, c *config) error {
			for _, p := range json.Get("props").Array() {
				c.props = append(c.props, p.String())
			}
			for _, p := range json.Get("respProps").Array() {
				c.respProps = append(c.respProps, p.String())
			}
			return nil
		}),
		wrapper.ProcessRequestHeaders(func(ctx wrapper.HttpContext, c config) types.Action {
			var seen [][2]string
			for _, p := range c.props {
				seen = append(seen, [2]string{"x-prop-" + strings.ReplaceAll(p, ".", "-"), read(p)})
			}
			ctx.SetContext("seen", seen)
			return types.ActionContinue
		}),
		wrapper.ProcessResponseHeaders(func(ctx wrapper.HttpContext, c config) types.Action {
			seen, _ := ctx.GetContext("seen").([][2]string)
			for _, h := range seen {
				_ = proxywasm.AddHttpResponseHeader(h[0], h[1])
			}
			for _, p := range c.respProps {
				_ = proxywasm.AddHttpResponseHeader("x-prop-"+strings.ReplaceAll(p, ".", "-"), read(p))
			}
			return types.ActionContinue
		}),
	)
}

func read(path string) string {
	v, err := proxywasm.GetProperty(strings.Split(path, "."))
	if err != nil {
		return "absent"
	}
	if len(v) == 1 && v[0] < 2 {
		if v[0] == 1 {
			return "true"
		}
		return "false"
	}
	return string(v)
}
