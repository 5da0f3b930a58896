// Package config is wasmgate's native gateway configuration: listeners, virtual hosts and routes,
// upstream clusters and proxy-wasm plugin chains.
//
// Every configuration source — a Higress standalone data directory (package config/higress), an
// Envoy static bootstrap (package config/envoy) and the command-line flags (package config/flags) —
// is adapted into this one model, so the gateway has a single thing to run. The package is plain
// data plus pure helpers (ordering, matching, validation, cluster names); it performs no I/O.
//
// Names follow Envoy and Higress exactly, because plugins observe them: a route's name is the
// proxy-wasm property `route_name` (what `_match_route_` rules compare against), a cluster's name is
// `cluster_name` (what `_match_service_` rules parse, and what `DnsCluster`, `StaticIpCluster`,
// `FQDNCluster` and `K8sCluster` in the Higress SDK produce), and a plugin's configuration bytes are
// exactly what `proxy_on_configure` reads.
package config

import (
	"net"
	"strconv"
	"time"
)

// Defaults shared by the adapters and the gateway.
const (
	// DefaultListen is the address the gateway listens on when no source says otherwise; the
	// Higress local-development setup (docker-compose with envoy.yaml) uses port 10000.
	DefaultListen = "127.0.0.1:10000"
	// DefaultTLSListen is where a Higress data directory's HTTPS listener (its Ingresses' tls
	// hosts, port 443 in Higress) listens when no option says otherwise.
	DefaultTLSListen = "127.0.0.1:10443"
	// DefaultAdmin is the admin API's default address (Higress's Envoy admin port).
	DefaultAdmin = "127.0.0.1:15000"
	// DefaultRouteTimeout is Envoy's route timeout when a route does not set one.
	DefaultRouteTimeout = 15 * time.Second
	// DefaultConnectTimeout is Envoy's cluster connect timeout when a cluster does not set one.
	DefaultConnectTimeout = 5 * time.Second
	// HigressNamespace is the namespace of the Higress controller; only WasmPlugins and the
	// McpBridge in this namespace take effect.
	HigressNamespace = "higress-system"
)

// NoTimeout as a Route.Timeout disables the route timeout (Envoy `timeout: 0s`).
const NoTimeout time.Duration = -1

// Config is one complete gateway configuration.
type Config struct {
	// Source names the adapter that produced the config: "envoy", "higress" or "flags".
	Source string
	// AdminAddress is the admin address the source asked for ("" if none), as written; the
	// gateway's --admin flag takes precedence.
	AdminAddress string
	// Listeners are the HTTP listeners, each with its routes and plugin chain.
	Listeners []Listener
	// Clusters are the upstream clusters, referenced by name from routes and from plugins'
	// DispatchHttpCall / Redis calls.
	Clusters []Cluster
	// Services are plugins that serve no HTTP stream: Envoy's bootstrap `WasmService`
	// extensions (`envoy.bootstrap.wasm`), started with the configuration for background work
	// (ticks, shared queues, callouts); Plugin.Singleton says whether one VM runs for the
	// process or one per worker.
	Services []Plugin
	// StatsTags extract Prometheus labels from plugin metric names (Envoy
	// stats_config.stats_tags; the Higress bootstrap's tags for Higress sources).
	StatsTags []StatsTag
	// Node is the bootstrap's node description (Envoy `node`), which plugins read as the
	// `node` and `xds.node` properties; empty for other sources.
	Node Node
	// Secrets are the values that came from Kubernetes Secrets (a Higress data directory's
	// `${secret.…}` references), so the admin API can redact them.
	Secrets []string
}

// Node is Envoy's config.core.v3.Node as far as plugins can read it.
type Node struct {
	ID, Cluster string
	// Metadata is the node's metadata Struct as a tree (map[string]any, []any, string,
	// float64, bool, nil).
	Metadata map[string]any
}

// EachPlugin calls f for every plugin: the listeners' chains in order, then the services.
func (c *Config) EachPlugin(f func(*Plugin)) {
	for i := range c.Listeners {
		for j := range c.Listeners[i].Plugins {
			f(&c.Listeners[i].Plugins[j])
		}
	}
	for i := range c.Services {
		f(&c.Services[i])
	}
}

// Cluster returns the cluster with the given name, or nil.
func (c *Config) Cluster(name string) *Cluster {
	for i := range c.Clusters {
		if c.Clusters[i].Name == name {
			return &c.Clusters[i]
		}
	}
	return nil
}

// Origin says where an object was defined, for error messages: File is the path as the user knows
// it (relative to the data directory for Higress, as given for an Envoy file; empty for flags)
// and Field is the field path inside that file, such as `spec.matchRules[1]`, prefixed with
// "document N" in multi-document YAML and followed by " (line N)" for Envoy files. For flags,
// Field names the flag.
type Origin struct {
	File  string
	Field string
}

// String renders the origin as "file: field" (either part may be absent).
func (o Origin) String() string {
	switch {
	case o.File == "":
		return o.Field
	case o.Field == "":
		return o.File
	default:
		return o.File + ": " + o.Field
	}
}

// ChainOrder says how a listener's plugin chain was ordered.
type ChainOrder int

const (
	// ChainAsWritten keeps the order of the source (Envoy `http_filters`, repeated --plugin).
	ChainAsWritten ChainOrder = iota
	// ChainByPhase orders by phase, then priority, as Higress/Istio do (see SortChain).
	ChainByPhase
)

// Listener is one HTTP listener with its routing table and plugin chain.
type Listener struct {
	// Name is the listener's name (Envoy `name`; "higress" or "flags" for the other sources).
	Name string
	// Address is host:port to listen on, as written (e.g. "0.0.0.0:10000").
	Address string
	// VirtualHosts are matched against the request's Host (see SelectVirtualHost).
	VirtualHosts []VirtualHost
	// Plugins is the HTTP plugin chain in request (decode) order; responses run it in reverse.
	Plugins []Plugin
	// ChainOrder records how Plugins were ordered.
	ChainOrder ChainOrder
	// Metadata is the listener's metadata (the `listener_metadata` property).
	Metadata Metadata
	// HTTP holds the connection manager settings that shape every request and response.
	HTTP HTTPSettings
	// TLS, when set, terminates TLS on the listener.
	TLS    *DownstreamTLS
	Origin Origin
}

// VirtualHost groups routes by the Host header.
type VirtualHost struct {
	Name string
	// Domains use Envoy's syntax: an exact host ("example.com", "example.com:8080"), a leading
	// wildcard ("*.example.com", "*-api.example.com"), a trailing wildcard ("example.*",
	// "example.com:*") or "*" for any host.
	Domains []string
	// Routes are tried in order; the first match wins.
	Routes []Route
	// Metadata is the virtual host's metadata (the `xds.virtual_host_metadata` property).
	Metadata Metadata
	// Headers are the virtual host's header mutations.
	Headers HeaderMutations
	Origin  Origin
}

// PathMatchKind is how a route matches the request path (the path without query string).
type PathMatchKind int

const (
	// PathPrefix matches when the path starts with Value (Envoy `prefix`).
	PathPrefix PathMatchKind = iota
	// PathExact matches the whole path (Envoy `path`, Ingress `Exact`).
	PathExact
	// PathSeparatedPrefix matches Value itself or Value followed by "/" (Envoy
	// `path_separated_prefix`, Ingress `Prefix`): "/api" matches "/api" and "/api/x" but not
	// "/apix". Value never ends in "/" unless it is "/".
	PathSeparatedPrefix
	// PathRegex matches when the whole path matches the RE2 expression Value (Envoy
	// `safe_regex`).
	PathRegex
	// PathConnect matches CONNECT requests, which have no path (Envoy `connect_matcher`);
	// the other kinds never match them.
	PathConnect
)

// String returns the kind's name.
func (k PathMatchKind) String() string {
	switch k {
	case PathPrefix:
		return "prefix"
	case PathExact:
		return "exact"
	case PathSeparatedPrefix:
		return "path_separated_prefix"
	case PathRegex:
		return "regex"
	case PathConnect:
		return "connect_matcher"
	}
	return "PathMatchKind(" + strconv.Itoa(int(k)) + ")"
}

// PathMatch is a route's path condition.
type PathMatch struct {
	Kind  PathMatchKind
	Value string
	// IgnoreCase makes prefix and exact matches case-insensitive (Envoy `case_sensitive: false`).
	IgnoreCase bool
}

// Route sends matching requests to a cluster (or answers directly).
type Route struct {
	// Name is the proxy-wasm `route_name` property: the Envoy route `name`, or for Higress
	// Ingress routes `name` (Ingress in higress-system) or `namespace/name`.
	Name  string
	Match PathMatch
	// Cluster is the target cluster's name. Exactly one of Cluster, WeightedClusters and
	// DirectResponse is set.
	Cluster string
	// WeightedClusters split traffic between clusters by weight.
	WeightedClusters []WeightedCluster
	// DirectResponse answers without an upstream (Envoy `direct_response`).
	DirectResponse *DirectResponse
	// Timeout is the whole-request timeout: 0 means DefaultRouteTimeout, NoTimeout disables it.
	// It runs from the end of the request (as it leaves the plugin chain) to the end of the
	// upstream response, as Envoy's route timeout does.
	Timeout time.Duration
	// IdleTimeout replaces the listener's stream idle timeout for requests on this route
	// (Envoy route idle_timeout): 0 keeps the listener's, NoTimeout disables it.
	IdleTimeout time.Duration
	// PrefixRewrite replaces the matched prefix before forwarding (Envoy `prefix_rewrite`).
	PrefixRewrite string
	// HostRewrite replaces the Host header sent upstream (Envoy `host_rewrite_literal`, Higress
	// `higress.io/upstream-vhost`).
	HostRewrite string
	// RegexRewrite, when set, rewrites the path sent upstream (Envoy `regex_rewrite`).
	RegexRewrite *RegexRewrite
	// HeaderMatchers and QueryMatchers must all match besides the path (Envoy
	// `match.headers` and `match.query_parameters`; Higress match annotations).
	HeaderMatchers []HeaderMatcher
	QueryMatchers  []QueryMatcher
	// Metadata is the route's metadata (the `route_metadata` property).
	Metadata Metadata
	// Headers are the route's header mutations.
	Headers HeaderMutations
	// Retry, when set, retries failed upstream attempts (Envoy `retry_policy`).
	Retry  *RetryPolicy
	Origin Origin
}

// EffectiveTimeout resolves Timeout: DefaultRouteTimeout when unset, 0 when disabled.
func (r *Route) EffectiveTimeout() time.Duration { return orDefault(r.Timeout, DefaultRouteTimeout) }

// WeightedCluster is one target of a weighted route.
type WeightedCluster struct {
	Name   string
	Weight uint32
}

// DirectResponse is a fixed answer.
type DirectResponse struct {
	Status int
	Body   []byte
}

// Discovery is how a cluster's endpoints are found.
type Discovery int

const (
	// DiscoveryStatic uses the endpoints' IP addresses as they are (Envoy STATIC).
	DiscoveryStatic Discovery = iota
	// DiscoveryStrictDNS resolves every endpoint host name and balances over all addresses
	// (Envoy STRICT_DNS; Higress `dns` registries and Kubernetes service names).
	DiscoveryStrictDNS
	// DiscoveryLogicalDNS resolves the host name and connects to the first address (Envoy
	// LOGICAL_DNS).
	DiscoveryLogicalDNS
	// DiscoveryBuiltin is served inside the gateway (see Cluster.Builtin); it has no endpoints.
	DiscoveryBuiltin
)

// String returns the Envoy name of the discovery type.
func (d Discovery) String() string {
	switch d {
	case DiscoveryStatic:
		return "STATIC"
	case DiscoveryStrictDNS:
		return "STRICT_DNS"
	case DiscoveryLogicalDNS:
		return "LOGICAL_DNS"
	case DiscoveryBuiltin:
		return "BUILTIN"
	}
	return "Discovery(" + strconv.Itoa(int(d)) + ")"
}

// DNSFamily restricts which address families DNS discovery uses (Envoy `dns_lookup_family`).
type DNSFamily int

const (
	// DNSAuto prefers IPv6 and falls back to IPv4 (Envoy AUTO, the default).
	DNSAuto DNSFamily = iota
	// DNSV4Only uses IPv4 addresses only.
	DNSV4Only
	// DNSV6Only uses IPv6 addresses only.
	DNSV6Only
	// DNSV4Preferred prefers IPv4 and falls back to IPv6.
	DNSV4Preferred
	// DNSAll uses all addresses.
	DNSAll
)

// BuiltinEcho is the Cluster.Builtin value of the in-process echo upstream (gateway/echo).
const BuiltinEcho = "echo"

// EchoClusterName is the name of the built-in echo upstream's cluster. It has the four-part
// `outbound|port||fqdn` shape Higress cluster names have, so `_match_service_` rules and
// `FQDNCluster{FQDN: "echo", Port: 80}` can address it.
const EchoClusterName = "outbound|80||echo"

// Cluster is an upstream: a named set of endpoints. Whether it speaks HTTP or Redis is up to the
// caller (a route or DispatchHttpCall uses HTTP, proxy_redis_init uses RESP); the cluster is just
// addresses.
type Cluster struct {
	// Name is exactly the name Envoy/Higress gives it, e.g. "httpbin",
	// "outbound|6379||redis-svc.dns", "outbound|80||foo.default.svc.cluster.local".
	Name      string
	Discovery Discovery
	// Endpoints are host:port pairs; hosts are IP literals for DiscoveryStatic.
	Endpoints []Endpoint
	// ConnectTimeout is the TCP connect timeout; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	DNSFamily      DNSFamily
	// TLS, when set, makes connections to the endpoints use TLS.
	TLS *TLS
	// Builtin names the in-process upstream for DiscoveryBuiltin (BuiltinEcho).
	Builtin string
	// Metadata is the cluster's metadata (the `cluster_metadata` property).
	Metadata Metadata
	// Upstream holds the connection pool's buffer, idle and header limits.
	Upstream UpstreamOptions
	// HTTP2 makes requests to the endpoints use HTTP/2: over TLS through ALPN, on plaintext
	// with prior knowledge (h2c), as Envoy's http2_protocol_options do.
	HTTP2  bool
	Origin Origin
}

// EffectiveConnectTimeout resolves ConnectTimeout, defaulting to DefaultConnectTimeout.
func (c *Cluster) EffectiveConnectTimeout() time.Duration {
	if c.ConnectTimeout <= 0 {
		return DefaultConnectTimeout
	}
	return c.ConnectTimeout
}

// Endpoint is one upstream address.
type Endpoint struct {
	Host string
	Port int
}

// Address returns host:port (IPv6 literals in brackets).
func (e Endpoint) Address() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}

// TLS is upstream TLS.
type TLS struct {
	// SNI is the server name to send; empty means the endpoint host.
	SNI string
	// CAFile is a PEM bundle to verify the server with; empty means CA, or else the system
	// roots.
	CAFile string
	// CA is a PEM bundle given inline.
	CA []byte
	// InsecureSkipVerify disables certificate verification. Envoy does not verify upstream
	// certificates unless a validation context is configured, and the Envoy adapter reproduces
	// that by setting this field.
	InsecureSkipVerify bool
	// ClientCert, when set, is presented to the upstream (common_tls_context.tls_certificates).
	ClientCert *Certificate
	// ALPN are the protocols offered (alpn_protocols); empty means h2 and http/1.1 for an
	// HTTP/2 cluster and none otherwise.
	ALPN []string
}
