// Package iface is Higress's pkg/iface: the plugin and HTTP context
// interfaces and the execution phases, as the SDK's wrapper declares them.
package iface

import sdkwrapper "github.com/wasmgate/wasmgate/sdk/wrapper"

// PluginContext is the SDK's wrapper.PluginContext.
type PluginContext = sdkwrapper.PluginContext

// HttpContext is the SDK's wrapper.HttpContext.
type HttpContext = sdkwrapper.HttpContext

// RouteResponseCallback is the SDK's wrapper.RouteResponseCallback.
type RouteResponseCallback = sdkwrapper.RouteResponseCallback

// HTTPExecutionPhase is the SDK's wrapper.HTTPExecutionPhase.
type HTTPExecutionPhase = sdkwrapper.HTTPExecutionPhase

// The execution phases.
const (
	DecodeHeader = sdkwrapper.DecodeHeader
	DecodeData   = sdkwrapper.DecodeData
	EncodeHeader = sdkwrapper.EncodeHeader
	EncodeData   = sdkwrapper.EncodeData
	Done         = sdkwrapper.Done
)
