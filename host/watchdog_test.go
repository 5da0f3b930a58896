package host

import (
	"testing"
	"time"
)

// The watchdog times a call from the first tick that sees it: never
// earlier than its limit, and a new call (or the outer call a nested one
// returns to) starts a new count.
func TestWatchdogTimesCallFromFirstSighting(t *testing.T) {
	v := &vm{}
	const limit = 100 * time.Millisecond
	if v.overdue(0) {
		t.Fatal("idle VM overdue")
	}
	outer := v.arm(limit)
	if outer != 0 {
		t.Fatalf("top-level call nests in %d", outer)
	}
	t0 := int64(time.Hour)
	if v.overdue(t0) {
		t.Fatal("overdue when first seen")
	}
	if v.overdue(t0 + int64(limit) - 1) {
		t.Fatal("overdue before its limit")
	}
	if !v.overdue(t0 + int64(limit)) {
		t.Fatal("not overdue at its limit")
	}
	inner := v.arm(limit)
	if inner != v.callStart.Load()-1 {
		t.Fatalf("nested call returns outer generation %d", inner)
	}
	if v.overdue(t0 + 2*int64(limit)) {
		t.Fatal("a new call is overdue when first seen")
	}
	v.callStart.Store(0)
	if v.overdue(t0 + 10*int64(limit)) {
		t.Fatal("idle VM overdue")
	}
}
