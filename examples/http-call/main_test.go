package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/plugintest"
)

// The tests build this package into its wasm module and run it on the
// gateway's host engine; the token service is scripted per cluster.

const (
	config  = `{"serviceName": "token.dns", "servicePort": 80, "requestPath": "/token", "tokenHeader": "x-token"}`
	cluster = "outbound|80||token.dns"
)

func TestCopiesToken(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config),
		plugintest.HTTPCluster(cluster, plugintest.Reply(200, http.Header{"X-Token": {"abc"}}, []byte("{}"))))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil {
		t.Fatalf("the request did not reach the upstream: local reply %+v", res.Local)
	}
	if got := res.Upstream.Header.Get("x-token"); got != "abc" {
		t.Fatalf("upstream got x-token=%q, want abc", got)
	}
	calls := p.HTTPCalls(cluster)
	if len(calls) != 1 || calls[0].Method != "GET" || calls[0].Path != "/token" || calls[0].Authority != "token.dns" {
		t.Fatalf("calls = %+v", calls)
	}
	// The request waits for the token service, then goes on.
	if a, _ := res.Action(plugintest.RequestHeaders); a != plugintest.ActionStop {
		t.Fatalf("request headers action = %v, want stop", a)
	}
	if a, _ := res.Action(plugintest.ResumeRequest); a != plugintest.ActionContinue {
		t.Fatalf("resume action = %v, want continue", a)
	}
}

func TestAnswerWithoutToken(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.HTTPCluster(cluster, plugintest.Reply(200, nil, nil)))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil || len(res.Upstream.Header.Values("x-token")) != 0 {
		t.Fatalf("upstream = %+v, local reply = %+v; want the request without a token", res.Upstream, res.Local)
	}
}

// The request body waits with the headers until the token arrives.
func TestBodyWaitsForToken(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config),
		plugintest.HTTPCluster(cluster, plugintest.Reply(200, http.Header{"X-Token": {"t1"}}, nil).After(100*time.Millisecond)))
	call := p.Go(plugintest.Post("/post", "application/json", []byte(`{"a": 1, "b": 2}`)).InChunks(3))
	p.Advance(100 * time.Millisecond)
	res := call.Wait(t)
	if res.Upstream == nil || res.Upstream.Header.Get("x-token") != "t1" || string(res.Upstream.Body) != `{"a": 1, "b": 2}` {
		t.Fatalf("upstream = %+v, local reply = %+v", res.Upstream, res.Local)
	}
}

func TestServiceFails(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config),
		plugintest.HTTPCluster(cluster, plugintest.Reply(500, nil, []byte("internal error"))))
	res := p.Do(t, plugintest.Get("/get"))
	if res.Local == nil || res.Local.Status != 500 || string(res.Local.Body) != "http call failed" {
		t.Fatalf("local reply = %+v, want 500 http call failed", res.Local)
	}
	if res.Upstream != nil {
		t.Fatal("the request reached the upstream")
	}
	if !logged(p.Logs(plugintest.LevelError), "http call failed, status: 500") {
		t.Fatalf("error logs = %q", p.Logs(plugintest.LevelError))
	}
}

func TestUnknownClusterPasses(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config)) // no cluster named: unknown to the gateway
	res := p.Do(t, plugintest.Get("/get"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-token") != "" {
		t.Fatalf("upstream = %+v, local reply = %+v; want the request without a token", res.Upstream, res.Local)
	}
	if !logged(p.Logs(plugintest.LevelError), "calling the token service failed") {
		t.Fatalf("error logs = %q", p.Logs(plugintest.LevelError))
	}
}

// Without an answer the call times out after the SDK's default 500 ms: the
// plugin gets Envoy's 504 and answers 500.
func TestServiceTimeout(t *testing.T) {
	p := plugintest.Load(t, ".", plugintest.Config(config), plugintest.HTTPCluster(cluster, plugintest.NoAnswer()))
	call := p.Go(plugintest.Get("/get"))
	p.Advance(499 * time.Millisecond)
	select {
	case <-call.Done():
		res, err := call.Result()
		t.Fatalf("the request ended before the timeout: %+v %v", res, err)
	default:
	}
	p.Advance(time.Millisecond)
	res := call.Wait(t)
	if res.Local == nil || res.Local.Status != 500 || string(res.Local.Body) != "http call failed" {
		t.Fatalf("local reply = %+v, want 500 http call failed", res.Local)
	}
	if !logged(p.Logs(plugintest.LevelError), "status: 504") {
		t.Fatalf("error logs = %q", p.Logs(plugintest.LevelError))
	}
	if calls := p.HTTPCalls(cluster); len(calls) != 1 || calls[0].Timeout != 500*time.Millisecond {
		t.Fatalf("calls = %+v", calls)
	}
}

// A static service needs no port: the cluster is outbound|80||name.static.
func TestStaticServiceDefaultPort(t *testing.T) {
	p := plugintest.Load(t, ".",
		plugintest.Config(`{"serviceName": "token.static", "requestPath": "/t", "tokenHeader": "x-token"}`),
		plugintest.HTTPCluster("outbound|80||token.static", plugintest.Reply(200, http.Header{"X-Token": {"s"}}, nil)))
	res := p.Do(t, plugintest.Get("/"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-token") != "s" {
		t.Fatalf("upstream = %+v, local reply = %+v", res.Upstream, res.Local)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []string{
		`{}`,
		`{"serviceName": "token.dns", "servicePort": 80, "requestPath": "/token"}`,
		`{"serviceName": "token.dns", "servicePort": 80, "tokenHeader": "x-token"}`,
		`{"requestPath": "/token", "tokenHeader": "x-token"}`,
		`{"serviceName": "token.dns", "requestPath": "/token", "tokenHeader": "x-token"}`,
	} {
		p, err := plugintest.Start(".", plugintest.Config(cfg))
		if err == nil {
			p.Close()
			t.Fatalf("configuration %s was accepted", cfg)
		}
		if !strings.Contains(err.Error(), "missing") {
			t.Fatalf("configuration %s: error %v does not name the missing field", cfg, err)
		}
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
