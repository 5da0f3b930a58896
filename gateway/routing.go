package gateway

import (
	"log/slog"
	"sync"

	"github.com/wasmgate/wasmgate/host"
)

// routing is a request's route cache and filter state, as Envoy's filter
// manager keeps them: a plugin that modifies the request headers (or calls
// clear_route_cache) clears the cache, and the route is selected again from
// the current headers the next time something needs it: a later plugin
// reading route_name, cluster_name or another route property (Higress's
// RouteCall reads cluster_name), or the router. A plugin that set
// clear_route_cache to "off" changes headers without clearing it. The
// filter state holds what plugins set with proxy_set_property, shared by
// all of them and printed by the access log.
type routing struct {
	x  *exchange
	fs *host.FilterState

	mu    sync.Mutex
	dirty bool
	hdrs  *host.HeaderMap // the request headers as they travel the chain
}

func (r *routing) start(x *exchange, h *host.HeaderMap) {
	r.x, r.fs, r.hdrs = x, host.NewFilterState(), h
}

// headers records the request header map now travelling the chain.
func (r *routing) headers(h *host.HeaderMap) {
	r.mu.Lock()
	r.hdrs = h
	r.mu.Unlock()
}

// clear is the streams' ClearRouteCache hook.
func (r *routing) clear() {
	r.mu.Lock()
	r.dirty = true
	r.mu.Unlock()
}

// refresh selects the route again if the cache was cleared. It runs on
// the goroutine of the plugin call that needs the route (the request's
// loop, or a callout's answer while the stream waits for it), never two
// at once for one request.
func (r *routing) refresh() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.dirty || r.hdrs == nil {
		return
	}
	r.dirty = false
	x := r.x
	x.route, x.cluster = x.ln.selectRoute(x.snap, r.hdrs)
	setRoute(x.props, x.ln, x.route, x.cluster)
	x.traceRoute(true)
}

// routeProperties answers a stream's properties from the request's
// attributes, selecting the route again first when a property depends on it.
type routeProperties struct{ x *exchange }

func (p routeProperties) Property(path []string) (any, bool) {
	if len(path) > 0 {
		switch path[0] {
		case "route_name", "cluster_name", "route_metadata", "cluster_metadata", "xds", "upstream", "upstream_host_metadata":
			p.x.routing.refresh()
		}
	}
	return p.x.props.Property(path)
}

// defaultAccessLogFilterState is what the access log prints when
// Options.AccessLogFilterState is nil: Higress's default access log format
// has "ai_log":"%FILTER_STATE(wasm.ai_log:PLAIN)%".
var defaultAccessLogFilterState = []string{"wasm.ai_log"}

// filterStateAttrs returns the access log's filter-state fields: each
// configured key ("wasm.ai_log") that a plugin set, named as the key.
func (gw *Server) filterStateAttrs(fs *host.FilterState) []slog.Attr {
	if fs == nil {
		return nil
	}
	keys := gw.opts.AccessLogFilterState
	if keys == nil {
		keys = defaultAccessLogFilterState
	}
	var out []slog.Attr
	for _, k := range keys {
		if v, ok := fs.Lookup(k); ok {
			out = append(out, slog.String(k, string(v)))
		}
	}
	return out
}
