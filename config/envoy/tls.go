package envoy

import (
	"crypto/tls"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rawbufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/raw_buffer/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/wasmgate/wasmgate/config"
)

// The TLS fields the adapter applies; the field walk warns about the rest
// (SDS secrets, OCSP, session tickets, cipher suites, ...).
func init() {
	handle(
		"envoy.config.listener.v3.FilterChain.transport_socket",
		"envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.common_tls_context",
		"envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.require_client_certificate",
		"envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.tls_certificates",
		"envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.alpn_protocols",
		"envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.tls_params",
		"envoy.extensions.transport_sockets.tls.v3.TlsCertificate.certificate_chain",
		"envoy.extensions.transport_sockets.tls.v3.TlsCertificate.private_key",
		"envoy.extensions.transport_sockets.tls.v3.TlsParameters.tls_minimum_protocol_version",
		"envoy.extensions.transport_sockets.tls.v3.TlsParameters.tls_maximum_protocol_version",
		// HTTP/2 to the upstream; its settings (window sizes, stream limits) are warned.
		"envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig.http2_protocol_options",
		"envoy.config.cluster.v3.Cluster.http2_protocol_options",
		// WebSocket and CONNECT pass through as tunnels; per-upgrade filters are warned.
		hcmName+".upgrade_configs",
		hcmName+".UpgradeConfig.upgrade_type",
		hcmName+".UpgradeConfig.enabled",
		"envoy.config.route.v3.RouteMatch.connect_matcher",
	)
	handleLeaf(
		"envoy.config.core.v3.DataSource.filename",
		"envoy.config.core.v3.DataSource.inline_string",
		"envoy.config.core.v3.DataSource.inline_bytes",
		"envoy.config.core.v3.DataSource.environment_variable",
	)
}

// tlsVersions maps Envoy's TlsProtocol names to crypto/tls versions;
// TLS_AUTO is 0 (the default for the side).
var tlsVersions = map[tlsv3.TlsParameters_TlsProtocol]uint16{
	tlsv3.TlsParameters_TLSv1_0: tls.VersionTLS10,
	tlsv3.TlsParameters_TLSv1_1: tls.VersionTLS11,
	tlsv3.TlsParameters_TLSv1_2: tls.VersionTLS12,
	tlsv3.TlsParameters_TLSv1_3: tls.VersionTLS13,
}

// downstreamTLS reads a filter chain's transport socket: nil for raw_buffer,
// the listener's TLS settings for a DownstreamTlsContext.
func (p *parser) downstreamTLS(ts *corev3.TransportSocket, path fieldPath) (*config.DownstreamTLS, bool) {
	u, ok := p.unpack(ts.GetTypedConfig(), path.key("typed_config"))
	if !ok {
		return nil, false
	}
	switch m := u.msg.(type) {
	case nil, *rawbufferv3.RawBuffer:
		return nil, true
	case *tlsv3.DownstreamTlsContext:
		ctc := m.GetCommonTlsContext()
		cpath := u.body.key("common_tls_context")
		out := &config.DownstreamTLS{ALPN: ctc.GetAlpnProtocols(), RequireClientCert: m.GetRequireClientCertificate().GetValue()}
		certs, ok := p.certificates(ctc, cpath)
		if !ok {
			return nil, false
		}
		if len(certs) == 0 {
			p.errorf(cpath.key("tls_certificates"), "a TLS listener needs a certificate (tls_certificates; SDS secrets are not supported)")
			return nil, false
		}
		out.Certificates = certs
		out.MinVersion, out.MaxVersion = tlsVersions[ctc.GetTlsParams().GetTlsMinimumProtocolVersion()], tlsVersions[ctc.GetTlsParams().GetTlsMaximumProtocolVersion()]
		if vc := ctc.GetValidationContext(); vc != nil {
			ca, ok := p.tlsData(vc.GetTrustedCa(), cpath.key("validation_context").key("trusted_ca"))
			if !ok {
				return nil, false
			}
			out.ClientCA = ca
		} else if ctc.GetValidationContextType() != nil {
			p.errorf(cpath, "only an inline validation_context is supported")
			return nil, false
		}
		if out.RequireClientCert && !out.ClientCA.IsSet() {
			p.errorf(u.body.key("require_client_certificate"), "require_client_certificate needs a validation_context with trusted_ca to verify the certificates with")
			return nil, false
		}
		return out, true
	}
	p.errorf(path, "transport socket %s is not supported (only TLS)", strings.TrimPrefix(u.typeURL, "type.googleapis.com/"))
	return nil, false
}

// certificates reads common_tls_context.tls_certificates.
func (p *parser) certificates(ctc *tlsv3.CommonTlsContext, path fieldPath) ([]config.Certificate, bool) {
	var out []config.Certificate
	for i, c := range ctc.GetTlsCertificates() {
		cp := path.key("tls_certificates").idx(i)
		chain, ok := p.tlsData(c.GetCertificateChain(), cp.key("certificate_chain"))
		if !ok {
			return nil, false
		}
		key, ok := p.tlsData(c.GetPrivateKey(), cp.key("private_key"))
		if !ok {
			return nil, false
		}
		if !chain.IsSet() || !key.IsSet() {
			p.errorf(cp, "a TLS certificate needs certificate_chain and private_key")
			return nil, false
		}
		out = append(out, config.Certificate{Chain: chain, Key: key})
	}
	return out, true
}

// tlsData reads a DataSource of PEM data at parse time, so an unreadable
// file is an error naming the field.
func (p *parser) tlsData(ds *corev3.DataSource, path fieldPath) (config.DataSource, bool) {
	if ds == nil {
		return config.DataSource{}, true
	}
	b, err := p.dataSource(ds)
	if err != nil {
		p.errorf(path, "%v", err)
		return config.DataSource{}, false
	}
	return config.DataSource{Inline: b}, true
}
