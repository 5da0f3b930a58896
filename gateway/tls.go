package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/attributes"
)

// listenerTLS is a TLS listener's current settings: a reload swaps them
// in without reopening the socket, so new certificates apply to the next
// handshake.
type listenerTLS struct {
	cur atomic.Pointer[serverTLS]
}

// serverTLS is one configuration's certificates and client verification.
type serverTLS struct {
	certs []servedCert
	base  *tls.Config
}

type servedCert struct {
	cert  tls.Certificate
	hosts []string
}

// newServerTLS loads a listener's certificates and client CA.
func newServerTLS(listener string, t *config.DownstreamTLS, codec config.Codec) (*serverTLS, error) {
	s := &serverTLS{}
	for i, c := range t.Certificates {
		kp, err := loadKeyPair(c)
		if err != nil {
			return nil, fmt.Errorf("listener %s: certificate %d: %w", listener, i, err)
		}
		s.certs = append(s.certs, servedCert{cert: kp, hosts: c.Hosts})
	}
	if len(s.certs) == 0 {
		return nil, fmt.Errorf("listener %s: TLS without a certificate", listener)
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, GetCertificate: s.certificate}
	if t.MinVersion != 0 {
		base.MinVersion = t.MinVersion
	}
	if t.MaxVersion != 0 {
		base.MaxVersion = t.MaxVersion
	}
	for _, p := range t.ALPN {
		// A listener that speaks one HTTP version does not offer the other.
		if (p == "h2" && codec == config.CodecHTTP1) || (strings.HasPrefix(p, "http/1") && codec == config.CodecHTTP2) {
			continue
		}
		base.NextProtos = append(base.NextProtos, p)
	}
	if t.ClientCA.IsSet() {
		pem, err := t.ClientCA.Load()
		if err != nil {
			return nil, fmt.Errorf("listener %s: client CA: %w", listener, err)
		}
		pool, err := certPool(pem)
		if err != nil {
			return nil, fmt.Errorf("listener %s: client CA: %w", listener, err)
		}
		base.ClientCAs = pool
		base.ClientAuth = tls.VerifyClientCertIfGiven
		if t.RequireClientCert {
			base.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	s.base = base
	return s, nil
}

// certificate picks the certificate for a handshake: the first whose
// configured hosts match the server name, else the first whose own names
// do, else the first.
func (s *serverTLS) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.forName(hello.ServerName), nil
}

// forName is the certificate served for a server name (see certificate).
func (s *serverTLS) forName(name string) *tls.Certificate {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for i := range s.certs {
		for _, h := range s.certs[i].hosts {
			if hostMatches(strings.ToLower(h), name) {
				return &s.certs[i].cert
			}
		}
	}
	if name != "" {
		for i := range s.certs {
			if leaf := s.certs[i].cert.Leaf; len(s.certs[i].hosts) == 0 && leaf != nil && leaf.VerifyHostname(name) == nil {
				return &s.certs[i].cert
			}
		}
	}
	return &s.certs[0].cert
}

// hostMatches matches a server name against a host or a "*.example.com"
// wildcard, which covers one label.
func hostMatches(pattern, name string) bool {
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		label, domain, found := strings.Cut(name, ".")
		return found && label != "" && domain == rest
	}
	return pattern == name
}

// local is the certificate the listener served for a server name; nil
// without TLS.
func (l *listenerTLS) local(serverName string) *tls.Certificate {
	if l == nil {
		return nil
	}
	if s := l.cur.Load(); s != nil {
		return s.forName(serverName)
	}
	return nil
}

// config is what the listener hands crypto/tls for each handshake.
func (l *listenerTLS) config(*tls.ClientHelloInfo) (*tls.Config, error) {
	s := l.cur.Load()
	if s == nil {
		return nil, errors.New("listener has no TLS configuration")
	}
	return s.base, nil
}

// envoyProtocol names a request's HTTP version as Envoy's request.protocol
// and %PROTOCOL% do.
func envoyProtocol(proto string) string {
	if proto == "HTTP/2.0" {
		return "HTTP/2"
	}
	return proto
}

// connectionTLS describes a downstream TLS connection as Envoy's
// connection.* attributes do.
func connectionTLS(cs *tls.ConnectionState, local *tls.Certificate) *attributes.TLS {
	t := &attributes.TLS{Version: tlsVersionName(cs.Version)}
	if local != nil && local.Leaf != nil {
		t.Local = certInfo(local.Leaf)
	}
	if len(cs.PeerCertificates) > 0 {
		leaf := cs.PeerCertificates[0]
		t.PeerPresented = true
		t.Peer = certInfo(leaf)
		sum := sha256.Sum256(leaf.Raw)
		t.PeerDigest = hex.EncodeToString(sum[:])
	}
	return t
}

func certInfo(c *x509.Certificate) attributes.Cert {
	ci := attributes.Cert{Subject: c.Subject.String()}
	if len(c.DNSNames) > 0 {
		ci.DNSSAN = c.DNSNames[0]
	}
	if len(c.URIs) > 0 {
		ci.URISAN = c.URIs[0].String()
	}
	return ci
}

// tlsVersionName is the version as BoringSSL names it (Envoy's
// connection.tls_version and %DOWNSTREAM_TLS_VERSION%).
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "unknown"
}

// upstreamTLSConfig is a cluster's TLS client configuration: server name,
// roots (a file, inline PEM or the system's), client certificate and ALPN.
func upstreamTLSConfig(c config.Cluster) (*tls.Config, error) {
	t := c.TLS
	tc := &tls.Config{ServerName: t.SNI, InsecureSkipVerify: t.InsecureSkipVerify, NextProtos: t.ALPN}
	ca := t.CA
	if t.CAFile != "" {
		b, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: tls ca file: %w", c.Name, err)
		}
		ca = b
	}
	if len(ca) > 0 {
		pool, err := certPool(ca)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: tls ca: %w", c.Name, err)
		}
		tc.RootCAs = pool
	}
	if cc := t.ClientCert; cc != nil {
		kp, err := loadKeyPair(*cc)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: client certificate: %w", c.Name, err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	return tc, nil
}

// loadKeyPair reads a certificate chain and its key.
func loadKeyPair(c config.Certificate) (tls.Certificate, error) {
	chain, err := c.Chain.Load()
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := c.Key.Load()
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(chain, key)
}

// certPool is a pool of the PEM certificates in pem.
func certPool(pem []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificates")
	}
	return pool, nil
}

// upstreamProtocols is the HTTP version a cluster speaks: HTTP/2 only for
// an HTTP/2 cluster (h2 through ALPN over TLS, prior knowledge on
// plaintext), HTTP/1.1 otherwise, as Envoy's pools do.
func upstreamProtocols(c config.Cluster) *http.Protocols {
	p := new(http.Protocols)
	switch {
	case c.HTTP2 && c.TLS != nil:
		p.SetHTTP2(true)
	case c.HTTP2:
		p.SetUnencryptedHTTP2(true)
	default:
		p.SetHTTP1(true)
	}
	return p
}

// clientCert is the certificate a cluster presents to its upstreams, or nil.
func (u *upstream) clientCert() *tls.Certificate {
	if u == nil || u.transport == nil || u.transport.TLSClientConfig == nil || len(u.transport.TLSClientConfig.Certificates) == 0 {
		return nil
	}
	return &u.transport.TLSClientConfig.Certificates[0]
}
