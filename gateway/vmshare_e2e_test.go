package gateway

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/envoy"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// wasmBootstrap is an Envoy bootstrap in the style of the SDK examples: top (node,
// bootstrap_extensions) as given, one listener with listenerExtra (metadata) and one route to
// web_service, and the wasm filters given (see wasmFilter) before the router.
func wasmBootstrap(top, listenerExtra string, filters ...string) string {
	return top + `
static_resources:
  listeners:
    - name: main
      address:
        socket_address: {address: 0.0.0.0, port_value: LISTEN_PORT}` + listenerExtra + `
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
                http_filters:` + strings.Join(filters, "") + `
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
}

// wasmFilter is an HTTP wasm filter named as the SDK examples name it, running PLUGIN with
// the PluginConfig fields in cfg (YAML flow mapping entries) and vm_id.
func wasmFilter(cfg, vmID string) string {
	return `
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config: {` + cfg + `, vm_config: ` + vmConfig(vmID) + `}`
}

func vmConfig(vmID string) string {
	return `{vm_id: ` + vmID + `, runtime: envoy.wasm.runtime.v8, code: {local: {filename: "PLUGIN"}}}`
}

// stringValue is a StringValue configuration holding JSON text.
func stringValue(json string) string {
	return `configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: '` + json + `'}`
}

// startWasmBootstrap writes the bootstrap with the vmshare plugin, checks it loads without
// problems, and starts a gateway from it.
func startWasmBootstrap(t *testing.T, text string, opts ...func(*Options)) *testGateway {
	t.Helper()
	wasm := testwasm.Build(t, "gateway/testdata/plugins/vmshare")
	up := headerUpstream(t)
	path := envoyFile(t, text, "LISTEN_PORT", freePort(t), "UPSTREAM_PORT", testPort(t, up.Listener.Addr().String()), "PLUGIN", wasm)
	if res := envoy.LoadFile(path); len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	return startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }), opts...)
}

// Two filters sharing a vm_id see one shared-data counter and root
// context ids 1 and 2 in one VM (a Go global counts the requests of both);
// a filter with another vm_id has its own VM, root context 1 and counter.
// Filters of the same name load, as in Envoy.
func TestSharedVMAcrossFilters(t *testing.T) {
	// The first two filters have the same vm_id, code and vm_config (so one VM per worker in
	// Envoy, with root contexts 1 and 2) and no name; the third has its own vm_id.
	tg := startWasmBootstrap(t, wasmBootstrap("", "",
		wasmFilter(stringValue(`{"name": "one"}`), "shared"),
		wasmFilter(stringValue(`{"name": "two"}`), "shared"),
		wasmFilter(`name: apart, `+stringValue(`{"name": "apart"}`), "apart")),
		func(o *Options) { o.PoolSize = 1 })
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

// A singleton WasmService runs one VM of its own for the process: it registers the shared
// queue the HTTP filter of its vm_id enqueues on, receives every item, and ticks; a
// per-worker service runs one VM per worker. Both are listed in /plugins.
func TestBootstrapWasmService(t *testing.T) {
	service := func(name string, singleton bool, vmID string) string {
		return `
  - name: envoy.bootstrap.wasm
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.wasm.v3.WasmService
      singleton: ` + strconv.FormatBool(singleton) + `
      config: {name: ` + name + `, ` + stringValue(`{"role": "service"}`) + `, vm_config: ` + vmConfig(vmID) + `}`
	}
	tg := startWasmBootstrap(t, wasmBootstrap("bootstrap_extensions:"+service("svc", true, "shared")+service("worker", false, "other"), "",
		wasmFilter(`name: one, `+stringValue(`{"name": "one"}`), "shared")),
		func(o *Options) { o.PoolSize = 2 })

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

// In the root context (here on_configure) a plugin reads what Envoy serves without stream
// info: xds.node and node (id, cluster, metadata), its listener's metadata, plugin_name (empty
// for a PluginConfig without a name, as Envoy), plugin_root_id and plugin_vm_id; route,
// cluster, xds.route_*, xds.listener_metadata and request attributes are NotFound.
func TestRootContextProperties(t *testing.T) {
	props := `[["xds","node","id"], ["node","cluster"], ["xds","node","metadata","region"],
		["listener_metadata","filter_metadata","envoy.filters.http.wasm","tier"], ["plugin_name"], ["plugin_root_id"],
		["plugin_vm_id"], ["route_name"], ["route_metadata"], ["xds","route_name"], ["cluster_name"],
		["xds","listener_metadata"], ["request","path"]]`
	tg := startWasmBootstrap(t, wasmBootstrap("node: {id: gw-7, cluster: edge, metadata: {region: eu-1}}",
		"\n      metadata: {filter_metadata: {envoy.filters.http.wasm: {tier: gold}}}",
		wasmFilter(`root_id: rid, `+stringValue(`{"name": "p", "root_props": `+strings.Join(strings.Fields(props), "")+`}`), "vm7")))
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
