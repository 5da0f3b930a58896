package host

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// A pool starts with one VM and grows by one whenever a new stream finds
// every serving VM holding a stream, up to PoolSize; each added VM holds a
// root context for every plugin sharing the pool.
func TestPoolGrowsUnderLoad(t *testing.T) {
	e := testEngine(t)
	a, recA := scripted(t, e, false, `{}`, withGrowingPool(3), withCfg(func(c *PluginConfig) { c.Name = "a" }))
	b, recB := scripted(t, e, false, `{}`, withGrowingPool(3), withCfg(func(c *PluginConfig) { c.Name = "b" }))
	if a.g != b.g {
		t.Fatal("a and b must share one pool")
	}
	if n := a.VMCount(); n != 1 {
		t.Fatalf("%d VMs at start, want 1", n)
	}
	var open []*Stream
	defer func() {
		for _, s := range open {
			s.Done()
		}
	}()
	stream := func(p *Plugin) {
		s := p.NewStream(StreamOptions{})
		if r := s.RequestHeaders(reqHeaders(), false); r.Action != ActionContinue {
			t.Fatalf("request headers: %+v", r)
		}
		open = append(open, s)
	}
	stream(a) // the only VM was idle: no growth
	if n := a.VMCount(); n != 1 {
		t.Fatalf("%d VMs after one stream, want 1", n)
	}
	stream(b) // every VM busy: a second one starts
	waitVMs(t, a, 2)
	stream(a) // the new VM was idle
	stream(b) // both busy: a third
	waitVMs(t, a, 3)
	for i := 0; i < 6; i++ {
		stream(a)
	}
	a.g.mu.Lock()
	vms, live, pending := len(a.g.vms), len(a.g.live), a.g.pendingR
	a.g.mu.Unlock()
	if vms != 3 || live != 3 || pending != 0 {
		t.Fatalf("%d serving VMs, %d live, %d pending; want 3, 3, 0", vms, live, pending)
	}
	if n := recA.count("cb:configure"); n != 3 {
		t.Fatalf("a configured in %d VMs, want 3", n)
	}
	if n := recB.count("cb:configure"); n != 3 {
		t.Fatalf("b configured in %d VMs, want 3", n)
	}
	// Streams spread over the grown pool.
	used := map[*vm]bool{}
	for _, s := range open {
		used[s.v] = true
	}
	if len(used) != 3 {
		t.Fatalf("streams on %d VMs, want 3", len(used))
	}
}

// The VMs NewPlugin starts beyond the first start at the same time: each
// one's proxy_on_configure waits (through a foreign function) until
// another VM is inside it too, which a one-after-another start never lets
// happen.
func TestPoolStartsInParallel(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	e := testEngine(t)
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	calls, inside, met := 0, 0, 0
	together := false
	meet := func([]byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return []byte("first") // the first VM starts alone
		}
		inside++
		defer func() { inside-- }()
		if inside >= 2 {
			together = true
			cond.Broadcast()
		}
		deadline := time.Now().Add(20 * time.Second)
		for !together && time.Now().Before(deadline) {
			go func() { time.Sleep(50 * time.Millisecond); cond.Broadcast() }()
			cond.Wait()
		}
		if together {
			met++
		}
		return []byte("ok")
	}
	start := time.Now()
	p, _ := scripted(t, e, false, `{"configure":[{"op":"foreign","name":"meet"}]}`, withPool(3),
		withCfg(func(c *PluginConfig) { c.ForeignFunctions = map[string]func([]byte) []byte{"meet": meet} }))
	if n := p.VMCount(); n != 3 {
		t.Fatalf("%d VMs, want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 || met != 2 {
		t.Fatalf("%d configure calls, %d met another VM starting (after %v); want 3 and 2", calls, met, time.Since(start))
	}
}
