package config

import (
	"math"
	"slices"
	"strings"
)

// SortChain orders a plugin chain the way Higress (through Istio) orders WasmPlugins in the
// gateway's HTTP filter chain:
//
//  1. by phase: AUTHN, then AUTHZ, then STATS, then UNSPECIFIED_PHASE;
//  2. within a phase by priority, higher first; a plugin without a priority sorts as the
//     lowest int32 (Istio's rule), so it runs after every plugin that has one;
//  3. ties by namespace, then name (byte order). Istio breaks ties by creation time and then
//     name; a directory of files has no creation time, so the name decides — this keeps the
//     order stable across reloads and independent of file-system listing order.
//
// The sort is stable and in place. The result is the request (decode) order; responses run the
// chain in reverse.
func SortChain(plugins []Plugin) {
	slices.SortStableFunc(plugins, func(a, b Plugin) int { return compareChain(&a, &b) })
}

// ChainLess reports whether a runs before b under SortChain's order.
func ChainLess(a, b *Plugin) bool { return compareChain(a, b) < 0 }

func compareChain(a, b *Plugin) int {
	if ra, rb := a.Phase.rank(), b.Phase.rank(); ra != rb {
		return ra - rb
	}
	pa, pb := effectivePriority(a), effectivePriority(b)
	switch {
	case pa > pb:
		return -1
	case pa < pb:
		return 1
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func effectivePriority(p *Plugin) int64 {
	if !p.HasPriority {
		return math.MinInt32
	}
	return int64(p.Priority)
}
