package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/attributes"
)

var connectionIDs atomic.Uint64

// newRequestAttributes starts the proxy-wasm properties of a request: its
// Envoy attributes, answered by package attributes. Plugin-specific names
// (plugin_name, plugin_vm_memory, …) are answered by the engine.
func newRequestAttributes(rq *inbound, h *host.HeaderMap) *attributes.Request {
	a := &attributes.Request{
		Start:        time.Now(),
		Protocol:     rq.protocol,
		Source:       rq.remote,
		Destination:  rq.local,
		ConnectionID: connectionIDs.Add(1),
		ServerName:   rq.serverName,
		TLS:          rq.tlsInfo,
	}
	a.ID, _ = h.Get("x-request-id")
	a.SetRequestHeaders(h)
	return a
}

// setRoute records the matched route and cluster in a request's attributes,
// with the metadata of the route, its virtual host, the cluster and the
// listener.
func setRoute(a *attributes.Request, ln *listenerRuntime, r *routeRuntime, c *upstream) {
	x := attributes.XDS{ListenerMetadata: attributes.Metadata(ln.cfg.Metadata)}
	if r == nil {
		a.SetNoRoute()
		a.SetXDS(x)
		return
	}
	var cluster, addr string
	route := r.cfg.Name
	x.HasRoute, x.RouteMetadata = true, attributes.Metadata(r.cfg.Metadata)
	if r.vhost != nil {
		x.VirtualHostName, x.VirtualHostMetadata = r.vhost.Name, attributes.Metadata(r.vhost.Metadata)
	}
	if c != nil {
		cluster = c.cfg.Name
		x.HasCluster, x.ClusterMetadata = true, attributes.Metadata(c.cfg.Metadata)
		addr = c.firstAddr
	}
	a.SetRoute(route, cluster, addr)
	a.SetXDS(x)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
