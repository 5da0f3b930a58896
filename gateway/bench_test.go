package gateway

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// BenchmarkPluginStream is one request through a plugin on the engine alone
// (request headers, response headers and body, done), with the per-callback
// CPU deadline on (the default) and off.
func BenchmarkPluginStream(b *testing.B) {
	for _, pkg := range []string{"examples/my-plugin", "gateway/testdata/plugins/bare", "gateway/testdata/plugins/trap"} {
		for _, deadline := range []bool{true, false} {
			name := pkg + "/deadline=on"
			if !deadline {
				name = pkg + "/deadline=off"
			}
			b.Run(name, func(b *testing.B) { benchPlugin(b, pkg, deadline) })
		}
	}
}

// BenchmarkPluginStreamCold is BenchmarkPluginStream with 4 MiB of other
// memory written between streams, as a gateway under load runs a plugin
// with caches full of everything else. The stream alone is timed; its
// average is the stream-ns metric (ns/op includes the writes).
func BenchmarkPluginStreamCold(b *testing.B) {
	other := make([]byte, 4<<20)
	for _, pkg := range []string{"examples/my-plugin", "gateway/testdata/plugins/bare", "gateway/testdata/plugins/trap"} {
		b.Run(pkg, func(b *testing.B) {
			p := benchStreamPlugin(b, pkg, true)
			var streams time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := 0; j < len(other); j += 64 {
					other[j]++
				}
				start := time.Now()
				benchStream(b, p)
				streams += time.Since(start)
			}
			b.ReportMetric(float64(streams.Nanoseconds())/float64(b.N), "stream-ns")
		})
	}
}

func benchPlugin(b *testing.B, pkg string, deadline bool) {
	p := benchStreamPlugin(b, pkg, deadline)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchStream(b, p)
	}
}

// benchStreamPlugin starts pkg as a plugin with one VM on its own engine.
func benchStreamPlugin(b *testing.B, pkg string, deadline bool) *host.Plugin {
	wasm, err := os.ReadFile(testwasm.Build(b, pkg))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cfg := host.EngineConfig{CacheDir: testCacheDir(b)}
	if !deadline {
		cfg.CallTimeout = -1
	}
	e, err := host.NewEngine(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(ctx) })
	mod, err := e.Compile(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	p, err := e.NewPlugin(ctx, mod, host.PluginConfig{Name: "bench", Configuration: []byte(`{"mockEnable":false}`), PoolSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

var benchProps = host.PropertyMap{"route_name": "default", "cluster_name": "outbound|80||echo"}

// benchStream is one request through p: request headers, response headers
// and body, done.
func benchStream(b *testing.B, p *host.Plugin) {
	s := p.NewStream(host.StreamOptions{Properties: benchProps})
	h := host.NewHeaderMap(":authority", "example.com", ":path", "/get", ":method", "GET", ":scheme", "http",
		"user-agent", "bench", "accept", "*/*", "x-request-id", "6f8a2b8e-1c9d-4a8b-9d2c-3b7a1e4f5a6b")
	if r := s.RequestHeaders(h, true); r.Action != host.ActionContinue {
		b.Fatalf("action %v", r.Action)
	}
	s.ResponseHeaders(host.NewHeaderMap(":status", "200", "content-length", "12", "content-type", "text/plain"), false)
	s.ResponseBody([]byte("hello world\n"), true)
	s.Done()
}

// BenchmarkStartVMHelloWorld starts one VM of examples/hello-world per
// iteration: instantiate, _initialize, root context, vm start, configure.
// It reports the VM's linear memory.
func BenchmarkStartVMHelloWorld(b *testing.B) {
	wasm, err := os.ReadFile(testwasm.Build(b, "examples/hello-world"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	e, err := host.NewEngine(ctx, host.EngineConfig{CacheDir: testCacheDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	mod, err := e.Compile(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	var mem uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := e.NewPlugin(ctx, mod, host.PluginConfig{Name: "hello-world", PoolSize: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		mem = p.MemoryBytes()
		p.Close(ctx)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(mem)/(1<<20), "MiB/VM")
	b.ReportMetric(heapPerVM(b, func(i int) (*host.Plugin, error) {
		// A vm_id of its own: plugins of one VM key would share one VM.
		return e.NewPlugin(ctx, mod, host.PluginConfig{Name: "hello-world", PoolSize: 1, VMID: "vm-" + strconv.Itoa(i)})
	})/(1<<20), "go-heap-MiB/VM")
}

// heapPerVM starts eight one-VM plugins with start (given 0…7) and returns the growth
// of the process's in-use heap and stacks per VM: everything a VM costs
// the host (linear memory, wazero's instance, the engine's state).
func heapPerVM(b *testing.B, start func(i int) (*host.Plugin, error)) float64 {
	const n = 8
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ps := make([]*host.Plugin, 0, n)
	for i := 0; i < n; i++ {
		p, err := start(i)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, p := range ps {
		p.Close(context.Background())
	}
	return float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse) / n
}

// BenchmarkCompileHelloWorldCached compiles examples/hello-world in a new
// engine whose disk cache already holds it.
func BenchmarkCompileHelloWorldCached(b *testing.B) {
	wasm, err := os.ReadFile(testwasm.Build(b, "examples/hello-world"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	dir := b.TempDir()
	warm, err := host.NewEngine(ctx, host.EngineConfig{CacheDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := warm.Compile(ctx, wasm); err != nil {
		b.Fatal(err)
	}
	warm.Close(ctx)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := host.NewEngine(ctx, host.EngineConfig{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Compile(ctx, wasm); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		e.Close(ctx)
		b.StartTimer()
	}
}
