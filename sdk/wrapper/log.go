package wrapper

import (
	"runtime"
	"strconv"
	"strings"
	"syscall"

	fmtx "github.com/wasmgate/wasmgate/sdk/internal/format"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// LogLevel is the host's log level as the wrapper sees it.
type LogLevel uint32

const (
	LogLevelTrace LogLevel = iota
	LogLevelDebug
	LogLevelInfo
	LogLevelWarn
	LogLevelError
	LogLevelCritical
)

// DefaultLog is the logger SetCtx installs. Every line reads
// "[plugin-name] [plugin-id] [request-id] message". Lines below the host's
// log level are dropped without a host call: the level is read at most once
// per request, tick and configuration (by its first log line) instead of
// once per line, and not at all by those that log nothing.
type DefaultLog struct {
	pluginName string
	pluginID   string
}

var (
	hostLogLevel = types.LogLevelTrace
	// logLevelStale: hostLogLevel must be read again before the next line.
	logLevelStale = true
)

// refreshLogLevel marks the host's log level to be read again: a request,
// tick or configuration starts, and the level may have changed since.
func refreshLogLevel() { logLevelStale = true }

// logLevel returns the host's current plugin log level, read once after
// each refreshLogLevel.
func logLevel() types.LogLevel {
	if logLevelStale {
		logLevelStale = false
		if lvl, err := proxywasm.GetLogLevel(); err == nil {
			hostLogLevel = lvl
		} else {
			hostLogLevel = types.LogLevelTrace
		}
	}
	return hostLogLevel
}

// requestIDer is the HTTP context of a plugin registered with SetCtx.
type requestIDer interface{ requestID() string }

// activeRequestID is the x-request-id of the stream the current callback
// runs for, or "nil".
func activeRequestID() string {
	if c, ok := vmstate.HttpContext(vmstate.ActiveContextID()).(requestIDer); ok {
		if id := c.requestID(); id != "" {
			return id
		}
	}
	return "nil"
}

func (l *DefaultLog) emit(level types.LogLevel, msg string) {
	if level < logLevel() {
		return
	}
	proxywasm.Log(level, "["+l.pluginName+"] ["+l.pluginID+"] ["+activeRequestID()+"] "+msg)
}

func (l *DefaultLog) emitf(level types.LogLevel, format string, args []interface{}) {
	if level < logLevel() {
		return
	}
	l.emit(level, fmtx.Sprintf(format, args...))
}

func (l *DefaultLog) Trace(msg string)    { l.emit(types.LogLevelTrace, msg) }
func (l *DefaultLog) Debug(msg string)    { l.emit(types.LogLevelDebug, msg) }
func (l *DefaultLog) Info(msg string)     { l.emit(types.LogLevelInfo, msg) }
func (l *DefaultLog) Warn(msg string)     { l.emit(types.LogLevelWarn, msg) }
func (l *DefaultLog) Error(msg string)    { l.emit(types.LogLevelError, msg) }
func (l *DefaultLog) Critical(msg string) { l.emit(types.LogLevelCritical, msg) }

func (l *DefaultLog) Tracef(format string, args ...interface{}) {
	l.emitf(types.LogLevelTrace, format, args)
}
func (l *DefaultLog) Debugf(format string, args ...interface{}) {
	l.emitf(types.LogLevelDebug, format, args)
}
func (l *DefaultLog) Infof(format string, args ...interface{}) {
	l.emitf(types.LogLevelInfo, format, args)
}
func (l *DefaultLog) Warnf(format string, args ...interface{}) {
	l.emitf(types.LogLevelWarn, format, args)
}
func (l *DefaultLog) Errorf(format string, args ...interface{}) {
	l.emitf(types.LogLevelError, format, args)
}
func (l *DefaultLog) Criticalf(format string, args ...interface{}) {
	l.emitf(types.LogLevelCritical, format, args)
}

// ResetID sets the plugin id shown in log lines.
func (l *DefaultLog) ResetID(pluginID string) { l.pluginID = pluginID }

// panicRecoveryDisabled mirrors Higress: WASM_DISABLE_PANIC_RECOVERY=true in
// the VM environment lets panics trap the VM instead of being logged.
var panicRecoveryDisabled = func() bool {
	v, _ := syscall.Getenv("WASM_DISABLE_PANIC_RECOVERY")
	return v == "true"
}()

// handlePanic logs a recovered panic with a single-line stack, or re-raises
// it when recovery is disabled.
func handlePanic(l interface{ Error(string) }, where string, r interface{}) {
	if panicRecoveryDisabled {
		panic(r)
	}
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, false)]
	stack := strings.ReplaceAll(string(buf), "\n", `\n`)
	l.Error("recovered from panic in " + where + ": " + panicString(r) + ", stack: " + stack)
}

func panicString(r interface{}) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case interface{ String() string }:
		return v.String()
	case int:
		return strconv.Itoa(v)
	}
	return "panic value of unprintable type"
}

// runGuarded runs f, logging (not trapping on) a panic.
func runGuarded(l interface{ Error(string) }, where string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			handlePanic(l, where, r)
		}
	}()
	f()
}
