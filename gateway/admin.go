package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// ServeAdmin starts the admin API (shaped like Envoy's) on addr:
//
//	GET  /ready               200 LIVE once a configuration is applied
//	GET  /config_dump         routes, clusters and plugins with their configuration, the reload state
//	                          (values from Secrets redacted unless ?include_secrets)
//	POST /logging?wasm=debug  plugin log level (also ?gateway=, ?level= for all)
//	GET  /stats/prometheus    gateway metrics and every plugin-defined metric
//	GET  /plugins             each plugin's state, error and its reason, VM count
//	GET  /debug/pprof/…       Go profiles of the gateway
//	GET  /trace, /trace/{id}  request traces as JSON; POST /trace?sample= sets sampling;
//	                          GET /trace/stream sends them as server-sent events (trace_admin.go)
//	GET  /ui                  the web view: live requests, timelines, diffs, plugins, configuration (ui.go)
//
// Endpoints that change state answer only POST (405 otherwise, as Envoy).
// Requests whose Host header is not a loopback name, the address the API
// listens on or one of Options.AdminHosts get 403 (a web page reaching the
// API through DNS rebinding names its own host), as do cross-origin POSTs
// from browsers; no CORS header is ever sent. With Options.AdminToken set,
// every request but GET /ready must carry it as a bearer token. None of the
// handlers waits for a reload in progress.
func (gw *Server) ServeAdmin(addr string) (string, error) {
	if addr == "" {
		addr = config.DefaultAdmin
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("admin listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", gw.adminReady)
	mux.HandleFunc("GET /config_dump", gw.adminConfigDump)
	mux.HandleFunc("/logging", gw.postOnly(gw.adminLogging))
	mux.HandleFunc("GET /plugins", gw.adminPlugins)
	mux.Handle("GET /stats/prometheus", promhttp.HandlerFor(gw.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	stopStreams := make(chan struct{})
	gw.traceRoutes(mux, stopStreams)
	gw.uiRoutes(mux)
	guard := newAdminGuard(addr, ln.Addr(), gw.opts.AdminHosts, gw.opts.AdminToken)
	srv := &http.Server{Handler: guard.wrap(mux), ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(func() { close(stopStreams) })
	gw.applyMu.Lock()
	gw.admin = srv
	gw.adminAddr = ln.Addr().String()
	gw.applyMu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			gw.log.Error("admin listener stopped", "error", err)
		}
	}()
	gw.log.Info("admin listening", "address", ln.Addr().String(), "token", gw.opts.AdminToken != "")
	if !guard.loopbackOnly {
		gw.log.Warn("the admin API listens on a non-loopback address: whoever reaches it can read plugin configurations and change log levels; keep it on 127.0.0.1, or firewall it and set a token",
			"address", ln.Addr().String(), "token", gw.opts.AdminToken != "")
	}
	return ln.Addr().String(), nil
}

// postOnly answers a state-changing endpoint: POST runs it, any other
// method gets Envoy's 405 and changes nothing.
func (gw *Server) postOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			gw.log.Warn("admin path mutates state; POST required", "path", r.URL.Path, "method", r.Method)
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, fmt.Sprintf("Method %s not allowed, POST required.", r.Method), http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

func (gw *Server) adminReady(w http.ResponseWriter, r *http.Request) {
	if !gw.ready.Load() {
		http.Error(w, "PRE_INITIALIZING", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "LIVE")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type dumpRoute struct {
	Name     string   `json:"name"`
	Domains  []string `json:"domains"`
	Match    string   `json:"match"`
	Cluster  string   `json:"cluster,omitempty"`
	Direct   int      `json:"directResponse,omitempty"`
	Timeout  string   `json:"timeout"`
	Listener string   `json:"listener"`
}

type dumpCluster struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Endpoints []string `json:"endpoints"`
}

type dumpPlugin struct {
	PluginStatus
	// Configuration is exactly what proxy_on_configure reads.
	Configuration json.RawMessage `json:"configuration,omitempty"`
	RawConfig     string          `json:"rawConfiguration,omitempty"`
	RootID        string          `json:"rootId,omitempty"`
	VMID          string          `json:"vmId,omitempty"`
	Origin        string          `json:"origin,omitempty"`
}

func (gw *Server) adminConfigDump(w http.ResponseWriter, r *http.Request) {
	out, ok := gw.configDump(r.URL.Query().Has("include_secrets"))
	if !ok {
		http.Error(w, "no configuration", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, out)
}

// configDump is what /config_dump shows; false before any configuration.
func (gw *Server) configDump(includeSecrets bool) (any, bool) {
	snap := gw.snap.Load()
	if snap == nil {
		return nil, false
	}
	problems := gw.currentProblems()
	out := struct {
		Version  int           `json:"version"`
		Source   string        `json:"source"`
		Routes   []dumpRoute   `json:"routes"`
		Clusters []dumpCluster `json:"clusters"`
		Plugins  []dumpPlugin  `json:"plugins"`
		Problems []string      `json:"problems,omitempty"`
		// Warnings are the problems that are warnings: fields and objects ignored.
		Warnings []string     `json:"warnings"`
		Reload   ReloadStatus `json:"reload"`
	}{Version: snap.version, Source: snap.cfg.Source, Problems: problems, Warnings: warningsOf(problems), Reload: gw.Reload()}
	for _, l := range snap.cfg.Listeners {
		for _, vh := range l.VirtualHosts {
			for _, rt := range vh.Routes {
				d := dumpRoute{Name: rt.Name, Domains: vh.Domains, Match: rt.Match.Kind.String() + " " + rt.Match.Value,
					Cluster: rt.Cluster, Timeout: rt.EffectiveTimeout().String(), Listener: l.Name}
				if rt.DirectResponse != nil {
					d.Direct = rt.DirectResponse.Status
				}
				out.Routes = append(out.Routes, d)
			}
		}
	}
	names := make([]string, 0, len(snap.clusters))
	for n := range snap.clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := snap.clusters[n]
		dc := dumpCluster{Name: n, Type: u.cfg.Discovery.String()}
		for _, e := range u.cfg.Endpoints {
			dc.Endpoints = append(dc.Endpoints, e.Address())
		}
		out.Clusters = append(out.Clusters, dc)
	}
	statuses := pluginStatuses(snap)
	var all []*pluginRuntime
	for _, ln := range sortedListeners(snap) {
		all = append(all, snap.listeners[ln].plugins...)
	}
	for i, p := range append(all, snap.services...) {
		dp := dumpPlugin{PluginStatus: statuses[i], RootID: p.cfg.RootID, VMID: p.cfg.VMID, Origin: p.cfg.Origin.String()}
		conf := p.cfg.Configuration
		if !includeSecrets {
			conf = redactSecrets(conf, snap.cfg.Secrets)
		}
		if json.Valid(conf) {
			dp.Configuration = json.RawMessage(conf)
		} else if len(conf) > 0 {
			dp.RawConfig = string(conf)
		}
		out.Plugins = append(out.Plugins, dp)
	}
	return out, true
}

// redactSecrets replaces the values that came from Secrets with "[redacted]"
// (longest first, so a value inside another is not left half-shown).
func redactSecrets(conf []byte, secrets []string) []byte {
	if len(secrets) == 0 || len(conf) == 0 {
		return conf
	}
	vals := append([]string(nil), secrets...)
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	s := string(conf)
	for _, v := range vals {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return []byte(s)
}

// warningsOf picks the warnings out of the loader's problems ("warning: …").
func warningsOf(problems []string) []string {
	out := []string{}
	for _, p := range problems {
		if w, ok := strings.CutPrefix(p, "warning: "); ok {
			out = append(out, w)
		}
	}
	return out
}

func sortedListeners(snap *snapshot) []string {
	names := make([]string, 0, len(snap.listeners))
	for n := range snap.listeners {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (gw *Server) adminPlugins(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, gw.Plugins())
}

var levelNames = map[string]types.LogLevel{
	"trace": types.LogLevelTrace, "debug": types.LogLevelDebug, "info": types.LogLevelInfo,
	"warning": types.LogLevelWarn, "warn": types.LogLevelWarn, "error": types.LogLevelError,
	"critical": types.LogLevelCritical, "off": types.LogLevelMax,
}

// adminLogging changes log levels like Envoy's /logging: ?wasm=LEVEL sets the
// plugin ("wasm") logger, ?level=LEVEL sets every logger; the answer lists
// the active levels.
func (gw *Server) adminLogging(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for key, vals := range q {
		if len(vals) == 0 {
			continue
		}
		lvl, ok := levelNames[strings.ToLower(vals[0])]
		if !ok {
			http.Error(w, "unknown level "+vals[0]+" for logger "+key, http.StatusBadRequest)
			return
		}
		switch key {
		case "wasm":
			gw.SetPluginLogLevel(lvl)
		case "gateway":
			gw.setGatewayLogLevel(lvl)
		case "level":
			gw.SetPluginLogLevel(lvl)
			gw.setGatewayLogLevel(lvl)
		default:
			http.Error(w, "unknown logger "+key+" (known: wasm, gateway; level sets both)", http.StatusBadRequest)
			return
		}
	}
	fmt.Fprintf(w, "active loggers:\n  gateway: %s\n  wasm: %s\n", gw.gatewayLogLevel(), gw.pluginLogLevel().String())
}

// setGatewayLogLevel changes the gateway's own log level (when its handler
// level is a LevelVar given in Options).
func (gw *Server) setGatewayLogLevel(l types.LogLevel) {
	if gw.opts.LogLevel == nil {
		return
	}
	switch {
	case l <= types.LogLevelDebug:
		gw.opts.LogLevel.Set(slog.LevelDebug)
	case l == types.LogLevelInfo:
		gw.opts.LogLevel.Set(slog.LevelInfo)
	case l == types.LogLevelWarn:
		gw.opts.LogLevel.Set(slog.LevelWarn)
	default:
		gw.opts.LogLevel.Set(slog.LevelError)
	}
}

func (gw *Server) gatewayLogLevel() string {
	if gw.opts.LogLevel == nil {
		return "fixed"
	}
	return strings.ToLower(gw.opts.LogLevel.Level().String())
}
