package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/envoy"
	"github.com/wasmgate/wasmgate/config/flags"
	"github.com/wasmgate/wasmgate/config/higress"
	"github.com/wasmgate/wasmgate/gateway"
	"github.com/wasmgate/wasmgate/gateway/trace"
	"github.com/wasmgate/wasmgate/gateway/trace/otlp"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

type runOptions struct {
	plugins        []string
	pluginConfigs  []string
	upstream       string
	listen         string
	httpsListen    string
	admin          string
	envoyConfig    string
	dataDir        string
	poolSize       int
	poolStart      int
	logLevel       string
	pluginLogLevel string
	logFormat      string
	noWatch        bool
	watchDir       string
	startTimeout   time.Duration
	callTimeout    time.Duration
	memoryLimit    string
	vmMemoryLimit  string
	filterState    []string
	adminToken     string
	adminTokenFile string
	adminHosts     []string
	traceSample    string
	traceRedact    []string
	traceMaxReqs   int
	traceMaxBytes  string
	otlpEndpoint   string
	fetch          fetchFlags
	limits         limitFlags
	tls            tlsFlags
}

func init() {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the gateway with plugins in front of an upstream",
		Long: `Run starts the gateway. The configuration comes from one of:

  --plugin FILE.wasm [--plugin-config JSON|@file] [--upstream URL]
      plugins (repeat --plugin; each --plugin-config belongs to the --plugin
      before it) in front of the upstream, or of the built-in echo upstream
  --envoy-config envoy.yaml
      an Envoy static bootstrap (listeners, routes, clusters, wasm filters)
  --data-dir DIR
      a Higress standalone data directory: wasmplugins/, mcpbridges/, ingresses/,
      secrets/

Changes to the configuration files and plugin modules are applied without a
restart; a broken version is reported and the running one stays.

The admin API serves /ready, /config_dump, /logging, /stats/prometheus and
/plugins on --admin, else on the Envoy bootstrap's admin.address, else on
` + config.DefaultAdmin + `. It answers only requests whose Host
is a loopback name or its own address (--admin-host adds names), changes state
only on POST, and with --admin-token or --admin-token-file wants that bearer
token on every request but /ready. Keep it on a loopback address.

Request traces (what every plugin did to a request) are shown at /ui on the
admin address, served as JSON at /trace and printed by wasmgate trace. --watch
traces every request; otherwise --trace-sample, POST /trace?sample=… or a
request's x-wasmgate-trace: 1 header with the admin token in
x-wasmgate-trace-token turn tracing on. --otlp-endpoint also sends the traces
as OpenTelemetry spans.

Remote modules (oci://, http(s)://) are fetched outside the reload's critical
section, bounded by the --fetch-* timeouts and retried; a module that cannot be
fetched keeps its last good copy serving, and /plugins says why.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("plugin") {
				// Pair each --plugin-config with its --plugin by position.
				ps, err := flags.PluginsFromArgs(os.Args[1:])
				if err != nil {
					return err
				}
				o.plugins = o.plugins[:0]
				o.pluginConfigs = o.pluginConfigs[:0]
				for _, p := range ps {
					o.plugins = append(o.plugins, p.Path)
					o.pluginConfigs = append(o.pluginConfigs, p.Config)
				}
			}
			if o.dataDir != "" && !cmd.Flags().Changed("plugin-log-level") {
				o.pluginLogLevel = "warn" // Higress's default: plugin info logs appear after POST /logging?wasm=info
			}
			if cmd.Flags().Changed("access-log-filter-state") && o.filterState == nil {
				o.filterState = []string{}
			}
			return runGateway(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.plugins, "plugin", nil, "plugin module (.wasm); repeat for a chain")
	f.StringArrayVar(&o.pluginConfigs, "plugin-config", nil, "configuration of the preceding --plugin: JSON or @file")
	f.StringVar(&o.upstream, "upstream", "", "upstream URL for --plugin mode (default: the built-in echo upstream)")
	f.StringVar(&o.listen, "listen", "", "listen address (default "+config.DefaultListen+")")
	f.StringVar(&o.httpsListen, "https-listen", "", "with --data-dir: the HTTPS listener for the hosts of Ingress tls entries (default "+config.DefaultTLSListen+")")
	f.StringVar(&o.admin, "admin", "", "admin API address (default: the bootstrap's admin.address, else "+config.DefaultAdmin+"; \"off\" disables it)")
	f.StringVar(&o.envoyConfig, "envoy-config", "", "Envoy static bootstrap YAML")
	f.StringVar(&o.dataDir, "data-dir", "", "Higress standalone data directory")
	f.IntVar(&o.poolSize, "vms", 0, "largest number of VMs per plugin (default: one per CPU)")
	f.IntVar(&o.poolStart, "vms-start", 1, "VMs per plugin started at load; the pool grows to --vms under load")
	f.StringVar(&o.logLevel, "log-level", "info", "gateway log level: debug, info, warn, error")
	f.StringVar(&o.pluginLogLevel, "plugin-log-level", "info", "plugin (wasm) log level: trace, debug, info, warn, error, critical (warn with --data-dir, as in Higress)")
	f.DurationVar(&o.startTimeout, "start-timeout", host.DefaultStartTimeout, "CPU deadline of each plugin start-up call (start functions, on_vm_start, on_configure); 0 disables it")
	f.DurationVar(&o.callTimeout, "call-timeout", host.DefaultCallTimeout, "CPU deadline of each other plugin callback; 0 disables it")
	f.StringSliceVar(&o.filterState, "access-log-filter-state", nil, "filter-state keys the access log prints when set, as Envoy's %FILTER_STATE(KEY)% (a plugin's proxy_set_property(\"NAME\") is wasm.NAME; default wasm.ai_log)")
	f.StringVar(&o.memoryLimit, "memory-limit", "", "process-wide soft memory limit, as GOMEMLIMIT (such as 2GiB; \"off\"; default: $GOMEMLIMIT, else 75% of the machine's or cgroup's memory)")
	f.StringVar(&o.vmMemoryLimit, "vm-memory-limit", "", "linear memory one plugin VM may reach before it is replaced (such as 256MiB; default: no limit but 1 GiB)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&o.noWatch, "no-watch", false, "do not reload on file changes")
	f.StringVar(&o.watchDir, "watch", "", "plugin source folder: build it, run it, and rebuild and reload it on every save")
	f.StringVar(&o.adminToken, "admin-token", "", "bearer token the admin API requires (visible in the process list: prefer --admin-token-file)")
	f.StringVar(&o.adminTokenFile, "admin-token-file", "", "file holding the bearer token the admin API requires")
	f.StringArrayVar(&o.adminHosts, "admin-host", nil, "host name the admin API accepts in the Host header besides loopback names and its own address (repeatable)")
	f.StringVar(&o.traceSample, "trace-sample", "", "share of requests traced (0..1, a percentage, all or off; default off, all with --watch or --otlp-endpoint)")
	f.StringArrayVar(&o.traceRedact, "trace-redact", nil, "header whose values traces never show, besides authorization, cookie and set-cookie (repeatable)")
	f.IntVar(&o.traceMaxReqs, "trace-max-requests", trace.DefaultMaxRequests, "traces kept for the admin API and /ui")
	f.StringVar(&o.traceMaxBytes, "trace-max-bytes", "32MiB", "memory the kept traces may use")
	f.StringVar(&o.otlpEndpoint, "otlp-endpoint", "", "send traces as OpenTelemetry spans to this OTLP/HTTP endpoint (http://HOST:4318)")
	o.fetch.add(cmd)
	o.limits.register(f)
	o.tls.register(f)
	rootCmd.AddCommand(cmd)
}

// offIfZero maps a flag's 0 ("off") to the engine's negative "none".
func offIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// adminAddress picks the admin API's address: --admin when given, else the
// configuration's own (an Envoy bootstrap's admin.address), else the default.
// The gateway warns when the address it binds is not loopback.
func adminAddress(flag string, first *config.Result, log *slog.Logger) string {
	if flag == "" && first != nil && first.Config != nil && first.Config.AdminAddress != "" {
		log.Info("admin address from the configuration's admin.address", "address", first.Config.AdminAddress)
		return first.Config.AdminAddress
	}
	return flag
}

func parsePluginLevel(s string) (types.LogLevel, error) {
	for l := types.LogLevelTrace; l <= types.LogLevelCritical; l++ {
		if strings.EqualFold(s, l.String()) || (l == types.LogLevelWarn && strings.EqualFold(s, "warning")) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown plugin log level %q", s)
}

// newLogger returns the gateway's logger, its level, and the plugins'
// logger: the same output, filtered only by each plugin's log level and
// with Envoy's level names (trace … critical).
func newLogger(level, format string) (*slog.Logger, *slog.LevelVar, *slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	lv := &slog.LevelVar{}
	lv.Set(l)
	opts := &slog.HandlerOptions{Level: lv}
	popts := &slog.HandlerOptions{Level: host.LevelTrace, ReplaceAttr: host.ReplaceLevelNames}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), lv, slog.New(slog.NewTextHandler(os.Stderr, popts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), lv, slog.New(slog.NewJSONHandler(os.Stderr, popts)), nil
	}
	return nil, nil, nil, fmt.Errorf("--log-format: %q is neither text nor json", format)
}

// source picks the configuration source from the flags.
func (o runOptions) source() (gateway.Source, []string, error) {
	n := 0
	for _, set := range []bool{len(o.plugins) > 0, o.envoyConfig != "", o.dataDir != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, nil, errors.New("use one of --plugin, --envoy-config and --data-dir")
	}
	switch {
	case o.envoyConfig != "":
		path := o.envoyConfig
		return gateway.SourceFunc(func() *config.Result { return envoy.LoadFile(path) }), nil, nil
	case o.dataDir != "":
		// Requests no Ingress route takes go to --upstream, or to the built-in echo upstream.
		def := &config.Cluster{Name: config.EchoClusterName, Discovery: config.DiscoveryBuiltin, Builtin: config.BuiltinEcho}
		if o.upstream != "" {
			c, _, err := flags.Upstream(o.upstream)
			if err != nil {
				return nil, nil, fmt.Errorf("--upstream: %w", err)
			}
			def = &c
		}
		loader := higress.NewLoader(o.dataDir, higress.Options{Listen: o.listen, TLSListen: o.httpsListen, DefaultCluster: def})
		var dirs []string
		for _, d := range higress.Subdirs {
			dirs = append(dirs, filepath.Join(o.dataDir, d))
		}
		return gateway.SourceFunc(loader.Load), dirs, nil
	}
	var ps []flags.Plugin
	for i, p := range o.plugins {
		fp := flags.Plugin{Path: p}
		if i < len(o.pluginConfigs) {
			fp.Config = o.pluginConfigs[i]
		}
		ps = append(ps, fp)
	}
	opts := flags.Options{Plugins: ps, Upstream: o.upstream, Listen: o.listen}
	return gateway.SourceFunc(func() *config.Result { return flags.Build(opts) }), nil, nil
}

// traceOptions builds the gateway's tracing from the --trace-* flags and
// --otlp-endpoint; stop flushes the spans not yet sent.
func (o runOptions) traceOptions(ctx context.Context, dev bool) (gateway.TraceOptions, func(), error) {
	t := gateway.TraceOptions{Dev: dev}
	t.Store.MaxRequests, t.Store.Redact = o.traceMaxReqs, o.traceRedact
	n, err := parseBytes(o.traceMaxBytes)
	if err != nil {
		return t, nil, fmt.Errorf("--trace-max-bytes: %w", err)
	}
	t.Store.MaxBytes = int64(n)
	if o.traceSample != "" {
		if t.SampleRate, err = gateway.ParseSampleRate(o.traceSample); err != nil {
			return t, nil, fmt.Errorf("--trace-sample: %w", err)
		}
	}
	if o.otlpEndpoint == "" {
		return t, func() {}, nil
	}
	exp, err := otlp.New(ctx, o.otlpEndpoint, "wasmgate")
	if err != nil {
		return t, nil, fmt.Errorf("--otlp-endpoint: %w", err)
	}
	if o.traceSample == "" {
		t.SampleRate = 1
	}
	t.Store.Export = exp.Export
	return t, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = exp.Shutdown(sctx)
	}, nil
}

// token returns the admin token from --admin-token or --admin-token-file.
func (o runOptions) token() (string, error) {
	if o.adminTokenFile == "" {
		return o.adminToken, nil
	}
	if o.adminToken != "" {
		return "", errors.New("use one of --admin-token and --admin-token-file")
	}
	b, err := os.ReadFile(o.adminTokenFile)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("--admin-token-file: %s is empty", o.adminTokenFile)
	}
	return t, nil
}

func runGateway(parent context.Context, o runOptions) error {
	if parent == nil {
		parent = context.Background()
	}
	log, logLevel, pluginLog, err := newLogger(o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	memLimit, err := applyMemoryLimit(o.memoryLimit)
	if err != nil {
		return err
	}
	var vmLimit uint64
	if o.vmMemoryLimit != "" {
		if vmLimit, err = parseBytes(o.vmMemoryLimit); err != nil {
			return fmt.Errorf("--vm-memory-limit: %w", err)
		}
	}
	if memLimit > 0 {
		log.Debug("soft memory limit", "bytes", memLimit)
	}
	plevel, err := parsePluginLevel(o.pluginLogLevel)
	if err != nil {
		return fmt.Errorf("--plugin-log-level: %w", err)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var dev *devLoop
	if o.watchDir != "" {
		if len(o.plugins) > 0 || o.envoyConfig != "" || o.dataDir != "" {
			return errors.New("--watch runs the plugin it builds; it does not combine with --plugin, --envoy-config or --data-dir")
		}
		if dev, err = newDevLoop(ctx, o.watchDir, log); err != nil {
			return err
		}
		o.plugins = []string{dev.output}
		if len(o.pluginConfigs) == 0 {
			o.pluginConfigs = []string{""}
		}
	}
	src, extra, err := o.source()
	if err != nil {
		return err
	}
	token, err := o.token()
	if err != nil {
		return err
	}
	limits, err := o.fetch.imageLimits()
	if err != nil {
		return err
	}
	overrides, err := o.limits.overrides()
	if err != nil {
		return err
	}
	src = withOverrides(src, overrides)
	listenTLS, err := o.tls.settings(log)
	if err != nil {
		return err
	}
	src = withTLS(src, listenTLS)
	traceOpts, stopTrace, err := o.traceOptions(ctx, dev != nil)
	if err != nil {
		return err
	}
	defer stopTrace()
	gw, err := gateway.New(ctx, gateway.Options{Logger: log, Trace: traceOpts, LogLevel: logLevel, Listen: o.listen, PoolSize: o.poolSize, PoolStart: o.poolStart, PluginLogLevel: &plevel,
		StartTimeout: offIfZero(o.startTimeout), CallTimeout: offIfZero(o.callTimeout),
		PluginLogger: pluginLog, VMMemoryLimit: vmLimit, AccessLogFilterState: o.filterState,
		AdminToken: token, AdminHosts: o.adminHosts, FetchTimeouts: o.fetch.timeouts(), ImageLimits: limits,
		DrainTime: o.limits.drainTime(), PauseWarning: o.limits.pauseWarning})
	if err != nil {
		return err
	}
	first, err := gw.LoadAndApply(ctx, src)
	if err != nil {
		_ = gw.Shutdown(context.Background())
		return fmt.Errorf("start: %w", err)
	}
	if admin := adminAddress(o.admin, first, log); admin != "off" {
		if _, err := gw.ServeAdmin(admin); err != nil {
			_ = gw.Shutdown(context.Background())
			return err
		}
	}
	// The watch is in place before the source rebuilder can write a new
	// module, so no rebuild is missed.
	if !o.noWatch || dev != nil {
		if _, err := gw.StartWatch(ctx, src, first, extra...); err != nil {
			log.Error("file watching not started", "error", err)
		}
	}
	if dev != nil {
		go dev.run(ctx)
	}
	<-ctx.Done()
	stop()
	log.Info("shutting down: draining in-flight requests (interrupt again to stop now)", "drain_time", o.limits.drain)
	// A second interrupt ends the drain at once.
	sctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := gw.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
