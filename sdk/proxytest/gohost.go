//go:build !wasm

package proxytest

import (
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// emulatorMu serializes emulators: the plugin's VM state is global to the
// process, as a VM's is to its module.
var emulatorMu sync.Mutex

// NewHostEmulator registers opt's VM context, creates the plugin context and
// returns the emulator; reset releases it and forgets every context. Run
// one emulator at a time (a second NewHostEmulator waits for the first
// reset).
func NewHostEmulator(opt *EmulatorOption) (host HostEmulator, reset func()) {
	emulatorMu.Lock()
	h := &goHost{
		pluginConfig: opt.pluginConfiguration,
		vmConfig:     opt.vmConfiguration,
		properties:   map[string][]byte{},
		foreign:      map[string]func([]byte) []byte{},
		shared:       map[string]sharedValue{},
		queueIDs:     map[string]uint32{},
		queues:       map[uint32][][]byte{},
		metricIDs:    map[string]uint32{},
		metrics:      map[uint32]*metric{},
		http:         map[uint32]*httpStream{},
		tcp:          map[uint32]*tcpStream{},
		httpCallouts: map[uint32][]HttpCalloutAttribute{},
		redisCalls:   map[uint32][]RedisCalloutAttribute{},
		calloutOwner: map[uint32]uint32{},
		nextID:       PluginContextID + 1,
	}
	for k, v := range opt.properties {
		h.properties[k] = v
	}
	vmstate.Reset()
	release := abi.SetHost(abiHost{h})
	vmstate.SetVMContext(opt.vmContext)
	h.call(func() { vmstate.OnContextCreate(PluginContextID, 0) })
	var once sync.Once
	return h, func() {
		once.Do(func() {
			release()
			vmstate.Reset()
			emulatorMu.Unlock()
		})
	}
}

type sharedValue struct {
	data []byte
	cas  uint32
}

type metric struct {
	kind  types.MetricType
	name  string
	value uint64
}

type httpStream struct {
	reqHeaders, respHeaders, reqTrailers, respTrailers [][2]string
	reqBody, respBody                                  []byte
	reqBuffered, respBuffered                          bool // the last body callback kept the body buffered
	action                                             types.Action
	local                                              *LocalHttpResponse
}

type tcpStream struct {
	downstream, upstream []byte
}

type calloutResponse struct {
	headers, trailers [][2]string
	body              []byte
}

// goHost is the in-process host: abi.Host for the plugin, HostEmulator for
// the test.
type goHost struct {
	abi.UnimplementedHost

	pluginConfig, vmConfig  []byte
	configuring, vmStarting bool
	properties              map[string][]byte
	foreign                 map[string]func([]byte) []byte
	logs                    [types.LogLevelMax][]string
	tickPeriod              uint32

	shared    map[string]sharedValue
	casSeq    uint32
	queueIDs  map[string]uint32
	queues    map[uint32][][]byte
	ready     []uint32 // queues to report ready after the current callback
	metricIDs map[string]uint32
	metrics   map[uint32]*metric

	http map[uint32]*httpStream
	tcp  map[uint32]*tcpStream

	httpCallouts map[uint32][]HttpCalloutAttribute  // by calling context
	redisCalls   map[uint32][]RedisCalloutAttribute // by calling context
	calloutOwner map[uint32]uint32                  // pending callout id → context
	nextCallout  uint32
	response     *calloutResponse // the callout response being delivered
	redisReply   []byte

	depth  int
	nextID uint32
}

// call runs a callback into the plugin and then the queue-ready callbacks
// it caused, as the engine does after the callback returns.
func (h *goHost) call(f func()) {
	h.depth++
	f()
	h.depth--
	for h.depth == 0 && len(h.ready) > 0 {
		id := h.ready[0]
		h.ready = h.ready[1:]
		h.depth++
		vmstate.OnQueueReady(PluginContextID, id)
		h.depth--
	}
}

func (h *goHost) current() uint32 { return vmstate.ActiveContextID() }

func (h *goHost) stream(id uint32) *httpStream {
	s := h.http[id]
	if s == nil {
		s = &httpStream{}
		h.http[id] = s
	}
	return s
}

// ---- HostEmulator: VM and plugin ----

func (h *goHost) StartVM() types.OnVMStartStatus {
	var ok types.OnVMStartStatus
	h.vmStarting = true
	h.call(func() { ok = vmstate.OnVMStart(PluginContextID, int32(len(h.vmConfig))) })
	h.vmStarting = false
	return ok
}

func (h *goHost) StartPlugin() types.OnPluginStartStatus {
	var ok types.OnPluginStartStatus
	h.configuring = true
	h.call(func() { ok = vmstate.OnConfigure(PluginContextID, int32(len(h.pluginConfig))) })
	h.configuring = false
	return ok
}

func (h *goHost) FinishVM() bool {
	var ok bool
	h.call(func() { ok = vmstate.OnDone(PluginContextID) })
	return ok
}

func (h *goHost) Tick() { h.call(func() { vmstate.OnTick(PluginContextID) }) }

func (h *goHost) GetTickPeriod() uint32 { return h.tickPeriod }

func (h *goHost) GetQueueSize(queueID uint32) int { return len(h.queues[queueID]) }

func (h *goHost) RegisterForeignFunction(name string, f func([]byte) []byte) { h.foreign[name] = f }

func (h *goHost) GetTraceLogs() []string    { return h.logs[types.LogLevelTrace] }
func (h *goHost) GetDebugLogs() []string    { return h.logs[types.LogLevelDebug] }
func (h *goHost) GetInfoLogs() []string     { return h.logs[types.LogLevelInfo] }
func (h *goHost) GetWarnLogs() []string     { return h.logs[types.LogLevelWarn] }
func (h *goHost) GetErrorLogs() []string    { return h.logs[types.LogLevelError] }
func (h *goHost) GetCriticalLogs() []string { return h.logs[types.LogLevelCritical] }

func (h *goHost) metricValue(name string, kind types.MetricType) (uint64, error) {
	id, ok := h.metricIDs[name]
	if !ok {
		return 0, fmt.Errorf("%s not found", name)
	}
	m := h.metrics[id]
	if m.kind != kind {
		return 0, fmt.Errorf("%s is not a %s but a %s", name, metricKind(kind), metricKind(m.kind))
	}
	return m.value, nil
}

func metricKind(k types.MetricType) string {
	switch k {
	case types.MetricTypeCounter:
		return "counter"
	case types.MetricTypeGauge:
		return "gauge"
	case types.MetricTypeHistogram:
		return "histogram"
	}
	return fmt.Sprintf("metric type %d", k)
}

func (h *goHost) GetCounterMetric(name string) (uint64, error) {
	return h.metricValue(name, types.MetricTypeCounter)
}
func (h *goHost) GetGaugeMetric(name string) (uint64, error) {
	return h.metricValue(name, types.MetricTypeGauge)
}
func (h *goHost) GetHistogramMetric(name string) (uint64, error) {
	return h.metricValue(name, types.MetricTypeHistogram)
}

func (h *goHost) GetProperty(path []string) ([]byte, error) {
	v, ok := h.properties[PropertyKey(path)]
	if !ok {
		return nil, types.ErrorStatusNotFound
	}
	return v, nil
}

func (h *goHost) SetProperty(path []string, data []byte) error {
	h.properties[PropertyKey(path)] = append([]byte(nil), data...)
	return nil
}

// ---- HostEmulator: callouts ----

func (h *goHost) GetCalloutAttributesFromContext(contextID uint32) []HttpCalloutAttribute {
	return h.httpCallouts[contextID]
}

func (h *goHost) GetRedisCalloutAttributesFromContext(contextID uint32) []RedisCalloutAttribute {
	return h.redisCalls[contextID]
}

func (h *goHost) CallOnHttpCallResponse(calloutID uint32, headers, trailers [][2]string, body []byte) {
	if _, ok := h.calloutOwner[calloutID]; !ok {
		log.Printf("proxytest: no pending HTTP callout %d", calloutID)
		return
	}
	delete(h.calloutOwner, calloutID)
	h.response = &calloutResponse{headers: LowerKeys(headers), trailers: LowerKeys(trailers), body: body}
	defer func() { h.response = nil }()
	h.call(func() {
		vmstate.OnHttpCallResponse(PluginContextID, calloutID, int32(len(headers)), int32(len(body)), int32(len(trailers)))
	})
}

func (h *goHost) CallOnRedisCallResponse(calloutID uint32, status int32, response []byte) {
	if _, ok := h.calloutOwner[calloutID]; !ok {
		log.Printf("proxytest: no pending Redis call %d", calloutID)
		return
	}
	delete(h.calloutOwner, calloutID)
	h.redisReply = response
	defer func() { h.redisReply = nil }()
	h.call(func() { vmstate.OnRedisCallResponse(PluginContextID, calloutID, status, int32(len(response))) })
}

// ---- HostEmulator: TCP ----

func (h *goHost) InitializeConnection() (uint32, types.Action) {
	id := h.nextID
	h.nextID++
	h.tcp[id] = &tcpStream{}
	var a types.Action
	h.call(func() {
		vmstate.OnContextCreate(id, PluginContextID)
		a = vmstate.OnNewConnection(id)
	})
	return id, a
}

func (h *goHost) CallOnUpstreamData(contextID uint32, data []byte) types.Action {
	s := h.tcp[contextID]
	if s == nil {
		panic(fmt.Sprintf("proxytest: no TCP context %d", contextID))
	}
	s.upstream = append(s.upstream, data...)
	var a types.Action
	h.call(func() { a = vmstate.OnUpstreamData(contextID, int32(len(s.upstream)), false) })
	if a == types.ActionContinue {
		s.upstream = nil
	}
	return a
}

func (h *goHost) CallOnDownstreamData(contextID uint32, data []byte) types.Action {
	s := h.tcp[contextID]
	if s == nil {
		panic(fmt.Sprintf("proxytest: no TCP context %d", contextID))
	}
	s.downstream = append(s.downstream, data...)
	var a types.Action
	h.call(func() { a = vmstate.OnDownstreamData(contextID, int32(len(s.downstream)), false) })
	if a == types.ActionContinue {
		s.downstream = nil
	}
	return a
}

func (h *goHost) CloseUpstreamConnection(contextID uint32) {
	h.call(func() { vmstate.OnUpstreamConnectionClose(contextID, types.PeerTypeLocal) })
}

func (h *goHost) CloseDownstreamConnection(contextID uint32) {
	h.call(func() { vmstate.OnDownstreamConnectionClose(contextID, types.PeerTypeLocal) })
}

func (h *goHost) CompleteConnection(contextID uint32) {
	h.call(func() {
		vmstate.OnLog(contextID)
		vmstate.OnDone(contextID)
		vmstate.OnDelete(contextID)
	})
	delete(h.tcp, contextID)
}

// ---- HostEmulator: HTTP ----

func (h *goHost) InitializeHttpContext() uint32 {
	id := h.nextID
	h.nextID++
	h.stream(id)
	h.call(func() { vmstate.OnContextCreate(id, PluginContextID) })
	return id
}

func (h *goHost) CallOnRequestHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action {
	s := h.stream(contextID)
	s.reqHeaders = LowerKeys(headers)
	h.call(func() { s.action = vmstate.OnRequestHeaders(contextID, int32(len(headers)), endOfStream) })
	return s.action
}

func (h *goHost) CallOnRequestBody(contextID uint32, body []byte, endOfStream bool) types.Action {
	s := h.stream(contextID)
	if !s.reqBuffered {
		s.reqBody = nil // what was released before went on to the next filter
	}
	s.reqBody = append(s.reqBody, body...)
	h.call(func() { s.action = vmstate.OnRequestBody(contextID, int32(len(s.reqBody)), endOfStream) })
	s.reqBuffered = bufferedData(s.action)
	return s.action
}

func (h *goHost) CallOnRequestTrailers(contextID uint32, trailers [][2]string) types.Action {
	s := h.stream(contextID)
	s.reqTrailers = LowerKeys(trailers)
	h.call(func() { s.action = vmstate.OnRequestTrailers(contextID, int32(len(trailers))) })
	return s.action
}

func (h *goHost) CallOnResponseHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action {
	s := h.stream(contextID)
	s.respHeaders = LowerKeys(headers)
	h.call(func() { s.action = vmstate.OnResponseHeaders(contextID, int32(len(headers)), endOfStream) })
	return s.action
}

func (h *goHost) CallOnResponseBody(contextID uint32, body []byte, endOfStream bool) types.Action {
	s := h.stream(contextID)
	if !s.respBuffered {
		s.respBody = nil
	}
	s.respBody = append(s.respBody, body...)
	h.call(func() { s.action = vmstate.OnResponseBody(contextID, int32(len(s.respBody)), endOfStream) })
	s.respBuffered = bufferedData(s.action)
	return s.action
}

func (h *goHost) CallOnResponseTrailers(contextID uint32, trailers [][2]string) types.Action {
	s := h.stream(contextID)
	s.respTrailers = LowerKeys(trailers)
	h.call(func() { s.action = vmstate.OnResponseTrailers(contextID, int32(len(trailers))) })
	return s.action
}

// bufferedData reports a body result that keeps the data in the filter's
// buffer (StopIterationAndBuffer, StopIterationAndWatermark).
func bufferedData(a types.Action) bool {
	return a == types.DataStopIterationAndBuffer || a == types.DataStopIterationAndWatermark
}

func (h *goHost) CompleteHttpContext(contextID uint32) {
	h.call(func() {
		vmstate.OnLog(contextID)
		vmstate.OnDone(contextID)
		vmstate.OnDelete(contextID)
	})
}

func (h *goHost) GetCurrentHttpStreamAction(contextID uint32) types.Action {
	return h.stream(contextID).action
}

func (h *goHost) GetCurrentRequestHeaders(contextID uint32) [][2]string {
	return h.stream(contextID).reqHeaders
}

func (h *goHost) GetCurrentResponseHeaders(contextID uint32) [][2]string {
	return h.stream(contextID).respHeaders
}

func (h *goHost) GetCurrentRequestBody(contextID uint32) []byte { return h.stream(contextID).reqBody }

func (h *goHost) GetCurrentResponseBody(contextID uint32) []byte {
	return h.stream(contextID).respBody
}

func (h *goHost) GetSentLocalResponse(contextID uint32) *LocalHttpResponse {
	return h.stream(contextID).local
}

func (h *goHost) SetHttpRequestHeaders(contextID uint32, headers [][2]string) {
	h.stream(contextID).reqHeaders = LowerKeys(headers)
}

// ---- abi.Host ----

func (h *goHost) Log(level uint32, msg string) abi.Status {
	if level >= uint32(types.LogLevelMax) {
		return abi.StatusBadArgument
	}
	log.Printf("proxy_%s_log: %s", levelName(types.LogLevel(level)), msg)
	h.logs[level] = append(h.logs[level], msg)
	return abi.StatusOK
}

func levelName(l types.LogLevel) string {
	return [...]string{"trace", "debug", "info", "warn", "error", "critical"}[l]
}

func (h *goHost) GetLogLevel() (uint32, abi.Status) { return uint32(types.LogLevelTrace), abi.StatusOK }

func (h *goHost) SetTickPeriodMilliseconds(period uint32) abi.Status {
	h.tickPeriod = period
	return abi.StatusOK
}

func (h *goHost) GetCurrentTimeNanoseconds() (uint64, abi.Status) {
	return uint64(time.Now().UnixNano()), abi.StatusOK
}

// abiHost is goHost as the plugin's abi.Host: only the property calls
// differ in signature from HostEmulator's.
type abiHost struct{ *goHost }

func (h abiHost) SetProperty(path, value []byte) abi.Status {
	h.properties[string(path)] = append([]byte(nil), value...)
	return abi.StatusOK
}

func (h abiHost) GetProperty(path []byte) ([]byte, abi.Status) {
	v, ok := h.properties[string(path)]
	if !ok {
		return nil, abi.StatusNotFound
	}
	return v, abi.StatusOK
}

func (h *goHost) ContinueStream(streamType uint32) abi.Status {
	if streamType > uint32(types.StreamTypeResponse) {
		return abi.StatusBadArgument
	}
	if s := h.http[h.current()]; s != nil {
		s.action = types.ActionContinue
		return abi.StatusOK
	}
	return abi.StatusNotFound
}

func (h *goHost) CloseStream(streamType uint32) abi.Status { return abi.StatusOK }

func (h *goHost) SendLocalResponse(statusCode uint32, details, body, headers []byte, grpcStatus int32) abi.Status {
	s := h.http[h.current()]
	if s == nil {
		return abi.StatusBadArgument
	}
	hs, ok := abi.DeserializePairs(headers)
	if !ok {
		return abi.StatusBadArgument
	}
	s.local = &LocalHttpResponse{StatusCode: statusCode, StatusCodeDetail: string(details),
		Data: append([]byte(nil), body...), Headers: LowerKeys(hs), GRPCStatus: grpcStatus}
	return abi.StatusOK
}

func (h *goHost) GetSharedData(key string) ([]byte, uint32, abi.Status) {
	v, ok := h.shared[key]
	if !ok {
		return nil, 0, abi.StatusNotFound
	}
	return v.data, v.cas, abi.StatusOK
}

func (h *goHost) SetSharedData(key string, value []byte, cas uint32) abi.Status {
	if cur, ok := h.shared[key]; ok && cas != 0 && cas != cur.cas {
		return abi.Status(types.StatusCasMismatch)
	}
	h.casSeq++
	h.shared[key] = sharedValue{data: append([]byte(nil), value...), cas: h.casSeq}
	return abi.StatusOK
}

func (h *goHost) RegisterSharedQueue(name string) (uint32, abi.Status) {
	if id, ok := h.queueIDs[name]; ok {
		return id, abi.StatusOK
	}
	id := uint32(len(h.queueIDs) + 1)
	h.queueIDs[name] = id
	h.queues[id] = nil
	return id, abi.StatusOK
}

func (h *goHost) ResolveSharedQueue(vmID, name string) (uint32, abi.Status) {
	if id, ok := h.queueIDs[name]; ok {
		return id, abi.StatusOK
	}
	return 0, abi.StatusNotFound
}

func (h *goHost) EnqueueSharedQueue(queueID uint32, value []byte) abi.Status {
	q, ok := h.queues[queueID]
	if !ok {
		return abi.StatusNotFound
	}
	h.queues[queueID] = append(q, append([]byte(nil), value...))
	h.ready = append(h.ready, queueID)
	return abi.StatusOK
}

func (h *goHost) DequeueSharedQueue(queueID uint32) ([]byte, abi.Status) {
	q, ok := h.queues[queueID]
	if !ok {
		return nil, abi.StatusNotFound
	}
	if len(q) == 0 {
		return nil, abi.Status(types.StatusEmpty)
	}
	h.queues[queueID] = q[1:]
	return q[0], abi.StatusOK
}

// headerMap returns the map of a type for the current context.
func (h *goHost) headerMap(mapType uint32) (*[][2]string, abi.Status) {
	switch types.MapType(mapType) {
	case types.MapTypeHttpCallResponseHeaders, types.MapTypeHttpCallResponseTrailers:
		if h.response == nil {
			return nil, abi.StatusNotFound
		}
		if types.MapType(mapType) == types.MapTypeHttpCallResponseHeaders {
			return &h.response.headers, abi.StatusOK
		}
		return &h.response.trailers, abi.StatusOK
	}
	s := h.http[h.current()]
	if s == nil {
		return nil, abi.StatusBadArgument
	}
	switch types.MapType(mapType) {
	case types.MapTypeHttpRequestHeaders:
		return &s.reqHeaders, abi.StatusOK
	case types.MapTypeHttpRequestTrailers:
		return &s.reqTrailers, abi.StatusOK
	case types.MapTypeHttpResponseHeaders:
		return &s.respHeaders, abi.StatusOK
	case types.MapTypeHttpResponseTrailers:
		return &s.respTrailers, abi.StatusOK
	}
	return nil, abi.StatusBadArgument
}

func (h *goHost) GetHeaderMapValue(mapType uint32, key string) ([]byte, abi.Status) {
	m, st := h.headerMap(mapType)
	if st != abi.StatusOK {
		return nil, st
	}
	key = strings.ToLower(key)
	for _, p := range *m {
		if p[0] == key {
			return []byte(p[1]), abi.StatusOK
		}
	}
	return nil, abi.StatusNotFound
}

func (h *goHost) AddHeaderMapValue(mapType uint32, key, value string) abi.Status {
	m, st := h.headerMap(mapType)
	if st != abi.StatusOK {
		return st
	}
	*m = append(*m, [2]string{strings.ToLower(key), value})
	return abi.StatusOK
}

func (h *goHost) ReplaceHeaderMapValue(mapType uint32, key, value string) abi.Status {
	m, st := h.headerMap(mapType)
	if st != abi.StatusOK {
		return st
	}
	key = strings.ToLower(key)
	for i, p := range *m {
		if p[0] == key {
			(*m)[i][1] = value
			out := (*m)[:i+1]
			for _, q := range (*m)[i+1:] {
				if q[0] != key {
					out = append(out, q)
				}
			}
			*m = out
			return abi.StatusOK
		}
	}
	*m = append(*m, [2]string{key, value})
	return abi.StatusOK
}

func (h *goHost) RemoveHeaderMapValue(mapType uint32, key string) abi.Status {
	m, st := h.headerMap(mapType)
	if st != abi.StatusOK {
		return st
	}
	key = strings.ToLower(key)
	out := (*m)[:0]
	for _, p := range *m {
		if p[0] != key {
			out = append(out, p)
		}
	}
	*m = out
	return abi.StatusOK
}

func (h *goHost) GetHeaderMapPairs(mapType uint32) ([]byte, abi.Status) {
	m, st := h.headerMap(mapType)
	if st != abi.StatusOK {
		return nil, st
	}
	return abi.SerializePairs(*m), abi.StatusOK
}

func (h *goHost) SetHeaderMapPairs(mapType uint32, pairs []byte) abi.Status {
	m, st := h.headerMap(mapType)
	if st != abi.StatusOK {
		return st
	}
	ps, ok := abi.DeserializePairs(pairs)
	if !ok {
		return abi.StatusBadArgument
	}
	*m = LowerKeys(ps)
	return abi.StatusOK
}

func (h *goHost) GetHeaderMapSize(mapType uint32) (uint32, abi.Status) {
	m, st := h.headerMap(mapType)
	if st != abi.StatusOK {
		return 0, st
	}
	n := 0
	for _, p := range *m {
		n += len(p[0]) + len(p[1])
	}
	return uint32(n), abi.StatusOK
}

// buffer returns the buffer of a type for the current context.
func (h *goHost) buffer(bufferType uint32) (*[]byte, abi.Status) {
	switch types.BufferType(bufferType) {
	case types.BufferTypePluginConfiguration:
		if !h.configuring {
			return nil, abi.StatusNotFound
		}
		return &h.pluginConfig, abi.StatusOK
	case types.BufferTypeVMConfiguration:
		if !h.vmStarting {
			return nil, abi.StatusNotFound
		}
		return &h.vmConfig, abi.StatusOK
	case types.BufferTypeHttpCallResponseBody:
		if h.response == nil {
			return nil, abi.StatusNotFound
		}
		return &h.response.body, abi.StatusOK
	case types.BufferTypeRedisCallResponse:
		if h.redisReply == nil {
			return nil, abi.StatusNotFound
		}
		return &h.redisReply, abi.StatusOK
	case types.BufferTypeDownstreamData, types.BufferTypeUpstreamData:
		t := h.tcp[h.current()]
		if t == nil {
			return nil, abi.StatusBadArgument
		}
		if types.BufferType(bufferType) == types.BufferTypeDownstreamData {
			return &t.downstream, abi.StatusOK
		}
		return &t.upstream, abi.StatusOK
	case types.BufferTypeHttpRequestBody, types.BufferTypeHttpResponseBody:
		s := h.http[h.current()]
		if s == nil {
			return nil, abi.StatusBadArgument
		}
		if types.BufferType(bufferType) == types.BufferTypeHttpRequestBody {
			return &s.reqBody, abi.StatusOK
		}
		return &s.respBody, abi.StatusOK
	}
	return nil, abi.StatusBadArgument
}

func (h *goHost) GetBufferBytes(bufferType, start, maxSize uint32) ([]byte, abi.Status) {
	b, st := h.buffer(bufferType)
	if st != abi.StatusOK {
		return nil, st
	}
	if uint64(start) >= uint64(len(*b)) {
		return nil, abi.StatusOK
	}
	end := uint64(start) + uint64(maxSize)
	if end > uint64(len(*b)) {
		end = uint64(len(*b))
	}
	return (*b)[start:end], abi.StatusOK
}

func (h *goHost) GetBufferStatus(bufferType uint32) (uint32, uint32, abi.Status) {
	b, st := h.buffer(bufferType)
	if st != abi.StatusOK {
		return 0, 0, st
	}
	return uint32(len(*b)), 0, abi.StatusOK
}

// SetBufferBytes follows Envoy: start 0 with size ≥ length replaces, start 0
// with a smaller size replaces that prefix, start ≥ length appends.
func (h *goHost) SetBufferBytes(bufferType, start, size uint32, data []byte) abi.Status {
	switch types.BufferType(bufferType) {
	case types.BufferTypeHttpRequestBody, types.BufferTypeHttpResponseBody,
		types.BufferTypeDownstreamData, types.BufferTypeUpstreamData:
	default:
		return abi.StatusBadArgument
	}
	b, st := h.buffer(bufferType)
	if st != abi.StatusOK {
		return st
	}
	cur := *b
	switch {
	case start == 0 && uint64(size) >= uint64(len(cur)):
		cur = append([]byte(nil), data...)
	case start == 0:
		cur = append(append([]byte(nil), data...), cur[size:]...)
	case uint64(start) >= uint64(len(cur)):
		cur = append(cur, data...)
	default:
		return abi.StatusBadArgument
	}
	*b = cur
	return abi.StatusOK
}

func (h *goHost) newCallout(caller uint32) uint32 {
	h.nextCallout++
	h.calloutOwner[h.nextCallout] = caller
	return h.nextCallout
}

func (h *goHost) HttpCall(upstream string, headers, body, trailers []byte, timeoutMs uint32) (uint32, abi.Status) {
	hs, ok1 := abi.DeserializePairs(headers)
	ts, ok2 := abi.DeserializePairs(trailers)
	if !ok1 || !ok2 {
		return 0, abi.StatusBadArgument
	}
	caller := h.current()
	id := h.newCallout(caller)
	h.httpCallouts[caller] = append(h.httpCallouts[caller], HttpCalloutAttribute{
		CalloutID: id, Upstream: upstream, Headers: LowerKeys(hs), Trailers: LowerKeys(ts), Body: append([]byte(nil), body...),
	})
	return id, abi.StatusOK
}

func (h *goHost) RedisInit(cluster, username, password string, timeoutMs uint32) abi.Status {
	return abi.StatusOK
}

func (h *goHost) RedisCall(cluster string, query []byte) (uint32, abi.Status) {
	caller := h.current()
	id := h.newCallout(caller)
	h.redisCalls[caller] = append(h.redisCalls[caller], RedisCalloutAttribute{CalloutID: id, Upstream: cluster, Query: append([]byte(nil), query...)})
	return id, abi.StatusOK
}

func (h *goHost) DefineMetric(metricType uint32, name string) (uint32, abi.Status) {
	if metricType > uint32(types.MetricTypeHistogram) {
		return 0, abi.StatusBadArgument
	}
	if id, ok := h.metricIDs[name]; ok {
		return id, abi.StatusOK
	}
	id := uint32(len(h.metricIDs) + 1)
	h.metricIDs[name] = id
	h.metrics[id] = &metric{kind: types.MetricType(metricType), name: name}
	return id, abi.StatusOK
}

func (h *goHost) IncrementMetric(metricID uint32, offset int64) abi.Status {
	m := h.metrics[metricID]
	if m == nil || m.kind == types.MetricTypeHistogram {
		return abi.StatusBadArgument
	}
	m.value = uint64(int64(m.value) + offset)
	return abi.StatusOK
}

func (h *goHost) RecordMetric(metricID uint32, value uint64) abi.Status {
	m := h.metrics[metricID]
	if m == nil {
		return abi.StatusBadArgument
	}
	m.value = value
	return abi.StatusOK
}

func (h *goHost) GetMetric(metricID uint32) (uint64, abi.Status) {
	m := h.metrics[metricID]
	if m == nil {
		return 0, abi.StatusBadArgument
	}
	return m.value, abi.StatusOK
}

func (h *goHost) SetEffectiveContext(contextID uint32) abi.Status {
	if contextID != PluginContextID && h.http[contextID] == nil && h.tcp[contextID] == nil {
		return abi.StatusBadArgument
	}
	vmstate.SetActiveContextID(contextID)
	return abi.StatusOK
}

func (h *goHost) Done() abi.Status { return abi.StatusOK }

func (h *goHost) CallForeignFunction(name string, args []byte) ([]byte, abi.Status) {
	f, ok := h.foreign[name]
	if !ok {
		return nil, abi.StatusNotFound
	}
	return f(args), abi.StatusOK
}

func (h *goHost) InjectEncodedDataToFilterChain(body []byte, endStream bool) abi.Status {
	s := h.http[h.current()]
	if s == nil {
		return abi.StatusBadArgument
	}
	s.respBody = append(s.respBody, body...)
	return abi.StatusOK
}

func (h *goHost) GetUpstreamHosts() ([]byte, abi.Status) {
	return abi.SerializePairs(nil), abi.StatusOK
}

func (h *goHost) SetUpstreamOverrideHost(address []byte) abi.Status {
	if len(address) == 0 {
		return abi.StatusBadArgument
	}
	return abi.StatusOK
}
