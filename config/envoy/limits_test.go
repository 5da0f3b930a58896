package envoy

import (
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

const limitsYAML = `
static_resources:
  listeners:
  - name: main
    address: {socket_address: {address: 127.0.0.1, port_value: 18000}}
    per_connection_buffer_limit_bytes: 32768
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: main
          stream_idle_timeout: 7s
          request_timeout: 9s
          request_headers_timeout: 0s
          drain_timeout: 2s
          delayed_close_timeout: 0.25s
          max_request_headers_kb: 96
          server_name: edge
          server_header_transformation: APPEND_IF_ABSENT
          common_http_protocol_options:
            idle_timeout: 0s
            max_connection_duration: 600s
            max_headers_count: 1200
            max_requests_per_connection: 50
          http_protocol_options:
            accept_http_10: true
            default_host_for_http_10: legacy.example.com
            allow_chunked_length: true
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - name: slow
                match: {prefix: /slow}
                route: {cluster: typed, timeout: 0s, idle_timeout: 3s}
              - name: quiet
                match: {prefix: /quiet}
                route: {cluster: legacy, idle_timeout: 0s}
              - name: plain
                match: {prefix: /}
                route: {cluster: legacy}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: typed
    type: STATIC
    connect_timeout: 0.25s
    per_connection_buffer_limit_bytes: 65536
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        common_http_protocol_options:
          idle_timeout: 30s
          max_requests_per_connection: 7
          max_response_headers_kb: 100
          max_headers_count: 200
        explicit_http_config: {http_protocol_options: {}}
    load_assignment:
      cluster_name: typed
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 18001}}}}]}]
  - name: legacy
    type: STATIC
    common_http_protocol_options: {idle_timeout: 0s}
    load_assignment:
      cluster_name: legacy
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 18002}}}}]}]
`

func TestTimeoutsAndLimitsFromTheBootstrap(t *testing.T) {
	res := Parse("limits.yaml", []byte(limitsYAML), "")
	if len(res.Problems) != 0 || res.Config == nil {
		t.Fatalf("problems: %v", res.Problems)
	}
	l := res.Config.Listeners[0]
	want := config.HTTPOptions{
		StreamIdleTimeout: 7 * time.Second, RequestTimeout: 9 * time.Second, RequestHeadersTimeout: config.NoTimeout,
		IdleTimeout: config.NoTimeout, MaxConnectionDuration: 600 * time.Second, MaxRequestsPerConnection: 50,
		DrainTimeout: 2 * time.Second, DelayedCloseTimeout: 250 * time.Millisecond, MaxRequestHeadersKB: 96, MaxHeadersCount: 1200, BufferLimit: 32768,
		AcceptHTTP10: true, DefaultHostForHTTP10: "legacy.example.com", AllowChunkedLength: true,
	}
	if l.HTTP.HTTPOptions != want || l.HTTP.ServerName != "edge" || l.HTTP.ServerHeader != config.ServerAppendIfAbsent {
		t.Fatalf("listener HTTP options\n got %+v\nwant %+v", l.HTTP, want)
	}
	if l.HTTP.EffectiveIdleTimeout() != 0 || l.HTTP.EffectiveRequestHeadersTimeout() != 0 || l.HTTP.EffectiveMaxRequestHeadersBytes() != 96<<10 {
		t.Fatalf("effective values: %v %v %v", l.HTTP.EffectiveIdleTimeout(), l.HTTP.EffectiveRequestHeadersTimeout(), l.HTTP.EffectiveMaxRequestHeadersBytes())
	}
	routes := l.VirtualHosts[0].Routes
	slow, quiet, plain := routes[0], routes[1], routes[2]
	if slow.EffectiveTimeout() != 0 || slow.EffectiveIdleTimeout(7*time.Second) != 3*time.Second {
		t.Errorf("slow: timeout %v idle %v", slow.EffectiveTimeout(), slow.EffectiveIdleTimeout(7*time.Second))
	}
	if quiet.EffectiveIdleTimeout(7*time.Second) != 0 || plain.EffectiveIdleTimeout(7*time.Second) != 7*time.Second {
		t.Errorf("quiet idle %v, plain idle %v", quiet.EffectiveIdleTimeout(7*time.Second), plain.EffectiveIdleTimeout(7*time.Second))
	}
	typed, legacy := res.Config.Clusters[0], res.Config.Clusters[1]
	if typed.ConnectTimeout != 250*time.Millisecond || typed.Upstream != (config.UpstreamOptions{
		BufferLimit: 65536, IdleTimeout: 30 * time.Second, MaxRequestsPerConnection: 7, MaxResponseHeadersKB: 100, MaxHeadersCount: 200,
	}) {
		t.Errorf("typed cluster: %v %+v", typed.ConnectTimeout, typed.Upstream)
	}
	if legacy.Upstream.EffectiveIdleTimeout() != 0 || legacy.Upstream.EffectiveBufferLimit() != config.DefaultBufferLimit ||
		legacy.Upstream.EffectiveMaxResponseHeadersBytes() != 80<<10 {
		t.Errorf("legacy cluster: %+v", legacy.Upstream)
	}
}

func TestTimeoutDefaultsWhenTheBootstrapIsSilent(t *testing.T) {
	res := Parse("limits.yaml", []byte(limitsYAML), "")
	var o config.HTTPOptions
	if o.EffectiveStreamIdleTimeout() != 5*time.Minute || o.EffectiveIdleTimeout() != time.Hour || o.EffectiveRequestTimeout() != 0 ||
		o.EffectiveMaxHeadersCount() != 100 || o.EffectiveMaxRequestHeadersBytes() != 60<<10 || o.EffectiveBufferLimit() != 1<<20 ||
		o.EffectiveDrainTimeout() != 5*time.Second || o.EffectiveDelayedCloseTimeout() != time.Second {
		t.Fatalf("defaults: %+v", o)
	}
	// Overrides from the command line replace the file's values everywhere.
	zero, idle, kb := time.Duration(0), 2*time.Second, uint32(8)
	config.Overrides{RouteTimeout: &zero, StreamIdleTimeout: &idle, MaxRequestHeadersKB: &kb, ConnectTimeout: &idle}.Apply(res.Config)
	l := res.Config.Listeners[0]
	if l.HTTP.StreamIdleTimeout != idle || l.HTTP.MaxRequestHeadersKB != 8 || l.VirtualHosts[0].Routes[2].EffectiveTimeout() != 0 ||
		res.Config.Clusters[1].ConnectTimeout != idle {
		t.Fatalf("overrides not applied: %+v %+v", l.HTTP, l.VirtualHosts[0].Routes[2])
	}
}
