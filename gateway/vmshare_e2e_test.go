package gateway

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/envoy"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// sharedVMBootstrap has two wasm filters with the same vm_id, code and
// vm_config (so one VM per worker in Envoy, with root contexts 1 and 2),
// both named as the SDK examples name them, and a third with its own vm_id.
const sharedVMBootstrap = `
static_resources:
  listeners:
    - name: main
      address:
        socket_address: {address: 0.0.0.0, port_value: LISTEN_PORT}
      filter_chains:
        - filters:
            - name: envoy.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress_http
                route_config:
                  virtual_hosts:
                    - name: local_service
                      domains: ["*"]
                      routes:
                        - match: {prefix: "/"}
                          route: {cluster: web_service}
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{"name": "one"}'
                        vm_config:
                          vm_id: shared
                          runtime: envoy.wasm.runtime.v8
                          code: {local: {filename: "PLUGIN"}}
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{"name": "two"}'
                        vm_config:
                          vm_id: shared
                          runtime: envoy.wasm.runtime.v8
                          code: {local: {filename: "PLUGIN"}}
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: apart
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{"name": "apart"}'
                        vm_config:
                          vm_id: apart
                          runtime: envoy.wasm.runtime.v8
                          code: {local: {filename: "PLUGIN"}}
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: web_service
      type: static
      load_assignment:
        cluster_name: web_service
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: 127.0.0.1, port_value: UPSTREAM_PORT}
`

// Two filters sharing a vm_id see one shared-data counter and root
// context ids 1 and 2 in one VM (a Go global counts the requests of both);
// a filter with another vm_id has its own VM, root context 1 and counter.
// Filters of the same name load, as in Envoy.
func TestSharedVMAcrossFilters(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/vmshare")
	up := headerUpstream(t)
	path := envoyFile(t, sharedVMBootstrap, "LISTEN_PORT", freePort(t), "UPSTREAM_PORT", testPort(t, up.Listener.Addr().String()), "PLUGIN", wasm)
	if res := envoy.LoadFile(path); len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }), func(o *Options) { o.PoolSize = 1 })
	for i := 1; i <= 3; i++ {
		resp, body := request(t, "GET", tg.url+"/")
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		h := resp.Header
		want := map[string]string{
			"X-One-Root": "1", "X-Two-Root": "2", "X-Apart-Root": "1",
			// one shared-data counter for both filters: each request counts twice
			"X-One-Hits": strconv.Itoa(2*i - 1), "X-Two-Hits": strconv.Itoa(2 * i),
			"X-Apart-Hits": strconv.Itoa(i),
			// one VM: its global sees both filters' requests
			"X-One-Vm-Requests": strconv.Itoa(2*i - 1), "X-Two-Vm-Requests": strconv.Itoa(2 * i),
			"X-Apart-Vm-Requests": strconv.Itoa(i),
			"X-One-Requests":      strconv.Itoa(i), "X-Two-Requests": strconv.Itoa(i),
			// on_vm_start runs for each root context (cpp-host ContextBase::onStart)
			"X-One-Vm_starts": "2", "X-Apart-Vm_starts": "1",
		}
		for k, v := range want {
			if got := h.Get(k); got != v {
				t.Errorf("request %d: %s = %q, want %q", i, k, got, v)
			}
		}
	}
}

// serviceBootstrap has a singleton WasmService and a per-worker one beside an HTTP filter of
// the singleton's vm_id.
const serviceBootstrap = `
bootstrap_extensions:
  - name: envoy.bootstrap.wasm
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.wasm.v3.WasmService
      singleton: true
      config:
        name: svc
        configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: '{"role": "service"}'}
        vm_config: {vm_id: shared, runtime: envoy.wasm.runtime.v8, code: {local: {filename: "PLUGIN"}}}
  - name: envoy.bootstrap.wasm
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.wasm.v3.WasmService
      config:
        name: worker
        configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: '{"role": "service"}'}
        vm_config: {vm_id: other, runtime: envoy.wasm.runtime.v8, code: {local: {filename: "PLUGIN"}}}
static_resources:
  listeners:
    - name: main
      address:
        socket_address: {address: 0.0.0.0, port_value: LISTEN_PORT}
      filter_chains:
        - filters:
            - name: envoy.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress_http
                route_config:
                  virtual_hosts:
                    - name: local_service
                      domains: ["*"]
                      routes:
                        - match: {prefix: "/"}
                          route: {cluster: web_service}
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: one
                        configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: '{"name": "one"}'}
                        vm_config: {vm_id: shared, runtime: envoy.wasm.runtime.v8, code: {local: {filename: "PLUGIN"}}}
                  - name: envoy.filters.http.router
  clusters:
    - name: web_service
      type: static
      load_assignment:
        cluster_name: web_service
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: 127.0.0.1, port_value: UPSTREAM_PORT}
`

// A singleton WasmService runs one VM of its own for the process: it registers the shared
// queue the HTTP filter of its vm_id enqueues on, receives every item, and ticks; a
// per-worker service runs one VM per worker. Both are listed in /plugins.
func TestBootstrapWasmService(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/vmshare")
	up := headerUpstream(t)
	path := envoyFile(t, serviceBootstrap, "LISTEN_PORT", freePort(t), "UPSTREAM_PORT", testPort(t, up.Listener.Addr().String()), "PLUGIN", wasm)
	if res := envoy.LoadFile(path); len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }), func(o *Options) { o.PoolSize = 2 })

	deadline := time.Now().Add(30 * time.Second)
	for i := 1; ; i++ {
		resp, body := request(t, "GET", tg.url+"/")
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		// The filter's root context is 1 in its own VMs: the singleton's VM is apart.
		if got := resp.Header.Get("X-One-Root"); got != "1" {
			t.Fatalf("filter root context %q", got)
		}
		seen, _ := strconv.Atoi(resp.Header.Get("X-One-Seen"))
		ticks, _ := strconv.Atoi(resp.Header.Get("X-One-Ticks"))
		if seen > i {
			t.Fatalf("the service saw %d items after %d requests", seen, i)
		}
		// Items of earlier requests have reached the service, and it ticks.
		if seen >= i-1 && i > 3 && ticks > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d requests the service saw %d items and ticked %d times", i, seen, ticks)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var svc, worker *PluginStatus
	statuses := tg.gw.Plugins()
	for i := range statuses {
		switch statuses[i].Name {
		case "svc":
			svc = &statuses[i]
		case "worker":
			worker = &statuses[i]
		}
	}
	if svc == nil || svc.State != "loaded" || svc.Service != "singleton" || svc.VMs != 1 || svc.Listener != "" || len(svc.SharesVMWith) != 0 {
		t.Errorf("singleton status: %+v", svc)
	}
	if worker == nil || worker.State != "loaded" || worker.Service != "per-worker" || worker.VMs != 2 {
		t.Errorf("per-worker status: %+v", worker)
	}
}

const rootPropsBootstrap = `
node:
  id: gw-7
  cluster: edge
  metadata: {region: eu-1}
static_resources:
  listeners:
    - name: main
      address:
        socket_address: {address: 0.0.0.0, port_value: LISTEN_PORT}
      metadata:
        filter_metadata:
          envoy.filters.http.wasm: {tier: gold}
      filter_chains:
        - filters:
            - name: envoy.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress_http
                route_config:
                  virtual_hosts:
                    - name: local_service
                      domains: ["*"]
                      routes:
                        - name: r1
                          match: {prefix: "/"}
                          route: {cluster: web_service}
                          metadata: {filter_metadata: {envoy.filters.http.wasm: {auth: x}}}
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        root_id: rid
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{"name": "p", "root_props": [["xds","node","id"], ["node","cluster"], ["xds","node","metadata","region"],
                            ["listener_metadata","filter_metadata","envoy.filters.http.wasm","tier"], ["plugin_name"], ["plugin_root_id"], ["plugin_vm_id"],
                            ["route_name"], ["route_metadata"], ["xds","route_name"], ["cluster_name"], ["xds","listener_metadata"], ["request","path"]]}'
                        vm_config:
                          vm_id: vm7
                          runtime: envoy.wasm.runtime.v8
                          code: {local: {filename: "PLUGIN"}}
                  - name: envoy.filters.http.router
  clusters:
    - name: web_service
      type: static
      load_assignment:
        cluster_name: web_service
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: 127.0.0.1, port_value: UPSTREAM_PORT}
`

// In the root context (here on_configure) a plugin reads what Envoy serves without stream
// info: xds.node and node (id, cluster, metadata), its listener's metadata, plugin_name (empty
// for a PluginConfig without a name, as Envoy), plugin_root_id and plugin_vm_id; route,
// cluster, xds.route_*, xds.listener_metadata and request attributes are NotFound.
func TestRootContextProperties(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/vmshare")
	up := headerUpstream(t)
	path := envoyFile(t, rootPropsBootstrap, "LISTEN_PORT", freePort(t), "UPSTREAM_PORT", testPort(t, up.Listener.Addr().String()), "PLUGIN", wasm)
	if res := envoy.LoadFile(path); len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }))
	resp, body := request(t, "GET", tg.url+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	notFound := "error status returned by host: not found"
	// plugin_name is Ok and empty (host TestPluginNameOfUnnamedEnvoyPlugin); the SDK, like the
	// upstream Go SDK, reports an empty value as NotFound.
	want := []string{"ok:gw-7", "ok:edge", "ok:eu-1", "ok:gold", notFound, "ok:rid", "ok:vm7",
		notFound, notFound, notFound, notFound, notFound, notFound}
	for i, w := range want {
		if got := resp.Header.Get("X-P-Rootprop-" + strconv.Itoa(i)); got != w {
			t.Errorf("root property %d = %q, want %q", i, got, w)
		}
	}
}

// Two WasmPlugins of the same image share its VMs as Envoy shares them (Istio gives their
// PluginConfigs no vm_id, so the code decides): root contexts 1 and 2 in one VM, one
// shared-data counter.
func TestSharedVMAcrossWasmPlugins(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/vmshare")
	dir := t.TempDir()
	for _, p := range []struct{ name, priority string }{{"one", "20"}, {"two", "10"}} {
		writeFile(t, filepath.Join(dir, "wasmplugins", p.name+".yaml"), `apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: `+p.name+`, namespace: higress-system}
spec:
  priority: `+p.priority+`
  url: file://`+wasm+`
  defaultConfig: {name: `+p.name+`}
`)
	}
	g := startGateway(t, dataDirSource(dir), func(o *Options) { o.PoolSize = 1 })
	for i := 1; i <= 2; i++ {
		code, h, body := get(t, g.url+"/get")
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		for k, v := range map[string]string{"X-One-Root": "1", "X-Two-Root": "2",
			"X-One-Hits": strconv.Itoa(2*i - 1), "X-Two-Hits": strconv.Itoa(2 * i)} {
			if got := h.Get(k); got != v {
				t.Errorf("request %d: %s = %q, want %q", i, k, got, v)
			}
		}
	}
	for _, st := range g.gw.Plugins() {
		if len(st.SharesVMWith) != 1 {
			t.Errorf("%s shares its VM with %v", st.Name, st.SharesVMWith)
		}
	}
}
