package envoy

import (
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The fields of the bootstrap the adapter applies (see handled). docs/compatibility.md lists
// them; TestHandledFieldsDocumented keeps the two in step.
func init() {
	// Bootstrap, admin, stats.
	handle(
		"envoy.config.bootstrap.v3.Bootstrap.static_resources",
		"envoy.config.bootstrap.v3.Bootstrap.admin",
		"envoy.config.bootstrap.v3.Bootstrap.stats_config",
		"envoy.config.bootstrap.v3.Bootstrap.bootstrap_extensions",
		"envoy.config.bootstrap.v3.Bootstrap.node",
		"envoy.config.core.v3.Node.id",
		"envoy.config.core.v3.Node.cluster",
		"envoy.config.core.v3.Node.metadata",
		"envoy.config.core.v3.TypedExtensionConfig.name",
		"envoy.config.core.v3.TypedExtensionConfig.typed_config",
		"envoy.extensions.wasm.v3.WasmService.config",
		"envoy.extensions.wasm.v3.WasmService.singleton",
		"envoy.config.bootstrap.v3.Bootstrap.StaticResources.listeners",
		"envoy.config.bootstrap.v3.Bootstrap.StaticResources.clusters",
		"envoy.config.bootstrap.v3.Admin.address",
		"envoy.config.metrics.v3.StatsConfig.stats_tags",
		"envoy.config.metrics.v3.TagSpecifier.tag_name",
		"envoy.config.metrics.v3.TagSpecifier.regex",
		"envoy.config.metrics.v3.TagSpecifier.fixed_value",
	)
	handleIf("envoy.config.bootstrap.v3.Admin.access_log_path", func(_ protoreflect.FieldDescriptor, v protoreflect.Value) string {
		if s := v.String(); s != "/dev/null" {
			return "access_log_path " + s + ": the admin API writes no access log; ignored"
		}
		return ""
	})
	accept("Envoy's default tag extractors name Envoy's own statistics, which wasmgate does not export",
		"envoy.config.metrics.v3.StatsConfig.use_all_default_tags")

	// Addresses.
	handle(
		"envoy.config.core.v3.Address.socket_address",
		"envoy.config.core.v3.SocketAddress.address",
		"envoy.config.core.v3.SocketAddress.port_value",
	)
	handleIf("envoy.config.core.v3.SocketAddress.protocol", enumCheck("%s %s is not supported (TCP only); ignored", "TCP"))

	// Listeners and the HTTP connection manager.
	handle(
		"envoy.config.listener.v3.Listener.name",
		"envoy.config.listener.v3.Listener.address",
		"envoy.config.listener.v3.Listener.filter_chains",
		"envoy.config.listener.v3.Listener.metadata",
		"envoy.config.listener.v3.FilterChain.filters",
		"envoy.config.listener.v3.Filter.name",
		"envoy.config.listener.v3.Filter.typed_config",
		hcmName+".route_config",
		hcmName+".http_filters",
		hcmName+".server_name",
		hcmName+".server_header_transformation",
		hcmName+".scheme_header_transformation",
		"envoy.config.core.v3.SchemeHeaderTransformation.scheme_to_overwrite",
		"envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter.name",
		"envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter.typed_config",
	)
	accept("names Envoy's own statistics, which wasmgate does not export",
		"envoy.config.listener.v3.Listener.stat_prefix",
		hcmName+".stat_prefix",
	)
	handleIf(hcmName+".codec_type", enumCheck("%s %s is not supported (HTTP/3 needs QUIC); ignored", "AUTO", "HTTP1", "HTTP2"))
	handleIf(hcmName+".generate_request_id", func(_ protoreflect.FieldDescriptor, v protoreflect.Value) string {
		if !boolValue(v) {
			return "generate_request_id false is not supported: the gateway always adds x-request-id; ignored"
		}
		return ""
	})

	// Routes.
	handle(
		"envoy.config.route.v3.RouteConfiguration.virtual_hosts",
		"envoy.config.route.v3.RouteConfiguration.request_headers_to_add",
		"envoy.config.route.v3.RouteConfiguration.request_headers_to_remove",
		"envoy.config.route.v3.RouteConfiguration.response_headers_to_add",
		"envoy.config.route.v3.RouteConfiguration.response_headers_to_remove",
		"envoy.config.route.v3.RouteConfiguration.most_specific_header_mutations_wins",
		"envoy.config.route.v3.VirtualHost.name",
		"envoy.config.route.v3.VirtualHost.domains",
		"envoy.config.route.v3.VirtualHost.routes",
		"envoy.config.route.v3.VirtualHost.metadata",
		"envoy.config.route.v3.VirtualHost.request_headers_to_add",
		"envoy.config.route.v3.VirtualHost.request_headers_to_remove",
		"envoy.config.route.v3.VirtualHost.response_headers_to_add",
		"envoy.config.route.v3.VirtualHost.response_headers_to_remove",
		"envoy.config.route.v3.Route.name",
		"envoy.config.route.v3.Route.match",
		"envoy.config.route.v3.Route.route",
		"envoy.config.route.v3.Route.direct_response",
		"envoy.config.route.v3.Route.metadata",
		"envoy.config.route.v3.Route.request_headers_to_add",
		"envoy.config.route.v3.Route.request_headers_to_remove",
		"envoy.config.route.v3.Route.response_headers_to_add",
		"envoy.config.route.v3.Route.response_headers_to_remove",
		"envoy.config.route.v3.RouteMatch.prefix",
		"envoy.config.route.v3.RouteMatch.path",
		"envoy.config.route.v3.RouteMatch.safe_regex",
		"envoy.config.route.v3.RouteMatch.path_separated_prefix",
		"envoy.config.route.v3.RouteMatch.case_sensitive",
		"envoy.config.route.v3.RouteMatch.headers",
		"envoy.config.route.v3.RouteMatch.query_parameters",
		"envoy.type.matcher.v3.RegexMatcher.regex",
		"envoy.config.route.v3.HeaderMatcher.name",
		"envoy.config.route.v3.HeaderMatcher.exact_match",
		"envoy.config.route.v3.HeaderMatcher.safe_regex_match",
		"envoy.config.route.v3.HeaderMatcher.range_match",
		"envoy.config.route.v3.HeaderMatcher.present_match",
		"envoy.config.route.v3.HeaderMatcher.prefix_match",
		"envoy.config.route.v3.HeaderMatcher.suffix_match",
		"envoy.config.route.v3.HeaderMatcher.contains_match",
		"envoy.config.route.v3.HeaderMatcher.string_match",
		"envoy.config.route.v3.HeaderMatcher.invert_match",
		"envoy.config.route.v3.HeaderMatcher.treat_missing_header_as_empty",
		"envoy.type.matcher.v3.StringMatcher.exact",
		"envoy.type.matcher.v3.StringMatcher.prefix",
		"envoy.type.matcher.v3.StringMatcher.suffix",
		"envoy.type.matcher.v3.StringMatcher.contains",
		"envoy.type.matcher.v3.StringMatcher.safe_regex",
		"envoy.type.matcher.v3.StringMatcher.ignore_case",
		"envoy.type.v3.Int64Range.start",
		"envoy.type.v3.Int64Range.end",
		"envoy.config.route.v3.QueryParameterMatcher.name",
		"envoy.config.route.v3.QueryParameterMatcher.string_match",
		"envoy.config.route.v3.QueryParameterMatcher.present_match",
		"envoy.config.route.v3.RouteAction.cluster",
		"envoy.config.route.v3.RouteAction.weighted_clusters",
		"envoy.config.route.v3.RouteAction.timeout",
		"envoy.config.route.v3.RouteAction.prefix_rewrite",
		"envoy.config.route.v3.RouteAction.regex_rewrite",
		"envoy.config.route.v3.RouteAction.host_rewrite_literal",
		"envoy.config.route.v3.RouteAction.retry_policy",
		"envoy.config.route.v3.RetryPolicy.retry_on",
		"envoy.config.route.v3.RetryPolicy.num_retries",
		"envoy.config.route.v3.RetryPolicy.retriable_status_codes",
		"envoy.type.matcher.v3.RegexMatchAndSubstitute.pattern",
		"envoy.type.matcher.v3.RegexMatchAndSubstitute.substitution",
		"envoy.config.route.v3.WeightedCluster.clusters",
		"envoy.config.route.v3.WeightedCluster.ClusterWeight.name",
		"envoy.config.route.v3.WeightedCluster.ClusterWeight.weight",
		"envoy.config.route.v3.DirectResponseAction.status",
		"envoy.config.route.v3.DirectResponseAction.body",
		"envoy.config.core.v3.DataSource.inline_string",
		"envoy.config.core.v3.DataSource.inline_bytes",
		"envoy.config.core.v3.DataSource.filename",
		"envoy.config.core.v3.DataSource.environment_variable",
		"envoy.config.core.v3.HeaderValueOption.header",
		"envoy.config.core.v3.HeaderValueOption.append",
		"envoy.config.core.v3.HeaderValueOption.append_action",
		"envoy.config.core.v3.HeaderValueOption.keep_empty_value",
		"envoy.config.core.v3.HeaderValue.key",
		"envoy.config.core.v3.HeaderValue.value",
		"envoy.config.core.v3.HeaderValue.raw_value",
	)
	handleLeaf("envoy.config.core.v3.Metadata.filter_metadata")
	accept("the route configuration's name identifies it for RDS and statistics only",
		"envoy.config.route.v3.RouteConfiguration.name")
	accept("RE2 is the only regex engine, as in Envoy", "envoy.type.matcher.v3.RegexMatcher.google_re2")
	accept("weights are used relative to their sum, which Envoy requires to equal total_weight",
		"envoy.config.route.v3.WeightedCluster.total_weight")

	// Clusters.
	handle(
		"envoy.config.cluster.v3.Cluster.name",
		"envoy.config.cluster.v3.Cluster.type",
		"envoy.config.cluster.v3.Cluster.connect_timeout",
		"envoy.config.cluster.v3.Cluster.load_assignment",
		"envoy.config.cluster.v3.Cluster.dns_lookup_family",
		"envoy.config.cluster.v3.Cluster.transport_socket",
		"envoy.config.cluster.v3.Cluster.metadata",
		"envoy.config.cluster.v3.Cluster.typed_extension_protocol_options",
		"envoy.config.endpoint.v3.ClusterLoadAssignment.endpoints",
		"envoy.config.endpoint.v3.LocalityLbEndpoints.lb_endpoints",
		"envoy.config.endpoint.v3.LbEndpoint.endpoint",
		"envoy.config.endpoint.v3.Endpoint.address",
		"envoy.config.core.v3.TransportSocket.name",
		"envoy.config.core.v3.TransportSocket.typed_config",
		"envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.sni",
		"envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.common_tls_context",
		"envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.validation_context",
		"envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.trusted_ca",
		"envoy.extensions.upstreams.http.v3.HttpProtocolOptions.explicit_http_config",
	)
	handleIf("envoy.config.cluster.v3.Cluster.lb_policy", enumCheck("%s %s is not supported: endpoints are used round robin; ignored", "ROUND_ROBIN"))
	accept("the cluster's own name is used; cluster_name only names the assignment for EDS",
		"envoy.config.endpoint.v3.ClusterLoadAssignment.cluster_name")
	accept("upstream requests use HTTP/1.1, which this selects",
		"envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig.http_protocol_options")

	// The wasm HTTP filter.
	handle(
		"envoy.extensions.filters.http.wasm.v3.Wasm.config",
		"envoy.extensions.wasm.v3.PluginConfig.name",
		"envoy.extensions.wasm.v3.PluginConfig.root_id",
		"envoy.extensions.wasm.v3.PluginConfig.vm_config",
		"envoy.extensions.wasm.v3.PluginConfig.fail_open",
		"envoy.extensions.wasm.v3.PluginConfig.failure_policy",
		"envoy.extensions.wasm.v3.VmConfig.vm_id",
		"envoy.extensions.wasm.v3.VmConfig.runtime",
		"envoy.extensions.wasm.v3.VmConfig.code",
		"envoy.extensions.wasm.v3.VmConfig.environment_variables",
		"envoy.extensions.wasm.v3.EnvironmentVariables.host_env_keys",
		"envoy.extensions.wasm.v3.EnvironmentVariables.key_values",
		"envoy.config.core.v3.AsyncDataSource.local",
		"envoy.config.core.v3.AsyncDataSource.remote",
		"envoy.config.core.v3.RemoteDataSource.http_uri",
		"envoy.config.core.v3.RemoteDataSource.sha256",
		"envoy.config.core.v3.HttpUri.uri",
	)
	handleLeaf(
		"envoy.extensions.wasm.v3.PluginConfig.configuration",
		"envoy.extensions.wasm.v3.VmConfig.configuration",
	)
	accept("the module is fetched from the URI directly, without a cluster",
		"envoy.config.core.v3.HttpUri.cluster")
}

const hcmName = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"

// boolValue reads a google.protobuf.BoolValue field value.
func boolValue(v protoreflect.Value) bool {
	m := v.Message()
	return m.Get(m.Descriptor().Fields().ByName("value")).Bool()
}
