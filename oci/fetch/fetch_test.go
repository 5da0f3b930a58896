package fetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/registry"
	"github.com/wasmgate/wasmgate/oci/registrytest"
)

func tinyWasm(payload string) []byte {
	name := "wasmgate"
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, payload...)
	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, 0x00, byte(len(body))}
	return append(b, body...)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func emptyDockerConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// push builds an image of the given module and pushes it to ref.
func push(t *testing.T, ref string, wasm []byte, f oci.Format, dockerConfig string) *oci.Image {
	t.Helper()
	img, err := oci.Build(&oci.Plugin{Wasm: wasm}, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Push(ctx(t), img, img.Manifest.Digest.String(), ref, registry.Options{DockerConfig: dockerConfig}); err != nil {
		t.Fatal(err)
	}
	return img
}

// recorder counts the registry requests that go through it.
type recorder struct {
	mu    sync.Mutex
	paths []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.paths = append(r.paths, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.paths
	r.paths = nil
	return p
}

func count(paths []string, sub string) int {
	n := 0
	for _, p := range paths {
		if strings.Contains(p, sub) {
			n++
		}
	}
	return n
}

func TestFetchOCIAndCache(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	cfg := emptyDockerConfig(t)
	img := push(t, reg.Host+"/plugins/a:1.0.0", tinyWasm("a1"), oci.FormatOCI, cfg)
	rec := &recorder{}
	opts := Options{CacheDir: t.TempDir(), PullSecret: cfg, HTTPClient: &http.Client{Transport: rec}}
	url := "oci://" + reg.Host + "/plugins/a:1.0.0"

	m, err := Fetch(ctx(t), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Bytes, tinyWasm("a1")) || m.Cached || m.Stale {
		t.Fatalf("first fetch: %+v", m)
	}
	if m.ImageDigest != img.Manifest.Digest.String() || m.Source != "oci://"+reg.Host+"/plugins/a@"+img.Manifest.Digest.String() {
		t.Fatalf("image digest %s source %s", m.ImageDigest, m.Source)
	}
	if count(rec.take(), "/blobs/") == 0 {
		t.Fatal("first fetch downloaded no blob")
	}

	// Tag 1.0.0, default policy IfNotPresent: served from the cache, the
	// registry is not asked at all.
	m, err = Fetch(ctx(t), url, opts)
	if err != nil || !m.Cached || m.Stale || !bytes.Equal(m.Bytes, tinyWasm("a1")) {
		t.Fatalf("second fetch: %+v, %v", m, err)
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("IfNotPresent contacted the registry: %v", got)
	}

	// Always: the manifest is resolved again, but no blob is downloaded for
	// an unchanged digest.
	opts.PullPolicy = PullAlways
	m, err = Fetch(ctx(t), url, opts)
	if err != nil || !bytes.Equal(m.Bytes, tinyWasm("a1")) {
		t.Fatalf("always: %+v, %v", m, err)
	}
	got := rec.take()
	if count(got, "/manifests/") == 0 || count(got, "/blobs/") != 0 {
		t.Fatalf("Always with an unchanged image: requests %v", got)
	}
}

func TestFetchLatestMeansAlways(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	cfg := emptyDockerConfig(t)
	opts := Options{CacheDir: t.TempDir(), PullSecret: cfg}
	latest := reg.Host + "/plugins/b:latest"
	pinnedTag := reg.Host + "/plugins/b:1.0"

	push(t, latest, tinyWasm("b1"), oci.FormatOCI, cfg)
	push(t, pinnedTag, tinyWasm("b1"), oci.FormatOCI, cfg)
	for _, u := range []string{latest, pinnedTag, reg.Host + "/plugins/b"} {
		m, err := Fetch(ctx(t), u, opts)
		if err != nil || !bytes.Equal(m.Bytes, tinyWasm("b1")) {
			t.Fatalf("%s: %v", u, err)
		}
	}
	// Both tags move to a new module.
	push(t, latest, tinyWasm("b2"), oci.FormatOCI, cfg)
	push(t, pinnedTag, tinyWasm("b2"), oci.FormatOCI, cfg)

	m, err := Fetch(ctx(t), latest, opts)
	if err != nil || !bytes.Equal(m.Bytes, tinyWasm("b2")) {
		t.Fatalf("latest should be pulled again: %q, %v", m.Bytes, err)
	}
	m, err = Fetch(ctx(t), reg.Host+"/plugins/b", opts)
	if err != nil || !bytes.Equal(m.Bytes, tinyWasm("b2")) {
		t.Fatalf("an untagged reference means latest: %q, %v", m.Bytes, err)
	}
	m, err = Fetch(ctx(t), pinnedTag, opts)
	if err != nil || !bytes.Equal(m.Bytes, tinyWasm("b1")) || !m.Cached {
		t.Fatalf("IfNotPresent should keep the cached module: %q, %v", m.Bytes, err)
	}
	opts.PullPolicy = PullAlways
	m, err = Fetch(ctx(t), pinnedTag, opts)
	if err != nil || !bytes.Equal(m.Bytes, tinyWasm("b2")) {
		t.Fatalf("Always should pull the new module: %q, %v", m.Bytes, err)
	}
}

func TestFetchRegistryStoppedServesCache(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	cfg := emptyDockerConfig(t)
	opts := Options{CacheDir: t.TempDir(), PullSecret: cfg}
	url := "oci://" + reg.Host + "/plugins/c:latest"
	img := push(t, url, tinyWasm("c1"), oci.FormatDocker, cfg)
	if _, err := Fetch(ctx(t), url, opts); err != nil {
		t.Fatal(err)
	}
	byDigest := "oci://" + reg.Host + "/plugins/c@" + img.Manifest.Digest.String()
	if _, err := Fetch(ctx(t), byDigest, opts); err != nil {
		t.Fatal(err)
	}
	reg.Stop()

	m, err := Fetch(ctx(t), url, opts)
	if err == nil {
		t.Fatal("want the pull error reported")
	}
	if !m.Stale || !m.Cached || !bytes.Equal(m.Bytes, tinyWasm("c1")) {
		t.Fatalf("want the cached copy with the error, got %+v", m)
	}
	if !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "cached copy") {
		t.Fatalf("unclear error: %v", err)
	}
	// A digest reference needs no registry once cached.
	m, err = Fetch(ctx(t), byDigest, opts)
	if err != nil || m.Stale || !bytes.Equal(m.Bytes, tinyWasm("c1")) {
		t.Fatalf("digest reference: %+v, %v", m, err)
	}
	// Without a cache there is nothing to fall back to.
	m, err = Fetch(ctx(t), url, Options{CacheDir: t.TempDir(), PullSecret: cfg})
	if err == nil || m.Bytes != nil {
		t.Fatalf("empty cache: %+v, %v", m, err)
	}
}

func TestFetchTamperedImage(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	cfg := emptyDockerConfig(t)
	url := reg.Host + "/plugins/d:1"
	img := push(t, url, tinyWasm("d1"), oci.FormatWasm, cfg)
	raw, _ := img.Blob(img.Manifest.Digest)
	i := strings.LastIndex(string(raw), "sha256:")
	reg.CorruptBlob(digestOf(string(raw[i : i+71])))
	m, err := Fetch(ctx(t), url, Options{CacheDir: t.TempDir(), PullSecret: cfg})
	var de *oci.DigestError
	if !errors.As(err, &de) || m.Bytes != nil {
		t.Fatalf("want a DigestError and no module, got %+v, %v", m, err)
	}
}

func TestFetchChecksumAndPullSecret(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{Users: map[string]string{"bob": "pw"}})
	secret := reg.DockerConfig(t.TempDir(), "bob", "pw")
	url := reg.Host + "/private/e:2"
	img := push(t, url, tinyWasm("e"), oci.FormatOCI, secret)

	if _, err := Fetch(ctx(t), url, Options{PullSecret: emptyDockerConfig(t)}); err == nil || !strings.Contains(err.Error(), "requires credentials") {
		t.Fatalf("no credentials: want a credentials error, got %v", err)
	}
	for _, sum := range []string{img.Manifest.Digest.String(), img.Manifest.Digest.Encoded(), "sha256:" + sha256Hex(tinyWasm("e"))} {
		m, err := Fetch(ctx(t), url, Options{PullSecret: secret, SHA256: sum})
		if err != nil || !bytes.Equal(m.Bytes, tinyWasm("e")) {
			t.Fatalf("sha256 %s: %v", sum, err)
		}
	}
	_, err := Fetch(ctx(t), url, Options{PullSecret: secret, SHA256: strings.Repeat("ab", 32)})
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("want a ChecksumError, got %v", err)
	}
	if _, err := Fetch(ctx(t), url, Options{PullSecret: filepath.Join(t.TempDir(), "missing.json")}); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("missing pull secret: %v", err)
	}
}

func TestFetchHTTP(t *testing.T) {
	var (
		mu   sync.Mutex
		body = tinyWasm("h1")
		hits int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits++
		if r.URL.Path != "/plugin.wasm" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	cache := t.TempDir()
	url := srv.URL + "/plugin.wasm"
	sum := sha256Hex(tinyWasm("h1"))

	m, err := Fetch(ctx(t), url, Options{CacheDir: cache, SHA256: sum})
	if err != nil || !bytes.Equal(m.Bytes, tinyWasm("h1")) || m.Digest != "sha256:"+sum {
		t.Fatalf("%+v, %v", m, err)
	}
	// The pinned checksum is cached: no second request.
	if _, err := Fetch(ctx(t), url, Options{CacheDir: cache, SHA256: sum}); err != nil || hits != 1 {
		t.Fatalf("hits %d, %v", hits, err)
	}
	// Wrong checksum.
	_, err = Fetch(ctx(t), url, Options{CacheDir: t.TempDir(), SHA256: strings.Repeat("0", 64)})
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("want a ChecksumError, got %v", err)
	}
	// Not found.
	if _, err := Fetch(ctx(t), srv.URL+"/nope.wasm", Options{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("want 404, got %v", err)
	}
	// Server gone: the copy cached for the url is served with the error.
	if _, err := Fetch(ctx(t), url, Options{CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	m, err = Fetch(ctx(t), url, Options{CacheDir: cache})
	if err == nil || !m.Stale || !bytes.Equal(m.Bytes, tinyWasm("h1")) {
		t.Fatalf("server gone: %+v, %v", m, err)
	}
}

func TestFetchFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.wasm")
	if err := os.WriteFile(p, tinyWasm("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"file://" + p, p} {
		m, err := Fetch(ctx(t), u, Options{})
		if err != nil || !bytes.Equal(m.Bytes, tinyWasm("f")) || m.Source != p {
			t.Fatalf("%s: %+v, %v", u, m, err)
		}
	}
	if _, err := Fetch(ctx(t), "./x.wasm", Options{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(ctx(t), p, Options{SHA256: strings.Repeat("1", 64)}); err == nil {
		t.Fatal("checksum mismatch not reported")
	}
	txt := filepath.Join(dir, "not.wasm")
	if err := os.WriteFile(txt, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(ctx(t), txt, Options{}); err == nil || !strings.Contains(err.Error(), "WebAssembly") {
		t.Fatalf("non-Wasm file: %v", err)
	}
}

func TestClassify(t *testing.T) {
	for in, want := range map[string]string{
		"oci://r.example/p/x:1":      "oci oci://r.example/p/x:1",
		"r.example/p/x:1":            "oci oci://r.example/p/x:1",
		"127.0.0.1:5000/p/x":         "oci oci://127.0.0.1:5000/p/x",
		"https://e.example/x.wasm":   "http https://e.example/x.wasm",
		"file:///opt/plugins/x.wasm": "file /opt/plugins/x.wasm",
		"/opt/plugins/x.wasm":        "file /opt/plugins/x.wasm",
		"./x.wasm":                   "file ./x.wasm",
		"plugins/x.wasm":             "file plugins/x.wasm",
	} {
		s, c, err := Classify(in)
		if err != nil || string(s)+" "+c != want {
			t.Errorf("Classify(%q) = %s %s, %v; want %s", in, s, c, err, want)
		}
	}
	if _, _, err := Classify("ftp://x/y"); err == nil {
		t.Error("ftp accepted")
	}
	if _, err := ParsePullPolicy("Sometimes"); err == nil {
		t.Error("bad policy accepted")
	}
}

func digestOf(s string) digest.Digest { return digest.Digest(s) }
