package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/flags"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

func TestTrapFailClosedAndOpenThenHeal(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/trap")
	for _, open := range []bool{false, true} {
		name := "fail-closed"
		if open {
			name = "fail-open"
		}
		t.Run(name, func(t *testing.T) {
			p := filePlugin("trap", wasm, "")
			if open {
				p.FailStrategy = config.FailOpen
			}
			g := startGateway(t, staticConfig([]config.Plugin{p}))
			code, _, body := get(t, g.url+"/anything/trap")
			if open {
				if code != 200 {
					t.Fatalf("fail-open: status %d body %q", code, body)
				}
			} else if code != 503 {
				t.Fatalf("fail-closed: status %d body %q", code, body)
			}
			if !open {
				waitFor(t, "wasm_fail_stream in the access log", func() bool {
					return strings.Contains(g.logs.String(), "details=wasm_fail_stream")
				})
			}
			// The failed VM is replaced: requests are handled by the plugin again.
			waitFor(t, "the plugin to heal", func() bool {
				code, _, body := get(t, g.url+"/headers")
				return code == 200 && echoHeaders(t, body)["X-Trap-Plugin"] == "ok"
			})
			waitFor(t, "a full pool again", func() bool {
				for _, s := range g.gw.Plugins() {
					if s.VMs == 2 {
						return true
					}
				}
				return false
			})
		})
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

func TestReloadUnderLoad(t *testing.T) {
	v1 := testwasm.Build(t, "examples/my-plugin")
	v2 := testwasm.Build(t, "examples/hello-world")
	dir := t.TempDir()
	path := filepath.Join(dir, "plugin.wasm")
	copyFile(t, v1, path)
	src := flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: path}}})
	g := startGateway(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchDone, err := g.gw.StartWatch(ctx, src, src.Load())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-watchDone }()

	var failures, total, v2seen atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(g.url + "/get")
				total.Add(1)
				if err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				b := make([]byte, 64)
				n, _ := resp.Body.Read(b)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, resp.Status)
				}
				if string(b[:n]) == "hello world" {
					v2seen.Add(1)
				}
			}
		}()
	}
	waitFor(t, "load to start", func() bool { return total.Load() > 20 })
	copyFile(t, v2, path)
	waitFor(t, "the new module to serve", func() bool { return v2seen.Load() > 20 })

	// A broken module: the old one keeps serving and /plugins shows the error.
	if err := os.WriteFile(path+".tmp", []byte("not a wasm module"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the load error in /plugins", func() bool {
		_, _, body := get(t, g.admin+"/plugins")
		var ps []PluginStatus
		_ = json.Unmarshal([]byte(body), &ps)
		return len(ps) == 1 && ps[0].State == "stale" && ps[0].Error != ""
	})
	before := v2seen.Load()
	waitFor(t, "the previous module to keep serving", func() bool { return v2seen.Load() > before+20 })
	close(stop)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed during reloads (first: %v)", f, total.Load(), firstFailure.Load())
	}
	t.Logf("%d requests, none failed, across two reloads", total.Load())
}
