package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testservers"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

func redisCluster(name string, r *testservers.Redis) config.Cluster {
	return config.Cluster{Name: name, Discovery: config.DiscoveryStatic, Endpoints: []config.Endpoint{{Host: "127.0.0.1", Port: r.Port}}}
}

// awayFromMinuteEnd waits (at most a few seconds) so that a per-minute window
// does not roll over during the next steps.
func awayFromMinuteEnd() {
	if s := time.Now().Second(); s >= 55 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
}

func TestRedisDemoRateLimit(t *testing.T) {
	wasm := testwasm.Build(t, "examples/redis-demo")
	r := testservers.StartRedis(t)
	cfg := `{"serviceName":"redis.dns","servicePort":6379,"qpm":3,"timeout":2000}`
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("redis-demo", wasm, cfg)},
		redisCluster("outbound|6379||redis.dns", r)))
	awayFromMinuteEnd()
	for i := 1; i <= 3; i++ {
		code, h, body := get(t, g.url+"/get")
		if code != 200 {
			t.Fatalf("request %d: status %d body %q", i, code, body)
		}
		if h.Get("timeStamp") == "" || h.Get("callTimeLeft") != itoaT(3-i) {
			t.Fatalf("request %d: headers %v", i, h)
		}
	}
	code, h, body := get(t, g.url+"/get")
	if code != 429 || body != "Too many requests\n" || h.Get("callTimeLeft") != "0" {
		t.Fatalf("request 4: status %d headers %v body %q", code, h, body)
	}
	if ttl := r.Do(t, "TTL "+h.Get("timeStamp")); ttl == "-1" || ttl == "-2" {
		t.Fatalf("counter has no expiry: TTL %s", ttl)
	}

	r.Stop()
	code, _, body = get(t, g.url+"/get")
	if code != 200 {
		t.Fatalf("with Redis stopped: status %d body %q (the plugin fails open)", code, body)
	}
	waitFor(t, "the plugin's redis error", func() bool { return strings.Contains(g.logs.String(), "redis incr failed") })
}
