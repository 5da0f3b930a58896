package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/registrytest"
)

func tinyWasm(payload string) []byte {
	name := "wasmgate"
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, payload...)
	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, 0x00, byte(len(body))}
	return append(b, body...)
}

func plugin(payload string) *oci.Plugin {
	return &oci.Plugin{
		Wasm: tinyWasm(payload),
		Files: []oci.File{
			{Name: "spec.yaml", Data: []byte("apiVersion: 1.0.0\ninfo:\n  name: demo\n")},
			{Name: "README.md", Data: []byte("# demo\n")},
			{Name: "README_EN.md", Data: []byte("# demo (en)\n")},
		},
	}
}

// anonymous returns options with an empty Docker config, so tests never
// read the developer's own credentials.
func anonymous(t *testing.T) Options {
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Options{DockerConfig: p}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func lastLayer(t *testing.T, img *oci.Image) ocispec.Descriptor {
	raw, _ := img.Blob(img.Manifest.Digest)
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.Layers[len(m.Layers)-1]
}

func TestPushPullAllFormats(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	opts := anonymous(t)
	for _, f := range []oci.Format{oci.FormatOCI, oci.FormatDocker, oci.FormatWasm} {
		t.Run(string(f), func(t *testing.T) {
			img, err := oci.Build(plugin("all-"+string(f)), f)
			if err != nil {
				t.Fatal(err)
			}
			ref := reg.Host + "/plugins/demo-" + string(f) + ":1.0.0"
			desc, err := Push(ctx(t), img, img.Manifest.Digest.String(), ref, opts)
			if err != nil {
				t.Fatal(err)
			}
			if desc.Digest != img.Manifest.Digest {
				t.Fatalf("pushed %s, built %s", desc.Digest, img.Manifest.Digest)
			}
			a, err := Pull(ctx(t), "oci://"+ref, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Wasm, tinyWasm("all-"+string(f))) {
				t.Fatalf("pulled module differs: %q", a.Wasm)
			}
			if string(a.Variant) != string(f) || a.Manifest.Digest != img.Manifest.Digest {
				t.Fatalf("variant %s digest %s", a.Variant, a.Manifest.Digest)
			}
			if f == oci.FormatOCI {
				spec, ok := a.File("spec.yaml")
				if !ok || !strings.Contains(string(spec.Data), "name: demo") || len(a.Files) != 3 {
					t.Fatalf("metadata files %+v", a.Files)
				}
			}
			// Pull by digest too.
			byDigest := reg.Host + "/plugins/demo-" + string(f) + "@" + img.Manifest.Digest.String()
			if _, err := Pull(ctx(t), byDigest, opts); err != nil {
				t.Fatalf("pull by digest: %v", err)
			}
		})
	}
}

func TestPushFromLayoutIsReproducible(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	opts := anonymous(t)
	var digests []string
	for i := 0; i < 2; i++ {
		img, err := oci.Build(plugin("same"), oci.FormatOCI)
		if err != nil {
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
		l, err := oci.OpenLayout(ctx(t), tarPath, "")
		if err != nil {
			t.Fatal(err)
		}
		desc, err := Push(ctx(t), l.Store, l.Tag, reg.Host+"/plugins/same:"+string(rune('a'+i)), opts)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, desc.Digest.String())
	}
	if digests[0] != digests[1] {
		t.Fatalf("same inputs, different registry digests: %v", digests)
	}
	a, err := Pull(ctx(t), reg.Host+"/plugins/same:b", opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Wasm, tinyWasm("same")) {
		t.Fatal("module differs")
	}
}

func TestPullTamperedBlob(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	opts := anonymous(t)
	img, err := oci.Build(plugin("tamper"), oci.FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Host + "/plugins/tamper:1"
	if _, err := Push(ctx(t), img, img.Manifest.Digest.String(), ref, opts); err != nil {
		t.Fatal(err)
	}
	layer := lastLayer(t, img)
	reg.CorruptBlob(layer.Digest)
	_, err = Pull(ctx(t), ref, opts)
	var de *oci.DigestError
	if !errors.As(err, &de) {
		t.Fatalf("want *oci.DigestError, got %v", err)
	}
	if de.Want != layer.Digest || !strings.Contains(err.Error(), "plugin.tar.gz") || !strings.Contains(err.Error(), "does not match its digest") {
		t.Fatalf("unclear error: %v", err)
	}
}

func TestBasicAuthFromDockerConfig(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{Users: map[string]string{"alice": "s3cret"}})
	img, err := oci.Build(plugin("auth"), oci.FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Host + "/private/auth:1"
	// No credentials: the registry refuses.
	_, err = Push(ctx(t), img, img.Manifest.Digest.String(), ref, anonymous(t))
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("anonymous push: want 401, got %v", err)
	}
	// Wrong password: refused too.
	bad := Options{DockerConfig: reg.DockerConfig(t.TempDir(), "alice", "wrong")}
	if _, err := Push(ctx(t), img, img.Manifest.Digest.String(), ref, bad); err == nil {
		t.Fatal("push with a wrong password succeeded")
	}
	good := Options{DockerConfig: reg.DockerConfig(t.TempDir(), "alice", "s3cret")}
	if _, err := Push(ctx(t), img, img.Manifest.Digest.String(), ref, good); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx(t), ref, anonymous(t)); err == nil {
		t.Fatal("anonymous pull from a private registry succeeded")
	}
	// $DOCKER_CONFIG is honoured when no file is named.
	t.Setenv("DOCKER_CONFIG", filepath.Dir(reg.DockerConfig(t.TempDir(), "alice", "s3cret")))
	a, err := Pull(ctx(t), ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Wasm, tinyWasm("auth")) {
		t.Fatal("module differs")
	}
}

func TestPullNonPluginImage(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	opts := anonymous(t)
	ref := reg.Host + "/plugins/odd:1"
	repo, err := Open(ctx(t), ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !repo.PlainHTTP {
		t.Fatal("loopback registry should have been reached over plain HTTP")
	}
	// An image whose only layer is not a plugin layer, as images re-pushed
	// through tools that drop layers end up.
	push := func(mt string, b []byte) ocispec.Descriptor {
		d := content.NewDescriptorFromBytes(mt, b)
		if err := repo.Push(ctx(t), d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push("application/vnd.oci.image.config.v1+json", []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	layer := push("application/vnd.oci.empty.v1+json", []byte("{}"))
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: oci.MediaTypeOCIManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	md := content.NewDescriptorFromBytes(oci.MediaTypeOCIManifest, m)
	if err := repo.PushReference(ctx(t), md, bytes.NewReader(m), "1"); err != nil {
		t.Fatal(err)
	}
	_, err = Pull(ctx(t), ref, opts)
	if err == nil {
		t.Fatal("pulled a plugin out of a non-plugin image")
	}
	for _, want := range []string{"application/vnd.oci.empty.v1+json", oci.MediaTypePluginLayer, oci.MediaTypeWasmLayer} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error does not mention %s: %v", want, err)
		}
	}
}

func TestPullUnreachableRegistry(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	reg.Stop()
	_, err := Pull(ctx(t), reg.Host+"/plugins/gone:1", anonymous(t))
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("want an unreachable-registry error, got %v", err)
	}
}
