// Package wrapper is the Higress-compatible plugin API: register a plugin with
// SetCtx, parse its configuration (with per-route, per-domain and per-service
// rules), and handle each HTTP phase with typed callbacks.
//
//	func init() {
//		wrapper.SetCtx("my-plugin",
//			wrapper.ParseConfig(parseConfig),
//			wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
//		)
//	}
//
// Names and behaviour follow Higress's wasm-go SDK (pkg/wrapper), including
// the deprecated "…By" options whose handlers take a logger. Differences are
// listed in docs/compatibility.md. The package keeps plugins small: it links
// neither fmt, net/http, net/url, time nor github.com/tidwall/gjson unless the
// plugin uses them itself.
package wrapper
