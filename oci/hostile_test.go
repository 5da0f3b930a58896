package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// tarGz builds a gzip-compressed tar; each entry's content comes from a
// reader, so large entries are streamed, never held.
func tarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: e.size}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(tw, e.r, e.size); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

type tarEntry struct {
	name string
	size int64
	r    io.Reader
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// newRawImage starts an image assembled by hand; finish adds its manifest.
func newRawImage() *Image { return &Image{blobs: map[digest.Digest][]byte{}, Format: FormatOCI} }

func (img *Image) finish(t *testing.T, layers ...ocispec.Descriptor) *Image {
	t.Helper()
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: MediaTypeOCIManifest,
		Config:    img.add(MediaTypeUnknownConfig, []byte("{}"), nil),
		Layers:    layers,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	img.Manifest = img.add(MediaTypeOCIManifest, raw, nil)
	return img
}

func TestExtractRefusesHostileMetadataTitles(t *testing.T) {
	wasm := tinyWasm("m")
	for _, title := range []string{"..", ".", "../../etc/cron.d/x", "/etc/passwd", "a/README.md", `..\README.md`} {
		img := newRawImage()
		spec := img.add(MediaTypeSpec, []byte("spec: 1\n"), map[string]string{AnnotationTitle: title})
		tgz, _, err := wasmTarGz(wasm)
		if err != nil {
			t.Fatal(err)
		}
		plugin := img.add(MediaTypePluginLayer, tgz, map[string]string{AnnotationTitle: "plugin.tar.gz"})
		img.finish(t, spec, plugin)
		_, err = Extract(context.Background(), img, img.Manifest)
		if err == nil {
			t.Fatalf("title %q accepted", title)
		}
		if !strings.Contains(err.Error(), `"`+strings.ReplaceAll(title, `\`, `\\`)+`"`) || !strings.Contains(err.Error(), "layer 1") {
			t.Fatalf("title %q: the error does not name it: %v", title, err)
		}
	}
	// Plain names, and a layer without a title, are fine.
	img := newRawImage()
	spec := img.add(MediaTypeSpec, []byte("spec: 1\n"), nil)
	readme := img.add(ReadmeMediaType("EN"), []byte("# x\n"), map[string]string{AnnotationTitle: "README_EN.md"})
	tgz, _, _ := wasmTarGz(wasm)
	img.finish(t, spec, readme, img.add(MediaTypePluginLayer, tgz, nil))
	a, err := Extract(context.Background(), img, img.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Files) != 2 || a.Files[0].Name != "spec.yaml" || a.Files[1].Name != "README_EN.md" {
		t.Fatalf("files: %+v", a.Files)
	}
}

func TestExtractLimits(t *testing.T) {
	wasm := append(tinyWasm("limits"), make([]byte, 1<<20)...) // a valid header, 1 MiB of padding
	ctx := context.Background()
	pluginImage := func(entries ...tarEntry) *Image {
		img := newRawImage()
		return img.finish(t, img.add(MediaTypePluginLayer, tarGz(t, entries...), nil))
	}
	wantLimit := func(t *testing.T, err error, limit string) {
		t.Helper()
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != limit {
			t.Fatalf("want a %s LimitError, got %v", limit, err)
		}
	}

	t.Run("module over the module limit, by its header", func(t *testing.T) {
		img := pluginImage(tarEntry{PluginWasm, int64(len(wasm)), bytes.NewReader(wasm)})
		_, err := ExtractLimited(ctx, img, img.Manifest, Limits{Module: 512 << 10})
		wantLimit(t, err, "module size")
		if !strings.Contains(err.Error(), "plugin.wasm") {
			t.Fatalf("error does not name plugin.wasm: %v", err)
		}
	})
	t.Run("entries before plugin.wasm count against the uncompressed limit", func(t *testing.T) {
		img := pluginImage(tarEntry{"padding", 64 << 20, zeros{}}, tarEntry{PluginWasm, int64(len(wasm)), bytes.NewReader(wasm)})
		_, err := ExtractLimited(ctx, img, img.Manifest, Limits{Uncompressed: 8 << 20})
		wantLimit(t, err, "uncompressed layer size")
	})
	t.Run("compressed layer over the layer limit, before fetching", func(t *testing.T) {
		img := pluginImage(tarEntry{PluginWasm, int64(len(wasm)), bytes.NewReader(wasm)})
		_, err := ExtractLimited(ctx, img, img.Manifest, Limits{Layer: 1024})
		wantLimit(t, err, "layer size")
	})
	t.Run("image total", func(t *testing.T) {
		img := pluginImage(tarEntry{PluginWasm, int64(len(wasm)), bytes.NewReader(wasm)})
		_, err := ExtractLimited(ctx, img, img.Manifest, Limits{Image: 1024})
		wantLimit(t, err, "image size (all blobs together)")
	})
	t.Run("raw module layer", func(t *testing.T) {
		img := newRawImage()
		img.finish(t, img.add(MediaTypeWasmConfig, []byte("{}"), nil), img.add(MediaTypeWasmLayer, wasm, nil))
		_, err := ExtractLimited(ctx, img, img.Manifest, Limits{Module: 4096})
		wantLimit(t, err, "module size")
		if a, err := Extract(ctx, img, img.Manifest); err != nil || !bytes.Equal(a.Wasm, wasm) {
			t.Fatalf("within the default limits: %v", err)
		}
	})
	t.Run("not wasm is refused on the first bytes", func(t *testing.T) {
		img := pluginImage(tarEntry{PluginWasm, 64 << 20, zeros{}})
		_, err := Extract(ctx, img, img.Manifest)
		if err == nil || !strings.Contains(err.Error(), "magic") || !strings.Contains(err.Error(), "plugin.wasm") {
			t.Fatalf("want a magic-number error naming plugin.wasm, got %v", err)
		}
	})
	t.Run("within the limits", func(t *testing.T) {
		img := pluginImage(tarEntry{"README", 10, strings.NewReader("0123456789")}, tarEntry{PluginWasm, int64(len(wasm)), bytes.NewReader(wasm)})
		a, err := ExtractLimited(ctx, img, img.Manifest, Limits{Module: 2 << 20, Uncompressed: 3 << 20})
		if err != nil || !bytes.Equal(a.Wasm, wasm) {
			t.Fatalf("%v", err)
		}
	})
}

func TestCheckFileName(t *testing.T) {
	for _, ok := range []string{"spec.yaml", "README_ZH.md", "icon.png", "..x", "a..b"} {
		if err := CheckFileName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "/x", "C:x", "a\x00b"} {
		if err := CheckFileName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "8Mi": 8 << 20, "8MiB": 8 << 20, "1G": 1 << 30, "2kB": 2000, "3 MB": 3000000} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Mi", "8Xi", "-1"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
