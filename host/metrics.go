package host

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// HistogramBuckets are the upper bounds of histogram buckets (Envoy's
// default supported buckets).
var HistogramBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// Metric is a snapshot of one plugin-defined metric.
type Metric struct {
	// Name is the name the plugin defined (Envoy exposes it as
	// "wasmcustom.<Name>"; Prometheus output strips that prefix).
	Name string
	Type types.MetricType
	// Value is the counter (as uint64 bits) or gauge value.
	Value int64
	// Histogram is set for histograms.
	Histogram *HistogramSnapshot
}

// HistogramSnapshot is the state of a histogram.
type HistogramSnapshot struct {
	Count uint64
	Sum   float64
	// Buckets holds cumulative counts for HistogramBuckets, in order.
	Buckets []uint64
}

type metric struct {
	name  string
	typ   types.MetricType
	value atomic.Int64

	mu      sync.Mutex
	count   uint64
	sum     float64
	buckets []uint64
}

func (m *metric) record(v uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		m.buckets = make([]uint64, len(HistogramBuckets))
	}
	m.count++
	m.sum += float64(v)
	i := sort.SearchFloat64s(HistogramBuckets, float64(v))
	if i < len(m.buckets) {
		m.buckets[i]++
	}
}

type metricKey struct {
	typ  types.MetricType
	name string
}

type metricsRegistry struct {
	mu     sync.RWMutex
	byName map[metricKey]*metric
	order  []*metric
}

func newMetricsRegistry() *metricsRegistry {
	return &metricsRegistry{byName: map[metricKey]*metric{}}
}

func (r *metricsRegistry) define(typ types.MetricType, name string) *metric {
	k := metricKey{typ, name}
	r.mu.RLock()
	m := r.byName[k]
	r.mu.RUnlock()
	if m != nil {
		return m
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m = r.byName[k]; m == nil {
		m = &metric{name: name, typ: typ}
		r.byName[k] = m
		r.order = append(r.order, m)
	}
	return m
}

func (r *metricsRegistry) snapshot() []Metric {
	r.mu.RLock()
	ms := append([]*metric(nil), r.order...)
	r.mu.RUnlock()
	out := make([]Metric, 0, len(ms))
	for _, m := range ms {
		s := Metric{Name: m.name, Type: m.typ, Value: m.value.Load()}
		if m.typ == types.MetricTypeHistogram {
			m.mu.Lock()
			h := &HistogramSnapshot{Count: m.count, Sum: m.sum, Buckets: make([]uint64, len(HistogramBuckets))}
			var cum uint64
			for i := range HistogramBuckets {
				if m.buckets != nil {
					cum += m.buckets[i]
				}
				h.Buckets[i] = cum
			}
			m.mu.Unlock()
			s.Histogram = h
		}
		out = append(out, s)
	}
	return out
}

// vmMetrics maps one VM's metric ids to metrics. Ids carry the type in the
// low two bits: counters 4, 8, …; gauges 5, 9, …; histograms 6, 10, ….
type vmMetrics struct {
	next [3]uint32
	ids  map[uint32]*metric
}

func (v *vmMetrics) add(m *metric) uint32 {
	if v.ids == nil {
		v.ids = map[uint32]*metric{}
	}
	v.next[m.typ]++
	if v.next[m.typ] >= math.MaxUint32>>2 {
		v.next[m.typ] = 1
	}
	id := v.next[m.typ]<<2 | uint32(m.typ)
	v.ids[id] = m
	return id
}

func (v *vmMetrics) get(id uint32) *metric { return v.ids[id] }

func incrementMetric(m *metric, delta int64) types.Status {
	switch m.typ {
	case types.MetricTypeCounter:
		if delta <= 0 {
			return types.StatusBadArgument
		}
		m.value.Add(delta)
	case types.MetricTypeGauge:
		m.value.Add(delta)
	default:
		return types.StatusBadArgument
	}
	return types.StatusOK
}

func recordMetric(m *metric, value uint64) types.Status {
	switch m.typ {
	case types.MetricTypeCounter:
		m.value.Add(int64(value))
	case types.MetricTypeGauge:
		m.value.Store(int64(value))
	default:
		m.record(value)
	}
	return types.StatusOK
}
