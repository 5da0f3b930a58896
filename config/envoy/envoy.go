// Package envoy adapts an Envoy static bootstrap file (YAML or JSON, such as the envoy.yaml of
// the Higress local-development docs) into the native configuration (package config).
//
// The file is decoded with Envoy's own protos (go-control-plane): YAML is converted to JSON,
// enum names are read case-insensitively as Envoy's loader reads them, and the JSON is decoded
// with protojson into envoy.config.bootstrap.v3.Bootstrap, then checked with the protos'
// validation rules, so what Envoy would reject is rejected here, with the field path and line.
// The adapter then extracts:
//
//   - listeners with a socket address, metadata and an HTTP connection manager (server name
//     and header, scheme overwrite) with an inline route_config (header mutations; virtual
//     hosts with metadata and header mutations; routes with prefix, path, safe_regex and
//     path_separated_prefix matches plus header and query parameter matchers, metadata,
//     header mutations, cluster, weighted_clusters and direct_response actions, timeout,
//     prefix_rewrite, regex_rewrite, host_rewrite_literal);
//   - each wasm HTTP filter (envoy.extensions.filters.http.wasm.v3.Wasm, given directly or
//     wrapped in udpa.type.v1.TypedStruct / xds.type.v3.TypedStruct): config.name, root_id,
//     vm_config (vm_id, runtime, code, environment_variables, configuration), configuration
//     (StringValue and BytesValue raw, Struct as JSON) and fail_open / failure_policy;
//   - clusters of type STATIC, STRICT_DNS and LOGICAL_DNS with load_assignment socket
//     addresses, connect_timeout, dns_lookup_family, metadata and upstream TLS;
//   - admin.address and stats_config.stats_tags.
//
// Every field set in the file that the adapter does not apply is reported: after extraction,
// the set fields of the parsed protos are walked against the table of handled fields
// (fields.go, walk.go), so a field can never be dropped silently. An extension type unknown
// to the protos is replaced by a placeholder and reported, not fatal.
package envoy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	yamlv3 "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	"github.com/wasmgate/wasmgate/config"
)

// LoadFile reads and adapts an Envoy bootstrap file. Relative paths in it (wasm filenames, CA
// files) are resolved against the file's directory.
func LoadFile(path string) *config.Result {
	res := &config.Result{Files: []string{path}}
	data, err := os.ReadFile(path)
	if err != nil {
		res.Problems.Errorf(path, "", "", "cannot read the file: %v", err)
		return res
	}
	r := Parse(path, data, filepath.Dir(path))
	r.Files = res.Files
	return r
}

// Parse adapts the bootstrap in data; file names it in messages and baseDir anchors relative
// paths. Result.Config is nil when the file as a whole is invalid (a YAML or proto error, or a
// failed validation rule); otherwise listeners, routes, clusters or plugins that cannot be used
// are left out and reported.
func Parse(file string, data []byte, baseDir string) *config.Result {
	p := &parser{file: file, baseDir: baseDir, res: &config.Result{}, tree: parseYAMLTree(data),
		reported: map[string]bool{}, unpacked: map[string]unpacked{}}
	p.parse(data)
	return p.res
}

type parser struct {
	file    string
	baseDir string
	tree    *yamlv3.Node
	res     *config.Result
	// reported holds the paths problems were reported at: the field walk skips them.
	reported map[string]bool
	// unpacked holds the messages decoded from Anys, by the Any's path.
	unpacked map[string]unpacked
}

// at renders a field path with its YAML line: "static_resources.clusters[0].type (line 42)".
func (p *parser) at(path fieldPath) string {
	s := path.String()
	if line := lineOf(p.tree, path); line > 0 {
		if s == "" {
			return fmt.Sprintf("line %d", line)
		}
		s += fmt.Sprintf(" (line %d)", line)
	}
	return s
}

func (p *parser) errorf(path fieldPath, format string, args ...any) {
	p.reported[path.String()] = true
	p.res.Problems.Errorf(p.file, p.at(path), "", format, args...)
}

func (p *parser) warnf(path fieldPath, format string, args ...any) {
	p.reported[path.String()] = true
	p.res.Problems.Warnf(p.file, p.at(path), "", format, args...)
}

func (p *parser) origin(path fieldPath) config.Origin {
	return config.Origin{File: p.file, Field: p.at(path)}
}

func (p *parser) parse(data []byte) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		p.res.Problems.Errorf(p.file, "", "", "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		return
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		p.res.Problems.Errorf(p.file, "", "", "the file is empty or not a bootstrap object")
		return
	}
	bs := &bootstrapv3.Bootstrap{}
	unresolved, loc := decodeProto(doc, bs, nil)
	for _, u := range unresolved {
		p.warnf(u.path, "type %s is not known to wasmgate; this extension is ignored", strings.TrimPrefix(u.typeURL, "type.googleapis.com/"))
	}
	if loc != nil {
		p.errorf(loc.path, "%s", loc.msg)
		return
	}
	if err := bs.ValidateAll(); err != nil {
		for _, l := range validationErrors(err, nil) {
			p.errorf(l.path, "%s", l.msg)
		}
		return
	}
	cfg := &config.Config{Source: "envoy"}
	p.res.Config = cfg
	if a := bs.GetAdmin().GetAddress().GetSocketAddress(); a != nil {
		cfg.AdminAddress = socketAddress(a)
	}
	if n := bs.GetNode(); n != nil {
		cfg.Node = config.Node{ID: n.GetId(), Cluster: n.GetCluster(), Metadata: n.GetMetadata().AsMap()}
	}
	if sc := bs.GetStatsConfig(); sc != nil {
		cfg.StatsTags = p.statsTags(sc, fieldPath{"stats_config"})
	}
	if bs.GetDynamicResources() != nil {
		p.warnf(fieldPath{"dynamic_resources"}, "xDS (dynamic resources) is not supported, ignored")
	}
	sr := bs.GetStaticResources()
	base := fieldPath{"static_resources"}
	for i, c := range sr.GetClusters() {
		if cl, ok := p.cluster(c, base.key("clusters").idx(i)); ok {
			cfg.Clusters = append(cfg.Clusters, cl)
		}
	}
	for i, l := range sr.GetListeners() {
		if ln, ok := p.listener(l, base.key("listeners").idx(i)); ok {
			cfg.Listeners = append(cfg.Listeners, ln)
		}
	}
	for i, ext := range bs.GetBootstrapExtensions() {
		if svc, ok := p.bootstrapExtension(ext, fieldPath{"bootstrap_extensions"}.idx(i)); ok {
			cfg.Services = append(cfg.Services, svc)
		}
	}
	if len(sr.GetSecrets()) > 0 {
		p.warnf(base.key("secrets"), "secrets are not supported, ignored")
	}
	p.walkUnhandled(bs.ProtoReflect(), nil)
	p.res.Problems = append(p.res.Problems, cfg.Validate()...)
}

func socketAddress(a *corev3.SocketAddress) string {
	port := ""
	switch ps := a.GetPortSpecifier().(type) {
	case *corev3.SocketAddress_PortValue:
		port = fmt.Sprint(ps.PortValue)
	case *corev3.SocketAddress_NamedPort:
		port = ps.NamedPort
	}
	host := a.GetAddress()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}

func duration(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

// ---- clusters ----

func (p *parser) cluster(c *clusterv3.Cluster, path fieldPath) (config.Cluster, bool) {
	cl := config.Cluster{Name: c.GetName(), ConnectTimeout: duration(c.GetConnectTimeout()), Metadata: metadata(c.GetMetadata()), Origin: p.origin(path)}
	if cl.ConnectTimeout == 0 {
		cl.ConnectTimeout = config.DefaultConnectTimeout
	}
	if c.GetClusterType() != nil {
		p.errorf(path.key("cluster_type"), "custom cluster types (%s) are not supported", c.GetClusterType().GetName())
		return cl, false
	}
	switch c.GetType() {
	case clusterv3.Cluster_STATIC:
		cl.Discovery = config.DiscoveryStatic
	case clusterv3.Cluster_STRICT_DNS:
		cl.Discovery = config.DiscoveryStrictDNS
	case clusterv3.Cluster_LOGICAL_DNS:
		cl.Discovery = config.DiscoveryLogicalDNS
	default:
		p.errorf(path.key("type"), "cluster %q: type %s is not supported (want STATIC, STRICT_DNS or LOGICAL_DNS)", c.GetName(), c.GetType())
		return cl, false
	}
	switch c.GetDnsLookupFamily() {
	case clusterv3.Cluster_V4_ONLY:
		cl.DNSFamily = config.DNSV4Only
	case clusterv3.Cluster_V6_ONLY:
		cl.DNSFamily = config.DNSV6Only
	case clusterv3.Cluster_V4_PREFERRED:
		cl.DNSFamily = config.DNSV4Preferred
	case clusterv3.Cluster_ALL:
		cl.DNSFamily = config.DNSAll
	}
	la := c.GetLoadAssignment()
	lpath := path.key("load_assignment").key("endpoints")
	for i, le := range la.GetEndpoints() {
		for j, lb := range le.GetLbEndpoints() {
			epath := lpath.idx(i).key("lb_endpoints").idx(j)
			ep := lb.GetEndpoint()
			if ep == nil {
				p.errorf(epath, "cluster %q: only endpoint entries are supported", c.GetName())
				return cl, false
			}
			sa := ep.GetAddress().GetSocketAddress()
			if sa == nil {
				p.errorf(epath.key("endpoint").key("address"), "cluster %q: only socket addresses are supported", c.GetName())
				return cl, false
			}
			pv, ok := sa.GetPortSpecifier().(*corev3.SocketAddress_PortValue)
			if !ok || pv.PortValue == 0 {
				p.errorf(epath.key("endpoint").key("address").key("socket_address"), "cluster %q: port_value is required (1-65535)", c.GetName())
				return cl, false
			}
			cl.Endpoints = append(cl.Endpoints, config.Endpoint{Host: sa.GetAddress(), Port: int(pv.PortValue)})
		}
	}
	if len(cl.Endpoints) == 0 {
		p.errorf(path.key("load_assignment"), "cluster %q has no endpoints", c.GetName())
		return cl, false
	}
	if ts := c.GetTransportSocket(); ts != nil {
		tls, ok := p.upstreamTLS(ts, path.key("transport_socket"))
		if !ok {
			return cl, false
		}
		cl.TLS = tls
	}
	p.protocolOptions(c, path, &cl)
	p.clusterOptions(c, &cl)
	return cl, true
}

// ---- listeners ----

func (p *parser) listener(l *listenerv3.Listener, path fieldPath) (config.Listener, bool) {
	ln := config.Listener{Name: l.GetName(), ChainOrder: config.ChainAsWritten, Metadata: metadata(l.GetMetadata()), Origin: p.origin(path)}
	sa := l.GetAddress().GetSocketAddress()
	if sa == nil {
		p.errorf(path.key("address"), "listener %q: only socket addresses are supported", l.GetName())
		return ln, false
	}
	ln.Address = socketAddress(sa)
	if v := l.GetPerConnectionBufferLimitBytes(); v != nil {
		ln.HTTP.BufferLimit = v.GetValue()
	}
	found := false
	for i, fc := range l.GetFilterChains() {
		fcPath := path.key("filter_chains").idx(i)
		if fc.GetFilterChainMatch() != nil {
			p.warnf(fcPath.key("filter_chain_match"), "filter chain matching is not supported, ignored")
		}
		var chainTLS *config.DownstreamTLS
		if ts := fc.GetTransportSocket(); ts != nil {
			t, ok := p.downstreamTLS(ts, fcPath.key("transport_socket"))
			if !ok {
				return ln, false
			}
			chainTLS = t
		}
		for j, f := range fc.GetFilters() {
			fPath := fcPath.key("filters").idx(j)
			u, ok := p.unpack(f.GetTypedConfig(), fPath.key("typed_config"))
			if !ok {
				return ln, false
			}
			hcm, isHCM := u.msg.(*hcmv3.HttpConnectionManager)
			if !isHCM {
				p.warnf(fPath, "network filter %q is not supported (only the HTTP connection manager), ignored", f.GetName())
				continue
			}
			if found {
				p.warnf(fPath, "only the first HTTP connection manager of a listener is used; this one is ignored")
				continue
			}
			found = true
			ln.TLS = chainTLS
			if !p.hcm(hcm, u.body, &ln) {
				return ln, false
			}
		}
	}
	if !found {
		p.warnf(path, "listener %q has no HTTP connection manager, ignored", l.GetName())
		return ln, false
	}
	return ln, true
}

// ---- routes ----

func (p *parser) routeConfig(rc *routev3.RouteConfiguration, path fieldPath, ln *config.Listener) bool {
	ln.HTTP.Headers = p.headerMutations(rc, path)
	ln.HTTP.MostSpecificHeaderMutationsWins = rc.GetMostSpecificHeaderMutationsWins()
	for i, vh := range rc.GetVirtualHosts() {
		vpath := path.key("virtual_hosts").idx(i)
		v := config.VirtualHost{Name: vh.GetName(), Domains: vh.GetDomains(), Metadata: metadata(vh.GetMetadata()),
			Headers: p.headerMutations(vh, vpath), Origin: p.origin(vpath)}
		if vh.GetRequireTls() != routev3.VirtualHost_NONE {
			p.warnf(vpath.key("require_tls"), "require_tls is not supported, ignored")
		}
		for j, r := range vh.GetRoutes() {
			rpath := vpath.key("routes").idx(j)
			if route, ok := p.route(r, rpath); ok {
				v.Routes = append(v.Routes, route)
			}
		}
		ln.VirtualHosts = append(ln.VirtualHosts, v)
	}
	return true
}

func (p *parser) route(r *routev3.Route, path fieldPath) (config.Route, bool) {
	out := config.Route{Name: r.GetName(), Metadata: metadata(r.GetMetadata()), Origin: p.origin(path)}
	m := r.GetMatch()
	mpath := path.key("match")
	switch ps := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		out.Match = config.PathMatch{Kind: config.PathPrefix, Value: ps.Prefix}
	case *routev3.RouteMatch_Path:
		out.Match = config.PathMatch{Kind: config.PathExact, Value: ps.Path}
	case *routev3.RouteMatch_SafeRegex:
		out.Match = config.PathMatch{Kind: config.PathRegex, Value: ps.SafeRegex.GetRegex()}
	case *routev3.RouteMatch_PathSeparatedPrefix:
		out.Match = config.PathMatch{Kind: config.PathSeparatedPrefix, Value: ps.PathSeparatedPrefix}
	case *routev3.RouteMatch_ConnectMatcher_:
		out.Match = config.PathMatch{Kind: config.PathConnect}
	default:
		p.errorf(mpath, "%s: only prefix, path, safe_regex, path_separated_prefix and connect_matcher matches are supported", routeLabel(r))
		return out, false
	}
	if cs := m.GetCaseSensitive(); cs != nil && !cs.GetValue() {
		out.Match.IgnoreCase = true
	}
	var ok bool
	if out.HeaderMatchers, ok = p.headerMatchers(m.GetHeaders(), mpath.key("headers")); !ok {
		return out, false
	}
	if out.QueryMatchers, ok = p.queryMatchers(m.GetQueryParameters(), mpath.key("query_parameters")); !ok {
		return out, false
	}
	if _, err := out.Match.Matcher(); err != nil {
		p.errorf(mpath, "%s: %v", routeLabel(r), err)
		return out, false
	}
	switch a := r.GetAction().(type) {
	case *routev3.Route_Route:
		ra := a.Route
		apath := path.key("route")
		switch cs := ra.GetClusterSpecifier().(type) {
		case *routev3.RouteAction_Cluster:
			out.Cluster = cs.Cluster
		case *routev3.RouteAction_WeightedClusters:
			for _, wc := range cs.WeightedClusters.GetClusters() {
				w := uint32(1)
				if wc.GetWeight() != nil {
					w = wc.GetWeight().GetValue()
				}
				out.WeightedClusters = append(out.WeightedClusters, config.WeightedCluster{Name: wc.GetName(), Weight: w})
			}
		default:
			p.errorf(apath, "%s: only cluster and weighted_clusters targets are supported", routeLabel(r))
			return out, false
		}
		out.Timeout = 0
		if t := ra.GetTimeout(); t != nil {
			out.Timeout = t.AsDuration()
			if out.Timeout == 0 {
				out.Timeout = config.NoTimeout
			}
		}
		out.IdleTimeout = timeout(ra.GetIdleTimeout())
		out.PrefixRewrite = ra.GetPrefixRewrite()
		if hr, ok := ra.GetHostRewriteSpecifier().(*routev3.RouteAction_HostRewriteLiteral); ok {
			out.HostRewrite = hr.HostRewriteLiteral
		}
		if rr := ra.GetRegexRewrite(); rr != nil {
			if _, err := regexp.Compile(rr.GetPattern().GetRegex()); err != nil {
				p.errorf(apath.key("regex_rewrite").key("pattern"), "%s: %v", routeLabel(r), err)
				return out, false
			}
			out.RegexRewrite = &config.RegexRewrite{Pattern: rr.GetPattern().GetRegex(), Substitution: rr.GetSubstitution()}
		}
		if rp := ra.GetRetryPolicy(); rp != nil {
			out.Retry = p.retryPolicy(rp, apath.key("retry_policy"))
		}

	case *routev3.Route_DirectResponse:
		body, err := p.dataSource(a.DirectResponse.GetBody())
		if err != nil {
			p.errorf(path.key("direct_response").key("body"), "%s: %v", routeLabel(r), err)
			return out, false
		}
		out.DirectResponse = &config.DirectResponse{Status: int(a.DirectResponse.GetStatus()), Body: body}
	default:
		p.errorf(path, "%s: only route and direct_response actions are supported (not redirects or filter actions)", routeLabel(r))
		return out, false
	}
	if len(r.GetTypedPerFilterConfig()) > 0 {
		p.warnf(path.key("typed_per_filter_config"), "%s: per-route filter configuration is not supported, ignored", routeLabel(r))
	}
	out.Headers = p.headerMutations(r, path)
	return out, true
}

// dataSource returns the bytes of an inline data source, or reads a file one.
func (p *parser) dataSource(ds *corev3.DataSource) ([]byte, error) {
	switch s := ds.GetSpecifier().(type) {
	case nil:
		return nil, nil
	case *corev3.DataSource_InlineString:
		return []byte(s.InlineString), nil
	case *corev3.DataSource_InlineBytes:
		return s.InlineBytes, nil
	case *corev3.DataSource_Filename:
		b, err := os.ReadFile(p.path(s.Filename))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.Filename, err)
		}
		return b, nil
	case *corev3.DataSource_EnvironmentVariable:
		v, ok := os.LookupEnv(s.EnvironmentVariable)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set", s.EnvironmentVariable)
		}
		return []byte(v), nil
	}
	return nil, fmt.Errorf("unsupported data source")
}

// path resolves a file name from the bootstrap against its directory.
func (p *parser) path(name string) string {
	if filepath.IsAbs(name) || p.baseDir == "" {
		return name
	}
	return filepath.Join(p.baseDir, name)
}

// anyBytes returns what Envoy hands a plugin for a `configuration` Any: the value of a
// StringValue or BytesValue, a Struct as JSON, and the serialized message otherwise.
func anyBytes(a *anypb.Any) ([]byte, error) {
	if a == nil || a.GetTypeUrl() == "" {
		return nil, nil
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil, fmt.Errorf("configuration of type %s: %w", a.GetTypeUrl(), err)
	}
	switch v := m.(type) {
	case *wrapperspb.StringValue:
		return []byte(v.GetValue()), nil
	case *wrapperspb.BytesValue:
		return v.GetValue(), nil
	case *structpb.Struct:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v.AsMap()); err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	return proto.Clone(a).(*anypb.Any).GetValue(), nil
}

// routeLabel names a route in messages: `route "name"`, or just "route" when it has no name.
func routeLabel(r *routev3.Route) string {
	if r.GetName() == "" {
		return "route"
	}
	return fmt.Sprintf("route %q", r.GetName())
}
