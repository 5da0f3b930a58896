package oci

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	orasoci "oras.land/oras-go/v2/content/oci"
)

// AnnotationRefName carries the tag of a manifest in an OCI layout's
// index.json.
const AnnotationRefName = "org.opencontainers.image.ref.name"

const layoutFileContent = `{"imageLayoutVersion":"1.0.0"}`

func (img *Image) indexJSON(tag string) ([]byte, error) {
	m := img.Manifest
	if tag != "" {
		m.Annotations = map[string]string{AnnotationRefName: tag}
	}
	idx := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: MediaTypeOCIIndex,
		Manifests: []ocispec.Descriptor{m},
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	return b, nil
}

// WriteLayout writes the image as an OCI image layout directory, tagged tag
// (no tag if empty). dir must not exist, be empty, or already be an OCI
// layout; in the last case its index.json is replaced so that it lists this
// image only, and blobs already there are kept.
func (img *Image) WriteLayout(dir, tag string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("write layout: %w", err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, ocispec.ImageLayoutFile)); err != nil {
			return fmt.Errorf("write layout: %s is neither empty nor an OCI image layout", dir)
		}
	}
	blobDir := filepath.Join(dir, ocispec.ImageBlobsDir, "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	for _, d := range img.Digests() {
		if err := writeFileAtomic(filepath.Join(blobDir, d.Encoded()), img.blobs[d]); err != nil {
			return fmt.Errorf("write layout: %w", err)
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, ocispec.ImageLayoutFile), []byte(layoutFileContent)); err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	idx, err := img.indexJSON(tag)
	if err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ocispec.ImageIndexFile), idx); err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	return nil
}

// WriteLayoutTar writes the image as a tar archive of an OCI image layout,
// tagged tag (no tag if empty). Entries are sorted and carry fixed headers,
// so the archive's bytes depend on the image and tag only.
func (img *Image) WriteLayoutTar(w io.Writer, tag string) error {
	tw := tar.NewWriter(w)
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Format: tar.FormatUSTAR})
	}
	file := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	idx, err := img.indexJSON(tag)
	if err != nil {
		return fmt.Errorf("write layout tar: %w", err)
	}
	steps := []func() error{
		func() error { return dir(ocispec.ImageBlobsDir + "/") },
		func() error { return dir(ocispec.ImageBlobsDir + "/sha256/") },
	}
	for _, d := range img.Digests() {
		d := d
		steps = append(steps, func() error { return file(ocispec.ImageBlobsDir+"/sha256/"+d.Encoded(), img.blobs[d]) })
	}
	steps = append(steps,
		func() error { return file(ocispec.ImageIndexFile, idx) },
		func() error { return file(ocispec.ImageLayoutFile, []byte(layoutFileContent)) },
		tw.Close,
	)
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("write layout tar: %w", err)
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
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
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Layout is an opened OCI image layout (a directory or a tar file).
type Layout struct {
	// Store reads the layout's blobs and resolves its tags; it can be the
	// source of oras.Copy.
	Store *orasoci.ReadOnlyStore
	// Manifest is the selected image.
	Manifest ocispec.Descriptor
	// Tag is the selected image's tag in index.json, if it has one.
	Tag string
}

// IsLayout reports whether path is an OCI image layout directory or a tar
// file holding one.
func IsLayout(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if st.IsDir() {
		_, err := os.Stat(filepath.Join(path, ocispec.ImageLayoutFile))
		return err == nil
	}
	_, err = readTarMember(path, ocispec.ImageLayoutFile)
	return err == nil
}

// OpenLayout opens an OCI image layout directory or tar file and selects one
// image: the one tagged tag if tag is not empty, else the only image in
// index.json.
func OpenLayout(ctx context.Context, path, tag string) (*Layout, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open layout: %w", err)
	}
	var (
		store  *orasoci.ReadOnlyStore
		rawIdx []byte
	)
	if st.IsDir() {
		if store, err = orasoci.NewFromFS(ctx, os.DirFS(path)); err != nil {
			return nil, fmt.Errorf("open layout %s: %w", path, err)
		}
		if rawIdx, err = os.ReadFile(filepath.Join(path, ocispec.ImageIndexFile)); err != nil {
			return nil, fmt.Errorf("open layout: %w", err)
		}
	} else {
		if store, err = orasoci.NewFromTar(ctx, path); err != nil {
			return nil, fmt.Errorf("open layout %s: %w", path, err)
		}
		if rawIdx, err = readTarMember(path, ocispec.ImageIndexFile); err != nil {
			return nil, fmt.Errorf("open layout %s: %w", path, err)
		}
	}
	var idx ocispec.Index
	if err := json.Unmarshal(rawIdx, &idx); err != nil {
		return nil, fmt.Errorf("open layout %s: index.json: %w", path, err)
	}
	l := &Layout{Store: store}
	switch {
	case tag != "":
		for _, m := range idx.Manifests {
			if m.Annotations[AnnotationRefName] == tag {
				l.Manifest, l.Tag = m, tag
			}
		}
		if l.Manifest.Digest == "" {
			return nil, fmt.Errorf("open layout %s: no image tagged %q", path, tag)
		}
	case len(idx.Manifests) == 1:
		l.Manifest = idx.Manifests[0]
		l.Tag = l.Manifest.Annotations[AnnotationRefName]
	case len(idx.Manifests) == 0:
		return nil, fmt.Errorf("open layout %s: index.json lists no image", path)
	default:
		var tags []string
		for _, m := range idx.Manifests {
			tags = append(tags, m.Annotations[AnnotationRefName])
		}
		return nil, fmt.Errorf("open layout %s: %d images (tags %s); name one", path, len(idx.Manifests), strings.Join(tags, ", "))
	}
	return l, nil
}

func readTarMember(path, name string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s not found in %s", name, path)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			return io.ReadAll(io.LimitReader(tr, 16<<20))
		}
	}
}
