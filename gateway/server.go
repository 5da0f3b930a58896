package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/gateway/echo"
	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/redisbridge"
	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/fetch"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Options configure a Server.
type Options struct {
	// Logger receives the gateway's logs and the plugins' logs (nil: slog.Default()).
	Logger *slog.Logger
	// AccessLog receives one line per request (nil: Logger).
	AccessLog *slog.Logger
	// AccessLogFilterState names the filter-state objects the access log
	// prints when a plugin set them, as Envoy's %FILTER_STATE(KEY:PLAIN)%:
	// "wasm.NAME" is what a plugin set with proxy_set_property("NAME", …).
	// Each appears as a field named as the key. nil means Higress's
	// default, wasm.ai_log; an empty list prints none.
	AccessLogFilterState []string
	// Listen, when set, replaces the address of the configuration's only
	// listener (the --listen flag).
	Listen string
	// Admin is the admin API address ("" for config.DefaultAdmin; "off" disables it).
	Admin string
	// PoolSize is the largest number of VMs per plugin (0: one per CPU).
	PoolSize int
	// PoolStart is the number of VMs per plugin started at load (0: one);
	// the pool grows to PoolSize under load.
	PoolStart int
	// CacheDir is the wazero compilation cache ("" for the default, "off" to disable).
	CacheDir string
	// ModuleCacheDir caches modules pulled from registries and URLs ("" for
	// <user cache dir>/wasmgate/modules).
	ModuleCacheDir string
	// PluginLogLevel is the initial plugin log level (default info).
	PluginLogLevel *types.LogLevel
	// CallTimeout is the CPU deadline of one plugin callback (0: the engine's
	// default, negative: none).
	CallTimeout time.Duration
	// StartTimeout is the CPU deadline of each start-up call of a plugin VM
	// (start functions, proxy_on_vm_start, proxy_on_configure; 0: the
	// engine's default of 60 s, negative: none). A plugin's own
	// config.Plugin.StartTimeout takes precedence.
	StartTimeout time.Duration
	// PluginLogger, when set, receives the plugins' own records (proxy_log,
	// stdout, stderr), filtered only by the plugin log level, so a plugin
	// at debug prints debug whatever the gateway's level (nil: Logger).
	PluginLogger *slog.Logger
	// PluginLogLimits bound each plugin's records (zero: the engine's defaults).
	PluginLogLimits host.LogLimits
	// VMMemoryLimit is the linear memory, in bytes, one plugin VM may reach
	// before it is replaced (0: none but the engine's 1 GiB cap); a
	// plugin's config.Plugin.MemoryLimit takes precedence.
	VMMemoryLimit uint64
	// LogLevel, when set, is the level of Logger's handler; the admin API's
	// POST /logging?gateway=LEVEL changes it.
	LogLevel *slog.LevelVar
	// FetchTimeouts bound remote module fetches (zero fields: fetch.DefaultTimeouts).
	FetchTimeouts fetch.Timeouts
	// ImageLimits bound what a plugin image may make the gateway read
	// (zero fields: oci.DefaultLimits).
	ImageLimits oci.Limits
	// AdminToken, when set, is the bearer token every admin request but
	// GET /ready must carry.
	AdminToken string
	// AdminHosts are host names the admin API accepts in the Host header
	// besides loopback names and its own address.
	AdminHosts []string
	// DrainTime is how long requests may still run on a retired
	// configuration or after Shutdown began before they are reset (0:
	// DefaultDrainTime, Envoy's --drain-time-s; negative: none).
	DrainTime time.Duration
	// PauseWarning is how long a plugin may hold a stream with nothing
	// pending that could resume it before the gateway logs a warning (0:
	// DefaultPauseWarning).
	PauseWarning time.Duration
	// Trace configures request tracing (off unless sampled or in dev mode).
	Trace TraceOptions
}

// Defaults of Options.
const (
	DefaultDrainTime    = 600 * time.Second
	DefaultPauseWarning = 10 * time.Second
)

func (gw *Server) drainTime() time.Duration {
	switch {
	case gw.opts.DrainTime > 0:
		return gw.opts.DrainTime
	case gw.opts.DrainTime < 0:
		return 0
	}
	return DefaultDrainTime
}

func (gw *Server) pauseWarning() time.Duration {
	if gw.opts.PauseWarning > 0 {
		return gw.opts.PauseWarning
	}
	return DefaultPauseWarning
}

// Server is the gateway.
type Server struct {
	opts         Options
	log          *slog.Logger
	accessLogger *slog.Logger
	engine       *host.Engine
	metrics      *gatewayMetrics
	redis        *redisbridge.Caller

	snap atomic.Pointer[snapshot]

	shutdownOnce sync.Once
	shutdownErr  error

	applyMu   sync.Mutex
	version   int
	problems  []string
	listeners map[string]*listenerServer
	echoAddr  config.Endpoint
	echoSrv   *http.Server
	admin     *http.Server
	adminAddr string
	retiring  sync.WaitGroup
	logLevel  atomic.Int32
	ready     atomic.Bool
	control   control // reloads, module fetches (reload.go)
	traces    *trace.Store
}

type listenerServer struct {
	name string
	id   listenerIdentity
	ln   net.Listener
	srv  *connServer
	tls  *listenerTLS // nil for plaintext
}

// listenerIdentity is what a listener cannot change without reopening.
type listenerIdentity struct {
	address string
	tls     bool
	codec   config.Codec
}

// New creates a gateway. Apply a configuration, then Serve.
func New(ctx context.Context, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	gw := &Server{opts: opts, log: log, accessLogger: opts.AccessLog, listeners: map[string]*listenerServer{}}
	if gw.accessLogger == nil {
		gw.accessLogger = log
	}
	if opts.ModuleCacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			gw.opts.ModuleCacheDir = filepath.Join(dir, "wasmgate", "modules")
		}
	}
	level := types.LogLevelInfo
	if opts.PluginLogLevel != nil {
		level = *opts.PluginLogLevel
	}
	gw.logLevel.Store(int32(level))
	gw.traces = newTraceStore(opts.Trace)
	engine, err := host.NewEngine(ctx, host.EngineConfig{CacheDir: opts.CacheDir, Logger: log, CallTimeout: opts.CallTimeout, StartTimeout: opts.StartTimeout})
	if err != nil {
		return nil, fmt.Errorf("start engine: %w", err)
	}
	gw.engine = engine
	gw.metrics = newGatewayMetrics(engine)
	gw.metrics.registry.MustRegister(runtimeCollector{gw})
	gw.redis = redisbridge.New(func(cluster string) redisbridge.DialFunc {
		if u := gw.cluster(cluster); u != nil {
			return u.dial
		}
		return nil
	})
	if err := gw.startEcho(); err != nil {
		engine.Close(ctx)
		return nil, err
	}
	return gw, nil
}

// startEcho serves the built-in echo upstream on a loopback port.
func (gw *Server) startEcho() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start echo upstream: %w", err)
	}
	gw.echoSrv = &http.Server{Handler: echo.New(), ReadHeaderTimeout: 10 * time.Second}
	go gw.echoSrv.Serve(ln)
	host, port := splitAddr(ln.Addr().String())
	gw.echoAddr = config.Endpoint{Host: host, Port: port}
	return nil
}

// Engine returns the gateway's host engine.
func (gw *Server) Engine() *host.Engine { return gw.engine }

// apply builds a snapshot from cfg beside the running one and swaps it in,
// with the remote modules Apply fetched (see Apply).
func (gw *Server) apply(ctx context.Context, cfg *config.Config, problems []string, mods moduleResults) error {
	gw.applyMu.Lock()
	defer gw.applyMu.Unlock()
	cfg = gw.withListenOverride(cfg)
	prev := gw.snap.Load()
	next := newSnapshot(gw.version+1, cfg)
	builtin := map[string]config.Endpoint{config.BuiltinEcho: gw.echoAddr}
	for _, c := range cfg.Clusters {
		u, err := newUpstream(c, builtin)
		if err != nil {
			problems = append(problems, c.Origin.String()+": "+err.Error())
			gw.log.Warn("cluster skipped", "cluster", c.Name, "error", err)
			continue
		}
		next.clusters[c.Name] = u
	}
	loader := gw.newPluginLoader(ctx, prev, next, mods)
	for _, lc := range cfg.Listeners {
		lr := &listenerRuntime{cfg: lc}
		for _, vh := range lc.VirtualHosts {
			vr := vhostRuntime{cfg: vh}
			for _, rc := range vh.Routes {
				m, err := rc.Matcher()
				if err != nil {
					problems = append(problems, rc.Origin.String()+": "+err.Error())
					continue
				}
				vr.routes = append(vr.routes, &routeRuntime{cfg: rc, match: m, vhost: &vr.cfg})
			}
			lr.vhostCfgs = append(lr.vhostCfgs, vh)
			lr.vhosts = append(lr.vhosts, vr)
		}
		for _, pc := range lc.Plugins {
			p := loader.load(pc)
			lr.plugins = append(lr.plugins, p)
			next.plugins = append(next.plugins, p)
		}
		next.listeners[lc.Name] = lr
	}
	loader.services(cfg)
	if err := gw.bindListeners(cfg); err != nil {
		loader.abandon()
		return err
	}
	gw.version = next.version
	gw.problems = problems
	for _, p := range next.plugins {
		if p.view != nil {
			p.view.snap.Store(next)
		}
	}
	gw.metrics.setTags(cfg.StatsTags)
	gw.snap.Store(next)
	if prev != nil {
		done := prev.retire(gw.drainTime())
		closeUnused(prev, next, done, &gw.retiring)
		for _, u := range prev.clusters {
			defer u.close()
		}
	}
	gw.ready.Store(true)
	gw.log.Info("configuration applied", "version", next.version, "source", cfg.Source,
		"listeners", len(cfg.Listeners), "clusters", len(next.clusters), "plugins", len(next.plugins))
	return nil
}

func (gw *Server) withListenOverride(cfg *config.Config) *config.Config {
	if gw.opts.Listen == "" || len(cfg.Listeners) != 1 {
		return cfg
	}
	c := *cfg
	c.Listeners = append([]config.Listener(nil), cfg.Listeners...)
	c.Listeners[0].Address = gw.opts.Listen
	return &c
}

// bindListeners opens the listeners the configuration names. A listener
// that moves to a new address, or changes between TLS and plaintext or its
// codec, is reopened; a TLS listener that stays takes the new certificates
// for its next handshakes.
func (gw *Server) bindListeners(cfg *config.Config) error {
	want := map[string]listenerIdentity{}
	certs := map[string]*serverTLS{}
	for _, l := range cfg.Listeners {
		want[l.Name] = listenerIdentity{address: l.Address, tls: l.TLS != nil, codec: l.HTTP.Codec}
		if l.TLS != nil {
			st, err := newServerTLS(l.Name, l.TLS, l.HTTP.Codec)
			if err != nil {
				return err
			}
			certs[l.Name] = st
		}
	}
	for name, ls := range gw.listeners {
		if id, ok := want[name]; !ok || id != ls.id {
			ls.srv.Close()
			delete(gw.listeners, name)
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if ls, ok := gw.listeners[name]; ok {
			if ls.tls != nil {
				ls.tls.cur.Store(certs[name])
			}
			continue
		}
		id := want[name]
		ln, err := net.Listen("tcp", id.address)
		if err != nil {
			return fmt.Errorf("listener %s: %w", name, err)
		}
		var lt *listenerTLS
		if id.tls {
			lt = &listenerTLS{}
			lt.cur.Store(certs[name])
			ln = tls.NewListener(ln, &tls.Config{GetConfigForClient: lt.config})
		}
		srv := newConnServer(gw, name, ln, lt, id.codec)
		ls := &listenerServer{name: name, id: id, ln: ln, srv: srv, tls: lt}
		gw.listeners[name] = ls
		go func() {
			if err := srv.serve(); err != nil {
				gw.log.Error("listener stopped", "listener", name, "error", err)
			}
		}()
		gw.log.Info("listening", "listener", name, "address", ln.Addr().String(), "tls", id.tls, "codec", id.codec.String())
	}
	return nil
}

// Addr returns the bound address of a listener ("" if there is none); with
// one listener the name may be empty.
func (gw *Server) Addr(name string) string {
	gw.applyMu.Lock()
	defer gw.applyMu.Unlock()
	for n, ls := range gw.listeners {
		if name == "" || n == name {
			return ls.ln.Addr().String()
		}
	}
	return ""
}

// Shutdown stops accepting requests and lets in-flight ones finish for the
// drain time (or until ctx ends), resets the ones still running, then
// closes the plugins and the engine. Later calls wait for the first and
// return its result.
func (gw *Server) Shutdown(ctx context.Context) error {
	gw.shutdownOnce.Do(func() { gw.shutdownErr = gw.shutdown(ctx) })
	return gw.shutdownErr
}

func (gw *Server) shutdown(ctx context.Context) error {
	gw.closeReloads()
	gw.applyMu.Lock()
	servers := []interface{ Shutdown(context.Context) error }{}
	for _, ls := range gw.listeners {
		servers = append(servers, ls.srv)
	}
	if gw.admin != nil {
		servers = append(servers, gw.admin)
	}
	gw.applyMu.Unlock()
	var firstErr error
	snap := gw.snap.Load()
	drainCtx, cancel := context.WithTimeout(ctx, gw.drainTime())
	defer cancel()
	if snap != nil {
		// Requests still running when the drain ends are reset.
		stop := context.AfterFunc(drainCtx, snap.abortRequests)
		defer stop()
	}
	for _, s := range servers {
		if err := s.Shutdown(drainCtx); err != nil && firstErr == nil && ctx.Err() != nil {
			firstErr = err
		}
	}
	gw.echoSrv.Close()
	if snap != nil {
		done := snap.retire(gw.drainTime())
		select {
		case <-done:
		case <-ctx.Done():
		}
		for _, p := range snap.plugins {
			if p.hp != nil {
				p.hp.Close(context.Background())
			}
		}
	}
	gw.retiring.Wait()
	gw.redis.Close()
	if err := gw.engine.Close(context.Background()); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

func (gw *Server) pluginLogLevel() types.LogLevel { return types.LogLevel(gw.logLevel.Load()) }

// SetPluginLogLevel changes the log level of every plugin (the "wasm" logger).
func (gw *Server) SetPluginLogLevel(l types.LogLevel) {
	gw.logLevel.Store(int32(l))
	if snap := gw.snap.Load(); snap != nil {
		for _, p := range snap.plugins {
			if p.hp != nil {
				p.hp.SetLogLevel(l)
			}
		}
	}
}

// cluster returns the current snapshot's cluster of that name.
func (gw *Server) cluster(name string) *upstream {
	if snap := gw.snap.Load(); snap != nil {
		return snap.clusters[name]
	}
	return nil
}

// PluginStatus is a plugin as the admin API shows it.
type PluginStatus struct {
	Name     string `json:"name"`
	Listener string `json:"listener"`
	State    string `json:"state"`
	Error    string `json:"error,omitempty"`
	URL      string `json:"url"`
	Digest   string `json:"digest,omitempty"`
	ABI      string `json:"abi,omitempty"`
	VMs      int    `json:"vms"`
	// MemoryBytes is the linear memory of the plugin's VMs, summed.
	MemoryBytes uint64 `json:"memoryBytes"`
	// MemoryLimitBytes is the per-VM memory limit (0: none but the engine's).
	MemoryLimitBytes uint64 `json:"memoryLimitBytes"`
	// MemoryReplacements counts VMs replaced for going over the limit.
	MemoryReplacements uint64 `json:"memoryReplacements"`
	// LogDropped counts plugin log records dropped by the log limits.
	LogDropped uint64 `json:"logDropped"`
	Phase      string `json:"phase"`
	Priority   int32  `json:"priority"`
	FailPolicy string `json:"failStrategy"`
	LoadedAt   string `json:"loadedAt,omitempty"`
	// Reason classifies Error: ReasonFetching, ReasonFetch, ReasonModule
	// or ReasonStart.
	Reason string `json:"reason,omitempty"`
	// PluginLogs are the plugin's own log lines from its failed start (the
	// reason proxy_on_configure gave, as the plugin logged it).
	PluginLogs []string `json:"pluginLogs,omitempty"`
	// FetchingSince is when the module fetch still in progress began.
	FetchingSince string `json:"fetchingSince,omitempty"`
	// BlockedRoutes are the routes that answer 503 because the plugin
	// cannot run and fails closed.
	BlockedRoutes []string `json:"blockedRoutes,omitempty"`
	// Service is "singleton" or "per-worker" for a bootstrap WasmService
	// (Listener is then empty).
	Service string `json:"service,omitempty"`
	// SharesVMWith names the plugins whose root contexts live in the same
	// VMs (same module, vm_id, VM configuration and environment).
	SharesVMWith []string `json:"sharesVMWith,omitempty"`
}

// Plugins reports every configured plugin's state.
func (gw *Server) Plugins() []PluginStatus { return pluginStatuses(gw.snap.Load()) }

// pluginStatuses reports the plugins of one snapshot, by listener.
func pluginStatuses(snap *snapshot) []PluginStatus {
	if snap == nil {
		return nil
	}
	var out []PluginStatus
	names := make([]string, 0, len(snap.listeners))
	for n := range snap.listeners {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, ln := range names {
		for _, p := range snap.listeners[ln].plugins {
			st := p.status(ln)
			if p.hp == nil && !p.skip() {
				st.BlockedRoutes = routeLabels(snap.listeners[ln])
			}
			out = append(out, st)
		}
	}
	for _, p := range snap.services {
		out = append(out, p.status(""))
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
