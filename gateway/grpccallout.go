package gateway

import (
	"context"
	"crypto/tls"
	"net"

	"github.com/wasmgate/wasmgate/host"
)

// GRPCOpen implements host.GRPCCaller against the view's clusters: a real
// gRPC client (internal/grpccallout) per cluster and authority.
func (c *clusterView) GRPCOpen(req *host.GRPCRequest, h host.GRPCHandler) (host.GRPCStream, error) {
	up := c.cluster(req.Target.Cluster)
	if up == nil {
		return nil, host.ErrUnknownCluster
	}
	return c.grpc.Open(grpcUpstream{up}, req, h)
}

// grpcUpstream is a cluster as a gRPC callout target.
type grpcUpstream struct{ u *upstream }

func (g grpcUpstream) Name() string                               { return g.u.cfg.Name }
func (g grpcUpstream) Dial(ctx context.Context) (net.Conn, error) { return g.u.dial(ctx) }
func (g grpcUpstream) TLS() *tls.Config                           { return g.u.transport.TLSClientConfig }
