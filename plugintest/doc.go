// Package plugintest tests a proxy-wasm plugin as it really runs: the
// plugin package is built into its wasm module and runs on the same host
// engine as the wasmgate gateway (package host), with Envoy's filter
// semantics for the request and the response. Nothing is emulated in Go:
// the test exercises the module that will ship.
//
// A test loads the plugin, sends requests and checks what the upstream and
// the client got:
//
//	func TestAddsHeader(t *testing.T) {
//		p := plugintest.Load(t, ".", plugintest.Config(`{"mockEnable": false}`))
//		res := p.Do(t, plugintest.Get("/get"))
//		if got := res.Upstream.Header.Get("hello"); got != "world" {
//			t.Fatalf("upstream got hello=%q, want world", got)
//		}
//	}
//
// What is real: the module, the engine (VM pool, ABI, properties, buffers,
// local replies, fail strategy, metrics, shared data) and, when asked for,
// callout servers (HTTPServer with RealHTTPCluster, a Redis server with
// RealRedisCluster). What is simulated: the client, the upstream (Upstream,
// Request.Upstream), scripted callout clusters (HTTPCluster, RedisCluster),
// the request's attributes (route and cluster names, addresses) and time:
// each Plugin has its own clock, which moves only with Advance and Tick, so
// ticks, delayed answers and callout timeouts are tested without sleeping.
//
// Each Plugin has its own engine: metrics, shared data and logs never leak
// between tests. Modules are built once per source state (cached under the
// user cache directory) and compiled once per machine (the engine's
// compilation cache).
package plugintest
