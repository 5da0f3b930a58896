package gateway

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
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
		return res, ErrNoConfig
	}
	return res, gw.Apply(ctx, res.Config, problems)
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
		for _, l := range res.Config.Listeners {
			for _, p := range l.Plugins {
				if p.Source.Kind == config.SourceFile && p.Source.Path != "" {
					paths = append(paths, p.Source.Path)
				}
			}
		}
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
