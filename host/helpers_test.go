package host

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// scriptedModule compiles the scripted test plugin (ABI 0_2_100, or 0_2_1
// with abi021) on e.
func scriptedModule(t testing.TB, e *Engine, abi021 bool) *Module {
	t.Helper()
	var b []byte
	if abi021 {
		b = goPlugin(t, "scripted", "abi021")
	} else {
		b = goPlugin(t, "scripted")
	}
	m, err := e.Compile(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type pluginOpt func(*PluginConfig)

func withFailOpen() pluginOpt { return func(c *PluginConfig) { c.FailStrategy = FailOpen } }

// withPool gives a pool of n VMs, all started by NewPlugin.
func withPool(n int) pluginOpt { return func(c *PluginConfig) { c.PoolSize, c.PoolStart = n, n } }

// withGrowingPool gives a pool of up to n VMs that starts with one.
func withGrowingPool(n int) pluginOpt { return func(c *PluginConfig) { c.PoolSize = n } }
func withHTTP(h HTTPCaller) pluginOpt {
	return func(c *PluginConfig) { c.HTTP = h }
}
func withRedis(r RedisCaller) pluginOpt { return func(c *PluginConfig) { c.Redis = r } }
func withVMConfig(s string) pluginOpt {
	return func(c *PluginConfig) { c.VMConfiguration = []byte(s) }
}
func withProps(p Properties) pluginOpt { return func(c *PluginConfig) { c.Properties = p } }
func withLevel(l types.LogLevel) pluginOpt {
	return func(c *PluginConfig) { c.LogLevel = &l }
}
func withCfg(f func(*PluginConfig)) pluginOpt { return f }

// scripted starts the scripted plugin with script as its configuration.
func scripted(t testing.TB, e *Engine, abi021 bool, script string, opts ...pluginOpt) (*Plugin, *logRecorder) {
	t.Helper()
	rec := newRecorder()
	trace := types.LogLevelTrace
	cfg := PluginConfig{
		Name:          "scripted",
		RootID:        "root",
		VMID:          "vm-" + t.Name(),
		Configuration: []byte(script),
		PoolSize:      1,
		Logger:        rec.logger(),
		LogLevel:      &trace,
		ReloadBackoff: 10 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := e.NewPlugin(context.Background(), scriptedModule(t, e, abi021), cfg)
	if err != nil {
		t.Fatalf("NewPlugin: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p, rec
}

// events collects stream events.
type events struct {
	mu  sync.Mutex
	evs []Event
	ch  chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 64)} }

func (e *events) fn(ev Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
	e.ch <- ev
}

func (e *events) wait(t testing.TB) Event {
	t.Helper()
	select {
	case ev := <-e.ch:
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no stream event")
	}
	return Event{}
}

func (e *events) none(t testing.TB) {
	t.Helper()
	select {
	case ev := <-e.ch:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

// fakeHTTP is an HTTPCaller the test answers by hand.
type fakeHTTP struct {
	mu       sync.Mutex
	clusters map[string]bool
	reqs     []*CalloutRequest
	dones    []func(*CalloutResponse)
	arrived  chan struct{}
	auto     *CalloutResponse // answer synchronously when set
}

func newFakeHTTP(clusters ...string) *fakeHTTP {
	f := &fakeHTTP{clusters: map[string]bool{}, arrived: make(chan struct{}, 64)}
	for _, c := range clusters {
		f.clusters[c] = true
	}
	return f
}

func (f *fakeHTTP) HTTPCall(req *CalloutRequest, done func(*CalloutResponse)) error {
	f.mu.Lock()
	if !f.clusters[req.Cluster] {
		f.mu.Unlock()
		return ErrUnknownCluster
	}
	f.reqs = append(f.reqs, req)
	f.dones = append(f.dones, done)
	auto := f.auto
	f.mu.Unlock()
	f.arrived <- struct{}{}
	if auto != nil {
		done(auto)
	}
	return nil
}

func (f *fakeHTTP) waitCall(t testing.TB) {
	t.Helper()
	select {
	case <-f.arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("no http call")
	}
}

func (f *fakeHTTP) answer(i int, r *CalloutResponse) {
	f.mu.Lock()
	d := f.dones[i]
	f.mu.Unlock()
	d(r)
}

func ok200(body string) *CalloutResponse {
	return &CalloutResponse{Headers: NewHeaderMap(":status", "200", "x-up", "1"), Body: []byte(body)}
}

// reqHeaders returns a typical request header map.
func reqHeaders() *HeaderMap {
	return NewHeaderMap(":authority", "example.com", ":path", "/p?q=1", ":method", "GET", ":scheme", "http",
		"user-agent", "test", "x-request-id", "abc")
}
