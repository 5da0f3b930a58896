package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/internal/testwasm"
	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/registry"
	"github.com/wasmgate/wasmgate/oci/registrytest"
)

// A WasmPlugin whose url is an oci:// image in a real registry; the registry
// goes away and the cached module keeps serving, with the error in /plugins.
func TestOCIPluginFromRegistry(t *testing.T) {
	wasm, err := os.ReadFile(testwasm.Build(t, "examples/my-plugin"))
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.Start(t, registrytest.Options{})
	dockerConfig := filepath.Join(t.TempDir(), "config.json")
	writeFile(t, dockerConfig, "{}")
	img, err := oci.Build(&oci.Plugin{Wasm: wasm}, oci.FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Host + "/plugins/my-plugin:latest"
	if _, err := registry.Push(context.Background(), img, img.Manifest.Digest.String(), ref, registry.Options{DockerConfig: dockerConfig}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plugin := func(content string) string {
		return `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: my-plugin, namespace: higress-system}
spec:
  url: oci://` + ref + `
  imagePullSecret: ` + dockerConfig + `
  defaultConfig: {mockEnable: true, content: "` + content + `"}
`
	}
	writeFile(t, filepath.Join(dir, "wasmplugins/my-plugin.yaml"), plugin("from registry"))

	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), nil))
	ctx := context.Background()
	gw, err := New(ctx, Options{Logger: log, Listen: "127.0.0.1:0", PoolSize: 1, CacheDir: testCacheDir(t), ModuleCacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Shutdown(context.Background())
	src := dataDirSource(dir)
	if _, err := gw.LoadAndApply(ctx, src); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	url := "http://" + gw.Addr("")
	if code, _, body := get(t, url+"/"); code != 200 || body != "from registry" {
		t.Fatalf("%d %q\n%s", code, body, logs)
	}

	reg.Stop()
	// The tag is latest, so every load asks the registry again; it is gone.
	writeFile(t, filepath.Join(dir, "wasmplugins/my-plugin.yaml"), plugin("cached module"))
	if _, err := gw.LoadAndApply(ctx, src); err != nil {
		t.Fatal(err)
	}
	if code, _, body := get(t, url+"/"); code != 200 || body != "cached module" {
		t.Fatalf("with the registry down: %d %q", code, body)
	}
	// The reload went ahead with the module it had; the fetch, retried
	// against the stopped registry, ends in the cached copy and the error.
	waitFor(t, "the fetch error in /plugins", func() bool {
		st := gw.Plugins()
		return len(st) == 1 && st[0].State == "stale" && strings.Contains(st[0].Error, "cached copy") && st[0].Reason == ReasonFetch
	})
	b, _ := json.Marshal(gw.Plugins())
	if !strings.Contains(string(b), "unreachable") {
		t.Fatalf("plugins: %s", b)
	}
}
