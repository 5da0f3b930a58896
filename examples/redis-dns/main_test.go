package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/internal/testservers"
	"github.com/wasmgate/wasmgate/plugintest"
)

// The tests build this package into its wasm module and run it on the
// gateway's host engine. Redis is scripted, or a real redis-server.

const (
	config = `{"redis": {"service_name": "redis-svc", "timeout": 200}, "key": "greeting"}`
	// The DNS service source "redis-svc" on port 6379, as Higress names it.
	cluster = "outbound|6379||redis-svc.dns"
)

// values is a scripted Redis answering GET from a map.
func values(m map[string]string) plugintest.RedisHandler {
	return func(cmd []string) plugintest.RedisReply {
		if len(cmd) != 2 || cmd[0] != "get" {
			return plugintest.RedisError("ERR unexpected command " + strings.Join(cmd, " "))
		}
		if v, ok := m[cmd[1]]; ok {
			return plugintest.RedisString(v)
		}
		return plugintest.RedisNil()
	}
}

func TestCopiesValue(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.RedisCluster(cluster, values(map[string]string{"greeting": "hello"})))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil {
		t.Fatalf("the request did not reach the upstream: %+v", res.Local)
	}
	if got := res.Upstream.Header.Get("x-redis-value"); got != "hello" {
		t.Fatalf("upstream got x-redis-value=%q, want hello", got)
	}
	calls := p.RedisCalls(cluster)
	if len(calls) != 1 || strings.Join(calls[0].Command, " ") != "get greeting" {
		t.Fatalf("redis calls = %+v", calls)
	}
	inits := p.RedisInits(cluster)
	if len(inits) != 1 || inits[0].Timeout != 200*time.Millisecond || inits[0].Username != "" {
		t.Fatalf("redis inits = %+v", inits)
	}
}

func TestCustomHeaderAndCredentials(t *testing.T) {
	p := plugintest.Load(t, ".",
		plugintest.Config(`{"redis": {"service_name": "cache", "service_port": 6380, "username": "u", "password": "pw"}, "key": "k", "header": "x-cached"}`),
		plugintest.RedisCluster("outbound|6380||cache.dns", values(map[string]string{"k": "v"})))
	res := p.Do(t, plugintest.Get("/"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-cached") != "v" || res.Upstream.Header.Get("x-redis-value") != "" {
		t.Fatalf("upstream = %+v, local reply = %+v", res.Upstream, res.Local)
	}
	if inits := p.RedisInits("outbound|6380||cache.dns"); len(inits) != 1 || inits[0].Username != "u" || inits[0].Password != "pw" {
		t.Fatalf("redis inits = %+v", inits)
	}
}

func TestMissingKeyLeavesRequest(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.RedisCluster(cluster, values(nil)))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil || len(res.Upstream.Header.Values("x-redis-value")) != 0 {
		t.Fatalf("upstream = %+v, local reply = %+v; want the request unchanged", res.Upstream, res.Local)
	}
	if !logged(p.Logs(plugintest.LevelInfo), "redis key greeting is not set") {
		t.Fatalf("info logs = %q", p.Logs(plugintest.LevelInfo))
	}
}

func TestRedisFailurePasses(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.RedisCluster(cluster, plugintest.RedisFailure()))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-redis-value") != "" {
		t.Fatalf("upstream = %+v, local reply = %+v; want the request unchanged", res.Upstream, res.Local)
	}
	if !logged(p.Logs(plugintest.LevelError), "redis get greeting failed") {
		t.Fatalf("error logs = %q", p.Logs(plugintest.LevelError))
	}
}

// An error reply (a key of the wrong type) is a failure too.
func TestRedisErrorReplyPasses(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.RedisCluster(cluster, func([]string) plugintest.RedisReply {
		return plugintest.RedisError("WRONGTYPE Operation against a key holding the wrong kind of value")
	}))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-redis-value") != "" {
		t.Fatalf("upstream = %+v, local reply = %+v", res.Upstream, res.Local)
	}
	if !logged(p.Logs(plugintest.LevelError), "WRONGTYPE") {
		t.Fatalf("error logs = %q", p.Logs(plugintest.LevelError))
	}
}

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

func TestConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"key": "k"}`: "missing redis.service_name",
		`{"redis": {"service_name": "redis-svc"}}`: "missing key",
	} {
		p, err := plugintest.Start(".", plugintest.Config(cfg))
		if err == nil {
			p.Close()
			t.Fatalf("configuration %s was accepted", cfg)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("configuration %s: error %v does not say %q", cfg, err, want)
		}
	}
}

func TestRealRedis(t *testing.T) {
	r := testservers.StartRedis(t)
	r.Do(t, "SET greeting real-value")
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.RealRedisCluster(cluster, r.Addr))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-redis-value") != "real-value" {
		t.Fatalf("upstream = %+v, local reply = %+v", res.Upstream, res.Local)
	}
	r.Do(t, "DEL greeting")
	res = p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-redis-value") != "" {
		t.Fatalf("after DEL: upstream = %+v", res.Upstream)
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
