package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/envoy"
	"github.com/wasmgate/wasmgate/config/flags"
	"github.com/wasmgate/wasmgate/config/higress"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// testPKI is a CA and certificates it signed, written as PEM files.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
	pool   *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wasmgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{dir: t.TempDir(), ca: ca, caKey: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue signs a certificate for cn with the given DNS names (and
// 127.0.0.1), returning it and the paths of its PEM chain and key.
func (p *testPKI) issue(t *testing.T, name, cn string, dns ...string) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"wasmgate"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: dns, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := p.write(t, name+".pem", "CERTIFICATE", der)
	keyFile := p.write(t, name+"-key.pem", "PRIVATE KEY", kder)
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return kp, certFile, keyFile
}

// protoUpstream answers with the HTTP version and the trailers-capable
// request it saw.
func protoUpstream(t *testing.T, start func(*httptest.Server)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream-Proto", r.Proto)
		if r.TLS != nil {
			w.Header().Set("X-Upstream-Sni", r.TLS.ServerName)
			if len(r.TLS.PeerCertificates) > 0 {
				w.Header().Set("X-Upstream-Client", r.TLS.PeerCertificates[0].Subject.CommonName)
			}
		}
		_, _ = io.WriteString(w, "from upstream\n")
	}))
	start(srv)
	t.Cleanup(srv.Close)
	return srv
}

const tlsBootstrap = `
static_resources:
  listeners:
    - name: secure
      address:
        socket_address: {address: 127.0.0.1, port_value: 0}
      filter_chains:
        - transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              require_client_certificate: REQUIRE
              common_tls_context:
                alpn_protocols: [h2, http/1.1]
                tls_certificates:
                  - certificate_chain: {filename: SERVER_CERT}
                    private_key: {filename: SERVER_KEY}
                validation_context:
                  trusted_ca: {filename: CA_FILE}
          filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress
                codec_type: auto
                route_config:
                  virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                        - match: {prefix: "/h2c"}
                          route: {cluster: h2c_upstream}
                        - match: {prefix: "/"}
                          route: {cluster: tls_upstream}
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: props
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{"props": ["connection.tls_version", "connection.requested_server_name", "request.protocol", "connection.mtls", "connection.subject_peer_certificate", "connection.dns_san_local_certificate", "connection.sha256_peer_certificate_digest", "request.scheme"], "respProps": ["upstream.tls_version", "upstream.subject_peer_certificate", "upstream.subject_local_certificate", "upstream.dns_san_peer_certificate"]}'
                        vm_config:
                          runtime: envoy.wasm.runtime.v8
                          code: {local: {filename: PLUGIN}}
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: tls_upstream
      type: STATIC
      load_assignment:
        cluster_name: tls_upstream
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: TLS_UPSTREAM_PORT}}}
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config:
            http2_protocol_options: {}
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
          sni: upstream.test
          common_tls_context:
            tls_certificates:
              - certificate_chain: {filename: GW_CLIENT_CERT}
                private_key: {filename: GW_CLIENT_KEY}
            validation_context:
              trusted_ca: {filename: CA_FILE}
    - name: h2c_upstream
      type: STATIC
      http2_protocol_options: {}
      load_assignment:
        cluster_name: h2c_upstream
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: H2C_UPSTREAM_PORT}}}
`

// TestTLSAndHTTP2 covers downstream TLS with ALPN h2 and client
// certificates, the connection.* properties a plugin reads, an HTTPS
// HTTP/2 upstream with SNI, CA and a client certificate, an h2c upstream,
// and mTLS refusing a client without a certificate.
func TestTLSAndHTTP2(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/props")
	pki := newTestPKI(t)
	_, serverFile, serverKey := pki.issue(t, "server", "gw.test", "gw.test")
	_, gwClientFile, gwClientKey := pki.issue(t, "gw-client", "gateway")
	clientCert, _, _ := pki.issue(t, "client", "client1", "client1.test")

	upCert, _, _ := pki.issue(t, "upstream", "upstream.test", "upstream.test")
	tlsUp := protoUpstream(t, func(s *httptest.Server) {
		s.EnableHTTP2 = true
		s.TLS = &tls.Config{Certificates: []tls.Certificate{upCert}, ClientCAs: pki.pool, ClientAuth: tls.RequireAndVerifyClientCert}
		s.StartTLS()
	})
	h2cUp := protoUpstream(t, func(s *httptest.Server) {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
		s.Start()
	})

	for _, require := range []string{"false", "true"} {
		t.Run("require_client_certificate="+require, func(t *testing.T) {
			path := envoyFile(t, tlsBootstrap, "REQUIRE", require, "SERVER_CERT", serverFile, "SERVER_KEY", serverKey,
				"CA_FILE", pki.caFile, "GW_CLIENT_CERT", gwClientFile, "GW_CLIENT_KEY", gwClientKey, "PLUGIN", wasm,
				"TLS_UPSTREAM_PORT", testPort(t, tlsUp.Listener.Addr().String()), "H2C_UPSTREAM_PORT", testPort(t, h2cUp.Listener.Addr().String()))
			if res := envoy.LoadFile(path); len(res.Problems) != 0 {
				t.Fatalf("problems: %v", res.Problems)
			}
			tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }))
			base := strings.Replace(tg.url, "http://", "https://", 1)

			client := func(certs ...tls.Certificate) *http.Client {
				return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
					TLSClientConfig: &tls.Config{RootCAs: pki.pool, ServerName: "gw.test", Certificates: certs}}}
			}
			withCert := client(clientCert)
			defer withCert.CloseIdleConnections()
			for _, p := range []string{"/", "/h2c"} {
				resp, err := withCert.Get(base + p)
				if err != nil {
					t.Fatalf("GET %s: %v", p, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "from upstream\n" {
					t.Fatalf("GET %s: %d %q", p, resp.StatusCode, body)
				}
				if resp.Proto != "HTTP/2.0" || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
					t.Errorf("GET %s: downstream %s, ALPN %v", p, resp.Proto, resp.TLS)
				}
				if got := resp.Header.Get("X-Upstream-Proto"); got != "HTTP/2.0" {
					t.Errorf("GET %s: the upstream saw %q, want HTTP/2.0", p, got)
				}
				h := resp.Header
				sum := sha256.Sum256(clientCert.Leaf.Raw)
				want := map[string]string{
					"X-Prop-Connection-Tls_version":                    "TLSv1.3",
					"X-Prop-Connection-Requested_server_name":          "gw.test",
					"X-Prop-Request-Protocol":                          "HTTP/2",
					"X-Prop-Connection-Mtls":                           "true",
					"X-Prop-Connection-Subject_peer_certificate":       "CN=client1,O=wasmgate",
					"X-Prop-Connection-Dns_san_local_certificate":      "gw.test",
					"X-Prop-Connection-Sha256_peer_certificate_digest": hex.EncodeToString(sum[:]),
					"X-Prop-Request-Scheme":                            "https",
				}
				for k, v := range want {
					if got := h.Get(k); got != v {
						t.Errorf("GET %s: %s = %q, want %q", p, k, got, v)
					}
				}
				if p == "/" && (h.Get("X-Upstream-Sni") != "upstream.test" || h.Get("X-Upstream-Client") != "gateway") {
					t.Errorf("the TLS upstream saw SNI %q and client %q", h.Get("X-Upstream-Sni"), h.Get("X-Upstream-Client"))
				}
				// The upstream connection's TLS, as upstream.* attributes (absent for h2c).
				wantUp := map[string]string{
					"X-Prop-Upstream-Tls_version":               "TLSv1.3",
					"X-Prop-Upstream-Subject_peer_certificate":  "CN=upstream.test,O=wasmgate",
					"X-Prop-Upstream-Subject_local_certificate": "CN=gateway,O=wasmgate",
					"X-Prop-Upstream-Dns_san_peer_certificate":  "upstream.test",
				}
				for k, v := range wantUp {
					if p == "/h2c" {
						v = "absent"
					}
					if got := h.Get(k); got != v {
						t.Errorf("GET %s: %s = %q, want %q", p, k, got, v)
					}
				}
			}

			noCert := client()
			defer noCert.CloseIdleConnections()
			resp, err := noCert.Get(base + "/")
			if require == "true" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("a client without a certificate got %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("without a client certificate (not required): %v", err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("X-Prop-Connection-Mtls"); got != "false" {
				t.Errorf("connection.mtls without a client certificate = %q", got)
			}
			if got := resp.Header.Get("X-Prop-Connection-Sha256_peer_certificate_digest"); got != "absent" {
				t.Errorf("digest without a client certificate = %q", got)
			}
		})
	}
}

// TestPlaintextHTTP2PriorKnowledge: a codec AUTO listener serves h2c
// clients (prior knowledge) and HTTP/1.1 clients on one port, and plugins
// see request.protocol as Envoy names it.
func TestPlaintextHTTP2PriorKnowledge(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/props")
	tg := startGateway(t, flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: wasm,
		Config: `{"props": ["request.protocol", "connection.tls_version", "connection.requested_server_name", "connection.mtls"]}`}}}))
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	for name, c := range map[string]*http.Client{
		"HTTP/2":   {Timeout: 30 * time.Second, Transport: &http.Transport{Protocols: h2c}},
		"HTTP/1.1": {Timeout: 30 * time.Second},
	} {
		resp, err := c.Get(tg.url + "/")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		h := resp.Header
		// requested_server_name is an empty string without TLS; an empty
		// value comes back with a null pointer, as from Envoy, which the
		// SDK reports as not found.
		if h.Get("X-Prop-Request-Protocol") != name || h.Get("X-Prop-Connection-Tls_version") != "absent" ||
			h.Get("X-Prop-Connection-Requested_server_name") != "absent" || h.Get("X-Prop-Connection-Mtls") != "false" {
			t.Errorf("%s (%s): %v", name, resp.Proto, h)
		}
	}
}

// TestDataDirIngressTLS: the tls entries of Higress Ingresses are served on
// the HTTPS listener, each Secret's certificate for its hosts (by SNI); an
// entry whose Secret is missing is an error naming the file and field while
// the rest serves.
func TestDataDirIngressTLS(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	for _, host := range []string{"a.test", "b.test"} {
		_, certFile, keyFile := pki.issue(t, host, host, host)
		crt, _ := os.ReadFile(certFile)
		key, _ := os.ReadFile(keyFile)
		writeFile(t, filepath.Join(dir, "secrets", host+".yaml"), "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: "+
			strings.TrimSuffix(host, ".test")+"-cert, namespace: default}\ndata:\n  tls.crt: "+base64.StdEncoding.EncodeToString(crt)+
			"\n  tls.key: "+base64.StdEncoding.EncodeToString(key)+"\n")
	}
	ingress := func(name, host, secret string) string {
		return "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: " + name + ", namespace: default}\nspec:\n" +
			"  tls:\n  - hosts: [" + host + "]\n    secretName: " + secret + "\n" +
			"  rules:\n  - host: " + host + "\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n" +
			"        backend: {service: {name: missing, port: {number: 80}}}\n"
	}
	writeFile(t, filepath.Join(dir, "ingresses", "a.yaml"), ingress("a", "a.test", "a-cert"))
	writeFile(t, filepath.Join(dir, "ingresses", "b.yaml"), ingress("b", "b.test", "b-cert"))
	writeFile(t, filepath.Join(dir, "ingresses", "c.yaml"), ingress("c", "c.test", "c-cert"))
	def := echoCluster
	opts := higress.Options{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", DefaultCluster: &def}
	res := higress.Load(dir, opts)
	err := res.Problems.Err()
	if err == nil || !strings.Contains(err.Error(), filepath.Join("ingresses", "c.yaml")) || !strings.Contains(err.Error(), "spec.tls[0].secretName") ||
		!strings.Contains(err.Error(), "default/c-cert") {
		t.Fatalf("the missing Secret: %v", err)
	}
	tg := startGateway(t, SourceFunc(higress.NewLoader(dir, opts).Load))
	httpsAddr := tg.gw.Addr("higress-https")
	for _, host := range []string{"a.test", "b.test"} {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{RootCAs: pki.pool, ServerName: host}}}
		req, _ := http.NewRequest("GET", "https://"+httpsAddr+"/anything", nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		resp.Body.Close()
		c.CloseIdleConnections()
		if resp.TLS.PeerCertificates[0].Subject.CommonName != host || resp.Proto != "HTTP/2.0" {
			t.Errorf("%s: certificate %s, %s", host, resp.TLS.PeerCertificates[0].Subject.CommonName, resp.Proto)
		}
	}
	// The plaintext listener keeps serving.
	if resp, err := http.Get("http://" + tg.gw.Addr("higress") + "/anything"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
}

// TestIngressBackendProtocol: higress.io/backend-protocol GRPC reaches an
// h2c upstream and HTTPS a TLS upstream (its certificate not verified, as
// Higress does without a proxy-ssl Secret).
func TestIngressBackendProtocol(t *testing.T) {
	pki := newTestPKI(t)
	upCert, _, _ := pki.issue(t, "upstream", "upstream.test", "upstream.test")
	tlsUp := protoUpstream(t, func(s *httptest.Server) {
		s.EnableHTTP2 = true
		s.TLS = &tls.Config{Certificates: []tls.Certificate{upCert}}
		s.StartTLS()
	})
	h2cUp := protoUpstream(t, func(s *httptest.Server) {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
		s.Start()
	})
	dir := t.TempDir()
	for name, up := range map[string]*httptest.Server{"secure": tlsUp, "rpc": h2cUp} {
		host, port, _ := net.SplitHostPort(up.Listener.Addr().String())
		writeFile(t, filepath.Join(dir, "services", name+".yaml"), "apiVersion: v1\nkind: Endpoints\nmetadata: {name: "+name+
			", namespace: default}\nsubsets:\n- addresses: [{ip: "+host+"}]\n  ports: [{port: "+port+"}]\n")
	}
	ingress := func(name, proto string) string {
		_, port, _ := net.SplitHostPort(map[string]*httptest.Server{"secure": tlsUp, "rpc": h2cUp}[name].Listener.Addr().String())
		return "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: " + name + "\n  namespace: default\n  annotations:\n" +
			"    higress.io/backend-protocol: " + proto + "\nspec:\n  rules:\n  - host: " + name + ".test\n    http:\n      paths:\n" +
			"      - path: /\n        pathType: Prefix\n        backend: {service: {name: " + name + ", port: {number: " + port + "}}}\n"
	}
	writeFile(t, filepath.Join(dir, "ingresses", "secure.yaml"), ingress("secure", "HTTPS"))
	writeFile(t, filepath.Join(dir, "ingresses", "rpc.yaml"), ingress("rpc", "GRPC"))
	def := echoCluster
	opts := higress.Options{Listen: "127.0.0.1:0", DefaultCluster: &def}
	res := higress.Load(dir, opts)
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}

	tg := startGateway(t, SourceFunc(higress.NewLoader(dir, opts).Load))
	// HTTPS is HTTP/1.1 over TLS; GRPC is h2c.
	for host, want := range map[string]string{"secure.test": "HTTP/1.1", "rpc.test": "HTTP/2.0"} {
		code, hdr, body := get(t, tg.url+"/", "host", host)
		if code != 200 || body != "from upstream\n" || hdr.Get("X-Upstream-Proto") != want {
			t.Errorf("%s: %d %q, upstream saw %q", host, code, body, hdr.Get("X-Upstream-Proto"))
		}
		if host == "secure.test" && hdr.Get("X-Upstream-Sni") != "secure.default.svc.cluster.local" {
			t.Errorf("%s: the upstream saw SNI %q", host, hdr.Get("X-Upstream-Sni"))
		}
	}
}

const grpcBootstrap = `
static_resources:
  listeners:
    - name: grpc
      address: {socket_address: {address: 127.0.0.1, port_value: 0}}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: grpc
                codec_type: AUTO
                route_config:
                  virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                        - match: {prefix: "/"}
                          route: {cluster: grpc_upstream}
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: grpcseen
                        vm_config:
                          runtime: envoy.wasm.runtime.v8
                          code: {local: {filename: PLUGIN}}
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: grpc_upstream
      type: STATIC
      load_assignment:
        cluster_name: grpc_upstream
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: GRPC_PORT}}}
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config:
            http2_protocol_options: {}
`

// TestGRPCThroughPluginChain: a grpc-go client reaches a grpc-go server
// (h2c) through a plugin; the plugin reads the response trailers and
// response.grpc_status, grpc-status reaches the client, and local replies
// to gRPC requests are trailers-only gRPC responses with Envoy's status
// mapping.
func TestGRPCThroughPluginChain(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/grpcseen")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("shop", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	path := envoyFile(t, grpcBootstrap, "PLUGIN", wasm, "GRPC_PORT", testPort(t, ln.Addr().String()))
	if res := envoy.LoadFile(path); len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }))
	conn, err := grpc.NewClient(strings.TrimPrefix(tg.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var trailer metadata.MD
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "shop"}, grpc.Trailer(&trailer))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check(shop): %v %v", resp, err)
	}
	if got := trailer.Get("x-seen-grpc-status"); len(got) != 1 || got[0] != "0,0" {
		t.Errorf("the plugin saw grpc status %v, want 0,0", got)
	}

	trailer = nil
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check(nope): %v, want NotFound", err)
	}
	if got := trailer.Get("x-seen-grpc-status"); len(got) != 1 || got[0] != "5,5" {
		t.Errorf("the plugin saw grpc status %v, want 5,5", got)
	}

	for deny, want := range map[string]struct {
		code codes.Code
		msg  string
	}{"http": {codes.PermissionDenied, "denied: no key"}, "grpc": {codes.Unauthenticated, "who are you?"}} {
		_, err := client.Check(metadata.AppendToOutgoingContext(ctx, "x-deny", deny), &healthpb.HealthCheckRequest{Service: "shop"})
		if st := status.Convert(err); st.Code() != want.code || st.Message() != want.msg {
			t.Errorf("x-deny %s: %v, want %v %q", deny, err, want.code, want.msg)
		}
	}
}
