package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDevCertificateIsMadeOnceAndRenewed: the development certificate is
// made when missing, reused while valid, and made again a week before it
// expires.
func TestDevCertificateIsMadeOnceAndRenewed(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cert, key, made, err := devCertificate(dir, now)
	if err != nil || !made {
		t.Fatalf("first call: made %v, %v", made, err)
	}
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := kp.Leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if err := kp.Leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if _, _, made, err := devCertificate(dir, now.Add(time.Hour)); err != nil || made {
		t.Errorf("second call: made %v, %v (want the same certificate)", made, err)
	}
	if _, _, made, err := devCertificate(dir, kp.Leaf.NotAfter.Add(-24*time.Hour)); err != nil || !made {
		t.Errorf("near expiry: made %v, %v (want a new certificate)", made, err)
	}
}

// TestRunDevCert: wasmgate run --dev-cert serves HTTPS with HTTP/2 in
// front of the echo upstream, with the certificate it wrote to the cache.
func TestRunDevCert(t *testing.T) {
	bin := authBuildWasmgate(t)
	cache := t.TempDir()
	listen, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "run", "--dev-cert", "--listen", listen, "--admin", admin, "--no-watch")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	logs := startGatewayProcess(t, cmd, "http://"+admin)
	pem, err := os.ReadFile(filepath.Join(cache, "wasmgate", "dev-cert", "cert.pem"))
	if err != nil {
		t.Fatalf("development certificate: %v\n%s", err, logs)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + listen + "/anything/hello")
	if err != nil {
		t.Fatalf("GET: %v\n%s", err, logs)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" || !strings.Contains(string(b), "/hello") {
		t.Errorf("%d %s %q", resp.StatusCode, resp.Proto, b)
	}
	if !strings.Contains(logs.String(), "made the development certificate") {
		t.Errorf("no log line naming the certificate:\n%s", logs)
	}
}
