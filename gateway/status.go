package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Why a plugin is failed or stale (PluginStatus.Reason).
const (
	// ReasonFetching: the module is still being fetched.
	ReasonFetching = "fetching"
	// ReasonFetch: the module could not be fetched, read or verified.
	ReasonFetch = "fetch"
	// ReasonModule: the module does not compile.
	ReasonModule = "module"
	// ReasonStart: the plugin failed to start: proxy_on_vm_start or
	// proxy_on_configure failed, trapped or ran out of time.
	ReasonStart = "start"
)

// failure is what the admin API says about a plugin's error.
type failure struct {
	reason string
	logs   []string
	since  time.Time
}

func failureOf(err error) failure {
	var (
		pe *FetchPendingError
		se *startError
		me *moduleError
	)
	switch {
	case errors.As(err, &pe):
		return failure{reason: ReasonFetching, since: pe.Since}
	case errors.As(err, &se):
		return failure{reason: ReasonStart, logs: se.logs}
	case errors.As(err, &me):
		return failure{reason: ReasonModule}
	}
	return failure{reason: ReasonFetch}
}

func (f failure) fill(st *PluginStatus) {
	st.Reason = f.reason
	st.PluginLogs = f.logs
	if !f.since.IsZero() {
		st.FetchingSince = f.since.UTC().Format(time.RFC3339Nano)
	}
}

// moduleError is a module the engine refused to compile.
type moduleError struct{ err error }

func (e *moduleError) Error() string { return e.err.Error() }
func (e *moduleError) Unwrap() error { return e.err }

// startError is a failed plugin start with the plugin's own log lines.
type startError struct {
	err  error
	logs []string
}

func (e *startError) Error() string {
	if len(e.logs) == 0 {
		return e.err.Error()
	}
	return e.err.Error() + " (plugin log: " + strings.Join(e.logs, " | ") + ")"
}

func (e *startError) Unwrap() error { return e.err }

// Bounds of the plugin log kept from a start.
const (
	maxStartLogLines = 16
	maxStartLogLine  = 512
)

// startLog is the slog handler a plugin logs through: it passes every line
// on to the gateway's handler and, while the plugin starts, keeps the
// plugin's own lines (source=wasm), so a failed start can show them.
type startLog struct {
	inner slog.Handler
	buf   *startLogBuf
}

type startLogBuf struct {
	mu      sync.Mutex
	on      bool
	lines   []string
	dropped int
}

func newStartLog(inner slog.Handler) *startLog {
	return &startLog{inner: inner, buf: &startLogBuf{on: true}}
}

func (b *startLogBuf) capturing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.on
}

// stop ends the capture; the handler keeps passing lines on.
func (h *startLog) stop() {
	h.buf.mu.Lock()
	h.buf.on, h.buf.lines = false, nil
	h.buf.mu.Unlock()
}

// failed ends the capture and returns err with the captured lines.
func (h *startLog) failed(err error) error {
	h.buf.mu.Lock()
	lines := h.buf.lines
	if h.buf.dropped > 0 {
		lines = append([]string{fmt.Sprintf("(%d earlier lines not kept)", h.buf.dropped)}, lines...)
	}
	h.buf.on, h.buf.lines = false, nil
	h.buf.mu.Unlock()
	return &startError{err: err, logs: lines}
}

func (h *startLog) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l) || h.buf.capturing()
}

func (h *startLog) Handle(ctx context.Context, r slog.Record) error {
	if h.buf.capturing() && fromPlugin(r) {
		line := strings.ToLower(r.Level.String()) + ": " + r.Message
		if len(line) > maxStartLogLine {
			line = line[:maxStartLogLine] + "…"
		}
		h.buf.mu.Lock()
		if h.buf.on {
			if len(h.buf.lines) == maxStartLogLines {
				h.buf.lines = append(h.buf.lines[:0], h.buf.lines[1:]...)
				h.buf.dropped++
			}
			h.buf.lines = append(h.buf.lines, line)
		}
		h.buf.mu.Unlock()
	}
	if h.inner.Enabled(ctx, r.Level) {
		return h.inner.Handle(ctx, r)
	}
	return nil
}

func (h *startLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &startLog{inner: h.inner.WithAttrs(attrs), buf: h.buf}
}

func (h *startLog) WithGroup(name string) slog.Handler {
	return &startLog{inner: h.inner.WithGroup(name), buf: h.buf}
}

// fromPlugin reports a line the plugin logged (the host marks them
// source=wasm).
func fromPlugin(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "source" && a.Value.String() == "wasm" {
			found = true
			return false
		}
		return true
	})
	return found
}

// routeLabels names a listener's routes: the route name, or its domains
// and match when it has none.
func routeLabels(l *listenerRuntime) []string {
	var out []string
	for _, vh := range l.vhosts {
		for _, r := range vh.routes {
			if r.cfg.Name != "" {
				out = append(out, r.cfg.Name)
				continue
			}
			out = append(out, strings.Join(vh.cfg.Domains, ",")+" "+r.cfg.Match.Kind.String()+" "+r.cfg.Match.Value)
		}
	}
	return out
}

// reportPlugins logs, after a reload, each plugin whose state changed: why
// it is failed or stale, and which routes answer 503 because of it.
func (gw *Server) reportPlugins() {
	c := gw.ctl()
	seen := map[string]bool{}
	for _, st := range gw.Plugins() {
		key := st.Listener + "\x00" + st.Name
		seen[key] = true
		now := st.State + "\x00" + st.Error
		c.mu.Lock()
		if c.reported == nil {
			c.reported = map[string]string{}
		}
		prev, known := c.reported[key]
		c.reported[key] = now
		c.mu.Unlock()
		if prev == now {
			continue
		}
		attrs := []any{"plugin", st.Name, "listener", st.Listener}
		if st.Reason != "" {
			attrs = append(attrs, "reason", st.Reason)
		}
		if st.Error != "" {
			attrs = append(attrs, "error", st.Error)
		}
		switch st.State {
		case "failed":
			if len(st.BlockedRoutes) > 0 {
				gw.log.Error("plugin cannot run and fails closed: its routes answer 503", append(attrs, "routes", st.BlockedRoutes)...)
			} else {
				gw.log.Error("plugin cannot run and fails open: requests skip it", attrs...)
			}
		case "stale":
			gw.log.Warn("plugin update not applied: the previous version keeps serving", append(attrs, "digest", st.Digest)...)
		case "loaded":
			if known {
				gw.log.Info("plugin running again", attrs...)
			}
		}
	}
	c.mu.Lock()
	for k := range c.reported {
		if !seen[k] {
			delete(c.reported, k)
		}
	}
	c.mu.Unlock()
}
