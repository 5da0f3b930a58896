// Package fetch loads the Wasm module a WasmPlugin's url names, the way a
// Higress gateway does:
//
//   - oci://HOST/REPO[:TAG|@DIGEST] — and any url without a scheme that is
//     not a file path — is pulled from a registry (see oci/registry), the
//     module extracted from any accepted image variant and cached on disk by
//     digest. PullPolicy decides when the registry is asked again.
//   - http:// and https:// are downloaded, checked against SHA256 when it is
//     given, and cached.
//   - file:// urls and file paths (absolute, ./ or ../, or ending in .wasm)
//     are read from disk.
//
// Network fetches are bounded by connect, response and total timeouts and
// retried with backoff when another attempt may succeed (see Timeouts);
// images and downloads are read within size limits (see oci.Limits), the
// module's magic number checked on its first bytes.
//
// When a pull or download fails and an earlier copy is cached, Fetch returns
// that copy together with the error, so a gateway can keep serving the
// plugin and report the failure.
package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	orasreg "oras.land/oras-go/v2/registry"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/registry"
)

// PullPolicy decides when a cached module is used without asking the
// source again. The names are those of the WasmPlugin imagePullPolicy field.
type PullPolicy string

// Pull policies.
const (
	// PullDefault is IfNotPresent, except Always for oci urls tagged latest
	// or untagged. "UNSPECIFIED_POLICY" means the same.
	PullDefault PullPolicy = ""
	// PullIfNotPresent uses the cached module for a url fetched before.
	PullIfNotPresent PullPolicy = "IfNotPresent"
	// PullAlways asks the source every time; for oci urls only the manifest
	// is fetched when its digest is already cached.
	PullAlways PullPolicy = "Always"
)

// ParsePullPolicy accepts the WasmPlugin imagePullPolicy names.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch s {
	case "", "UNSPECIFIED_POLICY":
		return PullDefault, nil
	case string(PullIfNotPresent):
		return PullIfNotPresent, nil
	case string(PullAlways):
		return PullAlways, nil
	}
	return "", fmt.Errorf("unknown imagePullPolicy %q (want IfNotPresent or Always)", s)
}

// Options configures Fetch.
type Options struct {
	// CacheDir holds pulled and downloaded modules. Empty disables caching
	// (and so the fallback to a cached copy).
	CacheDir string
	// PullPolicy: see PullPolicy.
	PullPolicy PullPolicy
	// SHA256 is the expected checksum, hex, optionally "sha256:"-prefixed.
	// For http(s) and files it is the module's. For oci urls it may be the
	// image manifest's digest (as in WasmPlugin.sha256) or the module's.
	SHA256 string
	// PullSecret is the path of a Docker config.json with registry
	// credentials (WasmPlugin imagePullSecret, for local use). Empty means
	// the default Docker config.
	PullSecret string
	// PlainHTTP pulls oci images over plain HTTP.
	PlainHTTP bool
	// HTTPFallback retries oci pulls over plain HTTP when HTTPS fails at
	// the connection level, for any registry. Loopback registries always
	// get this fallback.
	HTTPFallback bool
	// BaseDir resolves relative file paths; empty means the working
	// directory.
	BaseDir string
	// HTTPClient is used for http(s) urls and registries; nil means
	// Client(Timeouts).
	HTTPClient *http.Client
	// Timeouts bound each connection and response, and the whole fetch
	// with its retries (see Timeouts); zero fields take DefaultTimeouts.
	Timeouts Timeouts
	// Limits bound what an image or download may make Fetch read (see
	// oci.Limits); zero fields take oci.DefaultLimits.
	Limits oci.Limits
	// Logger receives progress logs; nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// Module is a fetched Wasm module.
type Module struct {
	// Bytes is the module.
	Bytes []byte
	// Digest is the module's sha256 digest ("sha256:<hex>").
	Digest string
	// Source says where the bytes come from: "oci://HOST/REPO@sha256:…"
	// (the image digest) for images, the url for http(s), the absolute
	// path for files.
	Source string
	// ImageDigest is the manifest digest for oci urls.
	ImageDigest string
	// Cached is true when the bytes come from the cache.
	Cached bool
	// Stale is true when the source could not be reached or gave an
	// invalid module and Bytes is the copy cached earlier; Fetch's error
	// then says what failed.
	Stale bool
}

// Scheme is the kind of source a url names.
type Scheme string

// Schemes.
const (
	SchemeOCI  Scheme = "oci"
	SchemeHTTP Scheme = "http"
	SchemeFile Scheme = "file"
)

// Classify returns the kind of source rawURL names and the url in canonical
// form: "oci://…" for images, the url itself for http(s), the path for
// files. A url without a scheme is a file if it is an absolute path, starts
// with ./ or ../, or ends in .wasm; otherwise it is an image reference, as
// in Higress.
func Classify(rawURL string) (Scheme, string, error) {
	s := strings.TrimSpace(rawURL)
	switch {
	case s == "":
		return "", "", errors.New("empty plugin url")
	case strings.HasPrefix(s, "oci://"):
		return SchemeOCI, s, nil
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		return SchemeHTTP, s, nil
	case strings.HasPrefix(s, "file://"):
		u, err := url.Parse(s)
		if err != nil {
			return "", "", fmt.Errorf("plugin url %q: %w", rawURL, err)
		}
		p := u.Path
		if u.Host != "" && u.Host != "localhost" {
			// file://relative/path.wasm: keep host as the first element.
			p = u.Host + u.Path
		}
		if p == "" {
			return "", "", fmt.Errorf("plugin url %q has no path", rawURL)
		}
		return SchemeFile, p, nil
	case strings.Contains(s, "://"):
		return "", "", fmt.Errorf("plugin url %q: unsupported scheme (want oci, http, https or file)", rawURL)
	case filepath.IsAbs(s), strings.HasPrefix(s, "./"), strings.HasPrefix(s, "../"), strings.HasSuffix(s, ".wasm"):
		return SchemeFile, s, nil
	}
	return SchemeOCI, "oci://" + s, nil
}

// Fetch returns the module rawURL names; see the package documentation.
// If err is not nil and m.Stale is true, m holds the cached copy and is
// usable.
func Fetch(ctx context.Context, rawURL string, opts Options) (m Module, err error) {
	scheme, canon, err := Classify(rawURL)
	if err != nil {
		return Module{}, err
	}
	want, err := parseSHA256(opts.SHA256)
	if err != nil {
		return Module{}, err
	}
	switch scheme {
	case SchemeFile:
		return fetchFile(canon, want, opts)
	case SchemeHTTP:
		return withFallback(canon, want, opts, func(c *cache) (Module, error) {
			return retried(ctx, canon, opts, func(ctx context.Context) (Module, error) { return fetchHTTP(ctx, canon, want, c, opts) })
		})
	default:
		return withFallback(canon, want, opts, func(c *cache) (Module, error) {
			return retried(ctx, canon, opts, func(ctx context.Context) (Module, error) { return fetchOCI(ctx, canon, want, c, opts) })
		})
	}
}

// retried runs one network fetch under opts.Timeouts.
func retried(ctx context.Context, canon string, opts Options, attempt func(context.Context) (Module, error)) (Module, error) {
	var m Module
	err := Retry(ctx, opts.Timeouts, opts.logger(), canon, func(ctx context.Context) error {
		var err error
		m, err = attempt(ctx)
		return err
	})
	return m, err
}

// locks serialises fetches of one url into one cache.
var locks sync.Map

// withFallback runs fetch under the url's lock and, when it fails, returns
// the module cached for the url by an earlier fetch, if there is one and it
// satisfies the wanted checksum.
func withFallback(canon, want string, opts Options, fetch func(*cache) (Module, error)) (Module, error) {
	c := newCache(opts.CacheDir)
	key := opts.CacheDir + "\x00" + canon
	mu, _ := locks.LoadOrStore(key, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	m, err := fetch(c)
	if err == nil {
		return m, nil
	}
	if old, ok := c.lookupRef(canon); ok && (want == "" || old.Module == "sha256:"+want || old.Image == "sha256:"+want) {
		if b, ok := c.module(old.Module); ok {
			opts.logger().Warn("plugin fetch failed; serving the cached copy", "url", canon, "digest", old.Module, "error", err)
			return Module{Bytes: b, Digest: old.Module, Source: old.Source, ImageDigest: old.Image, Cached: true, Stale: true},
				fmt.Errorf("fetch %s: %w (serving the cached copy %s)", canon, err, old.Module)
		}
	}
	return Module{}, fmt.Errorf("fetch %s: %w", canon, err)
}

func parseSHA256(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "sha256:"))
	if s == "" {
		return "", nil
	}
	if len(s) != 64 {
		return "", fmt.Errorf("sha256 %q: want 64 hex digits", s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("sha256 %q: %w", s, err)
	}
	return s, nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ChecksumError reports a module or image whose digest is not the one
// asked for.
type ChecksumError struct {
	Source string
	Want   string
	Got    string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s has sha256 %s, want %s", e.Source, e.Got, e.Want)
}

func fetchFile(p, want string, opts Options) (Module, error) {
	if !filepath.IsAbs(p) && opts.BaseDir != "" {
		p = filepath.Join(opts.BaseDir, p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return Module{}, fmt.Errorf("plugin file %s: %w", p, err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return Module{}, fmt.Errorf("plugin file: %w", err)
	}
	got := sha256Hex(b)
	if want != "" && got != want {
		return Module{}, &ChecksumError{Source: abs, Want: want, Got: got}
	}
	if err := oci.CheckWasm(b); err != nil {
		return Module{}, fmt.Errorf("plugin file %s: %w", abs, err)
	}
	return Module{Bytes: b, Digest: "sha256:" + got, Source: abs}, nil
}

func httpClient(opts Options) *http.Client {
	if opts.HTTPClient != nil {
		return opts.HTTPClient
	}
	return Client(opts.Timeouts)
}

func fetchHTTP(ctx context.Context, u, want string, c *cache, opts Options) (Module, error) {
	// A pinned checksum identifies the content: unless told to pull always,
	// a cached module with that checksum is the answer.
	if want != "" && opts.PullPolicy != PullAlways {
		if b, ok := c.module("sha256:" + want); ok {
			return Module{Bytes: b, Digest: "sha256:" + want, Source: u, Cached: true}, nil
		}
	}
	if want == "" && opts.PullPolicy == PullIfNotPresent {
		if old, ok := c.lookupRef(u); ok {
			if b, ok := c.module(old.Module); ok {
				return Module{Bytes: b, Digest: old.Module, Source: u, Cached: true}, nil
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Module{}, err
	}
	resp, err := httpClient(opts).Do(req)
	if err != nil {
		return Module{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Module{}, &StatusError{URL: u, Status: resp.Status, Code: resp.StatusCode}
	}
	b, err := readModule(resp.Body, resp.ContentLength, opts.Limits.WithDefaults().Module, "GET "+u)
	if err != nil {
		return Module{}, err
	}
	got := sha256Hex(b)
	if want != "" && got != want {
		return Module{}, &ChecksumError{Source: u, Want: want, Got: got}
	}
	m := Module{Bytes: b, Digest: "sha256:" + got, Source: u}
	if err := c.store(u, ref{Module: m.Digest, Source: u}, b); err != nil {
		opts.logger().Warn("plugin cache write failed", "url", u, "error", err)
	}
	return m, nil
}

func fetchOCI(ctx context.Context, canon, want string, c *cache, opts Options) (Module, error) {
	r, err := registry.ParseReference(canon)
	if err != nil {
		return Module{}, err
	}
	pinned, perr := r.Digest()
	policy := opts.PullPolicy
	if policy == PullDefault {
		policy = PullIfNotPresent
		if r.Reference == "" || r.Reference == "latest" {
			policy = PullAlways
		}
	}
	fromImage := func(img digest.Digest) (Module, bool) {
		mod, ok := c.lookupImage(img)
		if !ok {
			return Module{}, false
		}
		b, ok := c.module(mod)
		if !ok {
			return Module{}, false
		}
		m := Module{Bytes: b, Digest: mod, ImageDigest: img.String(), Source: imageSource(r, img), Cached: true}
		return m, checkOCISum(m, want) == nil
	}
	// A digest reference is immutable: a cached copy is always current.
	if perr == nil {
		if m, ok := fromImage(pinned); ok {
			return m, nil
		}
	} else if policy == PullIfNotPresent {
		if old, ok := c.lookupRef(canon); ok && old.Image != "" {
			if m, ok := fromImage(digest.Digest(old.Image)); ok {
				return m, nil
			}
		}
	}
	repo, err := registry.Open(ctx, canon, registry.Options{
		PlainHTTP:    opts.PlainHTTP,
		HTTPFallback: opts.HTTPFallback,
		DockerConfig: opts.PullSecret,
		HTTPClient:   httpClient(opts),
		Logger:       opts.Logger,
	})
	if err != nil {
		return Module{}, err
	}
	desc, err := registry.Resolve(ctx, repo)
	if err != nil {
		return Module{}, err
	}
	if perr == nil && desc.Digest != pinned {
		return Module{}, fmt.Errorf("registry resolved %s to %s", canon, desc.Digest)
	}
	if m, ok := fromImage(desc.Digest); ok {
		// Manifest unchanged since the last pull: nothing to download.
		if err := c.storeRef(canon, ref{Module: m.Digest, Image: desc.Digest.String(), Source: m.Source}); err != nil {
			opts.logger().Warn("plugin cache write failed", "url", canon, "error", err)
		}
		return m, nil
	}
	a, err := registry.PullFrom(ctx, repo, opts.Limits)
	if err != nil {
		return Module{}, err
	}
	for _, w := range a.Warnings {
		opts.logger().Warn("plugin image", "url", canon, "warning", w)
	}
	m := Module{Bytes: a.Wasm, Digest: a.WasmDigest().String(), ImageDigest: a.Manifest.Digest.String(), Source: imageSource(r, a.Manifest.Digest)}
	if err := checkOCISum(m, want); err != nil {
		return Module{}, err
	}
	if err := c.store(canon, ref{Module: m.Digest, Image: m.ImageDigest, Source: m.Source}, a.Wasm); err != nil {
		opts.logger().Warn("plugin cache write failed", "url", canon, "error", err)
	}
	opts.logger().Info("plugin pulled", "url", canon, "image", m.ImageDigest, "module", m.Digest, "variant", a.Variant)
	return m, nil
}

// readModule reads a downloaded module: the magic number is checked on the
// first eight bytes and no more than max bytes are read. size is the
// announced length (-1 when unknown).
func readModule(r io.Reader, size, max int64, what string) ([]byte, error) {
	if size > max {
		return nil, &oci.LimitError{What: what, Limit: "module size", Max: max, Size: size}
	}
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty body, not a WebAssembly module", what)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && size < 0 {
			return nil, fmt.Errorf("%s: not a WebAssembly module (fewer than 8 bytes)", what)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := oci.CheckWasmHeader(head[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	hint := size
	if hint <= 0 {
		hint = 64 << 10
	}
	buf := bytes.NewBuffer(make([]byte, 0, hint))
	buf.Write(head[:])
	if _, err := buf.ReadFrom(io.LimitReader(r, max-int64(len(head))+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int64(buf.Len()) > max {
		return nil, &oci.LimitError{What: what, Limit: "module size", Max: max}
	}
	return buf.Bytes(), nil
}

func imageSource(r orasreg.Reference, img digest.Digest) string {
	return "oci://" + r.Registry + "/" + r.Repository + "@" + img.String()
}

func checkOCISum(m Module, want string) error {
	if want == "" || "sha256:"+want == m.ImageDigest || "sha256:"+want == m.Digest {
		return nil
	}
	return &ChecksumError{Source: m.Source, Want: want, Got: strings.TrimPrefix(m.ImageDigest, "sha256:") + " (image), " + strings.TrimPrefix(m.Digest, "sha256:") + " (module)"}
}

// cache is the on-disk module cache:
//
//	DIR/modules/sha256/<hex>       module bytes, by digest
//	DIR/images/sha256/<hex>        image manifest digest -> module digest
//	DIR/refs/<sha256 of url>.json  url -> last fetched {module, image, source}
type cache struct{ dir string }

type ref struct {
	URL    string `json:"url"`
	Module string `json:"module"`
	Image  string `json:"image,omitempty"`
	Source string `json:"source"`
}

func newCache(dir string) *cache { return &cache{dir: dir} }

func (c *cache) modulePath(d string) (string, bool) {
	dg, err := digest.Parse(d)
	if err != nil || dg.Algorithm() != digest.SHA256 {
		return "", false
	}
	return filepath.Join(c.dir, "modules", "sha256", dg.Encoded()), true
}

// module returns a cached module after checking it against its digest, so
// a corrupted cache file is never served.
func (c *cache) module(d string) ([]byte, bool) {
	if c.dir == "" {
		return nil, false
	}
	p, ok := c.modulePath(d)
	if !ok {
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil || "sha256:"+sha256Hex(b) != d {
		return nil, false
	}
	return b, true
}

func (c *cache) lookupImage(img digest.Digest) (string, bool) {
	if c.dir == "" || img.Validate() != nil {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "images", img.Algorithm().String(), img.Encoded()))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func refPath(dir, u string) string {
	return filepath.Join(dir, "refs", sha256Hex([]byte(u))+".json")
}

func (c *cache) lookupRef(u string) (ref, bool) {
	if c.dir == "" {
		return ref{}, false
	}
	b, err := os.ReadFile(refPath(c.dir, u))
	if err != nil {
		return ref{}, false
	}
	var r ref
	if json.Unmarshal(b, &r) != nil || r.URL != u {
		return ref{}, false
	}
	return r, true
}

func (c *cache) storeRef(u string, r ref) error {
	if c.dir == "" {
		return nil
	}
	r.URL = u
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if r.Image != "" {
		img := digest.Digest(r.Image)
		if err := writeAtomic(filepath.Join(c.dir, "images", img.Algorithm().String(), img.Encoded()), []byte(r.Module)); err != nil {
			return err
		}
	}
	return writeAtomic(refPath(c.dir, u), b)
}

func (c *cache) store(u string, r ref, module []byte) error {
	if c.dir == "" {
		return nil
	}
	p, ok := c.modulePath(r.Module)
	if !ok {
		return fmt.Errorf("bad module digest %q", r.Module)
	}
	if err := writeAtomic(p, module); err != nil {
		return err
	}
	return c.storeRef(u, r)
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
