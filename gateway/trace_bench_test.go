package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// BenchmarkTraceStream runs one stream of the traced test plugin's header
// mode (header changes, a property, a log line) per iteration, without an
// observer and with a request trace recording it: the engine's cost of
// tracing, off and on.
func BenchmarkTraceStream(b *testing.B) {
	wasm, err := os.ReadFile(testwasm.Build(b, "gateway/testdata/plugins/traced"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	e, err := host.NewEngine(ctx, host.EngineConfig{CacheDir: testCacheDir(b), Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	mod, err := e.Compile(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	p, err := e.NewPlugin(ctx, mod, host.PluginConfig{Name: "bench", Configuration: []byte("headers"), PoolSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	store := trace.NewStore(trace.Options{})
	for _, on := range []bool{false, true} {
		name := "trace=off"
		if on {
			name = "trace=on"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var tr *trace.Request
				if on {
					tr = store.Start(trace.Begin{Method: "GET", Path: "/get"})
				}
				s := p.NewStream(host.StreamOptions{Observer: trace.Observer(tr.Plugin("bench"))})
				h := host.NewHeaderMap(":authority", "example.com", ":path", "/get", ":method", "GET", ":scheme", "http",
					"user-agent", "bench", "accept", "*/*", "authorization", "Bearer x", "x-drop", "1")
				if r := s.RequestHeaders(h, true); r.Action != host.ActionContinue {
					b.Fatalf("action %v", r.Action)
				}
				s.ResponseHeaders(host.NewHeaderMap(":status", "200", "content-length", "12", "content-type", "text/plain"), false)
				s.ResponseBody([]byte("hello world\n"), true)
				s.Done()
				tr.Finish(200, "via_upstream", "", false)
			}
		})
	}
}

// BenchmarkTraceGateway sends GET requests through a gateway running the
// traced test plugin's header mode three times, with tracing off (sample
// rate 0) and on (every request), in one run.
func BenchmarkTraceGateway(b *testing.B) {
	wasm := testwasm.Build(b, "gateway/testdata/plugins/traced")
	var plugins []config.Plugin
	for _, n := range []string{"a", "b", "c"} {
		plugins = append(plugins, filePlugin("trace-"+n, wasm, "headers"))
	}
	ctx := context.Background()
	gw, err := New(ctx, Options{Logger: discardLogger(), Listen: "127.0.0.1:0", PoolSize: 1, CacheDir: testCacheDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Shutdown(ctx)
	if _, err := gw.LoadAndApply(ctx, staticConfig(plugins)); err != nil {
		b.Fatal(err)
	}
	url := "http://" + gw.Addr("") + "/get"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for _, rate := range []float64{0, 1} {
		name := "trace=off"
		if rate == 1 {
			name = "trace=on"
		}
		b.Run(name, func(b *testing.B) {
			gw.Traces().SetSampleRate(rate)
			for i := 0; i < b.N; i++ {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
