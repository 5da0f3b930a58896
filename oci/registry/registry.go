// Package registry pushes plugin images to, and pulls them from, OCI
// registries with oras-go: credentials from the Docker config file, HTTPS
// with a plain-HTTP fallback for loopback registries (or when asked), and
// digest verification of everything pulled.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	oras "oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	orasreg "oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/wasmgate/wasmgate/oci"
)

// Options configures access to a registry.
type Options struct {
	// PlainHTTP talks plain HTTP instead of HTTPS.
	PlainHTTP bool
	// HTTPFallback retries over plain HTTP when HTTPS fails below the HTTP
	// level (connection or TLS errors), for any host. Loopback hosts
	// (localhost, 127.0.0.0/8, ::1) always get this fallback.
	HTTPFallback bool
	// DockerConfig is the path of a Docker config.json holding credentials.
	// Empty means $DOCKER_CONFIG/config.json, else ~/.docker/config.json; a
	// missing default file means anonymous access, a missing explicit one is
	// an error.
	DockerConfig string
	// HTTPClient is the client requests go through; nil means one that
	// retries on 5xx and 429 answers.
	HTTPClient *http.Client
	// Logger receives debug logs; nil means slog.Default().
	Logger *slog.Logger
	// Limits bound what Pull reads from an image (see oci.Limits); zero
	// fields take oci.DefaultLimits.
	Limits oci.Limits
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// ParseReference parses an image reference "host[:port]/repo[:tag|@digest]",
// with or without an oci:// prefix. The registry host is required.
func ParseReference(ref string) (orasreg.Reference, error) {
	r, err := orasreg.ParseReference(strings.TrimPrefix(ref, "oci://"))
	if err != nil {
		return orasreg.Reference{}, fmt.Errorf("image reference %q: %w (want HOST[:PORT]/REPOSITORY[:TAG|@DIGEST])", ref, err)
	}
	return r, nil
}

// IsLoopback reports whether a registry host[:port] is on this machine.
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Open returns a repository client for ref with credentials and transport
// set up. When plain HTTP may be needed (loopback hosts or
// opts.HTTPFallback) and opts.PlainHTTP is off, Open pings the registry over
// HTTPS and switches to plain HTTP if HTTPS fails below the HTTP level.
func Open(ctx context.Context, ref string, opts Options) (*remote.Repository, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	repo, err := remote.NewRepository(r.Registry + "/" + r.Repository)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	repo.Reference = r
	store, err := credentialStore(opts.DockerConfig)
	if err != nil {
		return nil, err
	}
	base := opts.HTTPClient
	if base == nil {
		base = retry.DefaultClient
	}
	repo.Client = &auth.Client{
		Client:     base,
		Cache:      auth.NewCache(),
		Credential: credentials.Credential(store),
		Header:     http.Header{"User-Agent": {"wasmgate"}},
	}
	repo.PlainHTTP = opts.PlainHTTP
	if !opts.PlainHTTP && (opts.HTTPFallback || IsLoopback(r.Registry)) {
		repo.PlainHTTP, err = choosePlainHTTP(ctx, base, repo.Reference, opts.logger())
		if err != nil {
			return nil, err
		}
	}
	return repo, nil
}

// choosePlainHTTP pings over HTTPS, then over plain HTTP if HTTPS failed
// below the HTTP level. The ping carries no credentials: any HTTP answer
// (401 included) settles the scheme.
func choosePlainHTTP(ctx context.Context, client *http.Client, ref orasreg.Reference, log *slog.Logger) (bool, error) {
	ping := func(plain bool) error {
		reg := &remote.Registry{RepositoryOptions: remote.RepositoryOptions{
			Client:    client,
			Reference: ref,
			PlainHTTP: plain,
		}}
		return reg.Ping(ctx)
	}
	httpsErr := ping(false)
	if httpsErr == nil || isHTTPAnswer(httpsErr) {
		return false, nil
	}
	httpErr := ping(true)
	if httpErr == nil || isHTTPAnswer(httpErr) {
		log.Debug("registry: using plain HTTP", "registry", ref.Registry, "https_error", httpsErr)
		return true, nil
	}
	return false, fmt.Errorf("registry %s unreachable: https: %v; plain http: %w", ref.Registry, httpsErr, httpErr)
}

// authHint adds what to do to authentication failures.
func authHint(err error, host string) error {
	var er *errcode.ErrorResponse
	switch {
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return fmt.Errorf("%w: registry %s requires credentials and the Docker config has none for it (docker login %s, or name a config file)", err, host, host)
	case errors.As(err, &er) && er.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: registry %s refused the credentials (401)", err, host)
	}
	return err
}

func isHTTPAnswer(err error) bool {
	var er *errcode.ErrorResponse
	return errors.As(err, &er)
}

func credentialStore(path string) (credentials.Store, error) {
	if path == "" {
		s, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
		if err != nil {
			return nil, fmt.Errorf("docker config: %w", err)
		}
		return s, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	s, err := credentials.NewStore(path, credentials.StoreOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker config %s: %w", path, err)
	}
	return s, nil
}

// Push copies the image src serves under srcRef (a tag or digest) to ref.
// ref must name a tag, or a digest equal to the image's. It returns the
// pushed manifest's descriptor.
func Push(ctx context.Context, src oras.ReadOnlyTarget, srcRef, ref string, opts Options) (ocispec.Descriptor, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if r.Reference == "" {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: name a tag (REPOSITORY:TAG)", ref)
	}
	repo, err := Open(ctx, ref, opts)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: %w", ref, err)
	}
	desc, err := oras.Copy(ctx, src, srcRef, repo, r.Reference, oras.DefaultCopyOptions)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: %w", ref, authHint(err, r.Registry))
	}
	if d, derr := r.Digest(); derr == nil && d != desc.Digest {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: the image's digest is %s", ref, desc.Digest)
	}
	opts.logger().Debug("pushed", "ref", ref, "digest", desc.Digest)
	return desc, nil
}

// Resolve returns the manifest descriptor ref names (a tag or a digest)
// without downloading the image.
func Resolve(ctx context.Context, repo *remote.Repository) (ocispec.Descriptor, error) {
	ref := repo.Reference.Reference
	if ref == "" {
		ref = "latest"
	}
	desc, err := repo.Resolve(ctx, ref)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("resolve %s: %w", repo.Reference, authHint(err, repo.Reference.Registry))
	}
	return desc, nil
}

// Pull downloads the image ref names and extracts the plugin from it,
// accepting the variants Higress gateways accept (see oci.Extract). Every
// blob is verified against its digest; a mismatch gives an *oci.DigestError.
func Pull(ctx context.Context, ref string, opts Options) (*oci.Artifact, error) {
	repo, err := Open(ctx, ref, opts)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return PullFrom(ctx, repo, opts.Limits)
}

// PullFrom is Pull on an opened repository, within lim.
func PullFrom(ctx context.Context, repo *remote.Repository, lim oci.Limits) (*oci.Artifact, error) {
	desc, err := Resolve(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	// A digest reference pins the manifest: the manifest's content is
	// verified against the digest the user gave, not one the registry chose.
	if d, derr := repo.Reference.Digest(); derr == nil && d != desc.Digest {
		return nil, fmt.Errorf("pull %s: registry resolved it to %s", repo.Reference, desc.Digest)
	}
	a, err := oci.ExtractLimited(ctx, fetcher{repo}, desc, lim)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", repo.Reference, authHint(err, repo.Reference.Registry))
	}
	return a, nil
}

// fetcher reads manifests through the manifest endpoint and everything
// else through the blob endpoint (config and layer descriptors of Docker
// images carry no hint for remote.Repository to tell them apart).
type fetcher struct{ repo *remote.Repository }

func (f fetcher) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	switch desc.MediaType {
	case oci.MediaTypeOCIManifest, oci.MediaTypeOCIIndex, oci.MediaTypeDockerManifest, oci.MediaTypeDockerManifestList:
		return f.repo.Manifests().Fetch(ctx, desc)
	}
	return f.repo.Blobs().Fetch(ctx, desc)
}

var _ content.Fetcher = fetcher{}
