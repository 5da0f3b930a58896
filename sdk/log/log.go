// Package log is the plugin logger: the Log interface handlers receive, and
// package-level functions that write through the logger the wrapper installs.
package log

// Log writes plugin log lines at the host's levels. ResetID changes the plugin
// id shown in every line (the wrapper sets it from the config's _plugin_id_).
type Log interface {
	Trace(msg string)
	Tracef(format string, args ...interface{})
	Debug(msg string)
	Debugf(format string, args ...interface{})
	Info(msg string)
	Infof(format string, args ...interface{})
	Warn(msg string)
	Warnf(format string, args ...interface{})
	Error(msg string)
	Errorf(format string, args ...interface{})
	Critical(msg string)
	Criticalf(format string, args ...interface{})
	ResetID(pluginID string)
}

var (
	pluginLog   Log
	safeLogging bool
)

// SetPluginLog installs the logger used by the package-level functions.
func SetPluginLog(l Log) { pluginLog = l }

// PluginLog returns the installed logger, or nil.
func PluginLog() Log { return pluginLog }

// SetSafeLogEnabled turns safe logging on: UnsafeInfo lines are written at
// debug level and start on a new line, so line-based collectors keep them apart.
func SetSafeLogEnabled(enabled bool) { safeLogging = enabled }

// IsSafeLogEnabled reports whether safe logging is on.
func IsSafeLogEnabled() bool { return safeLogging }

// The package-level functions write through the installed logger; before one
// is installed they do nothing.

func Trace(msg string) {
	if l := pluginLog; l != nil {
		l.Trace(msg)
	}
}

func Tracef(format string, args ...interface{}) {
	if l := pluginLog; l != nil {
		l.Tracef(format, args...)
	}
}

func Debug(msg string) {
	if l := pluginLog; l != nil {
		l.Debug(msg)
	}
}

func Debugf(format string, args ...interface{}) {
	if l := pluginLog; l != nil {
		l.Debugf(format, args...)
	}
}

func Info(msg string) {
	if l := pluginLog; l != nil {
		l.Info(msg)
	}
}

func Infof(format string, args ...interface{}) {
	if l := pluginLog; l != nil {
		l.Infof(format, args...)
	}
}

func Warn(msg string) {
	if l := pluginLog; l != nil {
		l.Warn(msg)
	}
}

func Warnf(format string, args ...interface{}) {
	if l := pluginLog; l != nil {
		l.Warnf(format, args...)
	}
}

func Error(msg string) {
	if l := pluginLog; l != nil {
		l.Error(msg)
	}
}

func Errorf(format string, args ...interface{}) {
	if l := pluginLog; l != nil {
		l.Errorf(format, args...)
	}
}

func Critical(msg string) {
	if l := pluginLog; l != nil {
		l.Critical(msg)
	}
}

func Criticalf(format string, args ...interface{}) {
	if l := pluginLog; l != nil {
		l.Criticalf(format, args...)
	}
}

// UnsafeInfo logs a message that may carry sensitive data: at info level, or
// at debug level on its own line when safe logging is enabled.
func UnsafeInfo(msg string) {
	if IsSafeLogEnabled() {
		Debug("\n" + msg)
		return
	}
	Info(msg)
}

// UnsafeInfof is the formatting form of UnsafeInfo.
func UnsafeInfof(format string, args ...interface{}) {
	if IsSafeLogEnabled() {
		Debugf("\n"+format, args...)
		return
	}
	Infof(format, args...)
}
