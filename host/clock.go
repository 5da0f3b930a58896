package host

import "time"

// Clock is the engine's source of time: the wall clock and timers for ticks
// and callout timeouts. The default is the system clock; plugintest
// supplies a manual one.
type Clock interface {
	// Now returns the current wall-clock time.
	Now() time.Time
	// Nanotime returns a monotonic time in nanoseconds.
	Nanotime() int64
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it did.
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

var processStart = time.Now()

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// Nanotime implements Clock.
func (SystemClock) Nanotime() int64 { return int64(time.Since(processStart)) }

// AfterFunc implements Clock.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
