// Package host is wasmgate's proxy-wasm host engine: it runs plugins built
// for Envoy and Higress (ABI 0.2.0, 0.2.1, Higress 0.2.100, and 0.1.0) on
// wazero, with Envoy's observable behaviour callback for callback.
//
// # Model
//
// An Engine owns one wazero runtime with its compilation cache (on disk
// under the user cache directory unless configured otherwise), the host
// modules every plugin links against ("env" with every proxy-wasm import,
// "wasi_snapshot_preview1" and "wasi_unstable" with Envoy's WASI
// behaviour), and the state Envoy shares between VMs: shared data and
// shared queues (scoped by vm_id) and plugin metrics (Engine.Metrics).
//
// Engine.Compile turns module bytes into a Module, once per content hash.
// Compile refuses a module without a proxy_abi_version_* marker export
// (ErrNoABIVersion) or without an allocator.
//
// Engine.NewPlugin starts a Plugin from a Module and a PluginConfig (name,
// root_id, vm_id, plugin and VM configuration, environment, fail strategy,
// pool size, and the embedder's hooks). A Plugin owns a bounded, pre-warmed
// pool of VMs (one per GOMAXPROCS by default). Each VM is one module
// instance, started as Envoy starts one: _initialize (then main(0,0) or
// __main_void) or else _start, then proxy_on_context_create(1, 0),
// proxy_on_vm_start and proxy_on_configure, whose false result rejects the
// configuration (ErrConfigureFailed). Each VM runs one call at a time.
//
// Plugin.NewStream creates a Stream, one HTTP stream through this plugin,
// pinned to the least busy VM for its whole life. The embedder (the
// gateway, plugintest, a benchmark) drives it phase by phase:
//
//	RequestHeaders, RequestBody…, RequestTrailers,
//	ResponseHeaders, ResponseBody…, ResponseTrailers, then Done.
//
// Every phase call returns a Result: an Action (continue, stop, local
// reply, reset) and what is released to the next filter now — headers,
// body bytes, trailers, end of stream. The Stream keeps Envoy's filter
// manager state for this plugin: it buffers the body while the plugin
// holds it (StopIterationAndBuffer, or body arriving while the headers are
// stopped), calls the body callback with the cumulative size, enforces the
// buffer limit (413 on requests, 500 on responses), converts callback
// results per ABI version (0.2.0/0.2.1 header Pause becomes
// StopAllIterationAndWatermark; 0.2.100 keeps StopIteration, so the body
// still reaches the plugin), and applies continue_stream,
// send_local_response and close_stream after the VM call returns. A chain
// of plugins is a chain of Streams: what one releases is the input of the
// next.
//
// Effects that do not come from a phase call — continue_stream or a local
// reply from a callout response, a tick or a queue callback, a VM failure
// while paused, data injected by a Higress plugin — reach the embedder as
// Events through StreamOptions.Events, after the VM call returns. The
// embedder answers a Resume event with Stream.Resume.
//
// # Embedder interfaces
//
//   - Properties (per stream in StreamOptions, per plugin in PluginConfig)
//     answer property reads; values are encoded as Envoy does (EncodeValue).
//     PropertyMap is a ready map-backed implementation.
//   - HTTPCaller carries out proxy_http_call to named clusters; RedisCaller
//     the Higress Redis calls. Answers may come from any goroutine; they are
//     delivered to the plugin's root context when its VM is free.
//   - Clock supplies time to plugins and drives ticks and callout timeouts.
//   - Plugin logs go to a log/slog Logger with levels from SlogLevel; the
//     plugin log level is adjustable at run time (Plugin.SetLogLevel).
//
// # Failures and limits
//
// A trap, an exhausted memory limit or a callback over the CPU deadline
// (EngineConfig.CallTimeout) fails that VM. FailClosed streams then get a
// 503 local reply with details "wasm_fail_stream"; FailOpen streams bypass
// the plugin. A failed VM is closed and replaced after a backoff, so the
// plugin heals; a plugin that sets the Higress property wasm_need_rebuild
// gets a fresh VM for new streams while the old one finishes its streams.
// Host functions check every pointer, size, map, buffer and id they are
// given and answer with a proxy-wasm status; they never panic the host.
//
// # Concurrency
//
// Engine, Module and Plugin are safe for concurrent use. A Stream's phase
// methods must be called from one goroutine at a time; streams on the same
// VM are serialized, streams on different VMs run in parallel.
//
// docs/compatibility-host.md lists every ABI function and semantic rule
// with its status and each deliberate difference from Envoy.
package host
