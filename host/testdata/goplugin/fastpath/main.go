//go:build wasip1

// Command fastpath reads request headers with the SDK and copies what it
// read into x-out-* headers, so a test can run it on a host with the
// engine's fast-path extension and on one without and compare.
package main

import (
	"strconv"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("fastpath", wrapper.ProcessRequestHeaders(onRequestHeaders))
}

func onRequestHeaders(ctx wrapper.HttpContext, _ struct{}) types.Action {
	for _, k := range []string{"x-in-short", "x-in-empty", "x-in-exact", "x-in-long", "x-in-missing"} {
		v, err := proxywasm.GetHttpRequestHeader(k)
		if err != nil {
			v = "error: " + err.Error()
		}
		// Read again after another host call: the first value must not
		// change under it.
		again, _ := proxywasm.GetHttpRequestHeader(":path")
		_ = proxywasm.AddHttpRequestHeader("x-out-"+k[len("x-in-"):], v+"|"+again)
	}
	// Every header, read in one call before the x-out-* ones are added.
	if all, err := proxywasm.GetHttpRequestHeaders(); err == nil {
		for _, kv := range all {
			_ = proxywasm.AddHttpRequestHeader("x-out-pair-"+kv[0], kv[1])
		}
	}
	name, err := proxywasm.GetProperty([]string{"plugin_name"})
	if err != nil {
		name = []byte("error: " + err.Error())
	}
	_ = proxywasm.AddHttpRequestHeader("x-out-plugin-name", string(name))
	_ = proxywasm.AddHttpRequestHeader("x-fast-path", strconv.FormatBool(proxywasm.HostFastPath()))
	return types.HeaderContinue
}
