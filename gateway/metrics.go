package gateway

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// gatewayMetrics are the gateway's Prometheus metrics plus a collector for
// every plugin-defined metric.
type gatewayMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration prometheus.Histogram
	// tags are the current configuration's tag specifiers for plugin metrics.
	tags atomic.Pointer[[]tagExtractor]
}

// setTags installs the tag specifiers of a new configuration.
func (m *gatewayMetrics) setTags(tags []config.StatsTag) {
	t := compileTags(tags)
	m.tags.Store(&t)
}

func newGatewayMetrics(engine *host.Engine) *gatewayMetrics {
	m := &gatewayMetrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmgate_http_requests_total",
			Help: "Downstream requests by response code class (0 for reset streams).",
		}, []string{"code_class"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wasmgate_http_request_duration_seconds",
			Help:    "Downstream request duration.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, &pluginCollector{engine: engine, tags: &m.tags},
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *gatewayMetrics) request(status int, d time.Duration) {
	class := "0"
	if status >= 100 {
		class = strconv.Itoa(status/100) + "xx"
	}
	m.requests.WithLabelValues(class).Inc()
	m.duration.Observe(d.Seconds())
}

// pluginCollector exposes the metrics plugins define (proxy_define_metric) as
// Envoy's Prometheus output does: the stat is named "wasmcustom.<name>", the
// tag specifiers (stats_config.stats_tags, or Higress's bootstrap tags) cut
// labels out of that name, the "wasmcustom." prefix is dropped and characters
// outside [a-zA-Z0-9_:] become '_'. Series whose names end up equal form one
// family.
type pluginCollector struct {
	engine *host.Engine
	tags   *atomic.Pointer[[]tagExtractor]
}

func (c *pluginCollector) Describe(chan<- *prometheus.Desc) {}

type pluginSeries struct {
	metric host.Metric
	labels map[string]string
}

func (c *pluginCollector) Collect(ch chan<- prometheus.Metric) {
	var tags []tagExtractor
	if t := c.tags.Load(); t != nil {
		tags = *t
	}
	families := map[string][]pluginSeries{}
	var order []string
	for _, m := range c.engine.Metrics() {
		name, labels := extractTags("wasmcustom."+m.Name, tags)
		name = promName(strings.TrimPrefix(name, "wasmcustom."))
		if _, ok := families[name]; !ok {
			order = append(order, name)
		}
		families[name] = append(families[name], pluginSeries{metric: m, labels: labels})
	}
	for _, name := range order {
		series := families[name]
		// One label set for the family: the union, absent labels empty (as if not set).
		var labelNames []string
		for _, s := range series {
			for l := range s.labels {
				if !slices.Contains(labelNames, l) {
					labelNames = append(labelNames, l)
				}
			}
		}
		slices.Sort(labelNames)
		desc := prometheus.NewDesc(name, "Plugin metric "+name+".", labelNames, nil)
		typ := series[0].metric.Type
		seen := map[string]bool{}
		for _, s := range series {
			if s.metric.Type != typ {
				continue // a family has one type; Envoy's output would be invalid too
			}
			values := make([]string, len(labelNames))
			for i, l := range labelNames {
				values[i] = s.labels[l]
			}
			key := strings.Join(values, "\x00")
			if seen[key] {
				continue
			}
			seen[key] = true
			m := s.metric
			switch m.Type {
			case types.MetricTypeCounter:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(uint64(m.Value)), values...)
			case types.MetricTypeGauge:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(m.Value), values...)
			case types.MetricTypeHistogram:
				if h := m.Histogram; h != nil {
					buckets := map[float64]uint64{}
					for i, b := range host.HistogramBuckets {
						if i < len(h.Buckets) {
							buckets[b] = h.Buckets[i]
						}
					}
					ch <- prometheus.MustNewConstHistogram(desc, h.Count, h.Sum, buckets, values...)
				}
			}
		}
	}
}

// tagExtractor is a compiled stats tag specifier.
type tagExtractor struct {
	name  string
	re    *regexp.Regexp
	fixed string
}

// compileTags compiles tag specifiers; invalid regexes were reported by the
// configuration loader and are skipped here.
func compileTags(tags []config.StatsTag) []tagExtractor {
	var out []tagExtractor
	for _, t := range tags {
		e := tagExtractor{name: promName(t.Name), fixed: t.FixedValue}
		if t.Regex != "" {
			re, err := regexp.Compile(t.Regex)
			if err != nil {
				continue
			}
			e.re = re
		}
		out = append(out, e)
	}
	return out
}

// extractTags applies Envoy's tag extraction to a stat name: every regex is
// searched in the original name; on a match with at least one group, the
// first group's text is removed from the name and the second group (or the
// first when there is no second) is the tag's value. Fixed-value tags apply to
// every name.
func extractTags(name string, tags []tagExtractor) (string, map[string]string) {
	if len(tags) == 0 {
		return name, nil
	}
	labels := map[string]string{}
	remove := make([]bool, len(name))
	for _, t := range tags {
		if t.re == nil {
			labels[t.name] = t.fixed
			continue
		}
		loc := t.re.FindStringSubmatchIndex(name)
		if loc == nil || len(loc) < 4 || loc[2] < 0 {
			continue
		}
		value := name[loc[2]:loc[3]]
		if len(loc) >= 6 && loc[4] >= 0 {
			value = name[loc[4]:loc[5]]
		}
		labels[t.name] = value
		for i := loc[2]; i < loc[3]; i++ {
			remove[i] = true
		}
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if !remove[i] {
			b.WriteByte(name[i])
		}
	}
	return b.String(), labels
}

func promName(s string) string {
	var b strings.Builder
	for i, r := range s {
		ok := r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
