package higress

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/wasmgate/wasmgate/config"
)

// decodeEndpoints reads a v1 Endpoints resource: the addresses of the Kubernetes service of the
// same name and namespace, which a data directory otherwise cannot know (Kubernetes service
// names do not resolve outside a cluster). Each port becomes the cluster Higress names
// `outbound|PORT||NAME.NAMESPACE.svc.cluster.local`, used by Ingress backends and plugins.
func decodeEndpoints(d *decoder, m map[string]any, name, namespace string) []config.Cluster {
	fqdn := config.K8sServiceFQDN(name, namespace)
	byPort := map[int][]config.Endpoint{}
	var ports []int
	for i, raw := range d.list(m, "subsets", "") {
		path := index("subsets", i)
		sub, ok := raw.(map[string]any)
		if !ok {
			d.errorf(path, "must be an object, not %s", typeName(raw))
			continue
		}
		var hosts []string
		for j, ra := range d.list(sub, "addresses", path) {
			apath := index(join(path, "addresses"), j)
			a, _ := ra.(map[string]any)
			host := d.str(a, "ip", apath)
			if host == "" {
				host = d.str(a, "hostname", apath)
			}
			if host == "" || (net.ParseIP(host) == nil && !validHostname(host)) {
				d.errorf(apath, "an address needs an ip (or a hostname resolved by DNS)")
				continue
			}
			hosts = append(hosts, host)
		}
		for j, rp := range d.list(sub, "ports", path) {
			ppath := index(join(path, "ports"), j)
			p, _ := rp.(map[string]any)
			port, ok := d.integer(p, "port", ppath, 1, 65535)
			if !ok {
				if !d.failed {
					d.errorf(join(ppath, "port"), "required (1-65535)")
				}
				continue
			}
			if _, seen := byPort[int(port)]; !seen {
				ports = append(ports, int(port))
			}
			for _, h := range hosts {
				byPort[int(port)] = append(byPort[int(port)], config.Endpoint{Host: h, Port: int(port)})
			}
		}
	}
	var out []config.Cluster
	for _, port := range ports {
		eps := byPort[port]
		if len(eps) == 0 {
			continue
		}
		c := config.Cluster{
			Name: config.K8sClusterName(name, namespace, port), Discovery: config.DiscoveryStatic,
			Endpoints: eps, ConnectTimeout: higressConnectTimeout,
			Origin: config.Origin{File: d.file, Field: strings.TrimSuffix(d.prefix, ": ")},
		}
		for _, e := range eps {
			if net.ParseIP(e.Host) == nil {
				c.Discovery = config.DiscoveryStrictDNS
			}
		}
		out = append(out, c)
	}
	if len(out) == 0 && !d.failed {
		d.warnf("subsets", "no address with a port: service %s has no endpoints", fqdn)
	}
	return out
}

// serviceRef is a string in a plugin's configuration that names a service.
type serviceRef struct {
	file, field, object, plugin string
	value                       string // as written
	host                        string // the service host it names
}

var (
	k8sHostPattern  = regexp.MustCompile(`[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.svc\.cluster\.local`)
	shortSvcPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?)\.([a-z0-9]([a-z0-9-]*[a-z0-9])?)\.svc(:[0-9]+)?$`)
	clusterPattern  = regexp.MustCompile(`^outbound\|[0-9]+\|[^|]*\|(.+)$`)
	registryPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?\.(dns|static)(:[0-9]+)?$`)
)

// findServiceRefs collects the service references in a plugin configuration value: Kubernetes
// service names (`svc.ns.svc.cluster.local`, also inside URLs; `svc.ns.svc`), cluster names
// (`outbound|PORT||HOST`) and McpBridge service names (`name.dns`, `name.static`).
func findServiceRefs(v any, path string, base serviceRef, out *[]serviceRef) {
	switch t := v.(type) {
	case string:
		add := func(host string) {
			r := base
			r.field, r.value, r.host = path, t, host
			*out = append(*out, r)
		}
		switch {
		case clusterPattern.MatchString(t):
			add(clusterPattern.FindStringSubmatch(t)[1])
		case shortSvcPattern.MatchString(t):
			m := shortSvcPattern.FindStringSubmatch(t)
			add(config.K8sServiceFQDN(m[1], m[3]))
		case registryPattern.MatchString(t):
			add(strings.Split(t, ":")[0])
		default:
			for _, h := range k8sHostPattern.FindAllString(t, -1) {
				add(h)
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(t) {
			findServiceRefs(t[k], join(path, k), base, out)
		}
	case []any:
		for i, e := range t {
			findServiceRefs(e, index(path, i), base, out)
		}
	}
}

// checkServiceRefs warns about every service a plugin's configuration names that no cluster of
// the configuration serves: the plugin's calls to it would fail with BadArgument.
func checkServiceRefs(ps *config.Problems, refs []serviceRef, clusters []config.Cluster) {
	known := map[string]bool{}
	for _, c := range clusters {
		known[c.Name] = true
		if n, err := config.ParseOutboundClusterName(c.Name); err == nil {
			known[n.FQDN] = true
		}
	}
	seen := map[string]bool{}
	for _, r := range refs {
		if known[r.host] || seen[r.plugin+"|"+r.field+"|"+r.host] {
			continue
		}
		seen[r.plugin+"|"+r.field+"|"+r.host] = true
		ps.Warnf(r.file, r.field, r.object, "plugin %q refers to service %s, which no McpBridge registry, Ingress backend or Endpoints resource of this data directory defines: its calls to it fail with BadArgument (unknown cluster). %s",
			r.plugin, r.host, declareHint(r.host))
	}
}

// declareHint says how to make a service reachable locally.
func declareHint(host string) string {
	if strings.HasSuffix(host, ".dns") || strings.HasSuffix(host, ".static") {
		i := strings.LastIndex(host, ".")
		return fmt.Sprintf("Declare it as a %s registry named %q in the McpBridge %q of %s (mcpbridges/).", host[i+1:], host[:i], DefaultMcpBridgeName, config.HigressNamespace)
	}
	if name, ns, ok := strings.Cut(strings.TrimSuffix(host, ".svc.cluster.local"), "."); ok && strings.HasSuffix(host, ".svc.cluster.local") && !strings.Contains(ns, ".") {
		return fmt.Sprintf("Declare its addresses locally with an Endpoints resource %q in namespace %q (services/), or point the plugin at a McpBridge static or dns registry.", name, ns)
	}
	return "Declare it locally with a McpBridge static or dns registry (mcpbridges/) and refer to it as NAME.static or NAME.dns."
}

// sortClusters orders clusters by name.
func sortClusters(cs []config.Cluster) {
	slices.SortFunc(cs, func(a, b config.Cluster) int { return strings.Compare(a.Name, b.Name) })
}
