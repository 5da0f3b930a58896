package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wasmgate/wasmgate/pluginbuild"
)

// devLoop rebuilds a plugin folder on every save. The gateway watches the
// output module and reloads it; a failed build leaves the previous module
// (and so the previous version) serving.
type devLoop struct {
	dir    string
	output string
	log    *slog.Logger
}

func newDevLoop(ctx context.Context, dir string, log *slog.Logger) (*devLoop, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(abs, ".wasmgate", "plugin.wasm")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	d := &devLoop{dir: abs, output: out, log: log}
	if err := d.build(ctx); err != nil {
		return nil, fmt.Errorf("build %s: %w", dir, err)
	}
	return d, nil
}

// build compiles the plugin to a temporary file and renames it over the
// served module, so the gateway never reads a half-written file.
func (d *devLoop) build(ctx context.Context) error {
	start := time.Now()
	tmp := d.output + ".new"
	var logs bytes.Buffer
	res, err := pluginbuild.Build(ctx, pluginbuild.Options{Dir: d.dir, Output: tmp, SkipLoadCheck: true, Log: &logs})
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w\n%s", err, strings.TrimSpace(logs.String()))
	}
	if err := os.Rename(res.Output, d.output); err != nil {
		return err
	}
	d.log.Info("plugin built", "dir", d.dir, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// run rebuilds after changes to Go sources, go.mod or go.sum (debounced).
func (d *devLoop) run(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Error("watch plugin sources", "error", err)
		return
	}
	defer w.Close()
	_ = filepath.WalkDir(d.dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			name := e.Name()
			if p != d.dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			_ = w.Add(p)
		}
		return nil
	})
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-w.Events:
			name := filepath.Base(ev.Name)
			if strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
				fire = time.After(150 * time.Millisecond)
			}
		case err := <-w.Errors:
			d.log.Warn("watch plugin sources", "error", err)
		case <-fire:
			fire = nil
			d.log.Info("plugin source changed, rebuilding", "dir", d.dir)
			if err := d.build(ctx); err != nil {
				d.log.Error("build failed; the previous version keeps serving", "error", err)
			}
		}
	}
}
