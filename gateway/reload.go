package gateway

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wasmgate/wasmgate/config"
)

// Source produces the gateway's configuration: a Higress data directory, an
// Envoy bootstrap file or the command-line flags.
type Source interface {
	// Load reads the configuration. Result.Config is nil when nothing usable
	// was read; Result.Problems name file and field.
	Load() *config.Result
}

// SourceFunc adapts a function to Source.
type SourceFunc func() *config.Result

// Load implements Source.
func (f SourceFunc) Load() *config.Result { return f() }

// ErrNoConfig is returned when the first load gives no configuration.
var ErrNoConfig = errors.New("no usable configuration")

// LoadAndApply loads src once and applies the result.
func (gw *Server) LoadAndApply(ctx context.Context, src Source) (*config.Result, error) {
	res := src.Load()
	var problems []string
	for _, p := range res.Problems {
		if p.Severity == config.SeverityError {
			gw.log.Error("configuration error", "problem", p.Error())
		} else {
			gw.log.Warn("configuration warning", "problem", p.Error())
		}
		problems = append(problems, p.Severity.String()+": "+p.Error())
	}
	if res.Config == nil {
		gw.applyMu.Lock()
		gw.problems = problems
		gw.applyMu.Unlock()
		gw.publishProblems()
		return res, ErrNoConfig
	}
	return res, gw.Apply(ctx, res.Config, problems)
}

// control is the reload machinery's state: the module fetches, the reload
// in progress and what the admin API shows of it. Nothing in it is held
// while the network is waited on, except reloadMu, which only reloads take.
type control struct {
	once     sync.Once
	modules  *moduleSet
	reloadMu sync.Mutex // one reload at a time: fetch, build, swap
	closed   bool       // guarded by reloadMu

	applied        atomic.Pointer[appliedConfig]
	problems       atomic.Pointer[[]string]
	reapplyPending atomic.Bool

	mu      sync.Mutex // guards the fields below
	state   string
	since   time.Time
	last    time.Time
	lastErr string
	// reported is each plugin's last logged status, so a reload logs only
	// what changed.
	reported map[string]string
}

type appliedConfig struct {
	cfg      *config.Config
	problems []string
}

func (gw *Server) ctl() *control {
	gw.control.once.Do(func() {
		gw.control.modules = newModuleSet(gw)
		gw.control.state = ReloadIdle
	})
	return &gw.control
}

// Reload states.
const (
	ReloadIdle     = "idle"
	ReloadFetching = "fetching"
	ReloadApplying = "applying"
)

// ReloadStatus is the reload machinery as the admin API shows it.
type ReloadStatus struct {
	// State is ReloadIdle, ReloadFetching (waiting for modules) or
	// ReloadApplying (starting plugins, swapping the snapshot).
	State string `json:"state"`
	// Since is when the current state began.
	Since string `json:"since,omitempty"`
	// Fetching lists the module fetches in progress, including those a
	// reload stopped waiting for.
	Fetching []FetchStatus `json:"fetching,omitempty"`
	// LastReload is when the last reload ended; LastError is its error.
	LastReload string `json:"lastReload,omitempty"`
	LastError  string `json:"lastError,omitempty"`
}

// Reload reports the reload in progress, if any, and the module fetches.
// It never waits for a reload.
func (gw *Server) Reload() ReloadStatus {
	c := gw.ctl()
	c.mu.Lock()
	st := ReloadStatus{State: c.state, LastError: c.lastErr}
	if !c.since.IsZero() && c.state != ReloadIdle {
		st.Since = c.since.UTC().Format(time.RFC3339Nano)
	}
	if !c.last.IsZero() {
		st.LastReload = c.last.UTC().Format(time.RFC3339Nano)
	}
	c.mu.Unlock()
	st.Fetching = c.modules.fetching()
	return st
}

func (c *control) setState(state string) {
	c.mu.Lock()
	c.state, c.since = state, time.Now()
	c.mu.Unlock()
}

func (c *control) finish(err error) {
	c.mu.Lock()
	c.state, c.since, c.last, c.lastErr = ReloadIdle, time.Time{}, time.Now(), ""
	if err != nil {
		c.lastErr = err.Error()
	}
	c.mu.Unlock()
}

// Apply builds a snapshot from cfg beside the running one and swaps it in.
// Remote modules are fetched first, with no lock held that requests or the
// admin API take; a reload waits for them only briefly (the first load
// waits for all), and a module that arrives later triggers another reload.
// Plugins whose module and configuration did not change keep running; a
// plugin that fails to load, or whose module cannot be fetched, keeps its
// previous version serving and is reported by Plugins and the admin API.
// problems are the configuration loader's messages, shown by the admin API.
func (gw *Server) Apply(ctx context.Context, cfg *config.Config, problems []string) error {
	c := gw.ctl()
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	return gw.reload(ctx, cfg, problems, true)
}

// reload is Apply with reloadMu held.
func (gw *Server) reload(ctx context.Context, cfg *config.Config, problems []string, refetch bool) error {
	c := gw.ctl()
	if c.closed {
		return errors.New("apply: the gateway is shutting down")
	}
	c.setState(ReloadFetching)
	wait := reloadFetchWait
	if gw.snap.Load() == nil {
		wait = -1
	}
	mods := c.modules.resolve(ctx, cfg, wait, refetch)
	c.setState(ReloadApplying)
	err := gw.apply(ctx, cfg, problems, mods)
	c.finish(err)
	gw.publishProblems()
	if err == nil {
		c.applied.Store(&appliedConfig{cfg: cfg, problems: problems})
		gw.reportPlugins()
	}
	return err
}

// reloadAfterFetch applies the running configuration again, in the
// background, once a module fetch a reload stopped waiting for has ended.
func (gw *Server) reloadAfterFetch() {
	c := gw.ctl()
	if !c.reapplyPending.CompareAndSwap(false, true) {
		return
	}
	go func() {
		c.reloadMu.Lock()
		defer c.reloadMu.Unlock()
		c.reapplyPending.Store(false)
		a := c.applied.Load()
		if a == nil || c.closed {
			return
		}
		if err := gw.reload(c.modules.ctx, a.cfg, a.problems, false); err != nil {
			gw.log.Error("reload after a module fetch failed; the running configuration stays", "error", err)
		}
	}()
}

// closeReloads stops the module fetches and any later reload.
func (gw *Server) closeReloads() {
	c := gw.ctl()
	c.modules.cancel()
	c.reloadMu.Lock()
	c.closed = true
	c.reloadMu.Unlock()
	c.modules.close()
}

// publishProblems copies the configuration problems where the admin API
// reads them without taking applyMu.
func (gw *Server) publishProblems() {
	gw.applyMu.Lock()
	p := append([]string(nil), gw.problems...)
	gw.applyMu.Unlock()
	gw.ctl().problems.Store(&p)
}

// currentProblems are the problems of the last load, for the admin API.
func (gw *Server) currentProblems() []string {
	if p := gw.ctl().problems.Load(); p != nil {
		return *p
	}
	return nil
}

// Watch reloads src whenever a file it read, or a plugin module it names,
// changes (debounced); a broken version is reported and the running
// configuration stays. It returns when ctx ends. extra lists more paths to
// watch (files or directories).
func (gw *Server) Watch(ctx context.Context, src Source, first *config.Result, extra ...string) error {
	done, err := gw.StartWatch(ctx, src, first, extra...)
	if err != nil {
		return err
	}
	return <-done
}

// StartWatch is Watch in the background: the files are watched when it
// returns, so a change made after that is never missed. The channel gets
// Watch's result when ctx ends.
func (gw *Server) StartWatch(ctx context.Context, src Source, first *config.Result, extra ...string) (<-chan error, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	watched := map[string]bool{}
	files := map[string]bool{}
	update := func(res *config.Result) {
		paths := append(watchPaths(res), extra...)
		for _, p := range paths {
			abs, err := filepath.Abs(p)
			if err != nil {
				continue
			}
			files[abs] = true
			dir := filepath.Dir(abs)
			if isDir(abs) {
				dir = abs
			}
			if !watched[dir] {
				if err := w.Add(dir); err == nil {
					watched[dir] = true
				}
			}
		}
	}
	update(first)
	done := make(chan error, 1)
	go func() {
		defer w.Close()
		done <- gw.watchLoop(ctx, src, w, files, update)
	}()
	return done, nil
}

func (gw *Server) watchLoop(ctx context.Context, src Source, w *fsnotify.Watcher, files map[string]bool, update func(*config.Result)) error {
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			abs, _ := filepath.Abs(ev.Name)
			if !files[abs] && !files[filepath.Dir(abs)] && !underAny(abs, files) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(200 * time.Millisecond)
			} else {
				timer.Reset(200 * time.Millisecond)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			gw.log.Warn("file watch error", "error", err)
		case <-fire:
			fire = nil
			gw.log.Info("configuration changed, reloading")
			res, err := gw.LoadAndApply(ctx, src)
			if err != nil {
				gw.log.Error("reload failed; the running configuration stays", "error", err)
			}
			update(res)
		}
	}
}

// watchPaths are the configuration files and the local plugin modules.
func watchPaths(res *config.Result) []string {
	if res == nil {
		return nil
	}
	paths := append([]string(nil), res.Files...)
	if res.Config != nil {
		res.Config.EachPlugin(func(p *config.Plugin) {
			if p.Source.Kind == config.SourceFile && p.Source.Path != "" {
				paths = append(paths, p.Source.Path)
			}
		})
	}
	sort.Strings(paths)
	return paths
}

func underAny(path string, dirs map[string]bool) bool {
	for d := range dirs {
		if strings.HasPrefix(path, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
