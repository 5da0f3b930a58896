package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

// upstream is a cluster the gateway can send HTTP requests to (and open Redis
// connections to): its endpoints and a pooled transport.
type upstream struct {
	cfg       config.Cluster
	transport *http.Transport
	next      atomic.Uint32
	dialer    *net.Dialer
}

// newUpstream prepares a cluster. Built-in clusters are served by the
// gateway's own loopback listeners, whose addresses builtin maps by name.
func newUpstream(c config.Cluster, builtin map[string]config.Endpoint) (*upstream, error) {
	u := &upstream{cfg: c, dialer: &net.Dialer{Timeout: c.EffectiveConnectTimeout(), KeepAlive: 30 * time.Second}}
	if c.Discovery == config.DiscoveryBuiltin {
		ep, ok := builtin[c.Builtin]
		if !ok {
			return nil, fmt.Errorf("cluster %s: unknown built-in upstream %q", c.Name, c.Builtin)
		}
		u.cfg.Endpoints = []config.Endpoint{ep}
	}
	if len(u.cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("cluster %s: no endpoints", c.Name)
	}
	t := &http.Transport{
		DialContext:           u.dialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
	if c.TLS != nil {
		tc := &tls.Config{ServerName: c.TLS.SNI, InsecureSkipVerify: c.TLS.InsecureSkipVerify}
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("cluster %s: tls ca file: %w", c.Name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("cluster %s: tls ca file %s: no certificates", c.Name, c.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		t.TLSClientConfig = tc
	}
	u.transport = t
	return u, nil
}

// scheme is the URL scheme for requests to this cluster.
func (u *upstream) scheme() string {
	if u.cfg.TLS != nil {
		return "https"
	}
	return "http"
}

// endpoint picks the next endpoint round-robin.
func (u *upstream) endpoint() config.Endpoint {
	n := u.next.Add(1)
	return u.cfg.Endpoints[int(n-1)%len(u.cfg.Endpoints)]
}

// dialContext ignores the URL's host (a stand-in) and dials the cluster's endpoints.
func (u *upstream) dialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	return u.dial(ctx)
}

// dial connects to the next endpoint, trying the others on failure.
func (u *upstream) dial(ctx context.Context) (net.Conn, error) {
	var firstErr error
	for range u.cfg.Endpoints {
		ep := u.endpoint()
		conn, err := u.dialer.DialContext(ctx, "tcp", u.resolveFamily(ctx, ep))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// resolveFamily applies the cluster's DNS family to a host name endpoint.
func (u *upstream) resolveFamily(ctx context.Context, ep config.Endpoint) string {
	if net.ParseIP(ep.Host) != nil || u.cfg.DNSFamily == config.DNSAuto || u.cfg.DNSFamily == config.DNSAll {
		return ep.Address()
	}
	network := "ip4"
	if u.cfg.DNSFamily == config.DNSV6Only {
		network = "ip6"
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, network, ep.Host)
	if err != nil || len(ips) == 0 {
		if u.cfg.DNSFamily == config.DNSV4Preferred {
			return ep.Address()
		}
		return ep.Address()
	}
	return net.JoinHostPort(ips[0].String(), fmt.Sprint(ep.Port))
}

func (u *upstream) close() {
	if u.transport != nil {
		u.transport.CloseIdleConnections()
	}
}

// Envoy's router answers these when the upstream fails before responding.
var (
	errUpstreamConnect = errors.New("upstream connect error or disconnect/reset before headers. reset reason: connection failure")
	errUpstreamTimeout = errors.New("upstream request timeout")
	errUpstreamReset   = errors.New("upstream connect error or disconnect/reset before headers. reset reason: connection termination")
)

// classify maps a round-trip error to Envoy's status, body and response code details.
func classify(err error, timedOut bool) (status int, body, details string) {
	var opErr *net.OpError
	switch {
	case timedOut || errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, errUpstreamTimeout.Error(), "upstream_response_timeout"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return http.StatusServiceUnavailable, errUpstreamConnect.Error(), "upstream_reset_before_response_started{connection_failure}"
	}
	return http.StatusServiceUnavailable, errUpstreamReset.Error(), "upstream_reset_before_response_started{connection_termination}"
}
