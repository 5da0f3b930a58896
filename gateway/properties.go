package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/host"
)

var connectionIDs atomic.Uint64

// requestProperties answers a request's proxy-wasm properties: Envoy's
// attributes (request.*, response.*, source.*, destination.*, connection.*,
// upstream.*, xds.*) and the legacy names Higress plugins read (route_name,
// cluster_name). Plugin-specific names (plugin_name, plugin_vm_memory, …)
// are answered by the engine. Header maps are snapshots taken when the
// headers passed, so reads from any goroutine are safe.
type requestProperties struct {
	mu sync.Mutex

	requestID   string
	start       time.Time
	method      string
	path        string
	host        string
	scheme      string
	protocol    string
	reqHeaders  map[string]string
	reqSize     int64
	srcAddr     string
	srcPort     int
	dstAddr     string
	dstPort     int
	connID      uint64
	route       string
	cluster     string
	upstream    string
	status      int
	details     string
	respHeaders map[string]string
}

func newRequestProperties(r *http.Request, h *host.HeaderMap) *requestProperties {
	p := &requestProperties{start: time.Now(), method: r.Method, protocol: r.Proto, connID: connectionIDs.Add(1)}
	p.srcAddr, p.srcPort = clientAddr(r)
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(interface{ String() string }); ok {
		p.dstAddr, p.dstPort = splitAddr(la.String())
	}
	p.requestID, _ = h.Get("x-request-id")
	p.setRequestHeaders(h)
	return p
}

func (p *requestProperties) setRequestHeaders(h *host.HeaderMap) {
	m := headerSnapshot(h)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqHeaders = m
	p.path = m[":path"]
	p.host = m[":authority"]
	p.scheme = m[":scheme"]
	if v := m[":method"]; v != "" {
		p.method = v
	}
}

func (p *requestProperties) setRoute(r *routeRuntime, c *upstream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.route, p.cluster, p.upstream = "", "", ""
	if r != nil {
		p.route = r.cfg.Name
	}
	if c != nil {
		p.cluster = c.cfg.Name
		if len(c.cfg.Endpoints) > 0 {
			p.upstream = c.cfg.Endpoints[0].Address()
		}
	}
}

func (p *requestProperties) setResponse(status int, h *host.HeaderMap, details string) {
	m := headerSnapshot(h)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status, p.respHeaders = status, m
	if details != "" {
		p.details = details
	}
}

func headerSnapshot(h *host.HeaderMap) map[string]string {
	m := map[string]string{}
	if h == nil {
		return m
	}
	for _, f := range h.Fields {
		if v, ok := m[f.Key]; ok {
			m[f.Key] = v + "," + f.Value
		} else {
			m[f.Key] = f.Value
		}
	}
	return m
}

// Property implements host.Properties.
func (p *requestProperties) Property(path []string) (any, bool) {
	if len(path) == 0 {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch path[0] {
	case "route_name":
		return p.route, p.route != ""
	case "cluster_name":
		return p.cluster, p.cluster != ""
	case "xds":
		if len(path) < 2 {
			return nil, false
		}
		switch path[1] {
		case "route_name":
			return p.route, p.route != ""
		case "cluster_name":
			return p.cluster, p.cluster != ""
		}
		return nil, false
	case "request":
		return p.request(path[1:])
	case "response":
		return p.response(path[1:])
	case "source":
		return addrProp(path[1:], p.srcAddr, p.srcPort)
	case "destination":
		return addrProp(path[1:], p.dstAddr, p.dstPort)
	case "upstream":
		if p.upstream == "" {
			return nil, false
		}
		a, port := splitAddr(p.upstream)
		return addrProp(path[1:], a, port)
	case "connection":
		if len(path) == 2 {
			switch path[1] {
			case "id":
				return p.connID, true
			case "mtls":
				return false, true
			}
		}
		return nil, false
	case "connection_id":
		return p.connID, true
	}
	return nil, false
}

func (p *requestProperties) request(rest []string) (any, bool) {
	if len(rest) == 0 {
		return nil, false
	}
	urlPath, query, _ := strings.Cut(p.path, "?")
	switch rest[0] {
	case "path":
		return p.path, true
	case "url_path":
		return urlPath, true
	case "query":
		return query, true
	case "host":
		return p.host, true
	case "scheme":
		return p.scheme, true
	case "method":
		return p.method, true
	case "protocol":
		return p.protocol, true
	case "id":
		return p.requestID, p.requestID != ""
	case "time":
		return p.start, true
	case "duration":
		return time.Since(p.start), true
	case "referer":
		v, ok := p.reqHeaders["referer"]
		return v, ok
	case "useragent":
		v, ok := p.reqHeaders["user-agent"]
		return v, ok
	case "headers":
		if len(rest) == 2 {
			v, ok := p.reqHeaders[strings.ToLower(rest[1])]
			return v, ok
		}
		return copyMap(p.reqHeaders), true
	}
	return nil, false
}

func (p *requestProperties) response(rest []string) (any, bool) {
	if len(rest) == 0 || p.status == 0 {
		return nil, false
	}
	switch rest[0] {
	case "code":
		return int64(p.status), true
	case "code_details":
		return p.details, p.details != ""
	case "flags":
		return int64(0), true
	case "headers":
		if len(rest) == 2 {
			v, ok := p.respHeaders[strings.ToLower(rest[1])]
			return v, ok
		}
		return copyMap(p.respHeaders), true
	}
	return nil, false
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func addrProp(rest []string, addr string, port int) (any, bool) {
	if addr == "" || len(rest) != 1 {
		return nil, false
	}
	switch rest[0] {
	case "address":
		return joinHostPort(addr, port), true
	case "port":
		return int64(port), true
	}
	return nil, false
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
