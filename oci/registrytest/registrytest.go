// Package registrytest runs a real OCI registry (the Debian docker-registry
// binary, CNCF Distribution) on a loopback port for tests.
//
// Start fails the test — it does not skip it — when the binary is missing:
// the project's test script installs it (scripts/deps.sh).
package registrytest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"
)

// Binary is where Debian's docker-registry package installs the registry.
const Binary = "/usr/bin/docker-registry"

// Options configures a registry.
type Options struct {
	// Users enables HTTP basic authentication (htpasswd, bcrypt) with these
	// user names and passwords. Empty means no authentication.
	Users map[string]string
}

// Registry is a running registry.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of image references.
	Host string
	// Root is the storage directory.
	Root string

	t        testing.TB
	cmd      *exec.Cmd
	done     chan struct{}
	mu       sync.Mutex
	stopped  bool
	output   *bytes.Buffer
	waitErr  error
	htpasswd string
}

// Start runs a registry on a free loopback port and waits until its /v2/
// endpoint answers. It is stopped when the test ends.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	bin := Binary
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("docker-registry")
		if lerr != nil {
			t.Fatalf("the OCI registry binary %s is missing (install the Debian package: apt-get install -y docker-registry; scripts/deps.sh does it): %v", Binary, err)
		}
		bin = p
	}
	dir := t.TempDir()
	r := &Registry{t: t, Root: filepath.Join(dir, "storage")}
	if len(opts.Users) > 0 {
		var lines []string
		for user, pw := range opts.Users {
			h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				t.Fatalf("registrytest: bcrypt: %v", err)
			}
			lines = append(lines, user+":"+string(h))
		}
		r.htpasswd = filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(r.htpasswd, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
	}
	// The port is chosen by the kernel, released, and handed to the
	// registry; if another process grabs it meanwhile the registry exits and
	// a new port is tried.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		r.Host = fmt.Sprintf("127.0.0.1:%d", port)
		if lastErr = r.start(bin, dir); lastErr == nil {
			t.Cleanup(r.Stop)
			return r
		}
	}
	t.Fatalf("registrytest: registry did not start: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (r *Registry) start(bin, dir string) error {
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: wasmgate-registrytest
`, r.Root, r.Host)
	if r.htpasswd != "" {
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: wasmgate-test\n    path: %s\n", r.htpasswd)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	r.output = &bytes.Buffer{}
	r.cmd = exec.Command(bin, "serve", cfgPath)
	r.cmd.Stdout = r.output
	r.cmd.Stderr = r.output
	r.done = make(chan struct{})
	r.stopped = false
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		r.waitErr = r.cmd.Wait()
		close(r.done)
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("registry exited (%v): %s", r.waitErr, r.output.String())
		default:
		}
		resp, err := client.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.kill()
	return fmt.Errorf("registry on %s did not answer /v2/ within 15s: %s", r.Host, r.output.String())
}

func (r *Registry) kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// Stop terminates the registry and waits for it to exit. Calling it again
// does nothing.
func (r *Registry) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.stopped = true
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.kill()
	}
	// The registry cannot be reached any more once Stop returns.
	if c, err := net.DialTimeout("tcp", r.Host, 200*time.Millisecond); err == nil {
		c.Close()
		r.t.Errorf("registrytest: %s still accepts connections after Stop", r.Host)
	}
}

// BlobPath is the file in the registry's storage that holds a blob, for
// tests that corrupt stored content.
func (r *Registry) BlobPath(d digest.Digest) string {
	enc := d.Encoded()
	return filepath.Join(r.Root, "docker", "registry", "v2", "blobs", d.Algorithm().String(), enc[:2], enc, "data")
}

// CorruptBlob flips one byte in the middle of a stored blob, keeping its
// size, so that only digest verification can notice.
func (r *Registry) CorruptBlob(d digest.Digest) {
	r.t.Helper()
	p := r.BlobPath(d)
	b, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatalf("registrytest: corrupt blob: %v", err)
	}
	if len(b) == 0 {
		r.t.Fatalf("registrytest: corrupt blob: %s is empty", d)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		r.t.Fatalf("registrytest: corrupt blob: %v", err)
	}
}

// DockerConfig writes a Docker config.json with credentials for this
// registry into dir and returns its path.
func (r *Registry) DockerConfig(dir, user, password string) string {
	r.t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, r.Host, auth)
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		r.t.Fatalf("registrytest: %v", err)
	}
	return p
}
