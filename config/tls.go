package config

import (
	"fmt"
	"os"
)

// Codec is the HTTP codec a listener speaks (the connection manager's
// codec_type).
type Codec int

const (
	// CodecAuto serves HTTP/1.1 and HTTP/2: HTTP/2 when TLS negotiates h2
	// through ALPN, or on plaintext when the connection opens with the
	// HTTP/2 preface (prior knowledge), as Envoy's AUTO infers it.
	CodecAuto Codec = iota
	// CodecHTTP1 serves HTTP/1.1 (and HTTP/1.0 where allowed) only.
	CodecHTTP1
	// CodecHTTP2 serves HTTP/2 only.
	CodecHTTP2
)

// String returns Envoy's name of the codec.
func (c Codec) String() string {
	switch c {
	case CodecHTTP1:
		return "HTTP1"
	case CodecHTTP2:
		return "HTTP2"
	}
	return "AUTO"
}

// DataSource is bytes given inline or by file name (Envoy's DataSource
// filename / inline_string / inline_bytes; a Kubernetes Secret's data).
type DataSource struct {
	// File is the path to read; empty when Inline holds the bytes.
	File string
	// Inline are the bytes themselves.
	Inline []byte
}

// IsSet reports whether the source names anything.
func (d DataSource) IsSet() bool { return d.File != "" || len(d.Inline) > 0 }

// Load returns the bytes, reading File when it is set.
func (d DataSource) Load() ([]byte, error) {
	if d.File == "" {
		return d.Inline, nil
	}
	b, err := os.ReadFile(d.File)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.File, err)
	}
	return b, nil
}

// Certificate is a PEM certificate chain and its private key.
type Certificate struct {
	Chain, Key DataSource
	// Hosts, when set, are the TLS server names the certificate is served
	// for (an Ingress tls entry's hosts; "*.example.com" wildcards allowed).
	// Without Hosts the certificate's own names decide, as in Envoy.
	Hosts []string
}

// DownstreamTLS terminates TLS on a listener: an Envoy filter chain's
// DownstreamTlsContext, the TLS entries of Higress Ingresses, or
// wasmgate run --tls-cert/--tls-key.
type DownstreamTLS struct {
	// Certificates are chosen by the client's server name (SNI): the first
	// whose Hosts, or else whose own names, match; the first otherwise.
	Certificates []Certificate
	// ALPN are the protocols offered, in order of preference
	// (common_tls_context.alpn_protocols). Empty means no ALPN, as in Envoy:
	// clients then speak HTTP/1.1.
	ALPN []string
	// ClientCA, when set, verifies client certificates
	// (validation_context.trusted_ca).
	ClientCA DataSource
	// RequireClientCert refuses a handshake without a client certificate
	// (require_client_certificate).
	RequireClientCert bool
	// MinVersion and MaxVersion bound the TLS version (tls_params, as
	// crypto/tls version numbers); zero means Envoy's defaults for a
	// server, TLS 1.2 to TLS 1.3.
	MinVersion, MaxVersion uint16
}
