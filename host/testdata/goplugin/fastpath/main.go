//go:build wasip1

// Command fastpath reads request headers with the SDK and copies what it
// read into x-out-* headers, so a test can run it on a host with the
// engine's fast-path extension and on one without and compare.
package main

import (
	"runtime"
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
	if _, err := proxywasm.GetHttpRequestHeader("x-count-allocs"); err == nil {
		countAllocs()
		return types.HeaderContinue
	}
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

var keys = [...]string{"x-a-0", "x-a-1", "x-a-2", "x-a-3", "x-a-4", "x-a-5", "x-a-6", "x-a-7", "x-a-8", "x-a-9"}

// countAllocs reports in headers how many heap allocations the guest made
// for 10 adds, 10 replaces and 10 removes, and for 10 gets.
func countAllocs() {
	var m0, m1, m2 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for _, k := range keys {
		_ = proxywasm.AddHttpRequestHeader(k, "value")
		_ = proxywasm.ReplaceHttpRequestHeader(k, "other")
	}
	for _, k := range keys {
		_ = proxywasm.RemoveHttpRequestHeader(k)
	}
	runtime.ReadMemStats(&m1)
	for range keys {
		_, _ = proxywasm.GetHttpRequestHeader(":path")
	}
	runtime.ReadMemStats(&m2)
	_ = proxywasm.AddHttpRequestHeader("x-allocs-set", strconv.FormatUint(m1.Mallocs-m0.Mallocs, 10))
	_ = proxywasm.AddHttpRequestHeader("x-allocs-get", strconv.FormatUint(m2.Mallocs-m1.Mallocs, 10))
}
