package gateway

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// staticConfig is one listener routing everything to the echo upstream,
// with plugins and extra clusters.
func staticConfig(plugins []config.Plugin, clusters ...config.Cluster) Source {
	return SourceFunc(func() *config.Result {
		cfg := &config.Config{
			Source: "test",
			Listeners: []config.Listener{{
				Name:    "test",
				Address: "127.0.0.1:0",
				VirtualHosts: []config.VirtualHost{{Name: "all", Domains: []string{"*"}, Routes: []config.Route{{
					Name: "default/api-route", Match: config.PathMatch{Kind: config.PathPrefix, Value: "/"}, Cluster: config.EchoClusterName,
				}}}},
				Plugins: plugins,
			}},
			Clusters: append([]config.Cluster{{Name: config.EchoClusterName, Discovery: config.DiscoveryBuiltin, Builtin: config.BuiltinEcho}}, clusters...),
		}
		return &config.Result{Config: cfg}
	})
}

func filePlugin(name, path, cfg string) config.Plugin {
	return config.Plugin{Name: name, URL: path, Source: config.PluginSource{Kind: config.SourceFile, Path: path}, Configuration: []byte(cfg)}
}

func loopbackCluster(name string, srv *httptest.Server) config.Cluster {
	addr := strings.TrimPrefix(srv.URL, "http://")
	host, port := splitAddr(addr)
	return config.Cluster{Name: name, Discovery: config.DiscoveryStatic, Endpoints: []config.Endpoint{{Host: host, Port: port}}}
}

func TestHTTPCallAddsToken(t *testing.T) {
	wasm := testwasm.Build(t, "examples/http-call")
	var status atomic.Int32
	status.Store(200)
	var calls atomic.Int32
	token := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/token" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Token", "tok-"+strconv.Itoa(int(calls.Load())))
		w.WriteHeader(int(status.Load()))
	}))
	defer token.Close()
	cfg := `{"serviceName":"token.static","servicePort":80,"requestPath":"/token","tokenHeader":"x-token"}`
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("http-call", wasm, cfg)},
		loopbackCluster("outbound|80||token.static", token)))

	code, _, body := get(t, g.url+"/headers")
	if code != 200 || !strings.HasPrefix(echoHeaders(t, body)["X-Token"], "tok-") {
		t.Fatalf("status %d body %s", code, body)
	}

	status.Store(500)
	code, _, body = get(t, g.url+"/headers")
	if code != 500 || body != "http call failed" {
		t.Fatalf("token service down: status %d body %q", code, body)
	}
}

func TestHTTPCallUnknownClusterPasses(t *testing.T) {
	wasm := testwasm.Build(t, "examples/http-call")
	cfg := `{"serviceName":"missing.static","servicePort":80,"requestPath":"/token","tokenHeader":"x-token"}`
	g := startGateway(t, staticConfig([]config.Plugin{filePlugin("http-call", wasm, cfg)}))
	code, _, body := get(t, g.url+"/headers")
	if code != 200 {
		t.Fatalf("status %d body %s", code, body)
	}
	if _, ok := echoHeaders(t, body)["X-Token"]; ok {
		t.Fatal("token header without a token service")
	}
	waitFor(t, "the plugin's error log", func() bool {
		return strings.Contains(g.logs.String(), "calling the token service failed")
	})
}
