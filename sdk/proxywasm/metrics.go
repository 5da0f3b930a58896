package proxywasm

import (
	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// MetricCounter is a monotonically increasing metric.
type MetricCounter uint32

// MetricGauge is a metric that goes up and down.
type MetricGauge uint32

// MetricHistogram records a distribution of values.
type MetricHistogram uint32

func defineMetric(t types.MetricType, name string) uint32 {
	var id uint32
	if st := abi.ProxyDefineMetric(uint32(t), strPtr(name), uint32(len(name)), &id); st != abi.StatusOK {
		panic("define metric " + name + ": " + types.Status(st).String())
	}
	return id
}

// DefineCounterMetric defines (or finds) a counter. It panics if the host refuses.
func DefineCounterMetric(name string) MetricCounter {
	return MetricCounter(defineMetric(types.MetricTypeCounter, name))
}

// Value returns the counter's current value.
func (m MetricCounter) Value() uint64 {
	var v uint64
	if st := abi.ProxyGetMetric(uint32(m), &v); st != abi.StatusOK {
		panic("get metric: " + types.Status(st).String())
	}
	return v
}

// Increment adds offset to the counter.
func (m MetricCounter) Increment(offset uint64) {
	if st := abi.ProxyIncrementMetric(uint32(m), int64(offset)); st != abi.StatusOK {
		panic("increment metric: " + types.Status(st).String())
	}
}

// DefineGaugeMetric defines (or finds) a gauge. It panics if the host refuses.
func DefineGaugeMetric(name string) MetricGauge {
	return MetricGauge(defineMetric(types.MetricTypeGauge, name))
}

// Value returns the gauge's current value.
func (m MetricGauge) Value() int64 {
	var v uint64
	if st := abi.ProxyGetMetric(uint32(m), &v); st != abi.StatusOK {
		panic("get metric: " + types.Status(st).String())
	}
	return int64(v)
}

// Add adds offset (which may be negative) to the gauge.
func (m MetricGauge) Add(offset int64) {
	if st := abi.ProxyIncrementMetric(uint32(m), offset); st != abi.StatusOK {
		panic("add to metric: " + types.Status(st).String())
	}
}

// DefineHistogramMetric defines (or finds) a histogram. It panics if the host refuses.
func DefineHistogramMetric(name string) MetricHistogram {
	return MetricHistogram(defineMetric(types.MetricTypeHistogram, name))
}

// Value returns the histogram's value as the host reports it (Envoy refuses; see the host docs).
func (m MetricHistogram) Value() uint64 {
	var v uint64
	if st := abi.ProxyGetMetric(uint32(m), &v); st != abi.StatusOK {
		panic("get metric: " + types.Status(st).String())
	}
	return v
}

// Record records one value.
func (m MetricHistogram) Record(value uint64) {
	if st := abi.ProxyRecordMetric(uint32(m), value); st != abi.StatusOK {
		panic("record metric: " + types.Status(st).String())
	}
}
