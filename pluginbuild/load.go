package pluginbuild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/wasmgate/wasmgate/host"
)

// notRegisteredLog is what wasmgate's SDK logs (critical) from
// proxy_on_vm_start when no VM context was registered.
const notRegisteredLog = "register the plugin in init()"

// CheckLoads loads the module in the host engine the way a gateway does:
// it instantiates it, runs its start functions (_initialize: the package
// init functions), creates the root context and calls proxy_on_vm_start
// and proxy_on_configure with configuration. It returns ErrNotRegistered
// when the module registered no plugin during initialization, and an error
// when the module cannot be instantiated or started. A configuration the
// plugin rejects is only a note: a plugin may need configuration to start.
func CheckLoads(ctx context.Context, wasm []byte, configuration []byte) (notes []string, err error) {
	logs := &logRecorder{}
	e, err := host.NewEngine(ctx, host.EngineConfig{CacheDir: "off", Logger: slog.New(logs)})
	if err != nil {
		return nil, fmt.Errorf("load check: %w", err)
	}
	defer e.Close(context.Background())
	mod, err := e.Compile(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("load check: %w", err)
	}
	p, err := e.NewPlugin(ctx, mod, host.PluginConfig{
		Name: "build-check", PoolSize: 1, Configuration: configuration, Logger: slog.New(logs),
	})
	if err == nil {
		p.Close(context.Background())
		return nil, nil
	}
	switch {
	case errors.Is(err, host.ErrVMStartFailed) && logs.contains(notRegisteredLog):
		return nil, ErrNotRegistered
	case errors.Is(err, host.ErrConfigureFailed):
		what := "an empty configuration"
		if len(configuration) > 0 {
			what = "the given configuration"
		}
		note := fmt.Sprintf("the plugin starts, and rejects %s", what)
		if l := logs.lastError(); l != "" {
			note += " (plugin log: " + l + ")"
		}
		return []string{note}, nil
	case strings.Contains(err.Error(), "proxy_on_configure"):
		return []string{fmt.Sprintf("the plugin starts, and fails on its configuration: %v", err)}, nil
	}
	if l := logs.lastError(); l != "" {
		return nil, fmt.Errorf("the module does not start in the host engine: %w (plugin log: %s)", err, l)
	}
	return nil, fmt.Errorf("the module does not start in the host engine: %w", err)
}

// logRecorder is a slog.Handler keeping the messages of warning level and
// above.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// lastError returns the last three messages, joined.
func (l *logRecorder) lastError() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	msgs := l.msgs
	if len(msgs) > 3 {
		msgs = msgs[len(msgs)-3:]
	}
	return strings.Join(msgs, "; ")
}
