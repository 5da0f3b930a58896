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
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// Format selects the image form Build produces.
type Format string

// Image forms; see the package documentation.
const (
	FormatOCI    Format = "oci"
	FormatDocker Format = "docker"
	FormatWasm   Format = "wasm"
)

// ParseFormat checks a format name given by a user.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatOCI, FormatDocker, FormatWasm:
		return f, nil
	case "":
		return FormatOCI, nil
	}
	return "", fmt.Errorf("unknown image format %q (want oci, docker or wasm)", s)
}

// File is one metadata file of a plugin image.
type File struct {
	// Name is the file's base name, e.g. "spec.yaml" or "README_EN.md".
	Name string
	// MediaType is the layer media type the file is stored with.
	MediaType string
	// Data is the file's content.
	Data []byte
}

// Plugin is what goes into an image: the module and its metadata files.
type Plugin struct {
	// Wasm is the compiled module; it becomes plugin.wasm.
	Wasm []byte
	// Files are the metadata files, stored one per layer in FormatOCI in the
	// order spec.yaml, README.md, README_{lang}.md (by name), icon.png.
	// Build ignores them for the other formats.
	Files []File
}

// Image is a built image held in memory: its manifest descriptor and every
// blob it references. It implements oras.ReadOnlyTarget, so it can be the
// source of oras.Copy.
type Image struct {
	// Manifest describes the image manifest.
	Manifest ocispec.Descriptor
	// Format is the form the image was built in.
	Format Format
	blobs  map[digest.Digest][]byte
}

// Build assembles a plugin image. The result depends only on p and format:
// layer archives use fixed headers and timestamps and no wall-clock value
// enters the manifest, so the same input always gives the same digest.
func Build(p *Plugin, format Format) (*Image, error) {
	if err := CheckWasm(p.Wasm); err != nil {
		return nil, err
	}
	img := &Image{Format: format, blobs: map[digest.Digest][]byte{}}
	var (
		config   ocispec.Descriptor
		layers   []ocispec.Descriptor
		manifest = ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}}
	)
	switch format {
	case FormatOCI, "":
		img.Format = FormatOCI
		manifest.MediaType = MediaTypeOCIManifest
		config = img.add(MediaTypeUnknownConfig, []byte("{}"), nil)
		files := append([]File(nil), p.Files...)
		sort.SliceStable(files, func(i, j int) bool { return fileRank(files[i]) < fileRank(files[j]) })
		seen := map[string]bool{}
		for _, f := range files {
			if seen[f.Name] {
				return nil, fmt.Errorf("build image: metadata file %s given twice", f.Name)
			}
			seen[f.Name] = true
			mt := f.MediaType
			if mt == "" {
				var ok bool
				if mt, ok = MetadataMediaType(f.Name); !ok {
					return nil, fmt.Errorf("build image: %s is not a plugin metadata file (spec.yaml, README.md, README_{lang}.md, icon.png)", f.Name)
				}
			}
			layers = append(layers, img.add(mt, f.Data, map[string]string{AnnotationTitle: f.Name}))
		}
		tgz, _, err := wasmTarGz(p.Wasm)
		if err != nil {
			return nil, err
		}
		layers = append(layers, img.add(MediaTypePluginLayer, tgz, map[string]string{AnnotationTitle: "plugin.tar.gz"}))
	case FormatDocker:
		manifest.MediaType = MediaTypeDockerManifest
		tgz, diffID, err := wasmTarGz(p.Wasm)
		if err != nil {
			return nil, err
		}
		cfg, err := json.Marshal(dockerConfig{
			Architecture: "wasm",
			OS:           "wasip1",
			Config:       struct{}{},
			RootFS:       dockerRootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		})
		if err != nil {
			return nil, fmt.Errorf("build image: docker config: %w", err)
		}
		config = img.add(MediaTypeDockerConfig, cfg, nil)
		layers = append(layers, img.add(MediaTypeDockerLayer, tgz, nil))
	case FormatWasm:
		manifest.MediaType = MediaTypeOCIManifest
		rc := []byte(`{"type":"envoy_proxy"}`)
		config = img.add(MediaTypeWasmConfig, rc, nil)
		layers = append(layers,
			img.add(MediaTypeWasmConfig, rc, map[string]string{AnnotationTitle: "runtime-config.json"}),
			img.add(MediaTypeWasmLayer, p.Wasm, map[string]string{AnnotationTitle: PluginWasm}))
	default:
		return nil, fmt.Errorf("build image: unknown format %q", format)
	}
	manifest.Config = config
	manifest.Layers = layers
	raw, err := json.Marshal(manifest)
	if err != nil {
		return nil, fmt.Errorf("build image: manifest: %w", err)
	}
	img.Manifest = img.add(manifest.MediaType, raw, nil)
	return img, nil
}

// fileRank orders metadata layers: spec, README, translations, icon.
func fileRank(f File) int {
	switch {
	case f.Name == "spec.yaml":
		return 0
	case f.Name == "README.md":
		return 1
	case f.Name == "icon.png":
		return 3
	}
	return 2
}

type dockerConfig struct {
	Architecture string       `json:"architecture"`
	OS           string       `json:"os"`
	Config       struct{}     `json:"config"`
	RootFS       dockerRootFS `json:"rootfs"`
}

type dockerRootFS struct {
	Type    string          `json:"type"`
	DiffIDs []digest.Digest `json:"diff_ids"`
}

func (img *Image) add(mediaType string, data []byte, annotations map[string]string) ocispec.Descriptor {
	d := digest.FromBytes(data)
	img.blobs[d] = data
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data)), Annotations: annotations}
}

// epoch is the modification time written into every archive entry.
var epoch = time.Unix(0, 0).UTC()

// wasmTarGz returns a gzip-compressed tar holding one entry, plugin.wasm,
// and the digest of the uncompressed tar (the Docker diff ID). Headers are
// fixed (mode 0644, owner 0:0, time 0, no names) and gzip carries no name or
// time, so the bytes depend on the module only.
func wasmTarGz(wasm []byte) ([]byte, digest.Digest, error) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     PluginWasm,
		Mode:     0o644,
		Size:     int64(len(wasm)),
		ModTime:  epoch,
		Format:   tar.FormatUSTAR,
	}); err != nil {
		return nil, "", fmt.Errorf("plugin.tar.gz: %w", err)
	}
	if _, err := tw.Write(wasm); err != nil {
		return nil, "", fmt.Errorf("plugin.tar.gz: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, "", fmt.Errorf("plugin.tar.gz: %w", err)
	}
	var gb bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gb, gzip.BestCompression)
	if err != nil {
		return nil, "", fmt.Errorf("plugin.tar.gz: %w", err)
	}
	if _, err := zw.Write(tb.Bytes()); err != nil {
		return nil, "", fmt.Errorf("plugin.tar.gz: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, "", fmt.Errorf("plugin.tar.gz: %w", err)
	}
	return gb.Bytes(), digest.FromBytes(tb.Bytes()), nil
}

// wasmMagic is the first eight bytes of a binary Wasm module, version 1.
var wasmMagic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// CheckWasm reports whether b looks like a binary WebAssembly module (magic
// number and version 1) of an acceptable size.
func CheckWasm(b []byte) error {
	if err := checkWasmHeader(b); err != nil {
		return err
	}
	if len(b) > MaxModuleSize {
		return fmt.Errorf("module is %d bytes, more than the %d-byte limit", len(b), MaxModuleSize)
	}
	return nil
}

// CheckWasmHeader checks the first eight bytes of a module (the \0asm magic
// number and version 1), so a stream can be refused before the rest of it
// is read.
func CheckWasmHeader(head []byte) error { return checkWasmHeader(head) }

func checkWasmHeader(b []byte) error {
	if len(b) < len(wasmMagic) || !bytes.Equal(b[:4], wasmMagic[:4]) {
		return errors.New("not a WebAssembly module (missing \\0asm magic number)")
	}
	if !bytes.Equal(b[4:8], wasmMagic[4:]) {
		return fmt.Errorf("unsupported WebAssembly binary version %x", b[4:8])
	}
	return nil
}

// Blob returns the content of a blob of the image.
func (img *Image) Blob(d digest.Digest) ([]byte, bool) {
	b, ok := img.blobs[d]
	return b, ok
}

// Digests lists the digests of all blobs, sorted.
func (img *Image) Digests() []digest.Digest {
	ds := make([]digest.Digest, 0, len(img.blobs))
	for d := range img.blobs {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds
}

// Fetch implements content.Fetcher.
func (img *Image) Fetch(_ context.Context, target ocispec.Descriptor) (io.ReadCloser, error) {
	b, ok := img.blobs[target.Digest]
	if !ok {
		return nil, fmt.Errorf("%s: %w", target.Digest, errdef.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Exists implements content.ReadOnlyStorage.
func (img *Image) Exists(_ context.Context, target ocispec.Descriptor) (bool, error) {
	_, ok := img.blobs[target.Digest]
	return ok, nil
}

// Resolve implements content.Resolver: any reference other than a digest of
// one of the image's blobs resolves to the manifest, so the image can be
// copied under whatever tag the destination uses.
func (img *Image) Resolve(_ context.Context, reference string) (ocispec.Descriptor, error) {
	if d, err := digest.Parse(reference); err == nil && d != img.Manifest.Digest {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", reference, errdef.ErrNotFound)
	}
	return img.Manifest, nil
}
