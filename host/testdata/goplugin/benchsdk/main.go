//go:build wasip1

// Command benchsdk is Higress's published workload (20 header adds, 20
// gets, 20 removes in the request-headers phase) written as a Higress
// plugin author writes it: wrapper.SetCtx and the proxywasm header calls.
package main

import (
	"strconv"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("benchsdk", wrapper.ProcessRequestHeaders(onRequestHeaders))
}

func onRequestHeaders(ctx wrapper.HttpContext, _ struct{}) types.Action {
	var keys [20]string
	for i := range keys {
		keys[i] = "x-bench-" + strconv.Itoa(i)
		if err := proxywasm.AddHttpRequestHeader(keys[i], "value-"+strconv.Itoa(i)); err != nil {
			proxywasm.LogErrorf("add %s: %v", keys[i], err)
		}
	}
	for _, k := range keys {
		if _, err := proxywasm.GetHttpRequestHeader(k); err != nil {
			proxywasm.LogErrorf("get %s: %v", k, err)
		}
	}
	for _, k := range keys {
		if err := proxywasm.RemoveHttpRequestHeader(k); err != nil {
			proxywasm.LogErrorf("remove %s: %v", k, err)
		}
	}
	return types.HeaderContinue
}
