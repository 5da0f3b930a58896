package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// tinyWasm is a valid empty module with one custom section carrying payload,
// so tests can make distinct modules.
func tinyWasm(payload string) []byte {
	name := "wasmgate"
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, payload...)
	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, 0x00, byte(len(body))}
	return append(b, body...)
}

func testPlugin() *Plugin {
	return &Plugin{
		Wasm: tinyWasm("v1"),
		Files: []File{
			{Name: "icon.png", Data: []byte("\x89PNG fake icon")},
			{Name: "README_EN.md", Data: []byte("# demo\n")},
			{Name: "README.md", Data: []byte("# 演示\n")},
			{Name: "spec.yaml", Data: []byte("apiVersion: 1.0.0\n")},
		},
	}
}

func TestBuildOCILayersAndMediaTypes(t *testing.T) {
	img, err := Build(testPlugin(), FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Extract(context.Background(), img, img.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if a.Variant != VariantOCI || !bytes.Equal(a.Wasm, tinyWasm("v1")) {
		t.Fatalf("variant %s, wasm %q", a.Variant, a.Wasm)
	}
	var got []string
	for _, f := range a.Files {
		got = append(got, f.Name+"="+f.MediaType)
	}
	want := []string{
		"spec.yaml=" + MediaTypeSpec,
		"README.md=" + MediaTypeReadme,
		"README_EN.md=application/vnd.module.wasm.doc.v1.EN+markdown",
		"icon.png=" + MediaTypeIcon,
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("metadata layers\n got %v\nwant %v", got, want)
	}
	raw, _ := img.Blob(img.Manifest.Digest)
	if !strings.Contains(string(raw), `"mediaType":"`+MediaTypePluginLayer+`","digest"`) ||
		strings.LastIndex(string(raw), MediaTypePluginLayer) < strings.LastIndex(string(raw), MediaTypeIcon) {
		t.Fatalf("plugin.tar.gz is not the last layer: %s", raw)
	}
	if !strings.Contains(string(raw), MediaTypeUnknownConfig) {
		t.Fatalf("config media type: %s", raw)
	}
}

func TestBuildIsReproducible(t *testing.T) {
	for _, f := range []Format{FormatOCI, FormatDocker, FormatWasm} {
		a, err := Build(testPlugin(), f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Build(testPlugin(), f)
		if err != nil {
			t.Fatal(err)
		}
		if a.Manifest.Digest != b.Manifest.Digest {
			t.Fatalf("%s: digests differ: %s vs %s", f, a.Manifest.Digest, b.Manifest.Digest)
		}
		other := testPlugin()
		other.Wasm = tinyWasm("v2")
		c, err := Build(other, f)
		if err != nil {
			t.Fatal(err)
		}
		if c.Manifest.Digest == a.Manifest.Digest {
			t.Fatalf("%s: different modules gave the same digest", f)
		}
		var ta, tb bytes.Buffer
		if err := a.WriteLayoutTar(&ta, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		if err := b.WriteLayoutTar(&tb, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ta.Bytes(), tb.Bytes()) {
			t.Fatalf("%s: layout tars differ", f)
		}
	}
	// No wall-clock value: the archive's gzip and tar headers carry time 0
	// and no names or owners.
	tgz, _, err := wasmTarGz(tinyWasm("v1"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Fatalf("gzip header carries time %v, name %q", zr.ModTime, zr.Name)
	}
	h, err := tar.NewReader(zr).Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.Name != "plugin.wasm" {
		t.Fatalf("tar header %+v", h)
	}
}

func TestLayoutRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, f := range []Format{FormatOCI, FormatDocker, FormatWasm} {
		img, err := Build(testPlugin(), f)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "layout")
		if err := img.WriteLayout(dir, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		tarPath := filepath.Join(t.TempDir(), "image.tar")
		var buf bytes.Buffer
		if err := img.WriteLayoutTar(&buf, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tarPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{dir, tarPath} {
			if !IsLayout(p) {
				t.Fatalf("%s: IsLayout false", p)
			}
			l, err := OpenLayout(ctx, p, "")
			if err != nil {
				t.Fatal(err)
			}
			if l.Tag != "1.0.0" || l.Manifest.Digest != img.Manifest.Digest {
				t.Fatalf("%s: tag %q digest %s", p, l.Tag, l.Manifest.Digest)
			}
			a, err := Extract(ctx, l.Store, l.Manifest)
			if err != nil {
				t.Fatalf("%s %s: %v", f, p, err)
			}
			if string(a.Variant) != string(f) || !bytes.Equal(a.Wasm, tinyWasm("v1")) {
				t.Fatalf("%s: variant %s", f, a.Variant)
			}
			if len(a.Warnings) != 0 {
				t.Fatalf("%s: warnings %v", f, a.Warnings)
			}
		}
	}
}

func TestTamperedLayoutBlob(t *testing.T) {
	img, err := Build(testPlugin(), FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := img.WriteLayout(dir, "v"); err != nil {
		t.Fatal(err)
	}
	raw, _ := img.Blob(img.Manifest.Digest)
	// The last layer's digest is the last "sha256:" in the manifest.
	i := strings.LastIndex(string(raw), "sha256:")
	layer := digest.Digest(string(raw[i : i+71]))
	p := filepath.Join(dir, "blobs", "sha256", layer.Encoded())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLayout(context.Background(), dir, "v")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Extract(context.Background(), l.Store, l.Manifest)
	var de *DigestError
	if !errors.As(err, &de) || de.Want != layer {
		t.Fatalf("want a DigestError for %s, got %v", layer, err)
	}
	if !strings.Contains(err.Error(), "plugin.tar.gz") || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("unclear error: %v", err)
	}
}

func TestExtractRejectsForeignImage(t *testing.T) {
	img := &Image{blobs: map[digest.Digest][]byte{}}
	cfg := img.add(MediaTypeUnknownConfig, []byte("{}"), nil)
	l := img.add("application/vnd.oci.empty.v1+json", []byte("{}"), nil)
	m := `{"schemaVersion":2,"mediaType":"` + MediaTypeOCIManifest + `","config":{"mediaType":"` + cfg.MediaType + `","digest":"` + cfg.Digest.String() + `","size":2},"layers":[{"mediaType":"` + l.MediaType + `","digest":"` + l.Digest.String() + `","size":2}]}`
	img.Manifest = img.add(MediaTypeOCIManifest, []byte(m), nil)
	_, err := Extract(context.Background(), img, img.Manifest)
	if err == nil || !strings.Contains(err.Error(), "application/vnd.oci.empty.v1+json") || !strings.Contains(err.Error(), MediaTypeWasmLayer) {
		t.Fatalf("want an error naming the bad layer type and the accepted forms, got %v", err)
	}
}

func TestBuildRejectsNonWasm(t *testing.T) {
	if _, err := Build(&Plugin{Wasm: []byte("hello world")}, FormatOCI); err == nil {
		t.Fatal("built an image from a non-Wasm payload")
	}
}

func TestLoadPluginDir(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LoadPluginDir(dir, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "main.wasm") {
		t.Fatalf("empty folder: %v", err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.wasm", string(tinyWasm("m")))
	write("README.md", "# x")
	write("README_ZH.md", "# x")
	write("notes.txt", "ignored")
	p, warnings, err := LoadPluginDir(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 2 || p.Files[1].MediaType != "application/vnd.module.wasm.doc.v1.ZH+markdown" {
		t.Fatalf("files %+v", p.Files)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "spec.yaml") {
		t.Fatalf("warnings %v", warnings)
	}
	write("plugin.wasm", string(tinyWasm("p")))
	p, _, err = LoadPluginDir(dir, LoadOptions{})
	if err != nil || !bytes.Equal(p.Wasm, tinyWasm("p")) {
		t.Fatalf("plugin.wasm should win over main.wasm: %v", err)
	}
}
