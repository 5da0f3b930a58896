package higress

import (
	"bufio"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

// IngressAPI is the supported Ingress apiVersion.
const IngressAPI = "networking.k8s.io/v1"

// Ingress is a decoded networking.k8s.io/v1 Ingress.
type Ingress struct {
	Name        string
	Namespace   string
	Annotations map[string]string
	ClassName   string
	// DefaultBackend is spec.defaultBackend, or nil.
	DefaultBackend *Backend
	Rules          []IngressRule
	// TLS are spec.tls: the hosts each Secret's certificate is served for.
	TLS []IngressTLS
	// Created is metadata.creationTimestamp (zero when absent): Ingresses are ordered by it.
	Created time.Time
	Origin  config.Origin
}

// IngressTLS is one spec.tls entry.
type IngressTLS struct {
	Hosts      []string
	SecretName string
	// Field is the entry's field path, for messages.
	Field string
}

// RouteName is the route name Higress gives this Ingress's routes: the name alone for an
// Ingress in the controller's namespace, "namespace/name" otherwise.
func (in *Ingress) RouteName(systemNamespace string) string {
	if in.Namespace == systemNamespace {
		return in.Name
	}
	return in.Namespace + "/" + in.Name
}

// IngressRule is one spec.rules entry.
type IngressRule struct {
	// Host is "" for all hosts.
	Host  string
	Paths []IngressPath
}

// IngressPath is one rules[].http.paths entry.
type IngressPath struct {
	Path     string
	PathType string // Exact, Prefix or ImplementationSpecific
	Backend  Backend
	Field    string // field path, for messages
}

// Backend is an Ingress backend: a Kubernetes service, or a resource (a McpBridge, whose target
// the `higress.io/destination` annotation names).
type Backend struct {
	Service  *ServiceBackend
	Resource *ResourceBackend
	Field    string
}

// ServiceBackend is backend.service.
type ServiceBackend struct {
	Name     string
	Port     int
	PortName string
}

// ResourceBackend is backend.resource.
type ResourceBackend struct {
	APIGroup string
	Kind     string
	Name     string
}

// Higress annotations understood locally.
const (
	annDestination    = "higress.io/destination"
	annTimeout        = "higress.io/timeout"
	annUseRegex       = "higress.io/use-regex"
	annIgnorePathCase = "higress.io/ignore-path-case"
	annUpstreamVhost  = "higress.io/upstream-vhost"
	annBackendProto   = "higress.io/backend-protocol"
)

func decodeIngress(d *decoder, doc map[string]any, name, namespace string, annotations map[string]string) *Ingress {
	in := &Ingress{Name: name, Namespace: namespace, Annotations: annotations}
	spec, ok := d.obj(doc, "spec", "")
	if !ok {
		if !d.failed {
			d.errorf("spec", "required")
		}
		return nil
	}
	in.ClassName = d.str(spec, "ingressClassName", "spec")
	if in.ClassName != "" && in.ClassName != "higress" {
		d.warnf("spec.ingressClassName", "class %q is not \"higress\"; Higress may not serve this Ingress, loaded anyway", in.ClassName)
	}
	if db, ok := d.obj(spec, "defaultBackend", "spec"); ok {
		in.DefaultBackend = decodeBackend(d, db, "spec.defaultBackend")
	}
	for i, raw := range d.list(spec, "rules", "spec") {
		path := index("spec.rules", i)
		m, ok := raw.(map[string]any)
		if !ok {
			d.errorf(path, "must be an object, not %s", typeName(raw))
			continue
		}
		rule := IngressRule{Host: d.str(m, "host", path)}
		if h, ok := d.obj(m, "http", path); ok {
			hpath := join(path, "http")
			for j, rawp := range d.list(h, "paths", hpath) {
				ppath := index(join(hpath, "paths"), j)
				pm, ok := rawp.(map[string]any)
				if !ok {
					d.errorf(ppath, "must be an object, not %s", typeName(rawp))
					continue
				}
				p := IngressPath{Path: d.str(pm, "path", ppath), PathType: d.str(pm, "pathType", ppath), Field: d.field(ppath)}
				if b, ok := d.obj(pm, "backend", ppath); ok {
					if be := decodeBackend(d, b, join(ppath, "backend")); be != nil {
						p.Backend = *be
					}
				} else if !d.failed {
					d.errorf(join(ppath, "backend"), "required")
				}
				rule.Paths = append(rule.Paths, p)
			}
		}
		in.Rules = append(in.Rules, rule)
	}
	for i, raw := range d.list(spec, "tls", "spec") {
		path := index("spec.tls", i)
		m, ok := raw.(map[string]any)
		if !ok {
			d.errorf(path, "must be an object, not %s", typeName(raw))
			continue
		}
		t := IngressTLS{Hosts: d.strList(m, "hosts", path), SecretName: d.str(m, "secretName", path), Field: d.field(path)}
		if t.SecretName == "" {
			d.errorf(join(path, "secretName"), "required: the Secret (type kubernetes.io/tls) holding tls.crt and tls.key")
			continue
		}
		in.TLS = append(in.TLS, t)
	}
	if len(in.Rules) == 0 && in.DefaultBackend == nil && !d.failed {
		d.errorf("spec", "either defaultBackend or rules must be specified")
	}
	return in
}

func decodeBackend(d *decoder, m map[string]any, path string) *Backend {
	b := &Backend{Field: d.field(path)}
	if s, ok := d.obj(m, "service", path); ok {
		spath := join(path, "service")
		b.Service = &ServiceBackend{Name: d.str(s, "name", spath)}
		if b.Service.Name == "" {
			d.errorf(join(spath, "name"), "required")
		}
		if p, ok := d.obj(s, "port", spath); ok {
			n, _ := d.integer(p, "number", join(spath, "port"), 1, 65535)
			b.Service.Port = int(n)
			b.Service.PortName = d.str(p, "name", join(spath, "port"))
		}
		if b.Service.Port == 0 && b.Service.PortName == "" && !d.failed {
			d.errorf(join(spath, "port"), "required: a port number")
		}
	}
	if r, ok := d.obj(m, "resource", path); ok {
		rpath := join(path, "resource")
		b.Resource = &ResourceBackend{
			APIGroup: d.str(r, "apiGroup", rpath),
			Kind:     d.str(r, "kind", rpath),
			Name:     d.str(r, "name", rpath),
		}
	}
	if (b.Service == nil) == (b.Resource == nil) && !d.failed {
		d.errorf(path, "exactly one of service and resource is required")
	}
	return b
}

// destination is one line of the `higress.io/destination` annotation:
// "[WEIGHT%] HOST[:PORT] [SUBSET]".
type destination struct {
	weight int
	host   string
	port   int
	subset string
}

// parseDestination parses the destination annotation as Higress does: one destination per
// line; an optional leading "N%" weight (default 100); the address's port is taken only when
// it is a valid port number; an optional subset.
func parseDestination(value string) ([]destination, int, error) {
	var out []destination
	sum := 0
	sc := bufio.NewScanner(strings.NewReader(value))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		dst := destination{weight: 100}
		if w, ok := strings.CutSuffix(fields[0], "%"); ok {
			n, err := strconv.Atoi(w)
			if err != nil || n < 0 {
				return nil, 0, fmt.Errorf("invalid weight %q", fields[0])
			}
			dst.weight = n
			fields = fields[1:]
		}
		if len(fields) == 0 {
			return nil, 0, fmt.Errorf("destination %q has no address", sc.Text())
		}
		dst.host = fields[0]
		if i := strings.LastIndex(dst.host, ":"); i >= 0 {
			if p, err := strconv.Atoi(dst.host[i+1:]); err == nil && p > 0 && p < 65536 {
				dst.host, dst.port = dst.host[:i], p
			}
		}
		if len(fields) > 1 {
			dst.subset = fields[1]
		}
		sum += dst.weight
		out = append(out, dst)
	}
	if len(out) == 0 {
		return nil, 0, fmt.Errorf("no destination given")
	}
	return out, sum, nil
}

// hroute is a route being built, with what Higress sorts routes by.
type hroute struct {
	route      config.Route
	host       string
	pathType   string // Exact, Prefix or Regex
	originPath string
	isDefault  bool
	// method, headers and queries are the match annotations' conditions, which Higress
	// orders routes of equal paths by.
	method           string
	headers, queries int
}

// routeBuilder turns Ingresses into virtual hosts, routes and the clusters they need.
type routeBuilder struct {
	systemNamespace string
	registries      map[string]*Registry // by service host, "name.dns"
	ps              *config.Problems
	hosts           map[string][]*hroute
	clusters        map[string]config.Cluster
	seen            map[string]string // host|type|path → route name, for duplicates
	// protocols are the backend-protocol annotation values applied, by cluster.
	protocols map[string]string
}

func (b *routeBuilder) errorf(file, field, object, format string, args ...any) {
	b.ps.Errorf(file, field, object, format, args...)
}

// add converts one Ingress.
func (b *routeBuilder) add(in *Ingress) {
	object := "Ingress " + in.Namespace + "/" + in.Name
	file := in.Origin.File
	annField := func(k string) string {
		return prefixField(in.Origin.Field, "metadata.annotations."+k)
	}
	useRegex := in.Annotations[annUseRegex] == "true"
	ignoreCase := in.Annotations[annIgnorePathCase] == "true"
	timeout := config.NoTimeout // Istio disables Envoy's default route timeout
	if v, ok := in.Annotations[annTimeout]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			b.errorf(file, annField(annTimeout), object, "%q is not a whole number of seconds", v)
			return
		}
		if n > 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	var unsupported []string
	for k := range in.Annotations {
		if (strings.HasPrefix(k, "higress.io/") || strings.HasPrefix(k, "nginx.ingress.kubernetes.io/")) &&
			!slices.Contains([]string{annDestination, annTimeout, annUseRegex, annIgnorePathCase, annUpstreamVhost, annBackendProto, nginxBackendProto}, k) && !isMatchAnnotation(k) {
			unsupported = append(unsupported, k)
		}
	}
	if len(unsupported) > 0 {
		slices.Sort(unsupported)
		b.ps.Warnf(file, prefixField(in.Origin.Field, "metadata.annotations"), object,
			"not supported locally, ignored: %s", strings.Join(unsupported, ", "))
	}

	match := parseMatch(in.Annotations, func(key, format string, args ...any) {
		b.ps.Warnf(file, annField(key), object, format, args...)
	})
	routeName := in.RouteName(b.systemNamespace)
	for _, rule := range in.Rules {
		host := rule.Host
		if host == "" {
			host = "*"
		}
		for _, p := range rule.Paths {
			r := &hroute{host: host, originPath: p.Path}
			r.route = config.Route{Name: routeName, Timeout: timeout, HostRewrite: in.Annotations[annUpstreamVhost],
				Origin: config.Origin{File: file, Field: p.Field}}
			if !strings.HasPrefix(p.Path, "/") {
				b.errorf(file, p.Field+".path", object, "path %q must begin with /", p.Path)
				continue
			}
			switch {
			case useRegex:
				r.pathType = "Regex"
				r.route.Match = config.PathMatch{Kind: config.PathRegex, Value: p.Path + ".*"}
			case p.PathType == "Exact":
				r.pathType = "Exact"
				r.route.Match = config.PathMatch{Kind: config.PathExact, Value: p.Path}
			case p.PathType == "Prefix" || p.PathType == "ImplementationSpecific":
				// Higress treats ImplementationSpecific like Prefix here (as ingress-nginx does).
				r.pathType = "Prefix"
				if p.Path == "/" {
					r.route.Match = config.PathMatch{Kind: config.PathPrefix, Value: "/"}
				} else {
					r.originPath = strings.TrimSuffix(p.Path, "/")
					r.route.Match = config.PathMatch{Kind: config.PathSeparatedPrefix, Value: r.originPath}
				}
			case p.PathType == "":
				b.errorf(file, p.Field+".pathType", object, "required (Exact, Prefix or ImplementationSpecific)")
				continue
			default:
				b.errorf(file, p.Field+".pathType", object, "unknown path type %q (want Exact, Prefix or ImplementationSpecific)", p.PathType)
				continue
			}
			r.route.Match.IgnoreCase = ignoreCase
			if !b.setBackend(r, in, &p.Backend, object) {
				continue
			}
			match.apply(r)
			key := host + "|" + r.pathType + "|" + r.originPath + "|" + match.key
			if prev, dup := b.seen[key]; dup {
				b.ps.Warnf(file, p.Field, object, "host %q path %q (%s) is already routed by %q; this duplicate is ignored", host, p.Path, r.pathType, prev)
				continue
			}
			b.seen[key] = routeName
			b.hosts[host] = append(b.hosts[host], r)
		}
	}
	if in.DefaultBackend != nil {
		b.addDefaultBackend(in, timeout, object)
	}
}

// addDefaultBackend adds the `NAME-default` route of spec.defaultBackend: it replaces a
// catch-all "/" route of the "*" host (or is added there), and is added to each rule host that
// has no "/" route.
func (b *routeBuilder) addDefaultBackend(in *Ingress, timeout time.Duration, object string) {
	mk := func(host string) *hroute {
		r := &hroute{host: host, pathType: "Prefix", originPath: "/", isDefault: true}
		r.route = config.Route{Name: in.RouteName(b.systemNamespace) + "-default", Timeout: timeout,
			HostRewrite: in.Annotations[annUpstreamVhost],
			Match:       config.PathMatch{Kind: config.PathPrefix, Value: "/"},
			Origin:      config.Origin{File: in.Origin.File, Field: in.DefaultBackend.Field}}
		if !b.setBackend(r, in, in.DefaultBackend, object) {
			return nil
		}
		return r
	}
	isCatchAll := func(r *hroute) bool {
		return r.pathType == "Prefix" && r.originPath == "/" && r.method == "" && r.headers == 0 && r.queries == 0
	}
	if r := mk("*"); r != nil {
		replaced := false
		for i, existing := range b.hosts["*"] {
			if isCatchAll(existing) {
				b.hosts["*"][i] = r
				replaced = true
			}
		}
		if !replaced {
			b.hosts["*"] = append(b.hosts["*"], r)
		}
	} else {
		return
	}
	for _, rule := range in.Rules {
		if rule.Host == "" || rule.Host == "*" {
			continue
		}
		if slices.ContainsFunc(b.hosts[rule.Host], isCatchAll) {
			continue
		}
		if r := mk(rule.Host); r != nil {
			b.hosts[rule.Host] = append(b.hosts[rule.Host], r)
		}
	}
}

// setBackend resolves the backend into the route's cluster(s), creating the clusters.
func (b *routeBuilder) setBackend(r *hroute, in *Ingress, be *Backend, object string) bool {
	file := in.Origin.File
	if be.Service != nil {
		s := be.Service
		if s.Port == 0 {
			b.errorf(file, be.Field+".service.port", object,
				"named port %q needs the Service object, which a data directory does not have; use port.number", s.PortName)
			return false
		}
		name := config.K8sClusterName(s.Name, in.Namespace, s.Port)
		b.k8sCluster(name, config.K8sServiceFQDN(s.Name, in.Namespace), s.Port, be.Field, file)
		r.route.Cluster = name
		return b.backendProtocol(in, []string{name}, object)
	}
	res := be.Resource
	if res == nil {
		return false
	}
	if res.Kind != "McpBridge" || (res.APIGroup != "" && res.APIGroup != "networking.higress.io") {
		b.errorf(file, be.Field+".resource", object, "unsupported backend resource %s/%s (want networking.higress.io McpBridge)", res.APIGroup, res.Kind)
		return false
	}
	value, ok := in.Annotations[annDestination]
	annField := prefixField(in.Origin.Field, "metadata.annotations."+annDestination)
	if !ok || strings.TrimSpace(value) == "" {
		b.errorf(file, annField, object, "required: a McpBridge backend needs the %s annotation naming the service", annDestination)
		return false
	}
	dsts, sum, err := parseDestination(value)
	if err != nil {
		b.errorf(file, annField, object, "%v", err)
		return false
	}
	if sum != 100 {
		b.ps.Warnf(file, annField, object, "destination weights add up to %d, not 100", sum)
	}
	var targets []config.WeightedCluster
	for _, dst := range dsts {
		name, err := b.destinationCluster(dst, file, be.Field)
		if err != nil {
			b.errorf(file, annField, object, "%v", err)
			return false
		}
		targets = append(targets, config.WeightedCluster{Name: name, Weight: uint32(dst.weight)})
	}
	if len(targets) == 1 {
		r.route.Cluster = targets[0].Name
	} else {
		r.route.WeightedClusters = targets
	}
	names := make([]string, 0, len(targets))
	for _, t := range targets {
		names = append(names, t.Name)
	}
	return b.backendProtocol(in, names, object)
}

// nginxBackendProto is ingress-nginx's name of the backend-protocol annotation, which Higress
// reads too.
const nginxBackendProto = "nginx.ingress.kubernetes.io/backend-protocol"

// backendProtocol applies the Ingress's backend-protocol annotation (HTTP, HTTP2, HTTPS, GRPC,
// GRPCS) to the Kubernetes-service clusters of a route: TLS for HTTPS and GRPCS (without
// verifying the certificate, as Higress does without a proxy-ssl Secret), HTTP/2 for HTTP2,
// GRPC and GRPCS. A McpBridge registry's cluster keeps the registry's own protocol.
func (b *routeBuilder) backendProtocol(in *Ingress, clusters []string, object string) bool {
	key := annBackendProto
	v, ok := in.Annotations[key]
	if !ok {
		key = nginxBackendProto
		if v, ok = in.Annotations[key]; !ok {
			return true
		}
	}
	field := prefixField(in.Origin.Field, "metadata.annotations."+key)
	var tlsOn, h2 bool
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "HTTP":
	case "HTTP2", "GRPC":
		h2 = true
	case "HTTPS":
		tlsOn = true
	case "GRPCS":
		tlsOn, h2 = true, true
	default:
		b.errorf(in.Origin.File, field, object, "%q is not a backend protocol (HTTP, HTTP2, HTTPS, GRPC or GRPCS)", v)
		return false
	}
	for _, name := range clusters {
		c, ok := b.clusters[name]
		if !ok {
			b.ps.Warnf(in.Origin.File, field, object, "cluster %s is a McpBridge registry's: its protocol comes from the registry, not from %s", name, key)
			continue
		}
		if prev, set := b.protocols[name]; set && !strings.EqualFold(prev, strings.TrimSpace(v)) {
			b.ps.Warnf(in.Origin.File, field, object, "an earlier Ingress gave %s backend protocol %s; this one (%s) wins", name, prev, v)
		}
		if b.protocols == nil {
			b.protocols = map[string]string{}
		}
		b.protocols[name] = strings.TrimSpace(v)
		c.HTTP2, c.TLS = h2, nil
		if tlsOn {
			// The service's name (outbound|PORT||FQDN), as Istio sends it.
			c.TLS = &config.TLS{SNI: name[strings.LastIndex(name, "|")+1:], InsecureSkipVerify: true}
		}
		b.clusters[name] = c
	}
	return true
}

func (b *routeBuilder) destinationCluster(dst destination, file, field string) (string, error) {
	if dst.subset != "" {
		return "", fmt.Errorf("destination %s: subsets (%q) are not supported locally", dst.host, dst.subset)
	}
	if reg, ok := b.registries[dst.host]; ok {
		if dst.port != 0 && dst.port != reg.ServicePort() {
			return "", fmt.Errorf("destination %s:%d: the %s registry %q serves port %d", dst.host, dst.port, reg.Type, reg.Name, reg.ServicePort())
		}
		return reg.ClusterName(), nil
	}
	if strings.HasSuffix(dst.host, ".svc.cluster.local") {
		if dst.port == 0 {
			return "", fmt.Errorf("destination %s: a Kubernetes service needs a port (HOST:PORT)", dst.host)
		}
		name := config.OutboundClusterName(dst.port, "", dst.host)
		b.k8sCluster(name, dst.host, dst.port, field, file)
		return name, nil
	}
	if strings.HasSuffix(dst.host, ".dns") || strings.HasSuffix(dst.host, ".static") {
		return "", fmt.Errorf("destination %s: no such registry in mcpbridges/ (a McpBridge named %q in %s with a %s registry named %q)",
			dst.host, DefaultMcpBridgeName, b.systemNamespace, dst.host[strings.LastIndex(dst.host, ".")+1:], dst.host[:strings.LastIndex(dst.host, ".")])
	}
	return "", fmt.Errorf("destination %s: only dns and static McpBridge services and Kubernetes services (*.svc.cluster.local) can be reached locally", dst.host)
}

func (b *routeBuilder) k8sCluster(name, fqdn string, port int, field, file string) {
	if _, ok := b.clusters[name]; ok {
		return
	}
	b.clusters[name] = config.Cluster{
		Name:           name,
		Discovery:      config.DiscoveryStrictDNS,
		Endpoints:      []config.Endpoint{{Host: fqdn, Port: port}},
		ConnectTimeout: higressConnectTimeout,
		Origin:         config.Origin{File: file, Field: field},
	}
}

// virtualHosts returns the virtual hosts, routes sorted per host as Higress sorts them.
func (b *routeBuilder) virtualHosts() []config.VirtualHost {
	hosts := make([]string, 0, len(b.hosts))
	for h := range b.hosts {
		hosts = append(hosts, h)
	}
	slices.SortFunc(hosts, func(a, c string) int {
		switch {
		case a == c:
			return 0
		case a == "*":
			return 1
		case c == "*":
			return -1
		}
		return strings.Compare(a, c)
	})
	var out []config.VirtualHost
	for _, h := range hosts {
		routes := b.hosts[h]
		sortRoutes(routes)
		vh := config.VirtualHost{Name: h, Domains: []string{h}}
		if h != "*" {
			vh.Domains = append(vh.Domains, h+":*")
		}
		for _, r := range routes {
			vh.Routes = append(vh.Routes, r.route)
		}
		out = append(out, vh)
	}
	return out
}

// sortRoutes orders one host's routes as Higress does (pkg/ingress/kube/common/tool.go,
// SortHTTPRoutes): default backends last, then a catch-all "/" prefix without conditions;
// otherwise exact before prefix before regex, within one type longer paths first, then
// routes with methods (the shorter method list first), more header conditions, more query
// conditions. The sort is stable, so equal routes keep the Ingresses' order.
func sortRoutes(routes []*hroute) {
	less := func(a, c *hroute) bool {
		if a.isDefault {
			return false
		}
		if c.isDefault {
			return true
		}
		allCatch := func(r *hroute) bool {
			return r.pathType == "Prefix" && r.originPath == "/" && r.method == "" && r.headers == 0 && r.queries == 0
		}
		if allCatch(a) {
			return false
		}
		if allCatch(c) {
			return true
		}
		if a.pathType == c.pathType {
			if len(a.originPath) != len(c.originPath) {
				return len(a.originPath) > len(c.originPath)
			}
			// Then the methods (a route with methods first; of two, the shorter list), the
			// number of header conditions, the number of query conditions.
			if la, lc := len(a.method), len(c.method); la != lc {
				if la != 0 && lc != 0 {
					return la < lc
				}
				return la != 0
			}
			if a.headers != c.headers {
				return a.headers > c.headers
			}
			return a.queries > c.queries
		}
		if a.pathType == "Exact" {
			return true
		}
		if c.pathType != "Exact" {
			return a.pathType == "Prefix"
		}
		return false
	}
	slices.SortStableFunc(routes, func(a, c *hroute) int {
		switch {
		case less(a, c):
			return -1
		case less(c, a):
			return 1
		}
		return 0
	})
}

func prefixField(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + ": " + field
}
