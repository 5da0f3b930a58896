package config

import "time"

// Envoy's defaults for the data path's timeouts and limits, used when a source does not set them.
const (
	// DefaultStreamIdleTimeout is the HTTP connection manager's stream_idle_timeout.
	DefaultStreamIdleTimeout = 5 * time.Minute
	// DefaultIdleTimeout is common_http_protocol_options.idle_timeout, for downstream
	// connections and for the connections of a cluster's pool.
	DefaultIdleTimeout = time.Hour
	// DefaultDrainTimeout is the HTTP connection manager's drain_timeout.
	DefaultDrainTimeout = 5 * time.Second
	// DefaultMaxRequestHeadersKB is the HTTP connection manager's max_request_headers_kb.
	DefaultMaxRequestHeadersKB = 60
	// DefaultMaxHeadersCount is common_http_protocol_options.max_headers_count, for requests and
	// for upstream responses.
	DefaultMaxHeadersCount = 100
	// DefaultMaxResponseHeadersKB is a cluster's max_response_headers_kb for HTTP/1 upstreams.
	DefaultMaxResponseHeadersKB = 80
	// DefaultBufferLimit is per_connection_buffer_limit_bytes of listeners and clusters.
	DefaultBufferLimit = 1 << 20
	// DefaultDelayedCloseTimeout is the HTTP connection manager's delayed_close_timeout.
	DefaultDelayedCloseTimeout = time.Second
	// DefaultHeadersReadTimeout bounds the time a client may take to send its request headers
	// when request_headers_timeout is not set.
	DefaultHeadersReadTimeout = 30 * time.Second
)

// HTTPOptions are the timeouts and limits of a listener's connection manager (part of
// HTTPSettings). The zero value means Envoy's defaults; a duration of NoTimeout
// disables that timeout where Envoy's `0s` does.
type HTTPOptions struct {
	// StreamIdleTimeout bounds the time a stream may pass without any header or body moving in
	// either direction (stream_idle_timeout; 0 means DefaultStreamIdleTimeout).
	StreamIdleTimeout time.Duration
	// RequestTimeout bounds the time until the whole request has been received and passed on
	// (request_timeout; 0 means off).
	RequestTimeout time.Duration
	// RequestHeadersTimeout bounds the time from the request's first byte to the end of its
	// headers (request_headers_timeout; 0 means DefaultHeadersReadTimeout).
	RequestHeadersTimeout time.Duration
	// IdleTimeout closes a connection that has had no request for this long
	// (common_http_protocol_options.idle_timeout; 0 means DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxConnectionDuration drains a connection this long after it was accepted
	// (common_http_protocol_options.max_connection_duration; 0 means none).
	MaxConnectionDuration time.Duration
	// MaxRequestsPerConnection closes a connection after this many requests
	// (common_http_protocol_options.max_requests_per_connection; 0 means no limit).
	MaxRequestsPerConnection uint32
	// DrainTimeout is the grace period of a draining connection (drain_timeout; 0 means
	// DefaultDrainTimeout).
	DrainTimeout time.Duration
	// DelayedCloseTimeout is how long a connection the gateway closes after a whole response
	// reads and drops what the client still sends, waiting for it to close
	// (delayed_close_timeout; 0 means DefaultDelayedCloseTimeout).
	DelayedCloseTimeout time.Duration
	// MaxRequestHeadersKB limits the request line and headers (max_request_headers_kb; 0 means
	// DefaultMaxRequestHeadersKB). Requests over it get 431.
	MaxRequestHeadersKB uint32
	// MaxHeadersCount limits the number of request headers
	// (common_http_protocol_options.max_headers_count; 0 means DefaultMaxHeadersCount).
	// Requests over it get 431.
	MaxHeadersCount uint32
	// BufferLimit is the listener's per_connection_buffer_limit_bytes (0 means
	// DefaultBufferLimit): the high watermark of each direction of a stream and the limit of a
	// plugin's body buffering.
	BufferLimit uint32
	// AcceptHTTP10 accepts HTTP/1.0 requests (http_protocol_options.accept_http_10); Envoy
	// answers them 426 otherwise.
	AcceptHTTP10 bool
	// DefaultHostForHTTP10 is the Host given to HTTP/1.0 requests without one
	// (http_protocol_options.default_host_for_http_10).
	DefaultHostForHTTP10 string
	// AllowChunkedLength accepts a request with both Content-Length and chunked
	// Transfer-Encoding, dropping the Content-Length (http_protocol_options.allow_chunked_length);
	// Envoy answers them 400 otherwise.
	AllowChunkedLength bool
}

// EffectiveStreamIdleTimeout resolves StreamIdleTimeout (0 when disabled).
func (o *HTTPOptions) EffectiveStreamIdleTimeout() time.Duration {
	return orDefault(o.StreamIdleTimeout, DefaultStreamIdleTimeout)
}

// EffectiveRequestTimeout resolves RequestTimeout (0 when off).
func (o *HTTPOptions) EffectiveRequestTimeout() time.Duration { return orDefault(o.RequestTimeout, 0) }

// EffectiveRequestHeadersTimeout resolves RequestHeadersTimeout.
func (o *HTTPOptions) EffectiveRequestHeadersTimeout() time.Duration {
	return orDefault(o.RequestHeadersTimeout, DefaultHeadersReadTimeout)
}

// EffectiveIdleTimeout resolves IdleTimeout (0 when disabled).
func (o *HTTPOptions) EffectiveIdleTimeout() time.Duration {
	return orDefault(o.IdleTimeout, DefaultIdleTimeout)
}

// EffectiveMaxConnectionDuration resolves MaxConnectionDuration (0 when none).
func (o *HTTPOptions) EffectiveMaxConnectionDuration() time.Duration {
	return orDefault(o.MaxConnectionDuration, 0)
}

// EffectiveDrainTimeout resolves DrainTimeout.
func (o *HTTPOptions) EffectiveDrainTimeout() time.Duration {
	return orDefault(o.DrainTimeout, DefaultDrainTimeout)
}

// EffectiveDelayedCloseTimeout resolves DelayedCloseTimeout (0 when disabled: the connection
// closes as soon as the response is flushed).
func (o *HTTPOptions) EffectiveDelayedCloseTimeout() time.Duration {
	return orDefault(o.DelayedCloseTimeout, DefaultDelayedCloseTimeout)
}

// EffectiveMaxRequestHeadersBytes is the request header size limit in bytes.
func (o *HTTPOptions) EffectiveMaxRequestHeadersBytes() int {
	return orDefaultN(o.MaxRequestHeadersKB, DefaultMaxRequestHeadersKB) << 10
}

// EffectiveMaxHeadersCount resolves MaxHeadersCount.
func (o *HTTPOptions) EffectiveMaxHeadersCount() int {
	return orDefaultN(o.MaxHeadersCount, DefaultMaxHeadersCount)
}

// EffectiveBufferLimit resolves BufferLimit.
func (o *HTTPOptions) EffectiveBufferLimit() int { return bufferLimit(o.BufferLimit) }

// UpstreamOptions are a cluster's connection settings beyond its endpoints. The zero value
// means Envoy's defaults.
type UpstreamOptions struct {
	// BufferLimit is the cluster's per_connection_buffer_limit_bytes (0 means
	// DefaultBufferLimit): how much of a request body waits for an upstream that does not
	// read, and how much of a response is read ahead of a client that does not.
	BufferLimit uint32
	// IdleTimeout closes pooled connections unused for this long
	// (common_http_protocol_options.idle_timeout; 0 means DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxRequestsPerConnection retires a connection after this many requests (0: no limit).
	MaxRequestsPerConnection uint32
	// MaxResponseHeadersKB limits the response headers (0 means DefaultMaxResponseHeadersKB);
	// larger responses are answered 502.
	MaxResponseHeadersKB uint32
	// MaxHeadersCount limits the number of response headers (0 means
	// DefaultMaxHeadersCount); responses over it are answered 502.
	MaxHeadersCount uint32
}

// EffectiveBufferLimit resolves BufferLimit.
func (o *UpstreamOptions) EffectiveBufferLimit() int { return bufferLimit(o.BufferLimit) }

// EffectiveIdleTimeout resolves IdleTimeout (0 when disabled).
func (o *UpstreamOptions) EffectiveIdleTimeout() time.Duration {
	return orDefault(o.IdleTimeout, DefaultIdleTimeout)
}

// EffectiveMaxResponseHeadersBytes is the response header size limit in bytes.
func (o *UpstreamOptions) EffectiveMaxResponseHeadersBytes() int {
	return orDefaultN(o.MaxResponseHeadersKB, DefaultMaxResponseHeadersKB) << 10
}

// EffectiveMaxHeadersCount resolves MaxHeadersCount.
func (o *UpstreamOptions) EffectiveMaxHeadersCount() int {
	return orDefaultN(o.MaxHeadersCount, DefaultMaxHeadersCount)
}

// EffectiveIdleTimeout resolves a route's IdleTimeout against the listener's stream idle
// timeout: the route's value when set (0 when it disables it), the listener's otherwise.
func (r *Route) EffectiveIdleTimeout(listener time.Duration) time.Duration {
	return orDefault(r.IdleTimeout, listener)
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

func bufferLimit(n uint32) int { return orDefaultN(n, DefaultBufferLimit) }

func orDefaultN(n uint32, def int) int {
	if n == 0 {
		return def
	}
	return int(n)
}

// Overrides are data-path settings given on the command line; each set field replaces what the
// configuration source said, for every listener, route or cluster.
type Overrides struct {
	StreamIdleTimeout     *time.Duration
	RequestTimeout        *time.Duration
	RequestHeadersTimeout *time.Duration
	IdleTimeout           *time.Duration
	MaxConnectionDuration *time.Duration
	MaxRequestHeadersKB   *uint32
	MaxHeadersCount       *uint32
	BufferLimit           *uint32
	RouteTimeout          *time.Duration
	ConnectTimeout        *time.Duration
	AcceptHTTP10          *bool
}

// Apply writes the set overrides into cfg. A zero duration disables a timeout, as `0s` does in
// Envoy (the route timeout, the stream and connection idle timeouts); for the others zero is
// their default (off).
func (o Overrides) Apply(cfg *Config) {
	disable := func(d time.Duration) time.Duration {
		if d == 0 {
			return NoTimeout
		}
		return d
	}
	for i := range cfg.Listeners {
		h := &cfg.Listeners[i].HTTP
		if o.StreamIdleTimeout != nil {
			h.StreamIdleTimeout = disable(*o.StreamIdleTimeout)
		}
		if o.RequestTimeout != nil {
			h.RequestTimeout = *o.RequestTimeout
		}
		if o.RequestHeadersTimeout != nil {
			h.RequestHeadersTimeout = *o.RequestHeadersTimeout
		}
		if o.IdleTimeout != nil {
			h.IdleTimeout = disable(*o.IdleTimeout)
		}
		if o.MaxConnectionDuration != nil {
			h.MaxConnectionDuration = *o.MaxConnectionDuration
		}
		if o.MaxRequestHeadersKB != nil {
			h.MaxRequestHeadersKB = *o.MaxRequestHeadersKB
		}
		if o.MaxHeadersCount != nil {
			h.MaxHeadersCount = *o.MaxHeadersCount
		}
		if o.BufferLimit != nil {
			h.BufferLimit = *o.BufferLimit
		}
		if o.AcceptHTTP10 != nil {
			h.AcceptHTTP10 = *o.AcceptHTTP10
		}
		if o.RouteTimeout != nil {
			for j := range cfg.Listeners[i].VirtualHosts {
				vh := &cfg.Listeners[i].VirtualHosts[j]
				for k := range vh.Routes {
					vh.Routes[k].Timeout = disable(*o.RouteTimeout)
				}
			}
		}
	}
	for i := range cfg.Clusters {
		c := &cfg.Clusters[i]
		if o.ConnectTimeout != nil {
			c.ConnectTimeout = *o.ConnectTimeout
		}
		if o.BufferLimit != nil {
			c.Upstream.BufferLimit = *o.BufferLimit
		}
	}
}
