// Package attributes answers the proxy-wasm properties of one HTTP request
// the way Envoy does: its attributes request.*, response.*, source.*,
// destination.*, upstream.*, connection.* and xds.*, plus the legacy
// top-level route_name, cluster_name, connection_id, route_metadata,
// cluster_metadata and listener_metadata that plugins read. The gateway and the plugintest harness share it, so a plugin sees
// the same values under test as in front of real traffic.
package attributes

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/host"
)

// Request holds the attributes of one request. Set the exported fields
// before the first plugin callback; the Set methods record what changes
// while the request runs. Header maps are snapshots taken when the headers
// passed, so Property is safe from any goroutine.
type Request struct {
	ID           string           // request.id; empty when the request has none
	Start        time.Time        // request.time
	Now          func() time.Time // clock for request.duration; time.Now when nil
	Protocol     string           // request.protocol, such as "HTTP/1.1"
	Source       string           // source.address as host:port
	Destination  string           // destination.address as host:port
	ConnectionID uint64           // connection.id
	ServerName   string           // connection.requested_server_name
	TLS          *TLS             // the downstream TLS connection; nil for plaintext

	mu          sync.Mutex
	method      string
	path        string
	host        string
	scheme      string
	reqFields   []host.HeaderField // as recorded; reqHeaders is built from them when read
	reqHeaders  map[string]string
	route       string
	routed      bool // a route matched (its name may be empty)
	cluster     string
	upstream    string
	status      int
	details     string
	flags       uint64
	respFields  []host.HeaderField
	respHeaders map[string]string
	trailers    map[string]string
	upstreamTLS *TLS
	xds         XDS
}

// SetRequestHeaders records the request headers as they are now; the
// pseudo-headers give request.method, path, host and scheme.
func (r *Request) SetRequestHeaders(h *host.HeaderMap) {
	f := copyFields(h)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqFields, r.reqHeaders = f, nil
	r.path, r.host, r.scheme = "", "", ""
	for _, kv := range f {
		switch kv.Key {
		case ":path":
			r.path = kv.Value
		case ":authority":
			r.host = kv.Value
		case ":scheme":
			r.scheme = kv.Value
		case ":method":
			if kv.Value != "" {
				r.method = kv.Value
			}
		}
	}
}

// copyFields copies a header map's fields: the map changes later, the
// record must not. The name-to-value maps properties read are built from
// the copy only when a property asks (most requests never do).
func copyFields(h *host.HeaderMap) []host.HeaderField {
	if h == nil {
		return nil
	}
	return append([]host.HeaderField(nil), h.Fields...)
}

// requestHeaders returns the request header map (r.mu held).
func (r *Request) requestHeaders() map[string]string {
	if r.reqHeaders == nil {
		r.reqHeaders = snapshot(r.reqFields)
	}
	return r.reqHeaders
}

// responseHeaders returns the response header map (r.mu held).
func (r *Request) responseHeaders() map[string]string {
	if r.respHeaders == nil {
		r.respHeaders = snapshot(r.respFields)
	}
	return r.respHeaders
}

// SetRoute records the matched route and cluster names and the address
// (host:port) of the upstream endpoint. A matched route without a name
// reads as an empty route_name, as in Envoy.
func (r *Request) SetRoute(route, cluster, upstream string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.route, r.cluster, r.upstream, r.routed = route, cluster, upstream, true
}

// SetNoRoute records that no route matched: route_name and cluster_name
// are then not found.
func (r *Request) SetNoRoute() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.route, r.cluster, r.upstream, r.routed = "", "", "", false
}

// SetXDS records the configuration the request was routed by (metadata, virtual host).
func (r *Request) SetXDS(x XDS) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.xds = x
}

// SetUpstreamAddress records the address (host:port) of the upstream endpoint the request was
// sent to.
func (r *Request) SetUpstreamAddress(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upstream = addr
}

// SetUpstreamTLS records the TLS connection to the upstream (upstream.tls_version and the
// certificate attributes).
func (r *Request) SetUpstreamTLS(t *TLS) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upstreamTLS = t
}

// SetResponse records the response status and headers; details, when not
// empty, becomes response.code_details.
func (r *Request) SetResponse(status int, h *host.HeaderMap, details string) {
	f := copyFields(h)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.respFields, r.respHeaders = status, f, nil
	if details != "" {
		r.details = details
	}
}

// SetResponseTrailers records the response trailers as they are now.
func (r *Request) SetResponseTrailers(h *host.HeaderMap) {
	m := snapshot(h.Fields)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trailers = m
}

// SetResponseFlags records Envoy's response flags (response.flags).
func (r *Request) SetResponseFlags(f uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flags = f
}

// Property implements host.Properties.
func (r *Request) Property(path []string) (any, bool) {
	if len(path) == 0 {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	leaf := len(path) == 1
	switch path[0] {
	case "route_name":
		return r.route, leaf && r.routed
	case "cluster_name":
		return r.cluster, leaf && r.cluster != ""
	case "connection_id":
		return r.ConnectionID, leaf
	case "route_metadata":
		return metadataValue(r.xds.RouteMetadata, r.xds.HasRoute, path[1:])
	case "cluster_metadata":
		return metadataValue(r.xds.ClusterMetadata, r.xds.HasCluster, path[1:])
	case "listener_metadata":
		return metadataValue(r.xds.ListenerMetadata, true, path[1:])
	case "xds":
		if len(path) < 2 {
			return nil, false
		}
		switch path[1] {
		case "route_name":
			return r.route, len(path) == 2 && r.routed
		case "cluster_name":
			return r.cluster, len(path) == 2 && r.cluster != ""
		case "virtual_host_name":
			return r.xds.VirtualHostName, len(path) == 2 && r.xds.HasRoute
		case "route_metadata":
			return metadataValue(r.xds.RouteMetadata, r.xds.HasRoute, path[2:])
		case "virtual_host_metadata":
			return metadataValue(r.xds.VirtualHostMetadata, r.xds.HasRoute, path[2:])
		case "cluster_metadata":
			return metadataValue(r.xds.ClusterMetadata, r.xds.HasCluster, path[2:])
		case "listener_metadata":
			return metadataValue(r.xds.ListenerMetadata, true, path[2:])
		}
	case "request":
		return r.request(path[1:])
	case "response":
		return r.response(path[1:])
	case "source":
		return address(path[1:], r.Source)
	case "destination":
		return address(path[1:], r.Destination)
	case "upstream":
		if len(path) == 2 && r.upstreamTLS != nil {
			if v, ok := r.upstreamTLS.attribute(path[1]); ok {
				return v, true
			}
		}
		return address(path[1:], r.upstream)
	case "connection":
		if len(path) == 2 {
			switch path[1] {
			case "id":
				return r.ConnectionID, true
			case "mtls":
				return r.TLS != nil && r.TLS.PeerPresented, true
			case "requested_server_name":
				return r.ServerName, true
			}
			if r.TLS != nil {
				return r.TLS.attribute(path[1])
			}
		}
	}
	return nil, false
}

func (r *Request) request(rest []string) (any, bool) {
	if len(rest) == 0 {
		return nil, false
	}
	urlPath, query, _ := strings.Cut(r.path, "?")
	switch rest[0] {
	case "path":
		return r.path, true
	case "url_path":
		return urlPath, true
	case "query":
		return query, true
	case "host":
		return r.host, true
	case "scheme":
		return r.scheme, true
	case "method":
		return r.method, true
	case "protocol":
		return r.Protocol, r.Protocol != ""
	case "id":
		return r.ID, r.ID != ""
	case "time":
		return r.Start, true
	case "duration":
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		return now().Sub(r.Start), true
	case "referer":
		v, ok := r.requestHeaders()["referer"]
		return v, ok
	case "useragent":
		v, ok := r.requestHeaders()["user-agent"]
		return v, ok
	case "headers":
		return headers(rest[1:], r.requestHeaders())
	}
	return nil, false
}

func (r *Request) response(rest []string) (any, bool) {
	if len(rest) == 0 || r.status == 0 {
		return nil, false
	}
	switch rest[0] {
	case "code":
		return int64(r.status), true
	case "code_details":
		return r.details, r.details != ""
	case "flags":
		return int64(r.flags), true
	case "headers":
		return headers(rest[1:], r.responseHeaders())
	case "trailers":
		return headers(rest[1:], r.trailers)
	case "grpc_status":
		// The trailers' grpc-status, else the headers' (a trailers-only
		// response), as Envoy's Grpc::Common::getGrpcStatus reads them.
		v, ok := r.trailers["grpc-status"]
		if !ok {
			v, ok = r.responseHeaders()["grpc-status"]
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return nil, false
		}
		return n, true
	}
	return nil, false
}

// headers answers request.headers / response.headers: the whole map, or
// one header by name.
func headers(rest []string, m map[string]string) (any, bool) {
	switch len(rest) {
	case 0:
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out, true
	case 1:
		v, ok := m[strings.ToLower(rest[0])]
		return v, ok
	}
	return nil, false
}

// address answers <peer>.address and <peer>.port for a host:port string.
func address(rest []string, addr string) (any, bool) {
	if addr == "" || len(rest) != 1 {
		return nil, false
	}
	switch rest[0] {
	case "address":
		return addr, true
	case "port":
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, false
		}
		n, err := strconv.ParseInt(port, 10, 64)
		return n, err == nil
	}
	return nil, false
}

// snapshot maps header fields by name, joining repeated names with commas.
func snapshot(fields []host.HeaderField) map[string]string {
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		if v, ok := m[f.Key]; ok {
			m[f.Key] = v + "," + f.Value
		} else {
			m[f.Key] = f.Value
		}
	}
	return m
}

// TLS describes a TLS connection as Envoy's certificate attributes do.
type TLS struct {
	// Version is the protocol version as BoringSSL names it ("TLSv1.3").
	Version string
	// Local and Peer are the certificates of this side and of the peer.
	Local, Peer Cert
	// PeerPresented reports whether the peer sent a certificate.
	PeerPresented bool
	// PeerDigest is the hex SHA-256 of the peer certificate's DER bytes.
	PeerDigest string
}

// Cert is what the attributes tell of a certificate.
type Cert struct {
	// Subject is the subject in RFC 2253 form.
	Subject string
	// DNSSAN and URISAN are the first DNS and URI subject alternative names.
	DNSSAN, URISAN string
}

// attribute answers connection.NAME (and upstream.NAME) for a TLS
// connection: the version and subjects always, the SANs and the digest when
// the certificate has them.
func (t *TLS) attribute(name string) (any, bool) {
	switch name {
	case "tls_version":
		return t.Version, true
	case "subject_local_certificate":
		return t.Local.Subject, true
	case "subject_peer_certificate":
		return t.Peer.Subject, true
	case "dns_san_local_certificate":
		return t.Local.DNSSAN, t.Local.DNSSAN != ""
	case "dns_san_peer_certificate":
		return t.Peer.DNSSAN, t.Peer.DNSSAN != ""
	case "uri_san_local_certificate":
		return t.Local.URISAN, t.Local.URISAN != ""
	case "uri_san_peer_certificate":
		return t.Peer.URISAN, t.Peer.URISAN != ""
	case "sha256_peer_certificate_digest":
		return t.PeerDigest, t.PeerDigest != ""
	}
	return nil, false
}
