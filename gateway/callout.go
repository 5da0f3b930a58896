package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/grpccallout"
	"github.com/wasmgate/wasmgate/internal/redisbridge"
)

// calloutBodyLimit is the largest callout response the gateway buffers;
// above it the plugin sees a reset, as with Envoy's buffer limit.
const calloutBodyLimit = 4 << 20

// HTTPCall implements host.HTTPCaller: a plugin's proxy_http_call to a
// cluster. Connection failures and timeouts come back as the responses
// Envoy's router generates (503 and 504).
func (gw *Server) HTTPCall(req *host.CalloutRequest, done func(*host.CalloutResponse)) error {
	return gw.httpCall(gw.cluster(req.Cluster), req, done)
}

// clusterView is the snapshot whose clusters a plugin's callouts reach: the
// snapshot being built while the plugin starts (so proxy_http_call and
// proxy_redis_init work from on_configure on first load), then each
// snapshot that runs the plugin once it is swapped in.
type clusterView struct {
	gw   *Server
	snap atomic.Pointer[snapshot]
	grpc grpccallout.Conns // gRPC callout connections
}

func (c *clusterView) cluster(name string) *upstream {
	if s := c.snap.Load(); s != nil {
		if u := s.clusters[name]; u != nil {
			return u
		}
		c.gw.logUnknownCluster(s, name)
	}
	return nil
}

// HTTPCall implements host.HTTPCaller against the view's clusters.
func (c *clusterView) HTTPCall(req *host.CalloutRequest, done func(*host.CalloutResponse)) error {
	return c.gw.httpCall(c.cluster(req.Cluster), req, done)
}

func (c *clusterView) redisDial(name string) redisbridge.DialFunc {
	if u := c.cluster(name); u != nil {
		return u.dial
	}
	return nil
}

func (gw *Server) httpCall(up *upstream, req *host.CalloutRequest, done func(*host.CalloutResponse)) error {
	if up == nil {
		return host.ErrUnknownCluster
	}
	method, _ := req.Headers.Get(":method")
	path, _ := req.Headers.Get(":path")
	authority, _ := req.Headers.Get(":authority")
	ctx, cancel := context.WithCancel(context.Background())
	if req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), req.Timeout)
	}
	var body io.Reader = http.NoBody
	if len(req.Body) > 0 {
		body = strings.NewReader(string(req.Body))
	}
	hr, err := http.NewRequestWithContext(ctx, method, up.scheme()+"://upstream/", body)
	if err != nil {
		cancel()
		return err
	}
	if err := setRequestPath(hr, path); err != nil {
		cancel()
		return err
	}
	hr.Host = authority
	hr.ContentLength = int64(len(req.Body))
	for _, f := range req.Headers.Fields {
		if strings.HasPrefix(f.Key, ":") || hopByHop(f.Key) || f.Key == "content-length" {
			continue
		}
		hr.Header.Add(f.Key, f.Value)
	}
	keepUserAgent(hr.Header)
	go func() {
		defer cancel()
		done(gw.doCallout(ctx, up, hr))
	}()
	return nil
}

func (gw *Server) doCallout(ctx context.Context, up *upstream, req *http.Request) *host.CalloutResponse {
	resp, err := up.transport.RoundTrip(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return syntheticResponse(http.StatusGatewayTimeout, errUpstreamTimeout.Error())
		}
		f := classify(err)
		return syntheticResponse(f.status, f.body)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, calloutBodyLimit+1))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return syntheticResponse(http.StatusGatewayTimeout, errUpstreamTimeout.Error())
		}
		return &host.CalloutResponse{Reset: true}
	}
	if len(b) > calloutBodyLimit {
		return &host.CalloutResponse{Reset: true}
	}
	out := &host.CalloutResponse{Headers: responseHeaderMap(resp), Body: b}
	if len(resp.Trailer) > 0 {
		out.Trailers = headerMapFrom(resp.Trailer)
	}
	return out
}

// keepUserAgent stops Go's client from adding "User-Agent: Go-http-client"
// to a request without one: Envoy forwards headers as they are.
func keepUserAgent(h http.Header) {
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = nil
	}
}

func syntheticResponse(status int, body string) *host.CalloutResponse {
	h := host.NewHeaderMap(":status", strconv.Itoa(status), "content-length", strconv.Itoa(len(body)), "content-type", "text/plain")
	return &host.CalloutResponse{Headers: h, Body: []byte(body)}
}
