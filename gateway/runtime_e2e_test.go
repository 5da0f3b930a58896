package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testservers"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// scriptedWasm is the host's scripted test plugin: its configuration is a
// script of host calls per callback, each logging its result.
func scriptedWasm(t *testing.T) string { return testwasm.Build(t, "host/testdata/goplugin/scripted") }

func onePool(o *Options) { o.PoolSize = 1 }

// On first load, a plugin's on_configure reaches the clusters of the
// configuration it starts with.
func TestCalloutAndRedisFromConfigureOnFirstLoad(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	token := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Write([]byte("tok"))
	}))
	defer token.Close()
	r := testservers.StartRedis(t)
	script := `{"configure":[
		{"op":"http_call","cluster":"outbound|80||token.dns","pairs":[[":method","GET"],[":path","/token"],[":authority","token"]],"timeout":5000},
		{"op":"redis_init","cluster":"outbound|6379||redis.dns","timeout":1000},
		{"op":"redis_call","cluster":"outbound|6379||redis.dns","data":"*1\r\n$4\r\nPING\r\n"}]}`
	demo := `{"serviceName":"redis.dns","servicePort":6379,"qpm":3,"timeout":2000}`
	g := startGateway(t, staticConfig([]config.Plugin{
		filePlugin("scripted", scriptedWasm(t), script),
		filePlugin("redis-demo", testwasm.Build(t, "examples/redis-demo"), demo)},
		loopbackCluster("outbound|80||token.dns", token), redisCluster("outbound|6379||redis.dns", r)), onePool)
	logs := g.logs.String()
	for _, want := range []string{"http_call st=0", "redis_init st=0", "redis_call st=0"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("no %q in the start-up log:\n%s", want, logs)
		}
	}
	waitFor(t, "the callout from on_configure", func() bool { return calls.Load() >= 1 })
	if strings.Contains(logs, "level=WARN") || strings.Contains(logs, "failed to init redis") {
		t.Fatalf("warnings at start-up:\n%s", logs)
	}
}

// A plugin whose on_configure takes 3 s loads under the default start
// deadline, and fails with the deadline named under a 1 s one.
func TestSlowConfigureAndStartDeadline(t *testing.T) {
	t.Parallel()
	wasm := scriptedWasm(t)
	slow := []config.Plugin{filePlugin("slow", wasm, `{"configure":[{"op":"sleep","ms":3000}]}`)}
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		g := startGateway(t, staticConfig(slow), onePool)
		if d := time.Since(start); d < 3*time.Second {
			t.Fatalf("started in %v", d)
		}
		if code, _, body := get(t, g.url+"/get"); code != 200 {
			t.Fatalf("status %d %q", code, body)
		}
	})
	t.Run("1s", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, staticConfig(slow), onePool, func(o *Options) { o.StartTimeout = time.Second })
		if code, _, _ := get(t, g.url+"/get"); code != 503 {
			t.Fatalf("status %d, want 503", code)
		}
		st := g.gw.Plugins()
		if len(st) != 1 || st[0].State != "failed" || !strings.Contains(st[0].Error, "proxy_on_configure stopped by the start deadline of 1s") {
			t.Fatalf("%+v", st)
		}
	})
}
