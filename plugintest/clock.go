package plugintest

import (
	"sort"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/host"
)

// DefaultStartTime is the simulated wall-clock time a plugin starts at
// unless StartTime says otherwise. It is the first second of a minute, so
// per-minute windows start with the test.
var DefaultStartTime = time.Date(2025, time.January, 1, 12, 0, 0, 0, time.UTC)

// manualClock is the host.Clock of a Plugin: time moves only when the test
// calls Advance or Tick. Timers that fall due run in the advancing
// goroutine, one at a time, in due order (ties in creation order).
type manualClock struct {
	mu     sync.Mutex
	start  time.Time
	now    time.Time
	seq    uint64
	timers []*manualTimer
}

type manualTimer struct {
	c    *manualClock
	at   time.Time
	seq  uint64
	f    func()
	done bool // fired or stopped
}

func newManualClock(start time.Time) *manualClock {
	return &manualClock{start: start, now: start}
}

// Now implements host.Clock.
func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// monotonicBase is the monotonic reading at the start: Go's runtime refuses a
// monotonic clock that reads zero.
const monotonicBase = int64(time.Hour)

// Nanotime implements host.Clock: a monotonic reading that moves with the
// simulated time.
func (c *manualClock) Nanotime() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return monotonicBase + int64(c.now.Sub(c.start))
}

// AfterFunc implements host.Clock.
func (c *manualClock) AfterFunc(d time.Duration, f func()) host.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d < 0 {
		d = 0
	}
	c.seq++
	t := &manualTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop implements host.Timer.
func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	t.c.prune()
	return true
}

// prune drops fired and stopped timers; c.mu is held.
func (c *manualClock) prune() {
	out := c.timers[:0]
	for _, t := range c.timers {
		if !t.done {
			out = append(out, t)
		}
	}
	for i := len(out); i < len(c.timers); i++ {
		c.timers[i] = nil
	}
	c.timers = out
}

// next returns the earliest armed timer, or nil; c.mu is held.
func (c *manualClock) next() *manualTimer {
	sort.Slice(c.timers, func(i, j int) bool {
		a, b := c.timers[i], c.timers[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		return a.seq < b.seq
	})
	if len(c.timers) == 0 {
		return nil
	}
	return c.timers[0]
}

// popDue marks the earliest timer due at or before end as fired, moves the
// clock to its time and returns it; nil when none is due.
func (c *manualClock) popDue(end time.Time) *manualTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.next()
	if t == nil || t.at.After(end) {
		return nil
	}
	t.done = true
	c.prune()
	if t.at.After(c.now) {
		c.now = t.at
	}
	return t
}

// moveTo sets the time to end unless it is already later.
func (c *manualClock) moveTo(end time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if end.After(c.now) {
		c.now = end
	}
}

// nextDue returns the time until the earliest armed timer.
func (c *manualClock) nextDue() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.next()
	if t == nil {
		return 0, false
	}
	d := t.at.Sub(c.now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// pending lists the armed timers as offsets from now, earliest first.
func (c *manualClock) pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next() // sorts
	out := make([]time.Duration, 0, len(c.timers))
	for _, t := range c.timers {
		out = append(out, t.at.Sub(c.now))
	}
	return out
}
