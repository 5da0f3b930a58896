package gateway

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// gatewayMetrics are the gateway's Prometheus metrics plus a collector for
// every plugin-defined metric.
type gatewayMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration prometheus.Histogram
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
	m.registry.MustRegister(m.requests, m.duration, &pluginCollector{engine: engine},
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

// pluginCollector exposes the metrics plugins define (proxy_define_metric),
// named as Envoy's Prometheus output names them: the plugin's name with
// characters outside [a-zA-Z0-9_:] replaced by '_'.
type pluginCollector struct {
	engine *host.Engine
}

func (c *pluginCollector) Describe(chan<- *prometheus.Desc) {}

func (c *pluginCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.engine.Metrics() {
		name := promName(m.Name)
		desc := prometheus.NewDesc(name, "Plugin metric "+m.Name+".", nil, nil)
		switch m.Type {
		case types.MetricTypeCounter:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(uint64(m.Value)))
		case types.MetricTypeGauge:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(m.Value))
		case types.MetricTypeHistogram:
			if h := m.Histogram; h != nil {
				buckets := map[float64]uint64{}
				for i, b := range host.HistogramBuckets {
					if i < len(h.Buckets) {
						buckets[b] = h.Buckets[i]
					}
				}
				ch <- prometheus.MustNewConstHistogram(desc, h.Count, h.Sum, buckets)
			}
		}
	}
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
