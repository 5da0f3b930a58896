package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/registry"
	"github.com/wasmgate/wasmgate/oci/registrytest"
)

// tinyModule is a valid empty module with a custom section of n bytes.
func tinyModule(n int) []byte {
	name := "wasmgate"
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, make([]byte, n)...)
	size := len(body)
	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, 0x00}
	for {
		c := byte(size & 0x7f)
		size >>= 7
		if size != 0 {
			b = append(b, c|0x80)
			continue
		}
		b = append(b, c)
		break
	}
	return append(b, body...)
}

// TestPullRefusesHostileImages: `wasmgate pull` writes the metadata files
// of a good image, refuses a layer titled ".." by name without writing
// anything outside the directory, and refuses a module over --max-module-size.
func TestPullRefusesHostileImages(t *testing.T) {
	bin := authBuildWasmgate(t)
	reg := registrytest.Start(t, registrytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	wasm := tinyModule(64 << 10)
	good, err := oci.Build(&oci.Plugin{Wasm: wasm, Files: []oci.File{{Name: "spec.yaml", Data: []byte("spec: 1\n")}}}, oci.FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Push(ctx, good, good.Manifest.Digest.String(), reg.Host+"/p/good:1", registry.Options{DockerConfig: cfg}); err != nil {
		t.Fatal(err)
	}
	tgz, err := oci.Build(&oci.Plugin{Wasm: wasm}, oci.FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	pluginLayer := func(img *oci.Image) []byte {
		// The plugin layer of a FormatOCI image is its only layer here.
		for _, d := range img.Digests() {
			b, _ := img.Blob(d)
			if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
				return b
			}
		}
		t.Fatal("no gzip layer")
		return nil
	}
	for tag, title := range map[string]string{"dots": "..", "escape": "../escaped.yaml"} {
		img := registrytest.NewImage()
		img.Finish(t, img.Add(oci.MediaTypeSpec, []byte("spec: 1\n"), title), img.Add(oci.MediaTypePluginLayer, pluginLayer(tgz), "plugin.tar.gz"))
		ref := reg.Host + "/p/hostile:" + tag
		if _, err := registry.Push(ctx, img, img.Manifest.Digest.String(), ref, registry.Options{DockerConfig: cfg}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		meta := filepath.Join(dir, "meta")
		out, err := exec.Command(bin, "pull", "-o", filepath.Join(dir, "p.wasm"), "--metadata", meta, ref).CombinedOutput()
		if err == nil || !strings.Contains(string(out), `"`+title+`"`) {
			t.Fatalf("title %q: want a refusal naming it, got %v\n%s", title, err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "escaped.yaml")); err == nil {
			t.Fatalf("title %q: a file was written outside the metadata directory", title)
		}
	}

	dir := t.TempDir()
	out, err := exec.Command(bin, "pull", "-o", filepath.Join(dir, "p.wasm"), "--metadata", filepath.Join(dir, "meta"), reg.Host+"/p/good:1").CombinedOutput()
	if err != nil {
		t.Fatalf("good image: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "meta", "spec.yaml")); err != nil || string(b) != "spec: 1\n" {
		t.Fatalf("spec.yaml: %q %v", b, err)
	}
	out, err = exec.Command(bin, "pull", "--max-module-size", "32Ki", "-o", filepath.Join(dir, "q.wasm"), reg.Host+"/p/good:1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "module size limit") {
		t.Fatalf("--max-module-size 32Ki: %v\n%s", err, out)
	}
}

// TestRegistryCommandsEndAtTheirTimeouts: push and deploy against a
// registry that accepts connections and never answers end at their
// response timeout with an error that names it, instead of hanging.
func TestRegistryCommandsEndAtTheirTimeouts(t *testing.T) {
	bin := authBuildWasmgate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	dir := t.TempDir()
	wasm := filepath.Join(dir, "plugin.wasm")
	if err := os.WriteFile(wasm, tinyModule(16), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	pluginCfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(pluginCfg, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := ln.Addr().String() + "/p/hang:1"
	for name, args := range map[string][]string{
		"push":   {"push", "--plain-http", "--docker-config", cfg, "--response-timeout", "300ms", wasm, ref},
		"deploy": {"deploy", "--plain-http", "--docker-config", cfg, "--fetch-response-timeout", "300ms", "--fetch-timeout", "2s", ref, "--config", pluginCfg},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			start := time.Now()
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			took := time.Since(start)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("%s: err %v after %s:\n%s", name, err, took, out)
			}
			if !strings.Contains(string(out), "response timeout") {
				t.Errorf("%s error does not name the timeout:\n%s", name, out)
			}
		})
	}
}
