package host

import (
	"time"
)

// The watchdog enforces EngineConfig.CallTimeout and the start deadline: one goroutine per engine
// looks at every VM a few times per deadline and cancels the context of a
// VM whose current call has run too long: it sets the VM's interrupt flag,
// which the instrumented module reads every few thousand loop iterations
// (package host/internal/interrupt), so the guest traps with "unreachable"
// and the call fails like a trap. A call costs two atomic stores
// and no clock read (vm.arm); nothing runs per call besides them (wazero's own
// close-on-context-done mode started a goroutine on every call into the
// module, nested allocator calls included, and left native code at every
// loop back-edge to check the module's closed flag).

func (e *Engine) watch(v *vm) {
	e.wdMu.Lock()
	defer e.wdMu.Unlock()
	if e.wdVMs == nil {
		e.wdVMs = map[*vm]struct{}{}
	}
	e.wdVMs[v] = struct{}{}
	if e.wdStop == nil {
		e.wdStop = make(chan struct{})
		d := e.cfg.CallTimeout
		if d <= 0 || (e.cfg.StartTimeout > 0 && e.cfg.StartTimeout < d) {
			d = e.cfg.StartTimeout
		}
		// A call is timed from the first tick that sees it (vm.overdue), so
		// it ends between d and d + 2 intervals after it started.
		interval := d / 8
		if interval < 5*time.Millisecond {
			interval = 5 * time.Millisecond
		}
		if interval > 125*time.Millisecond {
			interval = 125 * time.Millisecond
		}
		go e.watchdog(interval, e.wdStop)
	}
}

func (e *Engine) unwatch(v *vm) {
	e.wdMu.Lock()
	delete(e.wdVMs, v)
	e.wdMu.Unlock()
}

func (e *Engine) stopWatchdog() {
	e.wdMu.Lock()
	if e.wdStop != nil {
		close(e.wdStop)
		e.wdStop = nil
	}
	e.wdMu.Unlock()
}

func (e *Engine) watchdog(interval time.Duration, stop chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var late []*vm
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		late = late[:0]
		e.wdMu.Lock()
		for v := range e.wdVMs {
			if v.overdue(now) {
				late = append(late, v)
			}
		}
		e.wdMu.Unlock()
		for _, v := range late {
			v.timedOut.Store(true)
			if v.intr != nil {
				v.intr.Set(1)
			}
			v.cancel()
		}
	}
}
