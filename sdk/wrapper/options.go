package wrapper

import (
	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// CtxOption configures a plugin registered with SetCtx.
type CtxOption[C any] interface {
	Apply(ctx *CommonVmCtx[C])
}

type option[C any] func(ctx *CommonVmCtx[C])

func (o option[C]) Apply(ctx *CommonVmCtx[C]) { o(ctx) }

// Canonical handler forms; every option adapts its handler to one of these.
type (
	parseFunc[C any]      func(ctx PluginContext, raw []byte, config *C) error
	parseRuleFunc[C any]  func(ctx PluginContext, raw []byte, global C, config *C) error
	headersFunc[C any]    func(ctx HttpContext, config C) types.Action
	bodyFunc[C any]       func(ctx HttpContext, config C, body []byte) types.Action
	streamingFunc[C any]  func(ctx HttpContext, config C, chunk []byte, isLastChunk bool) []byte
	streamDoneFunc[C any] func(ctx HttpContext, config C)
)

// ---- configuration parsers ----
//
// The json parameter of a parser is github.com/tidwall/gjson's Result. It is a
// type parameter here so that the SDK links gjson only into plugins that parse
// their configuration; the type is checked when the option is created.

// ParseConfig sets the parser of the global config and of every rule's config.
func ParseConfig[C any, J any](f func(json J, config *C) error) CtxOption[C] {
	conv := jsonConverter[J]()
	return parseOption[C](func(_ PluginContext, raw []byte, c *C) error { return f(conv(raw), c) }, nil)
}

// ParseConfigWithContext is ParseConfig with the plugin context.
func ParseConfigWithContext[C any, J any](f func(ctx PluginContext, json J, config *C) error) CtxOption[C] {
	conv := jsonConverter[J]()
	return parseOption[C](func(ctx PluginContext, raw []byte, c *C) error { return f(ctx, conv(raw), c) }, nil)
}

// ParseRawConfig sets a parser that receives the configuration bytes.
func ParseRawConfig[C any](f func(configBytes []byte, config *C) error) CtxOption[C] {
	return parseOption[C](func(_ PluginContext, raw []byte, c *C) error { return f(raw, c) }, nil)
}

// ParseConfigBy is the deprecated form of ParseConfig whose parser takes a logger.
func ParseConfigBy[C any, J any](f func(json J, config *C, log log.Log) error) CtxOption[C] {
	conv := jsonConverter[J]()
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.parseConfig = func(_ PluginContext, raw []byte, c *C) error { return f(conv(raw), c, ctx.log) }
		ctx.parseRuleConfig = nil
	})
}

// ParseOverrideConfig sets a global parser and a rule parser; the rule parser
// starts from a copy of the parsed global config.
func ParseOverrideConfig[C any, J any](global func(json J, config *C) error, rule func(json J, global C, config *C) error) CtxOption[C] {
	conv := jsonConverter[J]()
	return parseOption[C](
		func(_ PluginContext, raw []byte, c *C) error { return global(conv(raw), c) },
		func(_ PluginContext, raw []byte, g C, c *C) error { return rule(conv(raw), g, c) })
}

// ParseOverrideRawConfig is ParseOverrideConfig with raw configuration bytes.
func ParseOverrideRawConfig[C any](global func(configBytes []byte, config *C) error, rule func(configBytes []byte, global C, config *C) error) CtxOption[C] {
	return parseOption[C](
		func(_ PluginContext, raw []byte, c *C) error { return global(raw, c) },
		func(_ PluginContext, raw []byte, g C, c *C) error { return rule(raw, g, c) })
}

// ParseOverrideConfigBy is the deprecated form of ParseOverrideConfig whose parsers take a logger.
func ParseOverrideConfigBy[C any, J any](global func(json J, config *C, log log.Log) error, rule func(json J, global C, config *C, log log.Log) error) CtxOption[C] {
	conv := jsonConverter[J]()
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.parseConfig = func(_ PluginContext, raw []byte, c *C) error { return global(conv(raw), c, ctx.log) }
		ctx.parseRuleConfig = func(_ PluginContext, raw []byte, g C, c *C) error { return rule(conv(raw), g, c, ctx.log) }
	})
}

func parseOption[C any](global parseFunc[C], rule parseRuleFunc[C]) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.parseConfig = global
		ctx.parseRuleConfig = rule
	})
}

// ---- HTTP handlers ----

// ProcessRequestHeaders sets the request-header handler.
func ProcessRequestHeaders[C any](f func(ctx HttpContext, config C) types.Action) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.onRequestHeaders = f })
}

// ProcessRequestHeadersBy is the deprecated form of ProcessRequestHeaders.
func ProcessRequestHeadersBy[C any](f func(ctx HttpContext, config C, log log.Log) types.Action) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.onRequestHeaders = func(h HttpContext, c C) types.Action { return f(h, c, ctx.log) }
	})
}

// ProcessRequestBody sets the handler of the whole (buffered) request body.
func ProcessRequestBody[C any](f func(ctx HttpContext, config C, body []byte) types.Action) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.onRequestBody = f })
}

// ProcessRequestBodyBy is the deprecated form of ProcessRequestBody.
func ProcessRequestBodyBy[C any](f func(ctx HttpContext, config C, body []byte, log log.Log) types.Action) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.onRequestBody = func(h HttpContext, c C, b []byte) types.Action { return f(h, c, b, ctx.log) }
	})
}

// ProcessStreamingRequestBody sets a handler called for each request body
// chunk; it returns the chunk to forward.
func ProcessStreamingRequestBody[C any](f func(ctx HttpContext, config C, chunk []byte, isLastChunk bool) []byte) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.onStreamingRequestBody = f })
}

// ProcessStreamingRequestBodyBy is the deprecated form of ProcessStreamingRequestBody.
func ProcessStreamingRequestBodyBy[C any](f func(ctx HttpContext, config C, chunk []byte, isLastChunk bool, log log.Log) []byte) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.onStreamingRequestBody = func(h HttpContext, c C, b []byte, last bool) []byte { return f(h, c, b, last, ctx.log) }
	})
}

// ProcessResponseHeaders sets the response-header handler.
func ProcessResponseHeaders[C any](f func(ctx HttpContext, config C) types.Action) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.onResponseHeaders = f })
}

// ProcessResponseHeadersBy is the deprecated form of ProcessResponseHeaders.
func ProcessResponseHeadersBy[C any](f func(ctx HttpContext, config C, log log.Log) types.Action) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.onResponseHeaders = func(h HttpContext, c C) types.Action { return f(h, c, ctx.log) }
	})
}

// ProcessResponseBody sets the handler of the whole (buffered) response body.
func ProcessResponseBody[C any](f func(ctx HttpContext, config C, body []byte) types.Action) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.onResponseBody = f })
}

// ProcessResponseBodyBy is the deprecated form of ProcessResponseBody.
func ProcessResponseBodyBy[C any](f func(ctx HttpContext, config C, body []byte, log log.Log) types.Action) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.onResponseBody = func(h HttpContext, c C, b []byte) types.Action { return f(h, c, b, ctx.log) }
	})
}

// ProcessStreamingResponseBody sets a handler called for each response body
// chunk; it returns the chunk to forward.
func ProcessStreamingResponseBody[C any](f func(ctx HttpContext, config C, chunk []byte, isLastChunk bool) []byte) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.onStreamingResponseBody = f })
}

// ProcessStreamingResponseBodyBy is the deprecated form of ProcessStreamingResponseBody.
func ProcessStreamingResponseBodyBy[C any](f func(ctx HttpContext, config C, chunk []byte, isLastChunk bool, log log.Log) []byte) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.onStreamingResponseBody = func(h HttpContext, c C, b []byte, last bool) []byte { return f(h, c, b, last, ctx.log) }
	})
}

// ProcessStreamDone sets a handler called when the stream ends (access-log time).
func ProcessStreamDone[C any](f func(ctx HttpContext, config C)) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.onStreamDone = f })
}

// ProcessStreamDoneBy is the deprecated form of ProcessStreamDone.
func ProcessStreamDoneBy[C any](f func(ctx HttpContext, config C, log log.Log)) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.onStreamDone = func(h HttpContext, c C) { f(h, c, ctx.log) }
	})
}

// ---- plugin-wide settings ----

// WithLogger replaces the plugin logger (and the logger of package log).
func WithLogger[C any](logger log.Log) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) {
		ctx.log = logger
		log.SetPluginLog(logger)
	})
}

// EnableSafeLog makes log.UnsafeInfo lines debug-level and line-separated.
func EnableSafeLog[C any]() CtxOption[C] {
	return option[C](func(*CommonVmCtx[C]) { log.SetSafeLogEnabled(true) })
}

// WithRebuildAfterRequests asks the host to rebuild the VM after n requests
// (property wasm_need_rebuild).
func WithRebuildAfterRequests[C any](n uint64) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.rebuildAfterRequests = n })
}

// WithRebuildMaxMemBytes asks the host to rebuild the VM once its memory
// (property plugin_vm_memory) reaches bytes.
func WithRebuildMaxMemBytes[C any](bytes uint64) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.rebuildMaxMemBytes = bytes })
}

// WithMaxRequestsPerIoCycle limits how many requests the host's event loop
// accepts per I/O cycle (foreign function set_global_max_requests_per_io_cycle).
func WithMaxRequestsPerIoCycle[C any](n uint64) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.maxRequestsPerIoCycle = n })
}

// PrePluginStartOrReload runs f first on every plugin start or reload; an
// error fails the start.
func PrePluginStartOrReload[C any](f func(ctx PluginContext) error) CtxOption[C] {
	return option[C](func(ctx *CommonVmCtx[C]) { ctx.prePluginStartOrReload = f })
}
