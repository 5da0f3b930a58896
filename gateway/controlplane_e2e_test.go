package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/internal/testwasm"
	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/fetch"
	"github.com/wasmgate/wasmgate/oci/registry"
	"github.com/wasmgate/wasmgate/oci/registrytest"
)

// startGatewayWith is startGateway with opts instead of its defaults
// (its logger, listen address and compilation cache stay; PoolSize is 1
// unless given).
func startGatewayWith(t *testing.T, src Source, opts Options) *testGateway {
	t.Helper()
	return startGateway(t, src, func(o *Options) {
		logger, level, listen, cache := o.Logger, o.LogLevel, o.Listen, o.CacheDir
		*o = opts
		o.Logger, o.LogLevel, o.Listen, o.CacheDir = logger, level, listen, cache
		if o.PoolSize == 0 {
			o.PoolSize = 1
		}
	})
}

func pluginStatus(t *testing.T, g *testGateway, suffix string) PluginStatus {
	t.Helper()
	_, _, body := get(t, g.admin+"/plugins")
	var ps []PluginStatus
	if err := json.Unmarshal([]byte(body), &ps); err != nil {
		t.Fatalf("/plugins: %v\n%s", err, body)
	}
	for _, p := range ps {
		if strings.HasSuffix(p.Name, suffix) {
			return p
		}
	}
	t.Fatalf("no plugin %s in /plugins: %s", suffix, body)
	return PluginStatus{}
}

// timedGet is get, failing when the answer takes longer than max.
func timedGet(t *testing.T, max time.Duration, url string, headers ...string) (int, string) {
	t.Helper()
	start := time.Now()
	code, _, body := get(t, url, headers...)
	if took := time.Since(start); took > max {
		t.Fatalf("GET %s took %s", url, took)
	}
	return code, body
}

// A registry that accepts connections and never answers delays nothing:
// other edits are applied within a second, the admin API answers, the
// plugin keeps its last good module, and the error names the url and the
// timeout.
func TestHangingRegistryDelaysNothing(t *testing.T) {
	wasmPath := testwasm.Build(t, "examples/my-plugin")
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.Start(t, registrytest.Options{})
	proxy := registrytest.NewProxy(t, reg.Host)
	dockerConfig := filepath.Join(t.TempDir(), "config.json")
	writeFile(t, dockerConfig, "{}")
	img, err := oci.Build(&oci.Plugin{Wasm: wasm}, oci.FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Push(context.Background(), img, img.Manifest.Digest.String(), reg.Host+"/plugins/remote:latest", registry.Options{DockerConfig: dockerConfig}); err != nil {
		t.Fatal(err)
	}
	url := "oci://" + proxy.Host + "/plugins/remote:latest"
	remote := func(content string) string {
		return strings.Replace(wasmPluginYAML("remote", wasmPath, "remote.local", content, 20),
			"url: file://"+wasmPath, "url: "+url+"\n  imagePullSecret: "+dockerConfig, 1)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wasmplugins/remote.yaml"), remote("R1"))
	writeFile(t, filepath.Join(dir, "wasmplugins/local.yaml"), wasmPluginYAML("local", wasmPath, "local.local", "L1", 10))
	timeouts := fetch.Timeouts{Connect: 2 * time.Second, Response: 2 * time.Second, Total: 6 * time.Second, Attempts: 2, Backoff: 200 * time.Millisecond}
	src := dataDirSource(dir)
	g := startGatewayWith(t, src, Options{FetchTimeouts: timeouts, ModuleCacheDir: t.TempDir()})
	for host, want := range map[string]string{"remote.local": "R1", "local.local": "L1"} {
		if code, _, body := get(t, g.url+"/", "Host", host); code != 200 || body != want {
			t.Fatalf("%s: %d %q\n%s", host, code, body, g.logs)
		}
	}

	// The same reload with the registry answering, for the time a reload
	// takes on this machine now (plugin VMs start, which a loaded machine
	// slows down).
	writeFile(t, filepath.Join(dir, "wasmplugins/remote.yaml"), remote("R1b"))
	writeFile(t, filepath.Join(dir, "wasmplugins/local.yaml"), wasmPluginYAML("local", wasmPath, "local.local", "L1b", 10))
	start := time.Now()
	if _, err := g.gw.LoadAndApply(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	normal := time.Since(start)

	proxy.SetHanging(true)
	// Both plugins change; the remote one's tag is latest, so the reload
	// asks the (now hanging) registry again.
	writeFile(t, filepath.Join(dir, "wasmplugins/remote.yaml"), remote("R2"))
	writeFile(t, filepath.Join(dir, "wasmplugins/local.yaml"), wasmPluginYAML("local", wasmPath, "local.local", "L2", 10))
	start = time.Now()
	if _, err := g.gw.LoadAndApply(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > normal+time.Second {
		t.Fatalf("the reload took %s with the registry hanging, %s with it answering", took, normal)
	}
	if _, _, body := get(t, g.url+"/", "Host", "local.local"); body != "L2" {
		t.Fatalf("local edit not applied: %q", body)
	}
	// The remote plugin runs its new configuration on its last good module.
	if _, _, body := get(t, g.url+"/", "Host", "remote.local"); body != "R2" {
		t.Fatalf("remote plugin: %q", body)
	}
	st := pluginStatus(t, g, "/remote")
	if st.State != "stale" || st.Reason != ReasonFetching || st.FetchingSince == "" || !strings.Contains(st.Error, url) {
		t.Fatalf("while fetching: %+v", st)
	}

	// The admin API answers at once and shows the fetch in progress.
	code, dump := timedGet(t, time.Second, g.admin+"/config_dump")
	var d struct {
		Version int
		Reload  ReloadStatus
	}
	if err := json.Unmarshal([]byte(dump), &d); err != nil || code != 200 {
		t.Fatalf("config_dump: %d %v", code, err)
	}
	if len(d.Reload.Fetching) != 1 || d.Reload.Fetching[0].URL != url || d.Reload.State != ReloadIdle {
		t.Fatalf("reload state: %+v", d.Reload)
	}

	// Another edit meanwhile, through the file watch.
	ctx, cancel := context.WithCancel(context.Background())
	done, err := g.gw.StartWatch(ctx, src, src.Load(), filepath.Join(dir, "wasmplugins"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	writeFile(t, filepath.Join(dir, "wasmplugins/local.yaml"), wasmPluginYAML("local", wasmPath, "local.local", "L3", 10))
	start = time.Now()
	waitFor(t, "the second local edit", func() bool {
		_, _, body := get(t, g.url+"/", "Host", "local.local")
		return body == "L3"
	})
	// The watch waits 200 ms for more changes before it reloads.
	if took := time.Since(start); took > 1200*time.Millisecond {
		t.Fatalf("the second edit took %s", took)
	}

	// The fetch gives up: the remote plugin keeps its last good module and
	// the error names the url and the timeout.
	waitFor(t, "the fetch error", func() bool {
		st := pluginStatus(t, g, "/remote")
		return st.Reason == ReasonFetch
	})
	st = pluginStatus(t, g, "/remote")
	if st.State != "stale" || !strings.Contains(st.Error, url) || !strings.Contains(st.Error, "timeout") || !strings.Contains(st.Error, "6s") || !strings.Contains(st.Error, "cached copy") {
		t.Fatalf("after the fetch gave up: %+v", st)
	}
	if _, _, body := get(t, g.url+"/", "Host", "remote.local"); body != "R2" {
		t.Fatalf("remote plugin after the fetch gave up: %q", body)
	}
	if !strings.Contains(g.logs.String(), "plugin module fetch failed") {
		t.Fatalf("the fetch failure is not in the log:\n%s", g.logs)
	}

	// The registry answers again: the next reload takes the module.
	proxy.SetHanging(false)
	writeFile(t, filepath.Join(dir, "wasmplugins/remote.yaml"), remote("R3"))
	waitFor(t, "the remote plugin back to loaded", func() bool {
		st := pluginStatus(t, g, "/remote")
		_, _, body := get(t, g.url+"/", "Host", "remote.local")
		return st.State == "loaded" && body == "R3"
	})
}

// The admin API never waits for a reload: with both reload locks held (a
// reload stuck anywhere), every endpoint still answers.
func TestAdminNeverWaitsForAReload(t *testing.T) {
	g := startGatewayWith(t, staticConfig(nil), Options{})
	g.gw.ctl().reloadMu.Lock()
	g.gw.applyMu.Lock()
	defer g.gw.ctl().reloadMu.Unlock()
	defer g.gw.applyMu.Unlock()
	g.gw.ctl().setState(ReloadApplying)
	for _, path := range []string{"/ready", "/config_dump", "/plugins", "/stats/prometheus"} {
		if code, _ := timedGet(t, 2*time.Second, g.admin+path); code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
	}
	_, dump := timedGet(t, 2*time.Second, g.admin+"/config_dump")
	if !strings.Contains(dump, `"state": "applying"`) {
		t.Fatalf("config_dump does not show the reload in progress:\n%s", dump)
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Post(g.admin+"/logging?wasm=debug", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /logging: %v", err)
	}
	resp.Body.Close()
}

func TestAdminRefusesWebPages(t *testing.T) {
	g := startGatewayWith(t, staticConfig(nil), Options{})
	levels := func() string {
		resp, err := http.Post(g.admin+"/logging", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	before := levels()

	// GET changes nothing and gets Envoy's 405.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		req, _ := http.NewRequest(m, g.admin+"/logging?wasm=trace&gateway=error", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(string(b), "Method "+m+" not allowed, POST required.") || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("%s /logging: %d %q", m, resp.StatusCode, b)
		}
	}
	if after := levels(); after != before {
		t.Fatalf("GET /logging changed the levels:\n%s\n%s", before, after)
	}

	// A foreign Host (DNS rebinding) gets 403, on reads and writes.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(g.admin, "http://"))
	for _, path := range []string{"/config_dump", "/plugins", "/ready", "/logging"} {
		if code, _, body := get(t, g.admin+path, "Host", "attacker.example:"+port); code != http.StatusForbidden || !strings.Contains(body, "attacker.example") {
			t.Fatalf("%s with a foreign Host: %d %q", path, code, body)
		}
	}
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "LOCALHOST"} {
		if code, _, _ := get(t, g.admin+"/config_dump", "Host", host); code != 200 {
			t.Fatalf("Host %s: %d", host, code)
		}
	}

	// A cross-origin POST from a browser is refused; no CORS header is sent.
	req, _ := http.NewRequest("POST", g.admin+"/logging?wasm=trace", nil)
	req.Header.Set("Origin", "https://attacker.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
	if after := levels(); after != before {
		t.Fatalf("a cross-site POST changed the levels")
	}
	req, _ = http.NewRequest("OPTIONS", g.admin+"/config_dump", nil)
	req.Header.Set("Origin", "https://attacker.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Fatalf("CORS header %s sent", k)
		}
	}
}

func TestAdminToken(t *testing.T) {
	g := startGatewayWith(t, staticConfig(nil), Options{AdminToken: "s3cret"})
	if code, _, _ := get(t, g.admin+"/ready"); code != 200 {
		t.Fatalf("/ready without the token: %d", code)
	}
	code, h, _ := get(t, g.admin+"/config_dump")
	if code != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("/config_dump without the token: %d", code)
	}
	if code, _, _ := get(t, g.admin+"/config_dump", "Authorization", "Bearer wrong"); code != http.StatusUnauthorized {
		t.Fatalf("a wrong token: %d", code)
	}
	if code, _, _ := get(t, g.admin+"/config_dump", "Authorization", "Bearer s3cret"); code != 200 {
		t.Fatalf("the token: %d", code)
	}
	req, _ := http.NewRequest("POST", g.admin+"/logging?wasm=debug", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST /logging without the token: %d", resp.StatusCode)
	}
}

func TestAdminGuardHosts(t *testing.T) {
	g := newAdminGuard("10.1.2.3:15000", &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 15000}, []string{"gw-admin.example"}, "")
	if g.loopbackOnly {
		t.Fatal("10.1.2.3 counted as loopback")
	}
	for host, want := range map[string]bool{
		"10.1.2.3:15000": true, "gw-admin.example": true, "GW-ADMIN.example.:80": true, "localhost": true,
		"127.0.0.2:1": true, "[::1]:15000": true, "app.localhost": true,
		"10.1.2.4:15000": false, "attacker.example": false, "": false, "localhost.attacker.example": false,
	} {
		if got := g.allowedHost(host); got != want {
			t.Errorf("Host %q: allowed %v, want %v", host, got, want)
		}
	}
	if !newAdminGuard("127.0.0.1:0", &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, nil, "").loopbackOnly {
		t.Fatal("127.0.0.1 not loopback")
	}
}

// A WasmPlugin added by a reload whose configuration its plugin rejects:
// /plugins and the log give the plugin's own reason and the routes that
// answer 503 because of it; with failStrategy FAIL_OPEN it is skipped.
func TestPluginStatusGivesTheReason(t *testing.T) {
	myPlugin := testwasm.Build(t, "examples/my-plugin")
	httpCall := testwasm.Build(t, "examples/http-call")
	for _, strategy := range []string{"", "FAIL_OPEN"} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "wasmplugins/a.yaml"), wasmPluginYAML("a", myPlugin, "a.local", "A1", 10))
		src := dataDirSource(dir)
		g := startGatewayWith(t, src, Options{})
		spec := "spec:\n  url: file://" + httpCall + "\n  defaultConfig: {serviceName: token.static, servicePort: 80, requestPath: /t}\n"
		if strategy != "" {
			spec += "  failStrategy: " + strategy + "\n"
		}
		writeFile(t, filepath.Join(dir, "wasmplugins/c.yaml"), "apiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: c, namespace: higress-system}\n"+spec)
		if _, err := g.gw.LoadAndApply(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		// a mocks a.local's answer before c runs; other hosts reach c.
		code, _, _ := get(t, g.url+"/", "Host", "other.local")
		st := pluginStatus(t, g, "/c")
		if st.State != "failed" || st.Reason != ReasonStart || !strings.Contains(st.Error, "missing tokenHeader in config") {
			t.Fatalf("%s: /plugins: %+v", strategy, st)
		}
		found := false
		for _, l := range st.PluginLogs {
			found = found || strings.Contains(l, "missing tokenHeader in config")
		}
		if !found {
			t.Fatalf("%s: the plugin's log lines are not in /plugins: %q", strategy, st.PluginLogs)
		}
		if strategy == "" {
			if code != 503 || len(st.BlockedRoutes) == 0 {
				t.Fatalf("fail closed: %d, blocked routes %q", code, st.BlockedRoutes)
			}
			if !strings.Contains(g.logs.String(), "fails closed: its routes answer 503") || !strings.Contains(g.logs.String(), "missing tokenHeader in config") {
				t.Fatalf("the log does not say why the routes answer 503:\n%s", g.logs)
			}
		} else {
			if code != 200 || len(st.BlockedRoutes) != 0 {
				t.Fatalf("fail open: %d, blocked routes %q", code, st.BlockedRoutes)
			}
			if !strings.Contains(g.logs.String(), "fails open: requests skip it") {
				t.Fatalf("the log does not say the plugin is skipped:\n%s", g.logs)
			}
		}
	}
}
