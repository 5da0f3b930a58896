package envoy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenerTLSErrorsNameTheField: an unreadable certificate file and a
// listener TLS context without certificates are errors naming the field.
func TestListenerTLSErrorsNameTheField(t *testing.T) {
	const boot = `
static_resources:
  listeners:
    - name: l
      address: {socket_address: {address: 127.0.0.1, port_value: 1}}
      filter_chains:
        - transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              common_tls_context:
                CERTS
          filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: s
                route_config: {virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200}}]}]}
                http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
`
	for name, c := range map[string]struct{ certs, field, msg string }{
		"missing file": {`tls_certificates: [{certificate_chain: {filename: /nonexistent/cert.pem}, private_key: {inline_string: "k"}}]`,
			"common_tls_context.tls_certificates[0].certificate_chain", "/nonexistent/cert.pem"},
		"no certificate": {`alpn_protocols: [h2]`, "common_tls_context.tls_certificates", "needs a certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "envoy.yaml")
			if err := os.WriteFile(path, []byte(strings.Replace(boot, "CERTS", c.certs, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			err := LoadFile(path).Problems.Err()
			if err == nil || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want the file, %s and %q", err, c.field, c.msg)
			}
		})
	}
}
