package plugintest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Plugin is a plugin module running on its own host engine, with a
// simulated clock, scripted or real callout clusters and a simulated
// upstream. Its methods are safe for concurrent use.
type Plugin struct {
	set      *settings
	name     string
	file     string
	engine   *host.Engine
	mod      *host.Module
	hp       *host.Plugin
	clock    *manualClock
	logs     *logStore
	callouts *callouts

	qmu    sync.Mutex
	quiet  *sync.Cond
	busy   int // requests handling something (not waiting)
	reqSeq atomic.Uint64
	closed atomic.Bool
	traces *trace.Store // every request's trace, for Result.Trace
	once   sync.Once
}

// Load builds the plugin package in dir (see Start) and starts it for the
// test, which fails when that is not possible. The plugin is closed when
// the test ends; its logs go to the test's log.
func Load(t testing.TB, dir string, opts ...Option) *Plugin {
	t.Helper()
	p, err := start(t, dir, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Start builds the plugin package in dir (a package main that registers
// the plugin in init) for GOOS=wasip1 GOARCH=wasm as a c-shared module and
// starts it: its VMs run the module's start functions, proxy_on_vm_start
// and proxy_on_configure. The module is cached under the user cache
// directory by a hash of what the build reads, so only changed plugins are
// rebuilt. A configuration the plugin rejects is an error. Close the
// plugin when done.
func Start(dir string, opts ...Option) (*Plugin, error) {
	return start(nil, dir, "", opts)
}

// LoadWasm starts the module file for the test (see StartWasm), failing
// the test when that is not possible. The plugin is closed when the test
// ends.
func LoadWasm(t testing.TB, file string, opts ...Option) *Plugin {
	t.Helper()
	p, err := start(t, "", file, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// StartWasm starts a proxy-wasm module file built with any SDK (Go, Rust,
// C++, AssemblyScript, TinyGo): ABI 0.1.0, 0.2.x or Higress's 0.2.100.
func StartWasm(file string, opts ...Option) (*Plugin, error) {
	return start(nil, "", file, opts)
}

func start(t testing.TB, dir, file string, opts []Option) (*Plugin, error) {
	s := defaults()
	for _, o := range opts {
		o(s)
	}
	if s.err != nil {
		return nil, s.err
	}
	what := file
	if file == "" {
		what = dir
		path, err := buildPackage(dir, s.buildTags)
		if err != nil {
			return nil, err
		}
		file = path
	}
	wasm, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("plugintest: %w", err)
	}
	name := s.name
	if name == "" {
		base := what
		if abs, err := filepath.Abs(what); err == nil {
			base = abs
		}
		name = strings.TrimSuffix(filepath.Base(base), ".wasm")
	}
	p := &Plugin{set: s, name: name, file: file, clock: newManualClock(s.start), logs: &logStore{t: t},
		traces: trace.NewStore(trace.Options{MaxRequests: 64, MaxBytes: 8 << 20})}
	p.quiet = sync.NewCond(&p.qmu)
	p.callouts = newCallouts(s, p.clock)
	logger := slog.New(&logHandler{store: p.logs})
	ctx := context.Background()
	p.engine, err = host.NewEngine(ctx, host.EngineConfig{Logger: logger, Clock: p.clock, CallTimeout: s.callTimeout})
	if err != nil {
		return nil, fmt.Errorf("plugintest: %s: %w", what, err)
	}
	p.mod, err = p.engine.Compile(ctx, wasm)
	if err != nil {
		p.shutdown()
		return nil, fmt.Errorf("plugintest: %s: %w", what, err)
	}
	cfg := host.PluginConfig{
		Name:            name,
		RootID:          s.rootID,
		VMID:            s.vmID,
		Configuration:   s.config,
		VMConfiguration: s.vmConfig,
		Env:             s.env,
		PoolSize:        s.poolSize,
		PoolStart:       s.poolSize,
		LogLevel:        s.logLevel,
		Logger:          logger,
		HTTP:            p.callouts,
		Redis:           p.callouts,
		GRPC:            p.callouts,
		BufferLimit:     s.bufferLimit,
		ReloadBackoff:   s.reloadBackoff,
	}
	if len(s.properties) > 0 {
		cfg.Properties = s.properties
	}
	if s.failOpen {
		cfg.FailStrategy = host.FailOpen
	}
	p.hp, err = p.engine.NewPlugin(ctx, p.mod, cfg)
	if err != nil {
		msg := fmt.Sprintf("plugintest: start %s (%s): %v", name, what, err)
		if tail := p.logs.tail(5); len(tail) > 0 {
			msg += "\n  " + strings.Join(tail, "\n  ")
		}
		p.shutdown()
		return nil, fmt.Errorf("%s", msg)
	}
	return p, nil
}

// Close stops the plugin (proxy_on_done, proxy_on_delete) and its engine.
// Requests still running fail. Load closes the plugin at the end of the
// test.
func (p *Plugin) Close() {
	p.once.Do(func() {
		p.closed.Store(true)
		p.shutdown()
	})
}

func (p *Plugin) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if p.hp != nil {
		p.hp.Close(ctx)
	}
	if p.engine != nil {
		_ = p.engine.Close(ctx)
	}
	p.callouts.close()
	p.logs.stop()
}

// Do sends req through the plugin and returns the outcome once the client
// has the whole response (or the stream was reset). A request the plugin
// holds with nothing arriving for the pause timeout fails the test, which
// is why Do must be called from the test's goroutine; use Send elsewhere.
// When the test fails, the request's trace (every callback with its action,
// the header and body changes, callouts, pauses, logs) is printed.
func (p *Plugin) Do(t testing.TB, req *Request) *Result {
	t.Helper()
	res, err := p.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	logTraceOnFailure(t, res)
	return res
}

// logTraceOnFailure prints the request's trace when t has failed by its end.
func logTraceOnFailure(t testing.TB, res *Result) {
	if res.Trace == nil {
		return
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("trace of %s %s:\n%s", res.Trace.Method, res.Trace.Path, res.TraceText())
		}
	})
}

// Send is Do returning an error instead of failing the test; it may be
// called from any goroutine, concurrently (each request is its own stream;
// each VM runs one callback at a time).
func (p *Plugin) Send(req *Request) (*Result, error) {
	return p.newExchange(req).run()
}

// Call is a request sent with Go.
type Call struct {
	done chan struct{}
	res  *Result
	err  error
}

// Go sends req without waiting for the response: use it when the test must
// act while the request is under way, such as moving the clock for a
// callout timeout:
//
//	call := p.Go(plugintest.Get("/"))
//	p.Advance(time.Second)
//	res := call.Wait(t)
//
// The request has been handed to the plugin, and everything that follows
// at once has been handled, when Advance or Tick move the clock.
func (p *Plugin) Go(req *Request) *Call {
	c := &Call{done: make(chan struct{})}
	x := p.newExchange(req)
	go func() {
		c.res, c.err = x.run()
		close(c.done)
	}()
	return c
}

// Done is closed when the request is over.
func (c *Call) Done() <-chan struct{} { return c.done }

// Result waits for the request and returns its outcome.
func (c *Call) Result() (*Result, error) {
	<-c.done
	return c.res, c.err
}

// Wait waits for the request and returns its outcome; an error fails the
// test.
func (c *Call) Wait(t testing.TB) *Result {
	t.Helper()
	res, err := c.Result()
	if err != nil {
		t.Fatal(err)
	}
	logTraceOnFailure(t, res)
	return res
}

// Now returns the simulated time.
func (p *Plugin) Now() time.Time { return p.clock.Now() }

// Advance moves the simulated clock forward by d, firing what falls due in
// order: tick callbacks (proxy_on_tick), delayed or missing callout
// answers and their timeouts, VM replacements. Before each timer, and
// before returning, it waits until every request in flight has handled
// what it can (their plugins are paused, waiting); real servers may still
// answer later.
func (p *Plugin) Advance(d time.Duration) {
	p.waitQuiet()
	end := p.clock.Now().Add(d)
	for {
		t := p.clock.popDue(end)
		if t == nil {
			break
		}
		t.f()
		p.waitQuiet()
	}
	p.clock.moveTo(end)
}

// Tick moves the simulated clock to the next timer (the next
// proxy_on_tick, or a callout answer or timeout, whichever is first) and
// fires everything due then. It returns how far the clock moved, or false
// when nothing is scheduled.
func (p *Plugin) Tick() (time.Duration, bool) {
	p.waitQuiet()
	d, ok := p.clock.nextDue()
	if !ok {
		return 0, false
	}
	p.Advance(d)
	return d, true
}

// waitQuiet waits until no request is busy (each waits on its plugin), at
// most the pause timeout.
func (p *Plugin) waitQuiet() {
	deadline := time.Now().Add(p.set.pauseTimeout)
	wake := time.AfterFunc(p.set.pauseTimeout, func() {
		p.qmu.Lock()
		p.quiet.Broadcast()
		p.qmu.Unlock()
	})
	defer wake.Stop()
	p.qmu.Lock()
	defer p.qmu.Unlock()
	for p.busy > 0 && time.Now().Before(deadline) {
		p.quiet.Wait()
	}
}

// Logs returns the messages the plugin logged at level, in order.
func (p *Plugin) Logs(level types.LogLevel) []string {
	var out []string
	for _, e := range p.logs.all() {
		if e.Plugin && e.Level == level {
			out = append(out, e.Message)
		}
	}
	return out
}

// AllLogs returns every log line of the plugin and of the host engine
// about it, in order.
func (p *Plugin) AllLogs() []LogEntry { return p.logs.all() }

// Metric is a snapshot of a metric the plugin defined.
type Metric = host.Metric

// Metric returns the metric the plugin defined with that name.
func (p *Plugin) Metric(name string) (Metric, bool) {
	for _, m := range p.engine.Metrics() {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Metrics returns every metric the plugin defined, in definition order.
func (p *Plugin) Metrics() []Metric { return p.engine.Metrics() }

// HTTPCalls returns the HTTP callouts the plugin made to cluster, in order.
func (p *Plugin) HTTPCalls(cluster string) []HTTPCall { return p.callouts.httpCallsOf(cluster) }

// RedisCalls returns the Redis commands the plugin sent to cluster, in
// order.
func (p *Plugin) RedisCalls(cluster string) []RedisCall { return p.callouts.redisCallsOf(cluster) }

// RedisInits returns the plugin's proxy_redis_init calls for cluster.
func (p *Plugin) RedisInits(cluster string) []RedisInit { return p.callouts.redisInitsOf(cluster) }

// Name returns the plugin name (the plugin_name property).
func (p *Plugin) Name() string { return p.name }

// File returns the module file the plugin runs (the cached build for Load
// and Start).
func (p *Plugin) File() string { return p.file }

// Module returns the compiled module (ABI version, imports, exports).
func (p *Plugin) Module() *host.Module { return p.mod }

// Host returns the engine's plugin, for what plugintest does not wrap
// (VMCount, WaitVMs, SetLogLevel, NewStream).
func (p *Plugin) Host() *host.Plugin { return p.hp }
