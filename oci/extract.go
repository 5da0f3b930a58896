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

// maxMetadataSize is the default bound of manifests and metadata files.
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

// extractor reads one image within its limits.
type extractor struct {
	src content.Fetcher
	b   budget
}

// blob is a blob being streamed: reads are checked against the
// descriptor's size, and finish verifies the digest.
type blob struct {
	rc   io.ReadCloser
	vr   *content.VerifyReader
	desc ocispec.Descriptor
	what string
}

// open starts streaming a blob after checking its declared size against
// max (the limit named limit) and the image total.
func (x *extractor) open(ctx context.Context, desc ocispec.Descriptor, what string, max int64, limit string) (*blob, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%s: bad digest %q: %w", what, desc.Digest, err)
	}
	if err := x.b.claim(what, desc.Size, max, limit); err != nil {
		return nil, err
	}
	rc, err := x.src.Fetch(ctx, desc)
	if err != nil {
		return nil, fmt.Errorf("fetch %s %s: %w", what, desc.Digest, err)
	}
	return &blob{rc: rc, vr: content.NewVerifyReader(rc, desc), desc: desc, what: what}, nil
}

// Read reads the blob; content shorter than declared is a *DigestError.
func (b *blob) Read(p []byte) (int, error) {
	n, err := b.vr.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = &DigestError{What: b.what, Want: b.desc.Digest, Err: err}
	}
	return n, err
}

// finish reads what is left of the blob (at most its declared size, which
// its limit has bounded), verifies it against its digest and closes it.
func (b *blob) finish() error {
	defer b.rc.Close()
	if _, err := io.Copy(io.Discard, b); err != nil {
		var de *DigestError
		if errors.As(err, &de) {
			return err
		}
		return fmt.Errorf("read %s %s: %w", b.what, b.desc.Digest, err)
	}
	if err := b.vr.Verify(); err != nil {
		return &DigestError{What: b.what, Want: b.desc.Digest, Err: err}
	}
	return nil
}

// fail closes a blob whose content was refused. A refusal of the format
// (not gzip, not Wasm, a bad archive) may come from a corrupted transfer:
// the rest is read and verified, and a digest mismatch is reported instead,
// as it is the better explanation. Limit and transport errors stand.
func (b *blob) fail(err error) error {
	var le *LimitError
	var de *DigestError
	if errors.As(err, &le) || errors.As(err, &de) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		b.rc.Close()
		return err
	}
	if verr := b.finish(); errors.As(verr, &de) {
		return verr
	}
	return err
}

// readAll reads a small blob (a manifest, a metadata file) in full.
func (x *extractor) readAll(ctx context.Context, desc ocispec.Descriptor, what string, max int64, limit string) ([]byte, error) {
	b, err := x.open(ctx, desc, what, max, limit)
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(desc.Size, 64<<10)))
	if _, err := buf.ReadFrom(b); err != nil {
		return nil, b.fail(err)
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readModule reads a module from r: the Wasm magic and version are checked
// on the first eight bytes, before anything else is read, and no more than
// max bytes are taken. size, when positive, is the size r announced.
func readModule(r io.Reader, size, max int64, what string) ([]byte, error) {
	if size > max {
		return nil, &LimitError{What: what, Limit: "module size", Max: max, Size: size}
	}
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			var de *DigestError
			if errors.As(err, &de) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: not a WebAssembly module (%d bytes)", what, size)
		}
		return nil, err
	}
	if err := checkWasmHeader(head[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	hint := size
	if hint <= 0 {
		hint = 64 << 10
	}
	buf := bytes.NewBuffer(make([]byte, 0, hint))
	buf.Write(head[:])
	if _, err := buf.ReadFrom(io.LimitReader(r, max-int64(len(head))+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > max {
		return nil, &LimitError{What: what, Limit: "module size", Max: max}
	}
	return buf.Bytes(), nil
}

type manifestOrIndex struct {
	MediaType string               `json:"mediaType"`
	Config    ocispec.Descriptor   `json:"config"`
	Layers    []ocispec.Descriptor `json:"layers"`
	Manifests []ocispec.Descriptor `json:"manifests"`
}

// Extract reads the module (and metadata files) out of the image whose
// manifest (or index) src serves under desc, within DefaultLimits; see
// ExtractLimited.
func Extract(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor) (*Artifact, error) {
	return ExtractLimited(ctx, src, desc, Limits{})
}

// ExtractLimited reads the module (and metadata files) out of the image
// whose manifest (or index) src serves under desc. Every blob is streamed
// and checked against its descriptor's size and digest; a mismatch gives a
// *DigestError. Sizes are checked against lim as the blobs stream in (zero
// fields take DefaultLimits); going over gives a *LimitError, and memory
// stays bounded by the module plus a small constant.
//
// The variants are tried in the order a Higress gateway tries them: a Docker
// manifest must have plugin.wasm in its last layer, a rootfs.diff.tar.gzip;
// otherwise the last layer must be an OCI tar+gzip layer holding plugin.wasm;
// otherwise a raw module layer is used. When none applies, the error lists
// why each variant was rejected. Metadata file names (layer titles) must be
// plain file names; see CheckFileName.
func ExtractLimited(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor, lim Limits) (*Artifact, error) {
	x := &extractor{src: src, b: budget{lim: lim.WithDefaults()}}
	for depth := 0; ; depth++ {
		raw, err := x.readAll(ctx, desc, "manifest", maxMetadataSize, "manifest size")
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
		return x.extractManifest(ctx, desc, m)
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

func (x *extractor) extractManifest(ctx context.Context, desc ocispec.Descriptor, m manifestOrIndex) (*Artifact, error) {
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
		wasm, err := x.wasmFromTarGz(ctx, lastLayer, layerName(last, lastLayer))
		if err != nil {
			return nil, fmt.Errorf("docker image %s: %w", desc.Digest, err)
		}
		a.Variant, a.Wasm = VariantDocker, wasm
		return a, nil
	}

	if lastLayer.MediaType == MediaTypePluginLayer {
		if err := checkMetadataNames(m.Layers[:last]); err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		wasm, err := x.wasmFromTarGz(ctx, lastLayer, layerName(last, lastLayer))
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		a.Variant, a.Wasm = VariantOCI, wasm
		if err := x.readMetadata(ctx, a, m.Layers[:last]); err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		return a, nil
	}
	reasons = append(reasons, fmt.Sprintf("not a Higress plugin image: last layer has media type %s, want %s", lastLayer.MediaType, MediaTypePluginLayer))

	for i, l := range m.Layers {
		if l.MediaType != MediaTypeWasmLayer {
			continue
		}
		if err := checkMetadataNames(m.Layers); err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		wasm, err := x.rawModule(ctx, l, layerName(i, l))
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		a.Variant, a.Wasm = VariantWasm, wasm
		if len(m.Layers) != 2 {
			a.Warnings = append(a.Warnings, fmt.Sprintf("raw module image has %d layers; Higress gateways accept this form only with exactly 2 (runtime config and module)", len(m.Layers)))
		}
		if err := x.readMetadata(ctx, a, m.Layers); err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		return a, nil
	}
	reasons = append(reasons, fmt.Sprintf("not a raw module image: no layer has media type %s", MediaTypeWasmLayer))
	return nil, fmt.Errorf("image %s is not a Wasm plugin image: %s", desc.Digest, strings.Join(reasons, "; "))
}

// metadataFileName is the file a metadata layer holds: its title, or the
// name its media type implies. ok is false for layers that are not
// metadata.
func metadataFileName(l ocispec.Descriptor) (name string, ok bool, err error) {
	name, ok = metadataName(l.MediaType)
	if !ok {
		return "", false, nil
	}
	if t := l.Annotations[AnnotationTitle]; t != "" {
		if err := CheckFileName(t); err != nil {
			return "", true, fmt.Errorf("metadata layer titled %q: %w; refusing the image", t, err)
		}
		name = t
	}
	return name, true, nil
}

// checkMetadataNames refuses an image with a metadata layer whose title is
// not a plain file name, before any layer is downloaded.
func checkMetadataNames(layers []ocispec.Descriptor) error {
	for i, l := range layers {
		if _, _, err := metadataFileName(l); err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	return nil
}

// readMetadata collects the spec, README and icon layers.
func (x *extractor) readMetadata(ctx context.Context, a *Artifact, layers []ocispec.Descriptor) error {
	for i, l := range layers {
		name, ok, err := metadataFileName(l)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		if !ok {
			continue
		}
		b, err := x.readAll(ctx, l, layerName(i, l), min(x.b.lim.Metadata, x.b.lim.Layer), "metadata file size")
		if err != nil {
			return err
		}
		x.b.extracted += int64(len(b))
		if x.b.extracted > x.b.lim.UncompressedImage {
			return &LimitError{What: layerName(i, l), Limit: "uncompressed image size", Max: x.b.lim.UncompressedImage}
		}
		a.Files = append(a.Files, File{Name: name, MediaType: l.MediaType, Data: b})
	}
	return nil
}

// rawModule reads a raw module layer.
func (x *extractor) rawModule(ctx context.Context, l ocispec.Descriptor, what string) ([]byte, error) {
	b, err := x.open(ctx, l, what, x.b.lim.Layer, "layer size")
	if err != nil {
		return nil, err
	}
	wasm, err := readModule(b, l.Size, x.b.lim.Module, what)
	if err != nil {
		return nil, b.fail(err)
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	x.b.extracted += int64(len(wasm))
	if x.b.extracted > x.b.lim.UncompressedImage {
		return nil, &LimitError{What: what, Limit: "uncompressed image size", Max: x.b.lim.UncompressedImage}
	}
	return wasm, nil
}

// wasmFromTarGz reads plugin.wasm out of a tar.gz layer: the first regular
// entry whose base name is plugin.wasm. The layer streams through the
// decompressor; entries before plugin.wasm are skipped but counted against
// the uncompressed limits, and plugin.wasm's magic is checked on its first
// bytes.
func (x *extractor) wasmFromTarGz(ctx context.Context, l ocispec.Descriptor, what string) ([]byte, error) {
	b, err := x.open(ctx, l, what, x.b.lim.Layer, "layer size")
	if err != nil {
		return nil, err
	}
	wasm, err := x.untarModule(b, what)
	if err != nil {
		return nil, b.fail(err)
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	return wasm, nil
}

func (x *extractor) untarModule(r io.Reader, what string) ([]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not gzip: %w", what, err)
	}
	tr := tar.NewReader(&countReader{r: zr, b: &x.b, what: what})
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no %s in the archive", what, PluginWasm)
		}
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: bad tar: %w", what, err)
		}
		if h.Typeflag != tar.TypeReg || path.Base(h.Name) != PluginWasm {
			continue
		}
		wasm, err := readModule(tr, h.Size, x.b.lim.Module, what+": "+PluginWasm)
		if err != nil {
			var le *LimitError
			if !errors.As(err, &le) && !strings.Contains(err.Error(), PluginWasm) {
				err = fmt.Errorf("%s: read %s: %w", what, PluginWasm, err)
			}
			return nil, err
		}
		return wasm, nil
	}
}
