package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/gateway"
)

// limitFlags are the data path's timeouts and limits on the command line.
// Each one given replaces what the configuration source says.
type limitFlags struct {
	streamIdle, request, requestHeaders, idle, maxConnection time.Duration
	route, connect, drain, pauseWarning                      time.Duration
	headersKB, headersCount, bufferLimit                     uint32
	acceptHTTP10                                             bool
	flags                                                    *pflag.FlagSet
}

func (l *limitFlags) register(f *pflag.FlagSet) {
	l.flags = f
	f.DurationVar(&l.streamIdle, "stream-idle-timeout", config.DefaultStreamIdleTimeout, "close a stream on which nothing moved for this long: 408/504 before the response, a reset after (0 disables; Envoy stream_idle_timeout)")
	f.DurationVar(&l.request, "request-timeout", 0, "time for the whole request to arrive (0: off; Envoy request_timeout)")
	f.DurationVar(&l.requestHeaders, "request-headers-timeout", config.DefaultHeadersReadTimeout, "time for a request's headers to arrive (Envoy request_headers_timeout)")
	f.DurationVar(&l.idle, "idle-timeout", config.DefaultIdleTimeout, "close a client connection without requests for this long (0 disables; Envoy idle_timeout)")
	f.DurationVar(&l.maxConnection, "max-connection-duration", 0, "drain client connections this long after they open (0: no limit; Envoy max_connection_duration)")
	f.DurationVar(&l.route, "route-timeout", config.DefaultRouteTimeout, "time from the end of the request to the end of the upstream response, for every route (0 disables; Envoy route timeout)")
	f.DurationVar(&l.connect, "connect-timeout", config.DefaultConnectTimeout, "upstream connect timeout, for every cluster (Envoy connect_timeout)")
	f.DurationVar(&l.drain, "drain-time", gateway.DefaultDrainTime, "how long requests may run after shutdown begins or on a replaced configuration before they are reset (Envoy --drain-time-s)")
	f.DurationVar(&l.pauseWarning, "pause-warning", gateway.DefaultPauseWarning, "warn about a plugin that holds a stream this long with nothing pending that could resume it")
	f.Uint32Var(&l.headersKB, "max-request-headers-kb", config.DefaultMaxRequestHeadersKB, "request line and headers limit in KiB; larger requests get 431 (Envoy max_request_headers_kb)")
	f.Uint32Var(&l.headersCount, "max-headers-count", config.DefaultMaxHeadersCount, "request headers limit; more get 431 (Envoy max_headers_count)")
	f.Uint32Var(&l.bufferLimit, "buffer-limit", config.DefaultBufferLimit, "per-connection buffer limit in bytes, for every listener and cluster: the watermark of each direction and the limit of a plugin's body buffering (Envoy per_connection_buffer_limit_bytes)")
	f.BoolVar(&l.acceptHTTP10, "accept-http-10", false, "accept HTTP/1.0 requests (Envoy answers them 426 unless accept_http_10)")
}

// overrides returns the flags the user set, checked.
func (l *limitFlags) overrides() (config.Overrides, error) {
	var o config.Overrides
	set := func(name string) bool { return l.flags != nil && l.flags.Changed(name) }
	for _, d := range []struct {
		name string
		v    time.Duration
		dst  **time.Duration
	}{
		{"stream-idle-timeout", l.streamIdle, &o.StreamIdleTimeout},
		{"request-timeout", l.request, &o.RequestTimeout},
		{"request-headers-timeout", l.requestHeaders, &o.RequestHeadersTimeout},
		{"idle-timeout", l.idle, &o.IdleTimeout},
		{"max-connection-duration", l.maxConnection, &o.MaxConnectionDuration},
		{"route-timeout", l.route, &o.RouteTimeout},
		{"connect-timeout", l.connect, &o.ConnectTimeout},
	} {
		if !set(d.name) {
			continue
		}
		if d.v < 0 {
			return o, fmt.Errorf("--%s: %v is negative", d.name, d.v)
		}
		v := d.v
		*d.dst = &v
	}
	if set("request-headers-timeout") && l.requestHeaders == 0 {
		return o, fmt.Errorf("--request-headers-timeout: must be positive")
	}
	if set("connect-timeout") && l.connect == 0 {
		return o, fmt.Errorf("--connect-timeout: must be positive")
	}
	for _, n := range []struct {
		name     string
		v        uint32
		min, max uint32
		dst      **uint32
	}{
		{"max-request-headers-kb", l.headersKB, 1, 8192, &o.MaxRequestHeadersKB},
		{"max-headers-count", l.headersCount, 1, 1 << 20, &o.MaxHeadersCount},
		{"buffer-limit", l.bufferLimit, 1 << 10, 1 << 30, &o.BufferLimit},
	} {
		if !set(n.name) {
			continue
		}
		if n.v < n.min || n.v > n.max {
			return o, fmt.Errorf("--%s: %d is outside %d..%d", n.name, n.v, n.min, n.max)
		}
		v := n.v
		*n.dst = &v
	}
	if set("accept-http-10") {
		v := l.acceptHTTP10
		o.AcceptHTTP10 = &v
	}
	return o, nil
}

// drainTime is --drain-time as gateway.Options wants it (negative for none).
func (l *limitFlags) drainTime() time.Duration {
	if l.drain <= 0 {
		return -1
	}
	return l.drain
}

// withOverrides applies the command line's settings to every configuration
// the source produces.
func withOverrides(src gateway.Source, o config.Overrides) gateway.Source {
	return gateway.SourceFunc(func() *config.Result {
		r := src.Load()
		if r != nil && r.Config != nil {
			o.Apply(r.Config)
		}
		return r
	})
}
