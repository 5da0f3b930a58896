package main

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/internal/testservers"
	"github.com/wasmgate/wasmgate/plugintest"
)

// The tests build this package into its wasm module and run it on the
// gateway's host engine. Redis is scripted (a small in-memory counter
// store), or a real redis-server.

const (
	config  = `{"serviceName": "redis.dns", "qpm": 2}`
	cluster = "outbound|6379||redis.dns"
)

// counters is a scripted Redis that keeps INCR counters and records EXPIRE.
type counters struct {
	mu      sync.Mutex
	values  map[string]int
	expires map[string]string
}

func newCounters() *counters {
	return &counters{values: map[string]int{}, expires: map[string]string{}}
}

func (c *counters) handle(cmd []string) plugintest.RedisReply {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case len(cmd) == 2 && cmd[0] == "incr":
		c.values[cmd[1]]++
		return plugintest.RedisInt(c.values[cmd[1]])
	case len(cmd) == 3 && cmd[0] == "expire":
		c.expires[cmd[1]] = cmd[2]
		return plugintest.RedisInt(1)
	}
	return plugintest.RedisError("ERR unknown command " + strings.Join(cmd, " "))
}

// window is the rate limit key of the minute the plugin's clock is in.
func window(p *plugintest.Plugin) string {
	return strconv.FormatInt(p.Now().Truncate(time.Minute).Unix(), 10)
}

func TestLimit(t *testing.T) {
	store := newCounters()
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.RedisCluster(cluster, store.handle))
	w := window(p)
	for i := 1; i <= 2; i++ {
		res := p.Do(t, plugintest.Get("/get"))
		if res.Upstream == nil {
			t.Fatalf("request %d was refused: %+v", i, res.Local)
		}
		if res.Status != 200 || res.Header.Get("timeStamp") != w || res.Header.Get("callTimeLeft") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: client got %d %v, want timeStamp %s callTimeLeft %d", i, res.Status, res.Header, w, 2-i)
		}
	}
	res := p.Do(t, plugintest.Get("/get"))
	if res.Local == nil || res.Local.Status != 429 || string(res.Local.Body) != "Too many requests\n" {
		t.Fatalf("request 3: local reply = %+v, want 429 Too many requests", res.Local)
	}
	if res.Upstream != nil {
		t.Fatal("request 3 reached the upstream")
	}
	if res.Status != 429 || res.Header.Get("timeStamp") != w || len(res.Header.Values("callTimeLeft")) != 1 || res.Header.Get("callTimeLeft") != "0" {
		t.Fatalf("request 3: client got %d %v", res.Status, res.Header)
	}
	// Only the first request of the minute sets the expiry.
	var cmds []string
	for _, c := range p.RedisCalls(cluster) {
		cmds = append(cmds, strings.Join(c.Command, " "))
	}
	want := []string{"incr " + w, "expire " + w + " 60", "incr " + w, "incr " + w}
	if strings.Join(cmds, "|") != strings.Join(want, "|") {
		t.Fatalf("redis commands = %q, want %q", cmds, want)
	}
}

// A new minute is a new window: its first request passes and sets EXPIRE.
func TestNextMinute(t *testing.T) {
	store := newCounters()
	p := plugintest.Load(t, ".", plugintest.Config(`{"serviceName": "redis.dns", "qpm": 1}`), plugintest.RedisCluster(cluster, store.handle))
	first := window(p)
	p.Do(t, plugintest.Get("/"))
	if res := p.Do(t, plugintest.Get("/")); res.Local == nil || res.Local.Status != 429 {
		t.Fatalf("second request of the minute: local reply = %+v", res.Local)
	}
	p.Advance(time.Minute)
	next := window(p)
	if next == first {
		t.Fatal("the clock did not reach the next minute")
	}
	res := p.Do(t, plugintest.Get("/"))
	if res.Upstream == nil || res.Header.Get("timeStamp") != next {
		t.Fatalf("first request of the next minute: upstream %+v, header %v", res.Upstream, res.Header)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.expires[first] != "60" || store.expires[next] != "60" || store.values[first] != 2 || store.values[next] != 1 {
		t.Fatalf("store = %v, expires = %v", store.values, store.expires)
	}
}

func TestRedisFailurePasses(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.RedisCluster(cluster, plugintest.RedisFailure()))
	for i := 0; i < 3; i++ {
		res := p.Do(t, plugintest.Get("/get"))
		if res.Upstream == nil || res.Status != 200 {
			t.Fatalf("request %d did not pass: %+v", i, res.Local)
		}
		if res.Header.Get("timeStamp") != "" {
			t.Fatalf("request %d: rate limit headers without a count: %v", i, res.Header)
		}
	}
	if !logged(p.Logs(plugintest.LevelError), "redis incr failed, request passes") {
		t.Fatalf("error logs = %q", p.Logs(plugintest.LevelError))
	}
}

// An unknown Redis cluster fails the init and every call: requests pass.
func TestUnknownClusterPasses(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil {
		t.Fatalf("the request did not pass: %+v", res.Local)
	}
	if !logged(p.Logs(plugintest.LevelError), "redis call failed, request passes") {
		t.Fatalf("error logs = %q", p.Logs(plugintest.LevelError))
	}
}

func TestInit(t *testing.T) {
	p := plugintest.Load(t, ".",
		plugintest.Config(`{"serviceName": "redis.static", "qpm": 5, "username": "u", "password": "pw", "timeout": 300}`),
		plugintest.RedisCluster("outbound|80||redis.static", newCounters().handle))
	inits := p.RedisInits("outbound|80||redis.static")
	if len(inits) != 1 || inits[0].Username != "u" || inits[0].Password != "pw" || inits[0].Timeout != 300*time.Millisecond {
		t.Fatalf("inits = %+v", inits)
	}
	if res := p.Do(t, plugintest.Get("/")); res.Upstream == nil || res.Header.Get("callTimeLeft") != "4" {
		t.Fatalf("upstream = %+v, header %v", res.Upstream, res.Header)
	}
}

func TestConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"qpm": 2}`:                              "missing serviceName",
		`{"serviceName": "redis.dns"}`:            "qpm must be a positive number",
		`{"serviceName": "redis.dns", "qpm": -1}`: "qpm must be a positive number",
	} {
		p, err := plugintest.Start(".", plugintest.Config(cfg), plugintest.RedisCluster(cluster, plugintest.RedisFailure()))
		if err == nil {
			p.Close()
			t.Fatalf("configuration %s was accepted", cfg)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("configuration %s: error %v does not say %q", cfg, err, want)
		}
	}
}

// Against a real redis-server: the counter and its expiry are really there.
func TestRealRedis(t *testing.T) {
	r := testservers.StartRedis(t)
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.RealRedisCluster(cluster, r.Addr))
	w := window(p)
	for i := 1; i <= 3; i++ {
		res := p.Do(t, plugintest.Get("/get"))
		limited := res.Local != nil && res.Local.Status == 429
		if limited != (i == 3) {
			t.Fatalf("request %d: local reply %+v, upstream %+v", i, res.Local, res.Upstream)
		}
	}
	if got := r.Do(t, "GET "+w); got != "3" {
		t.Fatalf("counter %s = %q, want 3", w, got)
	}
	ttl, err := strconv.Atoi(strings.TrimPrefix(r.Do(t, "TTL "+w), ":"))
	if err != nil || ttl <= 0 || ttl > 60 {
		t.Fatalf("TTL of %s = %d (%v), want 1..60", w, ttl, err)
	}
}

func logged(lines []string, part string) bool {
	for _, l := range lines {
		if strings.Contains(l, part) {
			return true
		}
	}
	return false
}
