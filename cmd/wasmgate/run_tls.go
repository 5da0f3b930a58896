package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/gateway"
)

// tlsFlags terminate TLS on the gateway's listeners for the quick case:
// a certificate and key of the user's, or a development certificate made
// on request.
type tlsFlags struct {
	cert, key string
	dev       bool
}

func (f *tlsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.cert, "tls-cert", "", "PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) on listeners that have no TLS of their own")
	fl.StringVar(&f.key, "tls-key", "", "PEM private key of --tls-cert")
	fl.BoolVar(&f.dev, "dev-cert", false, "serve HTTPS with a self-signed development certificate for localhost, 127.0.0.1 and ::1 (made once, kept in the user cache)")
}

// settings returns the listeners' TLS, nil when no flag asks for it.
func (f *tlsFlags) settings(log *slog.Logger) (*config.DownstreamTLS, error) {
	switch {
	case f.dev && (f.cert != "" || f.key != ""):
		return nil, errors.New("use one of --dev-cert and --tls-cert/--tls-key")
	case f.dev:
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("--dev-cert: %w", err)
		}
		cert, key, made, err := devCertificate(filepath.Join(dir, "wasmgate", "dev-cert"), time.Now())
		if err != nil {
			return nil, fmt.Errorf("--dev-cert: %w", err)
		}
		verb := "using"
		if made {
			verb = "made"
		}
		log.Info(verb+" the development certificate; clients trust it with e.g. curl --cacert", "cert", cert)
		f.cert, f.key = cert, key
	case f.cert == "" && f.key == "":
		return nil, nil
	case f.cert == "" || f.key == "":
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if _, err := tls.LoadX509KeyPair(f.cert, f.key); err != nil {
		return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", f.cert, f.key, err)
	}
	return &config.DownstreamTLS{
		Certificates: []config.Certificate{{Chain: config.DataSource{File: f.cert}, Key: config.DataSource{File: f.key}}},
		ALPN:         []string{"h2", "http/1.1"},
	}, nil
}

// withTLS gives every listener without TLS of its own the flags' TLS.
func withTLS(src gateway.Source, t *config.DownstreamTLS) gateway.Source {
	if t == nil {
		return src
	}
	return gateway.SourceFunc(func() *config.Result {
		r := src.Load()
		if r != nil && r.Config != nil {
			for i := range r.Config.Listeners {
				if r.Config.Listeners[i].TLS == nil {
					r.Config.Listeners[i].TLS = t
				}
			}
		}
		return r
	})
}

// devCertificate returns the development certificate and key under dir,
// making them when they are missing, unreadable or expire within a week.
func devCertificate(dir string, now time.Time) (certFile, keyFile string, made bool, err error) {
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if kp, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && kp.Leaf != nil && now.Add(7*24*time.Hour).Before(kp.Leaf.NotAfter) {
		return certFile, keyFile, false, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", false, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return "", "", false, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "wasmgate development certificate", Organization: []string{"wasmgate"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		// Self-signed and its own CA, so clients can trust it with --cacert.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", false, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", false, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", false, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", false, err
	}
	return certFile, keyFile, true, nil
}
