package host

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Slog levels used for plugin logs.
const (
	LevelTrace    slog.Level = -8
	LevelCritical slog.Level = 12
)

// SlogLevel maps a proxy-wasm log level to the slog level used for it.
func SlogLevel(l types.LogLevel) slog.Level {
	switch l {
	case types.LogLevelTrace:
		return LevelTrace
	case types.LogLevelDebug:
		return slog.LevelDebug
	case types.LogLevelInfo:
		return slog.LevelInfo
	case types.LogLevelWarn:
		return slog.LevelWarn
	case types.LogLevelError:
		return slog.LevelError
	}
	return LevelCritical
}

// LevelName is Envoy's name of the level a plugin record has: trace,
// debug, info, warn, error or critical.
func LevelName(l slog.Level) string {
	switch {
	case l <= LevelTrace:
		return "trace"
	case l <= slog.LevelDebug:
		return "debug"
	case l <= slog.LevelInfo:
		return "info"
	case l <= slog.LevelWarn:
		return "warn"
	case l <= slog.LevelError:
		return "error"
	}
	return "critical"
}

// ReplaceLevelNames is a slog.HandlerOptions.ReplaceAttr that prints
// levels with Envoy's names (LevelName) instead of slog's ("ERROR+4").
func ReplaceLevelNames(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.LevelKey {
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(slog.LevelKey, LevelName(l))
		}
	}
	return a
}

// Defaults of LogLimits.
const (
	DefaultLogRecordsPerSecond = 1000
	DefaultLogBytesPerSecond   = 1 << 20
	DefaultLogMaxRecordBytes   = 64 << 10
)

// LogLimits bound what one plugin (all its VMs together) may log. Records
// over a rate are dropped and counted (Plugin.LogStats); a record longer
// than MaxRecordBytes is cut there. Each rate allows bursts of two
// seconds' worth. Zero fields take the defaults; negative ones disable
// that limit.
type LogLimits struct {
	RecordsPerSecond int
	BytesPerSecond   int
	MaxRecordBytes   int
}

func (l LogLimits) withDefaults() LogLimits {
	if l.RecordsPerSecond == 0 {
		l.RecordsPerSecond = DefaultLogRecordsPerSecond
	}
	if l.BytesPerSecond == 0 {
		l.BytesPerSecond = DefaultLogBytesPerSecond
	}
	if l.MaxRecordBytes == 0 {
		l.MaxRecordBytes = DefaultLogMaxRecordBytes
	}
	return l
}

// LogStats counts a plugin's records the limits acted on.
type LogStats struct {
	// Dropped records (over a rate).
	Dropped uint64
	// Truncated records (longer than MaxRecordBytes).
	Truncated uint64
}

// logLimiter is a pair of token buckets (records, bytes) per plugin.
type logLimiter struct {
	lim LogLimits

	mu        sync.Mutex
	last      time.Time
	records   float64
	bytes     float64
	warned    time.Time
	dropped   atomic.Uint64
	truncated atomic.Uint64
}

func newLogLimiter(l LogLimits) *logLimiter {
	l = l.withDefaults()
	return &logLimiter{lim: l, records: 2 * float64(l.RecordsPerSecond), bytes: 2 * float64(l.BytesPerSecond)}
}

// allow takes one record of n bytes from the buckets; it reports whether
// the record may be written and whether a warning about drops is due.
func (ll *logLimiter) allow(n int) (ok, warn bool) {
	if ll.lim.RecordsPerSecond < 0 && ll.lim.BytesPerSecond < 0 {
		return true, false
	}
	now := time.Now()
	ll.mu.Lock()
	defer ll.mu.Unlock()
	if !ll.last.IsZero() {
		dt := now.Sub(ll.last).Seconds()
		ll.records = min(ll.records+dt*float64(ll.lim.RecordsPerSecond), 2*float64(ll.lim.RecordsPerSecond))
		ll.bytes = min(ll.bytes+dt*float64(ll.lim.BytesPerSecond), 2*float64(ll.lim.BytesPerSecond))
	}
	ll.last = now
	if (ll.lim.RecordsPerSecond >= 0 && ll.records < 1) || (ll.lim.BytesPerSecond >= 0 && ll.bytes < float64(n)) {
		ll.dropped.Add(1)
		if now.Sub(ll.warned) >= time.Second {
			ll.warned = now
			return false, true
		}
		return false, false
	}
	ll.records--
	ll.bytes -= float64(n)
	return true, false
}

func (p *Plugin) pluginLogBytes(l types.LogLevel, msg []byte) {
	if int32(l) < p.level.Load() {
		return
	}
	p.pluginLog(l, msg)
}

// pluginLog writes one plugin record, within the plugin's log limits.
func (p *Plugin) pluginLog(l types.LogLevel, msg []byte) {
	if int32(l) < p.level.Load() {
		return
	}
	ll := p.logLimit
	cut := 0
	if max := ll.lim.MaxRecordBytes; max > 0 && len(msg) > max {
		cut = len(msg) - max
		msg = msg[:max]
	}
	ok, warn := ll.allow(len(msg))
	if warn {
		p.log.Warn("plugin log records dropped: over the plugin's log rate", "dropped_total", ll.dropped.Load(),
			"records_per_second", ll.lim.RecordsPerSecond, "bytes_per_second", ll.lim.BytesPerSecond)
	}
	if !ok {
		return
	}
	text := string(msg)
	if cut > 0 {
		ll.truncated.Add(1)
		text = fmt.Sprintf("%s… [%d bytes cut]", text, cut)
	}
	p.wasmLog.Log(context.Background(), SlogLevel(l), text, "source", "wasm")
}

// LogStats returns how many of the plugin's records its log limits dropped
// or cut.
func (p *Plugin) LogStats() LogStats {
	return LogStats{Dropped: p.logLimit.dropped.Load(), Truncated: p.logLimit.truncated.Load()}
}

// fdHoldPrefixes start the output of a dying runtime (Go's panic and fatal
// error messages, with their goroutine traces): held until the call ends
// so that it becomes one record.
var fdHoldPrefixes = [][]byte{[]byte("panic: "), []byte("fatal error: "), []byte("runtime: ")}

// maxFDBuffer bounds the output held per descriptor.
const maxFDBuffer = 64 << 10

// WriteFD implements wasi.Host: stdout is logged at info, stderr at error.
// Output is written in records of whole lines (one trailing newline
// removed); what a write leaves after its last newline waits for the next
// write or the end of the call, and a runtime's dying words are held until
// the call ends.
func (v *vm) WriteFD(fd uint32, msg []byte) {
	i := 0
	if fd == 2 {
		i = 1
	}
	b := append(v.fdBuf[i], msg...)
	v.fdBuf[i] = b
	if len(b) < maxFDBuffer {
		for _, p := range fdHoldPrefixes {
			if bytes.HasPrefix(b, p) {
				return
			}
		}
		j := bytes.LastIndexByte(b, '\n')
		if j < 0 {
			return
		}
		v.writeFDRecord(i, b[:j])
		v.fdBuf[i] = append(b[:0], b[j+1:]...)
		return
	}
	v.flushFD()
}

// flushFD writes what stdout and stderr hold; it runs when a call ends.
func (v *vm) flushFD() {
	for i, b := range v.fdBuf {
		if len(b) == 0 {
			continue
		}
		v.writeFDRecord(i, bytes.TrimSuffix(b, []byte("\n")))
		v.fdBuf[i] = b[:0]
	}
}

func (v *vm) writeFDRecord(i int, msg []byte) {
	lvl := types.LogLevelInfo
	if i == 1 {
		lvl = types.LogLevelError
	}
	v.p.pluginLogBytes(lvl, msg)
}
