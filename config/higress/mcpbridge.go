package higress

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

// McpBridgeAPI is the McpBridge apiVersion.
const McpBridgeAPI = "networking.higress.io/v1"

// DefaultMcpBridgeName is the only McpBridge name Higress reads.
const DefaultMcpBridgeName = "default"

// Registry is one usable McpBridge registry (type dns or static).
type Registry struct {
	Type     string // "dns" or "static"
	Name     string
	Domain   string
	Port     int
	Protocol string // HTTP, HTTPS, GRPC or GRPCS
	SNI      string
	Origin   config.Origin
}

// ServiceHost is the registry's service host, "NAME.TYPE" (e.g. "redis-svc.dns").
func (r *Registry) ServiceHost() string { return r.Name + "." + r.Type }

// ServicePort is the service's port: the registry port, or 80 for a static registry without one
// (the "logical port" of static services).
func (r *Registry) ServicePort() int {
	if r.Port == 0 {
		return 80
	}
	return r.Port
}

// ClusterName is the Higress cluster name of the registry's service.
func (r *Registry) ClusterName() string {
	return config.OutboundClusterName(r.ServicePort(), "", r.ServiceHost())
}

// higressConnectTimeout is Istio's default connect timeout (mesh connectTimeout: 10s).
const higressConnectTimeout = 10 * time.Second

var (
	registryTypes   = []string{"nacos", "nacos2", "nacos3", "zookeeper", "consul", "eureka", "static", "dns"}
	registryProtos  = map[string]bool{"": true, "HTTP": true, "HTTPS": true, "GRPC": true, "GRPCS": true}
	dnsLabelPattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`)
)

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if len(l) > 63 || !dnsLabelPattern.MatchString(l) {
			return false
		}
	}
	return true
}

// decodeMcpBridge reads the registries of a McpBridge; each invalid registry is reported and
// skipped, the others load.
func decodeMcpBridge(d *decoder, doc map[string]any) []Registry {
	spec, ok := d.obj(doc, "spec", "")
	if !ok {
		return nil
	}
	var out []Registry
	seen := map[string]bool{}
	for i, raw := range d.list(spec, "registries", "spec") {
		path := index("spec.registries", i)
		m, ok := raw.(map[string]any)
		if !ok {
			d.errorf(path, "must be an object, not %s", typeName(raw))
			continue
		}
		sub := *d
		sub.failed = false
		r := Registry{
			Type:     sub.str(m, "type", path),
			Name:     sub.str(m, "name", path),
			Domain:   sub.str(m, "domain", path),
			Protocol: strings.ToUpper(sub.str(m, "protocol", path)),
			SNI:      sub.str(m, "sni", path),
			Origin:   config.Origin{File: d.file, Field: d.field(path)},
		}
		port, hasPort := sub.integer(m, "port", path, 1, 65535)
		r.Port = int(port)
		if sub.failed {
			continue
		}
		switch {
		case r.Type == "":
			sub.errorf(join(path, "type"), "required")
			continue
		case r.Type != "dns" && r.Type != "static":
			known := false
			for _, t := range registryTypes {
				known = known || t == r.Type
			}
			if known {
				d.warnf(path, "registry %q of type %s is not supported locally (only dns and static are); its services are not available", r.Name, r.Type)
			} else {
				sub.errorf(join(path, "type"), "unknown registry type %q (want one of %s)", r.Type, strings.Join(registryTypes, ", "))
			}
			continue
		}
		if r.Name == "" {
			sub.errorf(join(path, "name"), "required")
			continue
		}
		if !validHostname(r.Name) || strings.Contains(r.Name, ".") {
			sub.errorf(join(path, "name"), "%q is not a valid service name (a DNS label)", r.Name)
			continue
		}
		if seen[r.ServiceHost()] {
			sub.errorf(join(path, "name"), "duplicate %s registry %q", r.Type, r.Name)
			continue
		}
		if !registryProtos[r.Protocol] {
			sub.errorf(join(path, "protocol"), "unknown protocol %q (want HTTP, HTTPS, GRPC or GRPCS)", r.Protocol)
			continue
		}
		if r.Domain == "" {
			sub.errorf(join(path, "domain"), "required: the backend address")
			continue
		}
		if r.Type == "dns" && (!hasPort || r.Port == 0) {
			sub.errorf(join(path, "port"), "required for a dns registry (1-65535)")
			continue
		}
		if _, ok := registryEndpoints(&sub, &r, path); !ok {
			continue
		}
		seen[r.ServiceHost()] = true
		out = append(out, r)
	}
	return out
}

// registryEndpoints parses the registry's domain into endpoints: for dns a comma-separated
// list of host names (or IPs) at the registry port, for static a comma-separated list of
// ip:port.
func registryEndpoints(d *decoder, r *Registry, path string) ([]config.Endpoint, bool) {
	var eps []config.Endpoint
	for _, item := range strings.Split(r.Domain, ",") {
		item = strings.TrimSpace(item)
		if r.Type == "static" {
			host, portStr, err := net.SplitHostPort(item)
			if err != nil {
				d.errorf(join(path, "domain"), "static endpoint %q is not ip:port", item)
				return nil, false
			}
			if net.ParseIP(host) == nil {
				d.errorf(join(path, "domain"), "static endpoint %q: %q is not an IP address", item, host)
				return nil, false
			}
			port, err := strconv.Atoi(portStr)
			if err != nil || port < 1 || port > 65535 {
				d.errorf(join(path, "domain"), "static endpoint %q: invalid port %q", item, portStr)
				return nil, false
			}
			eps = append(eps, config.Endpoint{Host: host, Port: port})
			continue
		}
		if net.ParseIP(item) == nil && !validHostname(item) {
			d.errorf(join(path, "domain"), "%q is not a valid host name", item)
			return nil, false
		}
		eps = append(eps, config.Endpoint{Host: item, Port: r.Port})
	}
	return eps, true
}

// registryCluster builds the cluster of a registry.
func registryCluster(r *Registry) config.Cluster {
	var d decoder // the registry was validated when decoded
	d.ps = new(config.Problems)
	eps, _ := registryEndpoints(&d, r, "")
	cl := config.Cluster{
		Name:           r.ClusterName(),
		Discovery:      config.DiscoveryStrictDNS,
		Endpoints:      eps,
		ConnectTimeout: higressConnectTimeout,
		Origin:         r.Origin,
	}
	if r.Type == "static" {
		cl.Discovery = config.DiscoveryStatic
	}
	if r.Protocol == "HTTPS" || r.Protocol == "GRPCS" {
		cl.TLS = &config.TLS{SNI: r.SNI}
	}
	// gRPC registries are reached over HTTP/2: h2 over TLS, h2c on plaintext.
	cl.HTTP2 = r.Protocol == "GRPC" || r.Protocol == "GRPCS"
	return cl
}
