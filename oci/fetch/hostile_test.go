package fetch

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/registry"
	"github.com/wasmgate/wasmgate/oci/registrytest"
)

// shortTimeouts keep the tests quick while leaving the machine room.
var shortTimeouts = Timeouts{Connect: 500 * time.Millisecond, Response: 500 * time.Millisecond, Total: 4 * time.Second, Attempts: 2, Backoff: 100 * time.Millisecond}

// A registry that accepts connections and never answers: the fetch gives up
// within its timeouts, the error names the url and the timeout, and the
// copy cached by the last good fetch is served.
func TestFetchHangingRegistry(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	proxy := registrytest.NewProxy(t, reg.Host)
	cfg := emptyDockerConfig(t)
	url := "oci://" + proxy.Host + "/plugins/h:latest"
	push(t, reg.Host+"/plugins/h:latest", tinyWasm("h1"), oci.FormatOCI, cfg)
	opts := Options{CacheDir: t.TempDir(), PullSecret: cfg, Timeouts: shortTimeouts}
	if _, err := Fetch(ctx(t), url, opts); err != nil {
		t.Fatal(err)
	}

	proxy.SetHanging(true)
	start := time.Now()
	m, err := Fetch(ctx(t), url, opts)
	took := time.Since(start)
	if err == nil {
		t.Fatal("a hanging registry gave no error")
	}
	if !m.Stale || !bytes.Equal(m.Bytes, tinyWasm("h1")) {
		t.Fatalf("want the last good module with the error, got %+v", m)
	}
	msg := err.Error()
	if !strings.Contains(msg, url) || !strings.Contains(msg, "500ms") || !strings.Contains(msg, "timeout") || !strings.Contains(msg, "2 attempts") {
		t.Fatalf("the error should name the url, the timeout and the attempts: %v", err)
	}
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("no TimeoutError in %v", err)
	}
	// Two attempts of two 500 ms waits (HTTPS, then plain HTTP) and a
	// 100 ms backoff: well under the 4 s total, far from forever.
	if took < 900*time.Millisecond || took > 3*shortTimeouts.Total {
		t.Fatalf("gave up after %s", took)
	}

	// The total timeout bounds everything, whatever the attempts.
	long := opts
	long.Timeouts = Timeouts{Connect: 400 * time.Millisecond, Response: 400 * time.Millisecond, Total: 1500 * time.Millisecond, Attempts: 100, Backoff: 50 * time.Millisecond}
	start = time.Now()
	_, err = Fetch(ctx(t), url, long)
	took = time.Since(start)
	if !errors.As(err, &te) || (te.Phase != PhaseTotal && !strings.Contains(err.Error(), "no time for another")) || !strings.Contains(err.Error(), url) {
		t.Fatalf("want the total timeout, got %v", err)
	}
	if took < 1200*time.Millisecond || took > 3*1500*time.Millisecond {
		t.Fatalf("total timeout 1.5s, gave up after %s", took)
	}
}

func TestFetchHTTPHangingAndRetries(t *testing.T) {
	hang := registrytest.Hanging(t)
	url := "http://" + hang.Host + "/m.wasm"
	start := time.Now()
	_, err := Fetch(ctx(t), url, Options{CacheDir: t.TempDir(), Timeouts: shortTimeouts})
	if err == nil || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "no response within the 500ms response timeout") {
		t.Fatalf("hanging server: %v", err)
	}
	if took := time.Since(start); took > 3*shortTimeouts.Total {
		t.Fatalf("took %s", took)
	}

	// 503 twice, then the module: retried with backoff.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing.wasm" {
			calls.Add(1)
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(tinyWasm("r"))
	}))
	defer srv.Close()
	tm := shortTimeouts
	tm.Attempts = 3
	m, err := Fetch(ctx(t), srv.URL+"/m.wasm", Options{CacheDir: t.TempDir(), Timeouts: tm})
	if err != nil || !bytes.Equal(m.Bytes, tinyWasm("r")) || calls.Load() != 3 {
		t.Fatalf("after two 503s: %v, %d calls", err, calls.Load())
	}
	// A 404 is final: one request.
	calls.Store(0)
	_, err = Fetch(ctx(t), srv.URL+"/missing.wasm", Options{CacheDir: t.TempDir(), Timeouts: tm})
	if err == nil || calls.Load() != 1 || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v after %d calls", err, calls.Load())
	}
}

// pushImage pushes a hand-made image to ref.
func pushImage(t *testing.T, img *registrytest.Image, ref string) {
	t.Helper()
	if _, err := registry.Push(ctx(t), img, img.Manifest.Digest.String(), ref, registry.Options{DockerConfig: emptyDockerConfig(t)}); err != nil {
		t.Fatal(err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// bomb is a gzip-compressed tar whose entries expand to size bytes each;
// prefix, when given, starts the entry's content.
func bomb(t *testing.T, entries ...bombEntry) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: e.size}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(tw, io.MultiReader(bytes.NewReader(e.prefix), zeros{}), e.size); err != nil {
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

type bombEntry struct {
	name   string
	size   int64
	prefix []byte
}

// procStatus reads a kB field of /proc/self/status.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// Hostile images pulled from a real registry are refused with the process's
// peak RSS growing by less than 32 MiB.
func TestFetchHostileImagesStayBounded(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	const bombSize = 250 << 20

	// A 250 MiB plugin.wasm of zeros, about 250 KB compressed: no magic number.
	gz := bomb(t, bombEntry{name: "plugin.wasm", size: bombSize})
	if len(gz) > 1<<20 {
		t.Fatalf("the bomb is %d bytes compressed", len(gz))
	}
	noMagic := registrytest.NewImage()
	pushImage(t, noMagic.Finish(t, noMagic.Add(oci.MediaTypePluginLayer, gz, "plugin.tar.gz")), reg.Host+"/hostile/nomagic:1")

	// 250 MiB of zeros before a valid plugin.wasm: refused while streaming
	// by the uncompressed layer limit.
	padded := registrytest.NewImage()
	pushImage(t, padded.Finish(t, padded.Add(oci.MediaTypePluginLayer,
		bomb(t, bombEntry{name: "padding", size: bombSize}, bombEntry{name: "plugin.wasm", size: 1 << 10, prefix: tinyWasm("p")}),
		"plugin.tar.gz")), reg.Host+"/hostile/padded:1")

	// A valid module header followed by 250 MiB: over the module limit.
	big := registrytest.NewImage()
	pushImage(t, big.Finish(t, big.Add(oci.MediaTypePluginLayer, bomb(t, bombEntry{name: "plugin.wasm", size: bombSize, prefix: tinyWasm("b")}), "plugin.tar.gz")), reg.Host+"/hostile/big:1")

	// A 40 MiB raw module layer over a 16 MiB layer limit (pushed from a
	// function, so nothing of it stays reachable here).
	func() {
		layer := make([]byte, 40<<20)
		copy(layer, tinyWasm("l"))
		oversized := registrytest.NewImage()
		pushImage(t, oversized.Finish(t, oversized.Add(oci.MediaTypeWasmConfig, []byte("{}"), ""), oversized.Add(oci.MediaTypeWasmLayer, layer, "plugin.wasm")), reg.Host+"/hostile/oversized:1")
	}()

	// A metadata layer titled "..".
	titled := registrytest.NewImage()
	tgz := bomb(t, bombEntry{name: "plugin.wasm", size: int64(len(tinyWasm("t"))), prefix: tinyWasm("t")})
	pushImage(t, titled.Finish(t, titled.Add(oci.MediaTypeSpec, []byte("spec: 1\n"), ".."), titled.Add(oci.MediaTypePluginLayer, tgz, "plugin.tar.gz")), reg.Host+"/hostile/titled:1")

	cases := []struct {
		ref    string
		limits oci.Limits
		want   string
	}{
		{"nomagic:1", oci.Limits{}, "missing \\0asm magic number"},
		{"padded:1", oci.Limits{Uncompressed: 16 << 20}, "uncompressed layer size"},
		{"big:1", oci.Limits{Module: 16 << 20}, "module size"},
		{"oversized:1", oci.Limits{Layer: 16 << 20}, "layer size"},
		{"titled:1", oci.Limits{}, `titled ".."`},
	}
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS: %v", err)
	}
	base := procStatus(t, "VmRSS")
	for _, c := range cases {
		url := "oci://" + reg.Host + "/hostile/" + c.ref
		_, err := Fetch(ctx(t), url, Options{Limits: c.limits, Timeouts: Timeouts{Total: 30 * time.Second}})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), url) {
			t.Errorf("%s: want an error with %q, got %v", c.ref, c.want, err)
		}
	}
	peak := procStatus(t, "VmHWM")
	growth := peak - base
	t.Logf("RSS %d MiB before, peak %d MiB while refusing the images (growth %.1f MiB)", base>>20, peak>>20, float64(growth)/(1<<20))
	if growth >= 32<<20 {
		t.Fatalf("peak RSS grew by %.1f MiB", float64(growth)/(1<<20))
	}
}
