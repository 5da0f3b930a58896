// Package types holds the numbers of the proxy-wasm ABI as the plugin SDK and
// the host engine both see them: actions, statuses, buffer and map types, and
// the context interfaces a plugin implements.
//
// The host engine imports this package for its enum values, so plugin and host
// agree on every number by construction.
package types

// Action is what a stream callback returns to the host.
//
// Header callbacks are interpreted as FilterHeadersStatus, body callbacks as
// FilterDataStatus and trailer callbacks as FilterTrailersStatus; the named
// constants below give the values for each.
type Action uint32

const (
	// ActionContinue lets the stream go on to the next filter.
	ActionContinue Action = 0
	// ActionPause stops iteration. In a header callback of an ABI 0.2.100
	// module it is a real StopIteration (body still flows to the plugin);
	// under ABI 0.2.0/0.2.1 the host turns it into StopAllIterationAndWatermark.
	ActionPause Action = 1
)

// Header callback results (Envoy FilterHeadersStatus).
const (
	HeaderContinue                     Action = 0
	HeaderStopIteration                Action = 1
	HeaderContinueAndEndStream         Action = 2
	HeaderStopAllIterationAndBuffer    Action = 3
	HeaderStopAllIterationAndWatermark Action = 4
)

// Body callback results (Envoy FilterDataStatus).
const (
	DataContinue                  Action = 0
	DataStopIterationAndBuffer    Action = 1
	DataStopIterationAndWatermark Action = 2
	DataStopIterationNoBuffer     Action = 3
)

// Trailer callback results (Envoy FilterTrailersStatus).
const (
	TrailerContinue      Action = 0
	TrailerStopIteration Action = 1
)

// Status is proxy_status_t, the result of every host call.
type Status uint32

const (
	StatusOK                   Status = 0
	StatusNotFound             Status = 1
	StatusBadArgument          Status = 2
	StatusSerializationFailure Status = 3
	StatusParseFailure         Status = 4
	StatusBadExpression        Status = 5
	StatusInvalidMemoryAccess  Status = 6
	StatusEmpty                Status = 7
	StatusCasMismatch          Status = 8
	StatusResultMismatch       Status = 9
	StatusInternalFailure      Status = 10
	StatusBrokenConnection     Status = 11
	StatusUnimplemented        Status = 12
)

// String returns the status name as the ABI specification spells it.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not found"
	case StatusBadArgument:
		return "bad argument"
	case StatusSerializationFailure:
		return "serialization failure"
	case StatusParseFailure:
		return "parse failure"
	case StatusBadExpression:
		return "bad expression"
	case StatusInvalidMemoryAccess:
		return "invalid memory access"
	case StatusEmpty:
		return "empty"
	case StatusCasMismatch:
		return "cas mismatch"
	case StatusResultMismatch:
		return "result mismatch"
	case StatusInternalFailure:
		return "internal failure"
	case StatusBrokenConnection:
		return "broken connection"
	case StatusUnimplemented:
		return "unimplemented"
	}
	return "unknown status " + itoa(uint64(s))
}

// BufferType is proxy_buffer_type_t.
type BufferType uint32

const (
	BufferTypeHttpRequestBody      BufferType = 0
	BufferTypeHttpResponseBody     BufferType = 1
	BufferTypeDownstreamData       BufferType = 2
	BufferTypeUpstreamData         BufferType = 3
	BufferTypeHttpCallResponseBody BufferType = 4
	BufferTypeGrpcReceiveBuffer    BufferType = 5
	BufferTypeVMConfiguration      BufferType = 6
	BufferTypePluginConfiguration  BufferType = 7
	BufferTypeCallData             BufferType = 8
	// BufferTypeRedisCallResponse is a Higress extension.
	BufferTypeRedisCallResponse BufferType = 9
)

// MapType is proxy_map_type_t.
type MapType uint32

const (
	MapTypeHttpRequestHeaders          MapType = 0
	MapTypeHttpRequestTrailers         MapType = 1
	MapTypeHttpResponseHeaders         MapType = 2
	MapTypeHttpResponseTrailers        MapType = 3
	MapTypeGrpcReceiveInitialMetadata  MapType = 4
	MapTypeGrpcReceiveTrailingMetadata MapType = 5
	MapTypeHttpCallResponseHeaders     MapType = 6
	MapTypeHttpCallResponseTrailers    MapType = 7
)

// StreamType is proxy_stream_type_t.
type StreamType uint32

const (
	StreamTypeRequest    StreamType = 0
	StreamTypeResponse   StreamType = 1
	StreamTypeDownstream StreamType = 2
	StreamTypeUpstream   StreamType = 3
)

// LogLevel is proxy_log_level_t.
type LogLevel uint32

const (
	LogLevelTrace    LogLevel = 0
	LogLevelDebug    LogLevel = 1
	LogLevelInfo     LogLevel = 2
	LogLevelWarn     LogLevel = 3
	LogLevelError    LogLevel = 4
	LogLevelCritical LogLevel = 5
	LogLevelMax      LogLevel = 6
)

// String returns the lower-case level name Envoy uses.
func (l LogLevel) String() string {
	switch l {
	case LogLevelTrace:
		return "trace"
	case LogLevelDebug:
		return "debug"
	case LogLevelInfo:
		return "info"
	case LogLevelWarn:
		return "warn"
	case LogLevelError:
		return "error"
	case LogLevelCritical:
		return "critical"
	}
	return "unknown"
}

// MetricType is proxy_metric_type_t.
type MetricType uint32

const (
	MetricTypeCounter   MetricType = 0
	MetricTypeGauge     MetricType = 1
	MetricTypeHistogram MetricType = 2
)

// PeerType is proxy_peer_type_t: which side closed a TCP connection.
type PeerType uint32

const (
	PeerTypeUnknown PeerType = 0
	PeerTypeLocal   PeerType = 1
	PeerTypeRemote  PeerType = 2
)

// OnVMStartStatus is the result of VMContext.OnVMStart.
type OnVMStartStatus bool

const (
	OnVMStartStatusOK     OnVMStartStatus = true
	OnVMStartStatusFailed OnVMStartStatus = false
)

// OnPluginStartStatus is the result of PluginContext.OnPluginStart.
type OnPluginStartStatus bool

const (
	OnPluginStartStatusOK     OnPluginStartStatus = true
	OnPluginStartStatusFailed OnPluginStartStatus = false
)

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
