package gateway

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmgate/wasmgate/host"
)

var (
	logDroppedDesc = prometheus.NewDesc("wasmgate_plugin_log_dropped_total",
		"Plugin log records dropped by the per-plugin log rate limits.", []string{"plugin"}, nil)
	logTruncatedDesc = prometheus.NewDesc("wasmgate_plugin_log_truncated_total",
		"Plugin log records cut to the per-plugin record size limit.", []string{"plugin"}, nil)
	memReplacedDesc = prometheus.NewDesc("wasmgate_plugin_vm_memory_replacements_total",
		"Plugin VMs replaced for going over their memory limit.", []string{"plugin"}, nil)
)

// runtimeCollector exposes what the engine counts per running plugin: log
// records its limits dropped or cut, VMs replaced for memory.
type runtimeCollector struct{ gw *Server }

func (c runtimeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logDroppedDesc
	ch <- logTruncatedDesc
	ch <- memReplacedDesc
}

func (c runtimeCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.gw.snap.Load()
	if snap == nil {
		return
	}
	type counts struct{ dropped, truncated, replaced uint64 }
	byName := map[string]*counts{}
	seen := map[*host.Plugin]bool{}
	for _, p := range snap.plugins {
		if p.hp == nil || seen[p.hp] {
			continue
		}
		seen[p.hp] = true
		k := p.cfg.Key()
		n := byName[k]
		if n == nil {
			n = &counts{}
			byName[k] = n
		}
		ls := p.hp.LogStats()
		n.dropped += ls.Dropped
		n.truncated += ls.Truncated
		n.replaced += p.hp.MemoryReplacements()
	}
	names := make([]string, 0, len(byName))
	for k := range byName {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		n := byName[k]
		ch <- prometheus.MustNewConstMetric(logDroppedDesc, prometheus.CounterValue, float64(n.dropped), k)
		ch <- prometheus.MustNewConstMetric(logTruncatedDesc, prometheus.CounterValue, float64(n.truncated), k)
		ch <- prometheus.MustNewConstMetric(memReplacedDesc, prometheus.CounterValue, float64(n.replaced), k)
	}
}
