package registrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/wasmgate/wasmgate/oci"
)

// Image is an image assembled by hand, layer by layer, for tests that push
// content oci.Build would never produce (hostile titles, bombs). It is an
// oras.ReadOnlyTarget: push it with registry.Push(ctx, img,
// img.Manifest.Digest.String(), ref, opts).
type Image struct {
	// Manifest is set by Finish.
	Manifest ocispec.Descriptor
	blobs    map[digest.Digest][]byte
}

// NewImage starts an empty image.
func NewImage() *Image { return &Image{blobs: map[digest.Digest][]byte{}} }

// Add stores a blob and returns its descriptor, titled when title is not
// empty.
func (m *Image) Add(mediaType string, b []byte, title string) ocispec.Descriptor {
	d := digest.FromBytes(b)
	m.blobs[d] = b
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
	if title != "" {
		desc.Annotations = map[string]string{oci.AnnotationTitle: title}
	}
	return desc
}

// Finish writes the OCI manifest over layers (with an empty config).
func (m *Image) Finish(t testing.TB, layers ...ocispec.Descriptor) *Image {
	t.Helper()
	raw, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: oci.MediaTypeOCIManifest,
		Config:    m.Add(oci.MediaTypeUnknownConfig, []byte("{}"), ""),
		Layers:    layers,
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Manifest = m.Add(oci.MediaTypeOCIManifest, raw, "")
	return m
}

// Fetch implements content.Fetcher.
func (m *Image) Fetch(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	b, ok := m.blobs[d.Digest]
	if !ok {
		return nil, fmt.Errorf("%s: %w", d.Digest, errdef.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Exists implements content.ReadOnlyStorage.
func (m *Image) Exists(_ context.Context, d ocispec.Descriptor) (bool, error) {
	_, ok := m.blobs[d.Digest]
	return ok, nil
}

// Resolve implements content.Resolver: every reference is the manifest.
func (m *Image) Resolve(context.Context, string) (ocispec.Descriptor, error) {
	return m.Manifest, nil
}
