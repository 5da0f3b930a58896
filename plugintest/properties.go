package plugintest

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/host"
)

// Addresses of the simulated connection.
const (
	defaultSource      = "127.0.0.1:40000"
	defaultDestination = "127.0.0.1:8080"
)

// requestProps answers the properties of one simulated request, as Envoy's
// attributes: route_name, cluster_name (and their xds.* forms),
// request.*, response.*, source.*, destination.*, connection.*, plus the
// test's own per-request properties, which come first. Header maps are
// snapshots taken when the headers passed, so reads from any goroutine
// are safe.
type requestProps struct {
	mu    sync.Mutex
	clock *manualClock
	extra host.PropertyMap

	start      time.Time
	requestID  string
	method     string
	path       string
	host       string
	scheme     string
	reqHeaders map[string]string
	route      string
	cluster    string
	source     string
	connID     uint64

	status      int
	details     string
	respHeaders map[string]string
}

func (p *requestProps) setRequestHeaders(h *host.HeaderMap) {
	m := headerSnapshot(h)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqHeaders = m
	p.path, p.host, p.scheme = m[":path"], m[":authority"], m[":scheme"]
	if v := m[":method"]; v != "" {
		p.method = v
	}
}

func (p *requestProps) setResponse(status int, h *host.HeaderMap, details string) {
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
func (p *requestProps) Property(path []string) (any, bool) {
	if len(path) == 0 {
		return nil, false
	}
	if p.extra != nil {
		if v, ok := p.extra.Property(path); ok {
			return v, true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch path[0] {
	case "route_name":
		return p.route, p.route != "" && len(path) == 1
	case "cluster_name":
		return p.cluster, p.cluster != "" && len(path) == 1
	case "xds":
		if len(path) == 2 {
			switch path[1] {
			case "route_name":
				return p.route, p.route != ""
			case "cluster_name":
				return p.cluster, p.cluster != ""
			}
		}
	case "request":
		return p.request(path[1:])
	case "response":
		return p.response(path[1:])
	case "source":
		return addrProp(path[1:], p.source)
	case "destination":
		return addrProp(path[1:], defaultDestination)
	case "connection":
		if len(path) == 2 {
			switch path[1] {
			case "id":
				return p.connID, true
			case "mtls":
				return false, true
			}
		}
	case "connection_id":
		return p.connID, len(path) == 1
	}
	return nil, false
}

func (p *requestProps) request(rest []string) (any, bool) {
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
		return "HTTP/1.1", true
	case "id":
		return p.requestID, p.requestID != ""
	case "time":
		return p.start, true
	case "duration":
		return p.clock.Now().Sub(p.start), true
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
		return copyMap(p.reqHeaders), len(rest) == 1
	}
	return nil, false
}

func (p *requestProps) response(rest []string) (any, bool) {
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
		return copyMap(p.respHeaders), len(rest) == 1
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

func addrProp(rest []string, addr string) (any, bool) {
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
