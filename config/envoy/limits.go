package envoy

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/wasmgate/wasmgate/config"
)

// timeout converts an optional Envoy duration where `0s` disables the timeout: unset is 0 (the
// default applies), an explicit zero is config.NoTimeout.
func timeout(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	if v := d.AsDuration(); v > 0 {
		return v
	}
	return config.NoTimeout
}

// hcmOptions reads the connection manager's timeouts and limits into the listener.
func (p *parser) hcmOptions(h *hcmv3.HttpConnectionManager, ln *config.Listener) {
	o := &ln.HTTP.HTTPOptions
	o.StreamIdleTimeout = timeout(h.GetStreamIdleTimeout())
	o.RequestTimeout = duration(h.GetRequestTimeout())
	o.RequestHeadersTimeout = timeout(h.GetRequestHeadersTimeout())
	o.DrainTimeout = duration(h.GetDrainTimeout())
	o.DelayedCloseTimeout = timeout(h.GetDelayedCloseTimeout())
	if v := h.GetMaxRequestHeadersKb(); v != nil {
		o.MaxRequestHeadersKB = v.GetValue()
	}
	if c := h.GetCommonHttpProtocolOptions(); c != nil {
		o.IdleTimeout = timeout(c.GetIdleTimeout())
		o.MaxConnectionDuration = duration(c.GetMaxConnectionDuration())
		if v := c.GetMaxHeadersCount(); v != nil {
			o.MaxHeadersCount = v.GetValue()
		}
		if v := c.GetMaxRequestsPerConnection(); v != nil {
			o.MaxRequestsPerConnection = v.GetValue()
		}
	}
	if h1 := h.GetHttpProtocolOptions(); h1 != nil {
		o.AcceptHTTP10 = h1.GetAcceptHttp_10()
		o.DefaultHostForHTTP10 = h1.GetDefaultHostForHttp_10()
		o.AllowChunkedLength = h1.GetAllowChunkedLength()
	}
}

// clusterOptions reads a cluster's buffer limit and its HTTP protocol options (the deprecated
// common_http_protocol_options field or the typed envoy.extensions.upstreams.http.v3
// HttpProtocolOptions, which wins when both are given, as in Envoy).
func (p *parser) clusterOptions(c *clusterv3.Cluster, cl *config.Cluster) {
	if v := c.GetPerConnectionBufferLimitBytes(); v != nil {
		cl.Upstream.BufferLimit = v.GetValue()
	}
	common := c.GetCommonHttpProtocolOptions() //nolint:staticcheck // deprecated field, still accepted by Envoy
	if a, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; ok {
		if m, err := a.UnmarshalNew(); err == nil {
			if o, ok := m.(*upstreamhttpv3.HttpProtocolOptions); ok && o.GetCommonHttpProtocolOptions() != nil {
				common = o.GetCommonHttpProtocolOptions()
			}
		}
	}
	upstreamCommon(common, &cl.Upstream)
}

func upstreamCommon(c *corev3.HttpProtocolOptions, o *config.UpstreamOptions) {
	if c == nil {
		return
	}
	o.IdleTimeout = timeout(c.GetIdleTimeout())
	if v := c.GetMaxRequestsPerConnection(); v != nil {
		o.MaxRequestsPerConnection = v.GetValue()
	}
	if v := c.GetMaxResponseHeadersKb(); v != nil {
		o.MaxResponseHeadersKB = v.GetValue()
	}
	if v := c.GetMaxHeadersCount(); v != nil {
		o.MaxHeadersCount = v.GetValue()
	}
}

// The data path's timeouts and limits (see docs/compatibility-gateway.md).
func init() {
	handle(
		hcmName+".stream_idle_timeout",
		hcmName+".request_timeout",
		hcmName+".request_headers_timeout",
		hcmName+".drain_timeout",
		hcmName+".delayed_close_timeout",
		hcmName+".max_request_headers_kb",
		hcmName+".common_http_protocol_options",
		hcmName+".http_protocol_options",
		"envoy.config.core.v3.HttpProtocolOptions.idle_timeout",
		"envoy.config.core.v3.HttpProtocolOptions.max_connection_duration",
		"envoy.config.core.v3.HttpProtocolOptions.max_headers_count",
		"envoy.config.core.v3.HttpProtocolOptions.max_requests_per_connection",
		"envoy.config.core.v3.HttpProtocolOptions.max_response_headers_kb",
		"envoy.config.core.v3.Http1ProtocolOptions.accept_http_10",
		"envoy.config.core.v3.Http1ProtocolOptions.default_host_for_http_10",
		"envoy.config.core.v3.Http1ProtocolOptions.allow_chunked_length",
		"envoy.config.listener.v3.Listener.per_connection_buffer_limit_bytes",
		"envoy.config.cluster.v3.Cluster.per_connection_buffer_limit_bytes",
		"envoy.config.cluster.v3.Cluster.common_http_protocol_options",
		"envoy.extensions.upstreams.http.v3.HttpProtocolOptions.common_http_protocol_options",
		"envoy.config.route.v3.RouteAction.idle_timeout",
	)
}
