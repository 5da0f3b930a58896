package plugintest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// The proxy-wasm log levels, for the LogLevel option and Plugin.Logs.
const (
	LevelTrace    = types.LogLevelTrace
	LevelDebug    = types.LogLevelDebug
	LevelInfo     = types.LogLevelInfo
	LevelWarn     = types.LogLevelWarn
	LevelError    = types.LogLevelError
	LevelCritical = types.LogLevelCritical
)

// LogEntry is one log line of the plugin or of the host engine.
type LogEntry struct {
	Level types.LogLevel
	// Message is the text as the plugin logged it.
	Message string
	// Plugin is true for the plugin's own logs (proxy_log, or stdout and
	// stderr of the module), false for the host engine's logs about the
	// plugin (a failed VM, an ignored resume, …).
	Plugin bool
	// Attrs holds the host's key=value attributes of the line, in order.
	Attrs string
}

func (e LogEntry) String() string {
	who := "host"
	if e.Plugin {
		who = "plugin"
	}
	s := fmt.Sprintf("[%s %s] %s", who, levelName(e.Level), e.Message)
	if e.Attrs != "" {
		s += " " + e.Attrs
	}
	return s
}

func levelName(l types.LogLevel) string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return "critical"
}

// fromSlog maps the engine's slog levels back to proxy-wasm levels.
func fromSlog(l slog.Level) types.LogLevel {
	switch {
	case l <= host.LevelTrace:
		return LevelTrace
	case l <= slog.LevelDebug:
		return LevelDebug
	case l <= slog.LevelInfo:
		return LevelInfo
	case l <= slog.LevelWarn:
		return LevelWarn
	case l <= slog.LevelError:
		return LevelError
	}
	return LevelCritical
}

// logStore keeps every line and echoes it to the test's log while the test
// runs (shown with -v or when the test fails).
type logStore struct {
	mu      sync.Mutex
	entries []LogEntry
	t       testing.TB
	stopped bool
}

func (s *logStore) add(e LogEntry) {
	s.mu.Lock()
	s.entries = append(s.entries, e)
	t := s.t
	if s.stopped {
		t = nil
	}
	s.mu.Unlock()
	if t != nil {
		t.Log(e.String())
	}
}

// stop ends echoing to the test (it is over or ending).
func (s *logStore) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

func (s *logStore) all() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogEntry(nil), s.entries...)
}

// tail returns the last n lines at warn level or above, for error messages.
func (s *logStore) tail(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for i := len(s.entries) - 1; i >= 0 && len(out) < n; i-- {
		if e := s.entries[i]; e.Level >= LevelWarn {
			out = append(out, e.String())
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// logHandler is the slog.Handler given to the engine and the plugin.
type logHandler struct {
	store  *logStore
	prefix []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	e := LogEntry{Level: fromSlog(r.Level), Message: r.Message}
	var attrs []string
	add := func(a slog.Attr) {
		switch a.Key {
		case "source":
			if a.Value.String() == "wasm" {
				e.Plugin = true
				return
			}
		case "plugin", "root_id", "vm_id":
			return // the same for every line of a Plugin
		}
		attrs = append(attrs, a.Key+"="+a.Value.String())
	}
	for _, a := range h.prefix {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		add(a)
		return true
	})
	e.Attrs = strings.Join(attrs, " ")
	h.store.add(e)
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{store: h.store, prefix: append(append([]slog.Attr(nil), h.prefix...), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
