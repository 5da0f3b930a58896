package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// Variant names the form an extracted image had.
type Variant string

// Image variants a gateway accepts, in the order they are tried.
const (
	// VariantDocker: a Docker v2 manifest whose last layer is a
	// rootfs.diff.tar.gzip holding plugin.wasm.
	VariantDocker Variant = "docker"
	// VariantOCI: an OCI manifest whose last layer is a
	// image.layer.v1.tar+gzip holding plugin.wasm (the Higress plugin image).
	VariantOCI Variant = "oci"
	// VariantWasm: a manifest with a raw module layer.
	VariantWasm Variant = "wasm"
)

// Artifact is a plugin read out of an image.
type Artifact struct {
	// Manifest describes the image manifest the module was read from (for an
	// index, the selected platform manifest).
	Manifest ocispec.Descriptor
	// Variant is the form the image had.
	Variant Variant
	// Wasm is the module.
	Wasm []byte
	// Files are the image's metadata layers (spec.yaml, README*.md,
	// icon.png) in manifest order.
	Files []File
	// Warnings lists ways the image departs from what Higress gateways
	// accept, when the module could still be read.
	Warnings []string
}

// WasmDigest returns the sha256 digest of the module.
func (a *Artifact) WasmDigest() digest.Digest { return digest.FromBytes(a.Wasm) }

// File returns the metadata file with the given name.
func (a *Artifact) File(name string) (File, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

// maxMetadataSize bounds manifests, configs and metadata layers.
const maxMetadataSize = 16 << 20

// DigestError reports a blob whose content does not match its descriptor:
// the image was altered after it was pushed, or the transfer was corrupted.
type DigestError struct {
	// What names the blob ("manifest", "layer 3 (plugin.tar.gz)", …).
	What string
	// Want is the digest the descriptor promised.
	Want digest.Digest
	// Err is the underlying verification error.
	Err error
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s %s failed verification: %v (content does not match its digest; the image was altered or corrupted)", e.What, e.Want, e.Err)
}

func (e *DigestError) Unwrap() error { return e.Err }

// fetchVerified reads a blob in full, checking size and digest.
func fetchVerified(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor, what string, limit int64) ([]byte, error) {
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("%s %s: size %d is over the %d-byte limit", what, desc.Digest, desc.Size, limit)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%s: bad digest %q: %w", what, desc.Digest, err)
	}
	b, err := content.FetchAll(ctx, src, desc)
	if err != nil {
		if errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrInvalidDescriptorSize) || errors.Is(err, content.ErrTrailingData) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &DigestError{What: what, Want: desc.Digest, Err: err}
		}
		return nil, fmt.Errorf("fetch %s %s: %w", what, desc.Digest, err)
	}
	return b, nil
}

type manifestOrIndex struct {
	MediaType string               `json:"mediaType"`
	Config    ocispec.Descriptor   `json:"config"`
	Layers    []ocispec.Descriptor `json:"layers"`
	Manifests []ocispec.Descriptor `json:"manifests"`
}

// Extract reads the module (and metadata files) out of the image whose
// manifest (or index) src serves under desc. Every blob read is checked
// against its descriptor's size and digest; a mismatch gives a *DigestError.
//
// The variants are tried in the order a Higress gateway tries them: a Docker
// manifest must have plugin.wasm in its last layer, a rootfs.diff.tar.gzip;
// otherwise the last layer must be an OCI tar+gzip layer holding plugin.wasm;
// otherwise a raw module layer is used. When none applies, the error lists
// why each variant was rejected.
func Extract(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor) (*Artifact, error) {
	for depth := 0; ; depth++ {
		raw, err := fetchVerified(ctx, src, desc, "manifest", maxMetadataSize)
		if err != nil {
			return nil, err
		}
		var m manifestOrIndex
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
		mt := desc.MediaType
		if mt == "" {
			mt = m.MediaType
		}
		if mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList || (mt == "" && len(m.Manifests) > 0) {
			if depth > 0 {
				return nil, fmt.Errorf("index %s: nested indexes are not supported", desc.Digest)
			}
			next, err := selectManifest(m.Manifests)
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", desc.Digest, err)
			}
			desc = next
			continue
		}
		m.MediaType = mt
		return extractManifest(ctx, src, desc, m)
	}
}

// selectManifest picks an image from an index: the only one, else the first
// for wasip1/wasm, else the first for linux/amd64 (the platform a gateway
// pulling by default would get).
func selectManifest(ms []ocispec.Descriptor) (ocispec.Descriptor, error) {
	if len(ms) == 0 {
		return ocispec.Descriptor{}, errors.New("no manifests")
	}
	if len(ms) == 1 {
		return ms[0], nil
	}
	for _, want := range []ocispec.Platform{{OS: "wasip1", Architecture: "wasm"}, {OS: "linux", Architecture: "amd64"}} {
		for _, m := range ms {
			if m.Platform != nil && m.Platform.OS == want.OS && m.Platform.Architecture == want.Architecture {
				return m, nil
			}
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%d manifests and none for wasip1/wasm or linux/amd64", len(ms))
}

func layerName(i int, l ocispec.Descriptor) string {
	if t := l.Annotations[AnnotationTitle]; t != "" {
		return fmt.Sprintf("layer %d (%s)", i+1, t)
	}
	return fmt.Sprintf("layer %d", i+1)
}

func extractManifest(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor, m manifestOrIndex) (*Artifact, error) {
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("image %s has no layers", desc.Digest)
	}
	desc.MediaType = m.MediaType
	a := &Artifact{Manifest: desc}
	last := len(m.Layers) - 1
	lastLayer := m.Layers[last]
	var reasons []string

	if m.MediaType == MediaTypeDockerManifest {
		if lastLayer.MediaType != MediaTypeDockerLayer {
			return nil, fmt.Errorf("docker image %s: last layer has media type %s, want %s", desc.Digest, lastLayer.MediaType, MediaTypeDockerLayer)
		}
		wasm, err := wasmFromTarGz(ctx, src, lastLayer, layerName(last, lastLayer))
		if err != nil {
			return nil, fmt.Errorf("docker image %s: %w", desc.Digest, err)
		}
		a.Variant, a.Wasm = VariantDocker, wasm
		return a, nil
	}

	if lastLayer.MediaType == MediaTypePluginLayer {
		wasm, err := wasmFromTarGz(ctx, src, lastLayer, layerName(last, lastLayer))
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		a.Variant, a.Wasm = VariantOCI, wasm
		if err := a.readMetadata(ctx, src, m.Layers[:last]); err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		return a, nil
	}
	reasons = append(reasons, fmt.Sprintf("not a Higress plugin image: last layer has media type %s, want %s", lastLayer.MediaType, MediaTypePluginLayer))

	for i, l := range m.Layers {
		if l.MediaType != MediaTypeWasmLayer {
			continue
		}
		wasm, err := fetchVerified(ctx, src, l, layerName(i, l), MaxModuleSize)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		if err := CheckWasm(wasm); err != nil {
			return nil, fmt.Errorf("image %s: %s: %w", desc.Digest, layerName(i, l), err)
		}
		a.Variant, a.Wasm = VariantWasm, wasm
		if len(m.Layers) != 2 {
			a.Warnings = append(a.Warnings, fmt.Sprintf("raw module image has %d layers; Higress gateways accept this form only with exactly 2 (runtime config and module)", len(m.Layers)))
		}
		if err := a.readMetadata(ctx, src, m.Layers); err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		return a, nil
	}
	reasons = append(reasons, fmt.Sprintf("not a raw module image: no layer has media type %s", MediaTypeWasmLayer))
	return nil, fmt.Errorf("image %s is not a Wasm plugin image: %s", desc.Digest, strings.Join(reasons, "; "))
}

// readMetadata collects the spec, README and icon layers.
func (a *Artifact) readMetadata(ctx context.Context, src content.Fetcher, layers []ocispec.Descriptor) error {
	for i, l := range layers {
		name, ok := metadataName(l.MediaType)
		if !ok {
			continue
		}
		if t := path.Base(l.Annotations[AnnotationTitle]); l.Annotations[AnnotationTitle] != "" && t != "." && t != "/" {
			name = t
		}
		b, err := fetchVerified(ctx, src, l, layerName(i, l), maxMetadataSize)
		if err != nil {
			return err
		}
		a.Files = append(a.Files, File{Name: name, MediaType: l.MediaType, Data: b})
	}
	return nil
}

// wasmFromTarGz reads plugin.wasm out of a tar.gz layer: the first regular
// entry whose base name is plugin.wasm.
func wasmFromTarGz(ctx context.Context, src content.Fetcher, l ocispec.Descriptor, what string) ([]byte, error) {
	b, err := fetchVerified(ctx, src, l, what, MaxModuleSize)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: not gzip: %w", what, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no %s in the archive", what, PluginWasm)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: bad tar: %w", what, err)
		}
		if h.Typeflag != tar.TypeReg || path.Base(h.Name) != PluginWasm {
			continue
		}
		if h.Size > MaxModuleSize {
			return nil, fmt.Errorf("%s: %s is %d bytes, over the %d-byte limit", what, PluginWasm, h.Size, MaxModuleSize)
		}
		wasm, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: read %s: %w", what, PluginWasm, err)
		}
		if err := CheckWasm(wasm); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, PluginWasm, err)
		}
		return wasm, nil
	}
}
