// Package gateway is wasmgate's HTTP gateway: listeners, routes, upstream
// clusters and proxy-wasm plugin chains, configured from a config.Config.
//
// Each request runs through the listener's plugin chain the way Envoy's filter
// manager runs HTTP filters: request headers, body and trailers pass through
// the plugins in order, then to the route's upstream; the response passes back
// through them in reverse. A plugin may hold a direction (stop iteration),
// buffer a body, answer locally or reset the stream; each plugin's stream
// (host.Stream) decides what it releases, and the gateway passes released
// data on. Bodies stream chunk by chunk and are buffered only when a plugin
// asks. Plugins reach clusters by name through HTTP callouts and Redis calls.
//
// A Server applies configurations as snapshots: a new configuration is built
// beside the running one and swapped in atomically; a plugin that fails to
// load keeps its previous version serving.
package gateway
