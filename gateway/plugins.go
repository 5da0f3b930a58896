package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/attributes"
	"github.com/wasmgate/wasmgate/oci/fetch"
)

// pluginRuntime is one plugin of a chain as loaded: the running host.Plugin,
// or the error that kept it from loading.
type pluginRuntime struct {
	cfg config.Plugin
	// identity covers everything that requires a new host.Plugin when it
	// changes: module digest, configuration, environment, fail strategy.
	identity string
	hp       *host.Plugin
	// view holds the snapshot whose clusters hp's callouts reach.
	view     *clusterView
	digest   string
	source   string
	loadedAt time.Time
	// err is the latest load error; with hp set it means an update failed
	// and the previous version keeps serving.
	err error
	// why says what err is about, for the admin API (see status.go).
	why failure
}

// skip reports a plugin that is bypassed: it failed to load and fails open.
func (p *pluginRuntime) skip() bool {
	return p.hp == nil && p.cfg.FailStrategy == config.FailOpen
}

func (p *pluginRuntime) newStream(opts host.StreamOptions) *host.Stream {
	if p.hp == nil {
		return nil
	}
	return p.hp.NewStream(opts)
}

// state names the plugin's state for the admin API.
func (p *pluginRuntime) state() string {
	switch {
	case p.hp != nil && p.err != nil:
		return "stale"
	case p.hp != nil:
		return "loaded"
	}
	return "failed"
}

// status reports the plugin's state for the admin API.
func (p *pluginRuntime) status(listener string) PluginStatus {
	st := PluginStatus{Name: p.cfg.Key(), Listener: listener, State: p.state(), URL: p.cfg.URL, Digest: p.digest,
		Phase: p.cfg.Phase.String(), Priority: p.cfg.Priority, FailPolicy: p.cfg.FailStrategy.String()}
	if listener == "" {
		st.Service = "per-worker"
		if p.cfg.Singleton {
			st.Service = "singleton"
		}
	}
	if p.err != nil {
		st.Error = p.err.Error()
		p.why.fill(&st)
	}
	if p.hp != nil {
		st.VMs = p.hp.VMCount()
		st.MemoryBytes = p.hp.MemoryBytes()
		st.MemoryLimitBytes = p.hp.MemoryLimit()
		st.MemoryReplacements = p.hp.MemoryReplacements()
		st.LogDropped = p.hp.LogStats().Dropped
		st.ABI = p.hp.Module().ABI().String()
		st.LoadedAt = p.loadedAt.UTC().Format(time.RFC3339)
		st.SharesVMWith = p.hp.SharedWith()
	}
	return st
}

// pluginLoader loads modules and starts plugins for a new snapshot, reusing
// the plugins of the running one that did not change.
type pluginLoader struct {
	gw  *Server
	ctx context.Context
	// next is the snapshot being built: its clusters serve the callouts of
	// the plugins started for it.
	next    *snapshot
	current map[string]*pluginRuntime // by identity
	byKey   map[string]*pluginRuntime // previous version by plugin key
	created []*pluginRuntime
	mods    moduleResults // remote modules, fetched before the snapshot is built
}

func (gw *Server) newPluginLoader(ctx context.Context, prev, next *snapshot, mods moduleResults) *pluginLoader {
	l := &pluginLoader{gw: gw, ctx: ctx, next: next, current: map[string]*pluginRuntime{}, byKey: map[string]*pluginRuntime{}, mods: mods}
	if prev != nil {
		for _, p := range prev.plugins {
			if p.hp != nil {
				l.current[p.identity] = p
				l.byKey[p.cfg.Key()] = p
			}
		}
	}
	return l
}

// load returns the runtime for one configured plugin. A plugin that fails to
// load keeps its previous version (if any) serving, with the error attached.
func (l *pluginLoader) load(pc config.Plugin) *pluginRuntime {
	bytes, digest, source, fetchErr := l.module(pc)
	if fetchErr != nil && bytes == nil {
		return l.failed(pc, fetchErr)
	}
	id := identity(pc, digest)
	if p, ok := l.current[id]; ok {
		// The running plugin serves on; what the identity leaves out
		// (priority, phase, URL, …) comes from the new configuration.
		q := *p
		q.cfg, q.source, q.err, q.why = pc, source, fetchErr, failure{}
		if fetchErr != nil {
			q.why = failureOf(fetchErr)
		}
		return &q
	}
	rt, err := l.start(pc, bytes)
	if err != nil {
		return l.failed(pc, err)
	}
	rt.identity, rt.digest, rt.source, rt.err = id, digest, source, fetchErr
	if fetchErr != nil {
		rt.why = failureOf(fetchErr)
	}
	l.created = append(l.created, rt)
	return rt
}

func (l *pluginLoader) failed(pc config.Plugin, err error) *pluginRuntime {
	where := pc.Origin.String()
	if where == "" {
		where = pc.URL
	}
	why := failureOf(err)
	err = fmt.Errorf("plugin %s (%s): %w", pc.Key(), where, err)
	if prev, ok := l.byKey[pc.Key()]; ok {
		q := *prev
		q.err, q.why = err, why
		return &q
	}
	return &pluginRuntime{cfg: pc, err: err, why: why, identity: "failed:" + pc.Key()}
}

func (l *pluginLoader) start(pc config.Plugin, wasm []byte) (*pluginRuntime, error) {
	mod, err := l.gw.engine.CompileNamed(l.ctx, pc.Key(), wasm)
	if err != nil {
		return nil, &moduleError{err}
	}
	env := map[string]string{}
	for k, v := range pc.Env {
		env[k] = v
	}
	for _, k := range pc.HostEnvKeys {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	strategy := host.FailClosed
	if pc.FailStrategy == config.FailOpen {
		strategy = host.FailOpen
	}
	level := l.gw.pluginLogLevel()
	memLimit := l.gw.opts.VMMemoryLimit
	if pc.MemoryLimit > 0 {
		memLimit = pc.MemoryLimit
	}
	view := &clusterView{gw: l.gw}
	view.snap.Store(l.next)
	wasmLog := l.gw.opts.PluginLogger
	if wasmLog == nil {
		wasmLog = l.gw.log
	}
	capture := newStartLog(wasmLog.Handler())
	var pluginName *string
	if pc.Unnamed {
		pluginName = new(string) // Envoy's plugin_name of a PluginConfig without a name
	}
	hp, err := l.gw.engine.NewPlugin(l.ctx, mod, host.PluginConfig{
		Name:            pc.LogName(),
		PluginName:      pluginName,
		RootID:          pc.RootID,
		VMID:            pc.VMID,
		Configuration:   pc.Configuration,
		VMConfiguration: pc.VMConfiguration,
		Env:             env,
		FailStrategy:    strategy,
		PoolSize:        l.gw.opts.PoolSize,
		PoolStart:       l.gw.opts.PoolStart,
		Singleton:       pc.Singleton,
		LogLevel:        &level,
		HTTP:            view,
		GRPC:            view,
		Redis:           l.gw.redis.View(view.redisDial),
		Properties:      rootProperties(view, pc.Key()),
		StartTimeout:    pc.StartTimeout,
		MemoryLimit:     memLimit,
		WasmLogger:      slog.New(capture),
		LogLimits:       l.gw.opts.PluginLogLimits,
	})
	if err != nil {
		return nil, capture.failed(err)
	}
	capture.stop()
	l.gw.log.Info("plugin loaded", "plugin", pc.Key(), "abi", mod.ABI().String(), "vms", hp.VMCount())
	return &pluginRuntime{cfg: pc, hp: hp, view: view, loadedAt: time.Now()}, nil
}

// services starts the configuration's service plugins (Envoy bootstrap
// WasmServices), after its listeners' plugins as Envoy starts them when the
// server is initialized. They are listed in next.plugins too, so reloads,
// shutdown and metrics treat them as the others.
func (l *pluginLoader) services(cfg *config.Config) {
	for _, sc := range cfg.Services {
		p := l.load(sc)
		l.next.services = append(l.next.services, p)
		l.next.plugins = append(l.next.plugins, p)
	}
}

// rootProperties answers a plugin's properties outside streams, and below a
// stream's own, as Envoy serves them without stream info (attributes.Root):
// the node of the configuration the plugin's view holds, and the metadata of
// the listener whose chain has the plugin (none for a service).
func rootProperties(view *clusterView, key string) host.Properties {
	return host.PropertyFunc(func(path []string) (any, bool) {
		var r attributes.Root
		if snap := view.snap.Load(); snap != nil && snap.cfg != nil {
			n := snap.cfg.Node
			r.Node = attributes.Node{ID: n.ID, Cluster: n.Cluster, Metadata: n.Metadata}
		find:
			for _, l := range snap.cfg.Listeners {
				for i := range l.Plugins {
					if l.Plugins[i].Key() == key {
						r.HasListener, r.ListenerMetadata, r.ListenerDirection = true, attributes.Metadata(l.Metadata), 1
						break find
					}
				}
			}
		}
		return r.Property(path)
	})
}

// abandon closes plugins started for a snapshot that was not applied.
func (l *pluginLoader) abandon() {
	for _, p := range l.created {
		p.hp.Close(context.Background())
	}
}

func identity(pc config.Plugin, digest string) string {
	h := sha256.New()
	w := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	w(digest)
	w(pc.Key())
	w(pc.RootID)
	w(pc.VMID)
	w(string(pc.Configuration))
	w(string(pc.VMConfiguration))
	w(pc.FailStrategy.String())
	w(pc.StartTimeout.String())
	w(fmt.Sprint(pc.MemoryLimit, pc.Singleton))
	keys := make([]string, 0, len(pc.Env))
	for k := range pc.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w(k)
		w(pc.Env[k])
	}
	for _, k := range pc.HostEnvKeys {
		w(k)
		w(os.Getenv(k))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// module returns a plugin's module: file and inline modules are read here,
// remote ones come from the fetches made before the snapshot was built.
// With an earlier copy and a failed (or unfinished) refresh it returns the
// copy and the error.
func (l *pluginLoader) module(pc config.Plugin) (wasm []byte, digest, source string, err error) {
	switch pc.Source.Kind {
	case config.SourceFile:
		b, err := os.ReadFile(pc.Source.Path)
		if err != nil {
			return nil, "", "", fmt.Errorf("read module: %w", err)
		}
		if err := checkDigest(b, pc.SHA256); err != nil {
			return nil, "", "", err
		}
		return b, sha(b), pc.Source.Path, nil
	case config.SourceInline:
		if err := checkDigest(pc.Source.Inline, pc.SHA256); err != nil {
			return nil, "", "", err
		}
		return pc.Source.Inline, sha(pc.Source.Inline), "inline", nil
	}
	spec, _ := remoteSpec(pc)
	r, ok := l.mods[spec]
	if !ok {
		return nil, "", "", fmt.Errorf("module %s was not fetched", spec.url)
	}
	return r.wasm, r.digest, r.source, r.err
}

func fetchPolicy(p config.PullPolicy) fetch.PullPolicy {
	if p == config.PullAlways {
		return fetch.PullAlways
	}
	return fetch.PullIfNotPresent
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func checkDigest(b []byte, want string) error {
	if want == "" {
		return nil
	}
	if got := sha(b); got != want {
		return fmt.Errorf("sha256 mismatch: module is %s, configuration says %s", got, want)
	}
	return nil
}

// closeUnused closes the plugins of old that next does not use, once old's
// requests are done.
func closeUnused(old, next *snapshot, done <-chan struct{}, wg *sync.WaitGroup) {
	keep := map[*host.Plugin]bool{}
	for _, p := range next.plugins {
		if p.hp != nil {
			keep[p.hp] = true
		}
	}
	var drop []*host.Plugin
	for _, p := range old.plugins {
		if p.hp != nil && !keep[p.hp] {
			keep[p.hp] = true
			drop = append(drop, p.hp)
		}
	}
	if len(drop) == 0 {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-done
		for _, hp := range drop {
			hp.Close(context.Background())
		}
	}()
}
