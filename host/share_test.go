package host

import (
	"context"
	"testing"
	"time"
)

// Plugins with the same module, vm_id and VM configuration share one VM
// per pool slot, as filters with the same vm key do in Envoy: root
// contexts 1 and 2 in the order the plugins started, stream ids from the
// same counter, one failure taking both down and one replacement bringing
// both back; a plugin closing shuts only its root context down.
func TestSharedVMRootContexts(t *testing.T) {
	e := testEngine(t)
	script := `{"request_headers":[{"op":"trap","kind":"panic","eos":false}]}`
	a, recA := scripted(t, e, false, script, withCfg(func(c *PluginConfig) { c.Name = "a" }))
	b, recB := scripted(t, e, false, script, withCfg(func(c *PluginConfig) { c.Name = "b" }))
	other, recO := scripted(t, e, false, script, withCfg(func(c *PluginConfig) { c.Name = "other"; c.VMID = "another" }))

	recA.mustHave(t, "cb:context_create ctx=1 a=0", "cb:vm_start ctx=1", "cb:configure ctx=1")
	recB.mustHave(t, "cb:context_create ctx=2 a=0", "cb:vm_start ctx=2", "cb:configure ctx=2")
	recB.mustNotHave(t, "ctx=1 ")
	recO.mustHave(t, "cb:context_create ctx=1 a=0")
	if got := a.SharedWith(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("a shares with %v", got)
	}
	if got := other.SharedWith(); len(got) != 0 {
		t.Fatalf("other shares with %v", got)
	}
	if a.VMCount() != 1 || b.VMCount() != 1 {
		t.Fatalf("VMs: a %d, b %d (pool size 1 shared)", a.VMCount(), b.VMCount())
	}

	sa := a.NewStream(StreamOptions{})
	sa.RequestHeaders(reqHeaders(), true)
	sa.Done()
	sb := b.NewStream(StreamOptions{})
	sb.RequestHeaders(reqHeaders(), true)
	sb.Done()
	recA.mustHave(t, "cb:context_create ctx=3 a=1")
	recB.mustHave(t, "cb:context_create ctx=4 a=2")

	// b's stream traps: the shared VM fails for both; its replacement
	// has both root contexts again, in the same order.
	recA.reset()
	recB.reset()
	sb = b.NewStream(StreamOptions{})
	if r := sb.RequestHeaders(reqHeaders(), false); r.Action != ActionLocalReply {
		t.Fatalf("trap: %+v", r)
	}
	sb.Done()
	waitVMs(t, a, 1)
	recA.waitFor(t, "cb:configure ctx=1")
	recB.waitFor(t, "cb:configure ctx=2")
	sa = a.NewStream(StreamOptions{})
	if r := sa.RequestHeaders(reqHeaders(), true); r.Action != ActionContinue {
		t.Fatalf("a after the replacement: %+v", r)
	}
	sa.Done()
	recA.mustHave(t, "cb:context_create ctx=3 a=1")

	// b closes: its root context gets on_done and on_delete, a serves on.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.Close(ctx)
	recB.mustHave(t, "cb:done ctx=2", "cb:delete ctx=2")
	recA.mustNotHave(t, "cb:done ctx=1")
	if got := a.SharedWith(); len(got) != 0 {
		t.Fatalf("a still shares with %v", got)
	}
	sa = a.NewStream(StreamOptions{})
	if r := sa.RequestHeaders(reqHeaders(), true); r.Action != ActionContinue {
		t.Fatalf("a after b closed: %+v", r)
	}
	sa.Done()

	// A plugin joining later gets the next context id: ids are not reused.
	_, recC := scripted(t, e, false, script, withCfg(func(c *PluginConfig) { c.Name = "c" }))
	recC.mustHave(t, "cb:context_create ctx=5 a=0")
}

// A plugin whose configuration is rejected in a shared VM fails to load
// alone: the VM and the plugins already in it serve on.
func TestSharedVMJoinRejected(t *testing.T) {
	e := testEngine(t)
	a, _ := scripted(t, e, false, `{}`, withCfg(func(c *PluginConfig) { c.Name = "a" }))
	_, err := e.NewPlugin(context.Background(), scriptedModule(t, e, false), PluginConfig{
		Name: "bad", RootID: "root", VMID: "vm-" + t.Name(), Configuration: []byte("not json"), PoolSize: 1,
		ReloadBackoff: 10 * time.Millisecond,
	})
	if err == nil {
		t.Fatal("a plugin that rejects its configuration loaded")
	}
	if a.VMCount() != 1 || len(a.SharedWith()) != 0 {
		t.Fatalf("a: %d VMs, shares with %v", a.VMCount(), a.SharedWith())
	}
	s := a.NewStream(StreamOptions{})
	if r := s.RequestHeaders(reqHeaders(), true); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	s.Done()
}

// A shared pool serves all its plugins: two plugins of one VM key with a pool of 2 run on the
// same 2 VMs (not 4), each stream of either on one of them; a plugin asking for another pool
// size gets VMs of its own.
func TestSharedVMPoolSize(t *testing.T) {
	e := testEngine(t)
	a, _ := scripted(t, e, false, `{}`, withPool(2), withCfg(func(c *PluginConfig) { c.Name = "a" }))
	b, _ := scripted(t, e, false, `{}`, withPool(2), withCfg(func(c *PluginConfig) { c.Name = "b" }))
	c, _ := scripted(t, e, false, `{}`, withPool(3), withCfg(func(c *PluginConfig) { c.Name = "c" }))
	if a.g != b.g || a.g == c.g {
		t.Fatal("a and b must share one pool, c must not")
	}
	a.g.mu.Lock()
	live := len(a.g.live)
	a.g.mu.Unlock()
	if live != 2 || a.VMCount() != 2 || b.VMCount() != 2 || c.VMCount() != 3 {
		t.Fatalf("instances %d; VMs a %d, b %d, c %d", live, a.VMCount(), b.VMCount(), c.VMCount())
	}
	for _, v := range a.g.serving() {
		v.lock()
		n := len(v.roots)
		v.unlock()
		if n != 2 {
			t.Fatalf("VM %d has %d root contexts, want 2", v.seq, n)
		}
	}
	var streams []*Stream
	for i := 0; i < 4; i++ {
		for _, p := range []*Plugin{a, b} {
			s := p.NewStream(StreamOptions{})
			if r := s.RequestHeaders(reqHeaders(), true); r.Action != ActionContinue {
				t.Fatalf("%+v", r)
			}
			streams = append(streams, s)
		}
	}
	for _, s := range streams {
		s.Done()
	}
}
