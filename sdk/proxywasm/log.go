package proxywasm

import (
	fmtx "github.com/wasmgate/wasmgate/sdk/internal/format"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// LogTrace, LogDebug, LogInfo, LogWarn, LogError and LogCritical write one
// line to the host log; the f forms format it first.

func LogTrace(msg string)    { logAt(types.LogLevelTrace, msg) }
func LogDebug(msg string)    { logAt(types.LogLevelDebug, msg) }
func LogInfo(msg string)     { logAt(types.LogLevelInfo, msg) }
func LogWarn(msg string)     { logAt(types.LogLevelWarn, msg) }
func LogError(msg string)    { logAt(types.LogLevelError, msg) }
func LogCritical(msg string) { logAt(types.LogLevelCritical, msg) }

func LogTracef(format string, args ...any) {
	logAt(types.LogLevelTrace, fmtx.Sprintf(format, args...))
}
func LogDebugf(format string, args ...any) {
	logAt(types.LogLevelDebug, fmtx.Sprintf(format, args...))
}
func LogInfof(format string, args ...any) { logAt(types.LogLevelInfo, fmtx.Sprintf(format, args...)) }
func LogWarnf(format string, args ...any) { logAt(types.LogLevelWarn, fmtx.Sprintf(format, args...)) }
func LogErrorf(format string, args ...any) {
	logAt(types.LogLevelError, fmtx.Sprintf(format, args...))
}
func LogCriticalf(format string, args ...any) {
	logAt(types.LogLevelCritical, fmtx.Sprintf(format, args...))
}

// Log writes msg at level. It is the one host call behind every logging function.
func Log(level types.LogLevel, msg string) { logAt(level, msg) }

func logAt(level types.LogLevel, msg string) {
	abi.ProxyLog(uint32(level), strPtr(msg), uint32(len(msg)))
}
