package host

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func benchPlugin(b testing.TB, e *Engine, mode string) *Plugin {
	b.Helper()
	return benchPluginOf(b, e, "bench", mode)
}

// benchPluginOf starts one VM of the test plugin name with config as its
// plugin configuration.
func benchPluginOf(b testing.TB, e *Engine, name, config string) *Plugin {
	b.Helper()
	m, err := e.Compile(context.Background(), goPlugin(b, name))
	if err != nil {
		b.Fatal(err)
	}
	p, err := e.NewPlugin(context.Background(), m, PluginConfig{Name: name, PoolSize: 1, Configuration: []byte(config), Logger: newRecorder().logger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func benchEngines(b *testing.B, f func(b *testing.B, e *Engine)) {
	b.Run("deadline", func(b *testing.B) { f(b, testEngine(b)) })
	b.Run("no-deadline", func(b *testing.B) { f(b, newTestEngine(b, EngineConfig{CallTimeout: -1})) })
}

// latencies records the duration of each benchmark iteration and reports
// their median and 99th percentile next to the mean (ns/op), which a rare
// guest garbage collection pulls up.
type latencies []time.Duration

func (l *latencies) add(d time.Duration) { *l = append(*l, d) }

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	// p10 is the steadiest figure on a shared machine: interference only
	// adds time, and it leaves out the rare fast outlier a minimum keeps.
	b.ReportMetric(float64(l[len(l)/10].Nanoseconds()), "p10-ns")
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l[len(l)*99/100].Nanoseconds()), "p99-ns")
}

// cpuClock measures the CPU time the process spends (user and system, all
// threads): on a shared machine it is steadier than wall time, which counts
// the time other tenants hold the CPU.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{cpuNow()} }

// report adds cpu-ns/op for the b.N iterations since startCPU.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkHigressWorkload runs one whole stream per iteration (context
// create, request headers with 20 adds / 20 gets / 20 removes, log, done,
// delete), in a raw proxy-wasm plugin (testdata/goplugin/bench) and in the
// same plugin written with the SDK's wrapper (testdata/goplugin/benchsdk).
func BenchmarkHigressWorkload(b *testing.B) {
	for _, plugin := range []struct{ name, config string }{{"bench", "higress"}, {"benchsdk", "{}"}} {
		b.Run(plugin.name, func(b *testing.B) {
			benchEngines(b, func(b *testing.B, e *Engine) {
				p := benchPluginOf(b, e, plugin.name, plugin.config)
				base := reqHeaders()
				lat := make(latencies, 0, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				for i := 0; i < b.N; i++ {
					start := time.Now()
					s := p.NewStream(StreamOptions{})
					h := base.Clone()
					if r := s.RequestHeaders(h, true); r.Action != ActionContinue {
						b.Fatal(r.Action)
					}
					s.Done()
					lat.add(time.Since(start))
					if i == 0 && h.Len() != base.Len() {
						b.Fatalf("%d headers after the workload, want %d", h.Len(), base.Len())
					}
				}
				b.StopTimer()
				cpu.report(b)
				lat.report(b)
				b.ReportMetric(float64(lat[len(lat)*99/100])/float64(lat[len(lat)/2]), "p99/p50")
			})
		})
	}
}

// BenchmarkHigressWorkloadNative is the same header loop in native Go on a
// HeaderMap.
func BenchmarkHigressWorkloadNative(b *testing.B) {
	base := reqHeaders()
	var keys [20]string
	lat := make(latencies, 0, b.N)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		h := base.Clone()
		for j := 0; j < 20; j++ {
			keys[j] = "x-bench-" + strconv.Itoa(j)
			h.Add(keys[j], "value-"+strconv.Itoa(j))
		}
		for j := 0; j < 20; j++ {
			if _, ok := h.Get(keys[j]); !ok {
				b.Fatal("missing")
			}
		}
		for j := 0; j < 20; j++ {
			h.Del(keys[j])
		}
		lat.add(time.Since(start))
	}
	b.StopTimer()
	lat.report(b)
}

// benchCallback measures one on_request_headers call on a live stream.
func benchCallback(b *testing.B, e *Engine, mode string) {
	p := benchPlugin(b, e, mode)
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	s.RequestHeaders(h, true)
	v := s.v
	f := v.f.onRequestHeaders
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	v.lock()
	for i := 0; i < b.N; i++ {
		s.req.headersForwarded = false
		v.stack[0], v.stack[1], v.stack[2] = uint64(s.id), uint64(h.Len()), 1
		if _, err := v.callTop(cbReqHeaders, s.id, f, 3, e.cfg.CallTimeout); err != nil {
			b.Fatal(err)
		}
	}
	v.unlock()
	b.StopTimer()
	cpu.report(b)
	s.Done()
}

// BenchmarkEmptyCallback is the cost of one call into a VM whose callback
// returns at once.
func BenchmarkEmptyCallback(b *testing.B) {
	benchEngines(b, func(b *testing.B, e *Engine) { benchCallback(b, e, "empty") })
}

// BenchmarkSingleHeaderGet is one callback doing one proxy_get_header_map_value
// (with the re-entrant guest allocation of the result).
func BenchmarkSingleHeaderGet(b *testing.B) {
	benchEngines(b, func(b *testing.B, e *Engine) { benchCallback(b, e, "get1") })
}

// BenchmarkHigressCallback is the workload callback alone.
func BenchmarkHigressCallback(b *testing.B) {
	benchEngines(b, func(b *testing.B, e *Engine) { benchCallback(b, e, "higress") })
}

// BenchmarkHigressWorkloadParts splits the raw workload callback
// (BenchmarkHigressCallback) in two: the guest code alone that builds its
// 40 strings, with no host call ("guest"), and its 60 host calls with the
// strings built beforehand ("calls").
func BenchmarkHigressWorkloadParts(b *testing.B) {
	b.Run("guest", func(b *testing.B) { benchCallback(b, testEngine(b), "build") })
	b.Run("calls", func(b *testing.B) { benchCallback(b, testEngine(b), "calls") })
}

// BenchmarkInstantiateVM measures instantiate + _initialize + root context
// start and configure of one VM, and its linear memory.
func BenchmarkInstantiateVM(b *testing.B) {
	e := testEngine(b)
	p := benchPlugin(b, e, "empty")
	b.ReportAllocs()
	var mem uint64
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	vms := make([]*vm, 0, b.N)
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		v, err := newVM(context.Background(), p.g, uint64(1000+i), []*Plugin{p})
		if err != nil {
			b.Fatal(err)
		}
		mem = v.memoryBytes()
		vms = append(vms, v)
	}
	b.StopTimer()
	cpu.report(b)
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(mem)/(1<<20), "linear-MiB/vm")
	b.ReportMetric(float64(ms1.HeapInuse+ms1.StackInuse-ms0.HeapInuse-ms0.StackInuse)/float64(b.N)/(1<<20), "go-heap-MiB/vm")
	for _, v := range vms {
		v.lock()
		v.closeNow()
		v.unlock()
	}
}

// BenchmarkCachedCompile measures compiling a module that is in the disk
// cache, in a fresh engine (a new process would do the same).
func BenchmarkCachedCompile(b *testing.B) {
	wasm := goPlugin(b, "bench")
	dir := b.TempDir()
	warm := newTestEngine(b, EngineConfig{CacheDir: dir})
	if _, err := warm.Compile(context.Background(), wasm); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := NewEngine(context.Background(), EngineConfig{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Compile(context.Background(), wasm); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = e.Close(context.Background())
		b.StartTimer()
	}
}

// BenchmarkColdCompile compiles the SDK benchmark plugin (2.7 MB) in a
// fresh engine without a disk cache, its functions compiled by one
// goroutine and by GOMAXPROCS.
func BenchmarkColdCompile(b *testing.B) {
	wasm := goPlugin(b, "benchsdk")
	for _, w := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run("workers-"+strconv.Itoa(w), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				e, err := NewEngine(context.Background(), EngineConfig{CacheDir: "off", CompileWorkers: w, Logger: newRecorder().logger()})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Compile(context.Background(), wasm); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = e.Close(context.Background())
				b.StartTimer()
			}
		})
	}
}

// BenchmarkHigressWorkloadParallel runs whole streams from GOMAXPROCS
// goroutines on a pool of GOMAXPROCS VMs (ns/op is wall time per request
// across all of them).
func BenchmarkHigressWorkloadParallel(b *testing.B) {
	benchEngines(b, func(b *testing.B, e *Engine) {
		m, err := e.Compile(context.Background(), goPlugin(b, "bench"))
		if err != nil {
			b.Fatal(err)
		}
		p, err := e.NewPlugin(context.Background(), m, PluginConfig{Name: "bench", Configuration: []byte("higress"), Logger: newRecorder().logger()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close(context.Background()) })
		base := reqHeaders()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s := p.NewStream(StreamOptions{})
				if r := s.RequestHeaders(base.Clone(), true); r.Action != ActionContinue {
					b.Error(r.Action)
				}
				s.Done()
			}
		})
	})
}

// BenchmarkNonGoStream runs whole streams (context create, request headers,
// log, done, delete) of a hand-written module with empty callbacks, as
// modules of other toolchains are: with a proxy-wasm import the CPU
// deadline instruments it, without one it falls back to wazero's context
// checks.
func BenchmarkNonGoStream(b *testing.B) {
	for _, c := range []struct{ name, imports string }{
		{"instrumented", `(import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))`},
		{"context-checks", ``},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := testEngine(b)
			m, err := e.Compile(context.Background(), watSource(b, `(module `+c.imports+`
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0)))`))
			if err != nil {
				b.Fatal(err)
			}
			if m.interruptible != (c.imports != "") {
				b.Fatalf("interruptible = %v", m.interruptible)
			}
			p, err := e.NewPlugin(context.Background(), m, PluginConfig{Name: c.name, PoolSize: 1, Logger: newRecorder().logger()})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(context.Background())
			base := reqHeaders()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := p.NewStream(StreamOptions{})
				s.RequestHeaders(base.Clone(), true)
				s.Done()
			}
		})
	}
}

// heavyConfig is a rule set of about 4 MB for testdata/goplugin/heavy.
func heavyConfig() []byte {
	var b []byte
	for i := 0; i < 40000; i++ {
		b = strconv.AppendInt(append(b, "rule-"...), int64(i), 10)
		b = append(b, '=')
		for j := 0; j < 90; j++ {
			b = append(b, byte('a'+(i+j)%26))
		}
		b = append(b, '\n')
	}
	return b
}

// BenchmarkStartHeavyPlugin starts a plugin whose proxy_on_configure parses
// a 4 MB rule set: one VM, a pool of four that starts with one and grows
// under load (the default), four started in parallel at load, and four
// started one after another (parallelism 1, as before pools started in
// parallel). It reports the Go heap each started VM holds.
func BenchmarkStartHeavyPlugin(b *testing.B) {
	e := testEngine(b)
	m, err := e.Compile(context.Background(), goPlugin(b, "heavy"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := heavyConfig()
	for _, c := range []struct {
		name               string
		size, start, procs int
	}{{"one-vm", 1, 1, 0}, {"pool-4-growing", 4, 1, 0}, {"pool-4-parallel", 4, 4, 0}, {"pool-4-serial", 4, 4, 1}} {
		b.Run(c.name, func(b *testing.B) {
			if c.procs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
			}
			var ms0, ms1 runtime.MemStats
			for i := 0; i < b.N; i++ {
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				p, err := e.NewPlugin(context.Background(), m, PluginConfig{Name: "heavy", PoolSize: c.size, PoolStart: c.start, Configuration: cfg, Logger: newRecorder().logger()})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&ms1)
				if n := p.VMCount(); n != c.start {
					b.Fatalf("%d VMs, want %d", n, c.start)
				}
				p.Close(context.Background())
				b.StartTimer()
			}
			b.ReportMetric(float64(ms1.HeapInuse+ms1.StackInuse-ms0.HeapInuse-ms0.StackInuse)/float64(c.start)/(1<<20), "go-heap-MiB/vm")
		})
	}
}

// spinSink keeps spin's work from being optimized away.
var spinSink uint64

// spin runs n rounds of an LCG: pure computation, no memory traffic, no
// allocation and no system call.
func spin(n int) {
	x := spinSink | 1
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	spinSink = x
}

// BenchmarkSpinNoiseFloor is the machine's own latency tail: native
// computation that takes as long as the workloads above (1, 10 and 25
// µs), timed per iteration like them. What it reports as p99 against p50
// is what interruptions of the CPU (other tenants, the hypervisor, timer
// interrupts) add to any work of that length, so it is the floor for the
// engine's p99.
func BenchmarkSpinNoiseFloor(b *testing.B) {
	// Rounds per microsecond, from the fastest of a few timed runs.
	const probe = 100000
	best := time.Duration(1 << 62)
	for i := 0; i < 20; i++ {
		start := time.Now()
		spin(probe)
		best = min(best, time.Since(start))
	}
	perUS := float64(probe) / (float64(best) / float64(time.Microsecond))
	for _, us := range []int{1, 10, 25} {
		b.Run(strconv.Itoa(us)+"us", func(b *testing.B) {
			n := int(perUS * float64(us))
			lat := make(latencies, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				spin(n)
				lat.add(time.Since(start))
			}
			b.StopTimer()
			lat.report(b)
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100])/float64(lat[len(lat)/2]), "p99/p50")
		})
	}
}
