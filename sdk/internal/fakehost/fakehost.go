//go:build !wasm

// Package fakehost is a small in-process host for native unit tests of the
// SDK: it keeps header maps, properties, buffers and shared data in Go maps,
// records logs, local replies and callouts, and drives a registered plugin
// through vmstate's callback dispatch. It is not an Envoy model; behaviour
// tests run on the real host engine (package host).
package fakehost

import (
	"strings"
	"sync"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// LogEntry is one log line written by the plugin.
type LogEntry struct {
	Level types.LogLevel
	Msg   string
}

// LocalReply is a response sent with send_local_response.
type LocalReply struct {
	Status  uint32
	Details string
	Body    string
	Headers [][2]string
}

// Callout is an HTTP or Redis call made by the plugin.
type Callout struct {
	Token    uint32
	Cluster  string
	Headers  [][2]string
	Body     []byte
	Query    []byte
	Timeout  uint32
	CallerID uint32
}

// Host is the fake host.
type Host struct {
	abi.UnimplementedHost
	mu sync.Mutex

	PluginConfig []byte
	LogLevel     types.LogLevel
	Properties   map[string][]byte
	Maps         map[types.MapType][][2]string
	Buffers      map[types.BufferType][]byte
	SharedData   map[string][]byte
	sharedCas    map[string]uint32
	casCounter   uint32
	NowNanos     uint64
	// AllCallbacks makes every stream callback, ignoring the SDK's callback
	// mask (as Envoy does); by default the host skips the masked ones, as
	// the engine does.
	AllCallbacks bool

	Logs           []LogEntry
	LocalReplies   []LocalReply
	Continued      []types.StreamType
	HttpCalls      []Callout
	RedisCalls     []Callout
	RedisInits     []string
	TickPeriod     uint32
	ForeignCalls   []string
	GrpcCalls      []GrpcCallout
	UnknownCluster map[string]bool
	// LogLevelReads counts proxy_get_log_level calls.
	LogLevelReads int

	nextGrpcCall, nextGrpcStream uint32
	statusCode                   uint32
	statusMsg                    string

	configuring bool
	nextID      uint32
	nextToken   uint32
	rootID      uint32
	release     func()
}

// New installs a fake host and resets the plugin's VM state; Close removes it.
func New() *Host {
	h := &Host{
		Properties:     map[string][]byte{},
		Maps:           map[types.MapType][][2]string{},
		Buffers:        map[types.BufferType][]byte{},
		SharedData:     map[string][]byte{},
		sharedCas:      map[string]uint32{},
		UnknownCluster: map[string]bool{},
		nextID:         1,
	}
	h.release = abi.SetHost(h)
	return h
}

// Close uninstalls the host.
func (h *Host) Close() { h.release() }

// Start creates the plugin context and runs vm start and configure with config.
func (h *Host) Start(config string) types.OnPluginStartStatus {
	h.PluginConfig = []byte(config)
	h.rootID = h.newID()
	vmstate.OnContextCreate(h.rootID, 0)
	if !vmstate.OnVMStart(h.rootID, 0) {
		return false
	}
	h.configuring = true
	defer func() { h.configuring = false }()
	return vmstate.OnConfigure(h.rootID, int32(len(config)))
}

// RootID is the plugin context's id.
func (h *Host) RootID() uint32 { return h.rootID }

func (h *Host) newID() uint32 {
	id := h.nextID
	h.nextID++
	return id
}

// Stream is one HTTP stream on the fake host.
type Stream struct {
	h  *Host
	ID uint32
}

// NewStream creates an HTTP context.
func (h *Host) NewStream() *Stream {
	id := h.newID()
	vmstate.OnContextCreate(id, h.rootID)
	return &Stream{h: h, ID: id}
}

// skips reports whether the host skips the callback of bit (the SDK's
// callback mask), answering Continue for it.
func (s *Stream) skips(bit uint32) bool {
	return !s.h.AllCallbacks && vmstate.Skippable()&bit != 0
}

// RequestHeaders delivers request headers (keys are lowercased).
func (s *Stream) RequestHeaders(headers [][2]string, endOfStream bool) types.Action {
	s.h.Maps[types.MapTypeHttpRequestHeaders] = lower(headers)
	if s.skips(vmstate.SkipRequestHeaders) {
		return types.ActionContinue
	}
	return vmstate.OnRequestHeaders(s.ID, int32(len(headers)), endOfStream)
}

// RequestBody delivers a request body chunk; the buffer accumulates like Envoy's while paused.
func (s *Stream) RequestBody(body []byte, endOfStream bool) types.Action {
	s.h.Buffers[types.BufferTypeHttpRequestBody] = append(s.h.Buffers[types.BufferTypeHttpRequestBody], body...)
	if s.skips(vmstate.SkipRequestBody) {
		return types.ActionContinue
	}
	return vmstate.OnRequestBody(s.ID, int32(len(s.h.Buffers[types.BufferTypeHttpRequestBody])), endOfStream)
}

// ResponseHeaders delivers response headers.
func (s *Stream) ResponseHeaders(headers [][2]string, endOfStream bool) types.Action {
	s.h.Maps[types.MapTypeHttpResponseHeaders] = lower(headers)
	if s.skips(vmstate.SkipResponseHeaders) {
		return types.ActionContinue
	}
	return vmstate.OnResponseHeaders(s.ID, int32(len(headers)), endOfStream)
}

// ResponseBody delivers a response body chunk.
func (s *Stream) ResponseBody(body []byte, endOfStream bool) types.Action {
	s.h.Buffers[types.BufferTypeHttpResponseBody] = append(s.h.Buffers[types.BufferTypeHttpResponseBody], body...)
	if s.skips(vmstate.SkipResponseBody) {
		return types.ActionContinue
	}
	return vmstate.OnResponseBody(s.ID, int32(len(s.h.Buffers[types.BufferTypeHttpResponseBody])), endOfStream)
}

// Done runs log, done and delete (log and done unless skipped).
func (s *Stream) Done() {
	if !s.skips(vmstate.SkipLog) {
		vmstate.OnLog(s.ID)
	}
	if !s.skips(vmstate.SkipDone) {
		vmstate.OnDone(s.ID)
	}
	vmstate.OnDelete(s.ID)
}

// RespondHttpCall answers an HTTP callout.
func (h *Host) RespondHttpCall(token uint32, headers [][2]string, body []byte) {
	h.Maps[types.MapTypeHttpCallResponseHeaders] = headers
	h.Buffers[types.BufferTypeHttpCallResponseBody] = body
	vmstate.OnHttpCallResponse(h.rootID, token, int32(len(headers)), int32(len(body)), 0)
	delete(h.Maps, types.MapTypeHttpCallResponseHeaders)
	delete(h.Buffers, types.BufferTypeHttpCallResponseBody)
}

// RespondRedisCall answers a Redis call with a status and a RESP reply.
func (h *Host) RespondRedisCall(token uint32, status int32, reply []byte) {
	h.Buffers[types.BufferTypeRedisCallResponse] = reply
	vmstate.OnRedisCallResponse(h.rootID, token, status, int32(len(reply)))
	delete(h.Buffers, types.BufferTypeRedisCallResponse)
}

// Tick runs the plugin's OnTick.
func (h *Host) Tick() { vmstate.OnTick(h.rootID) }

// LogsAt returns the messages logged at level.
func (h *Host) LogsAt(level types.LogLevel) []string {
	var out []string
	for _, l := range h.Logs {
		if l.Level == level {
			out = append(out, l.Msg)
		}
	}
	return out
}

// HasLog reports whether a message at level contains substr.
func (h *Host) HasLog(level types.LogLevel, substr string) bool {
	for _, m := range h.LogsAt(level) {
		if strings.Contains(m, substr) {
			return true
		}
	}
	return false
}

// Header returns the first value of key in a map.
func (h *Host) Header(mt types.MapType, key string) (string, bool) {
	for _, p := range h.Maps[mt] {
		if p[0] == key {
			return p[1], true
		}
	}
	return "", false
}

func lower(hs [][2]string) [][2]string {
	out := make([][2]string, len(hs))
	for i, p := range hs {
		out[i] = [2]string{strings.ToLower(p[0]), p[1]}
	}
	return out
}

// ---- abi.Host ----

func (h *Host) Log(level uint32, msg string) abi.Status {
	h.Logs = append(h.Logs, LogEntry{types.LogLevel(level), msg})
	return abi.StatusOK
}

func (h *Host) GetLogLevel() (uint32, abi.Status) {
	h.LogLevelReads++
	return uint32(h.LogLevel), abi.StatusOK
}

func (h *Host) SetTickPeriodMilliseconds(p uint32) abi.Status {
	h.TickPeriod = p
	return abi.StatusOK
}

func (h *Host) GetCurrentTimeNanoseconds() (uint64, abi.Status) { return h.NowNanos, abi.StatusOK }

func (h *Host) SetProperty(path, value []byte) abi.Status {
	h.Properties[string(path)] = append([]byte(nil), value...)
	return abi.StatusOK
}

func (h *Host) GetProperty(path []byte) ([]byte, abi.Status) {
	v, ok := h.Properties[string(path)]
	if !ok {
		return nil, abi.StatusNotFound
	}
	return v, abi.StatusOK
}

func (h *Host) ContinueStream(st uint32) abi.Status {
	h.Continued = append(h.Continued, types.StreamType(st))
	return abi.StatusOK
}

func (h *Host) SendLocalResponse(status uint32, details, body, headers []byte, _ int32) abi.Status {
	hs, _ := abi.DeserializePairs(headers)
	h.LocalReplies = append(h.LocalReplies, LocalReply{Status: status, Details: string(details), Body: string(body), Headers: hs})
	return abi.StatusOK
}

func (h *Host) GetSharedData(key string) ([]byte, uint32, abi.Status) {
	v, ok := h.SharedData[key]
	if !ok {
		return nil, 0, abi.StatusNotFound
	}
	return v, h.sharedCas[key], abi.StatusOK
}

func (h *Host) SetSharedData(key string, value []byte, cas uint32) abi.Status {
	if cur, ok := h.sharedCas[key]; ok && cas != 0 && cas != cur {
		return uint32(types.StatusCasMismatch)
	}
	h.casCounter++
	h.SharedData[key] = append([]byte(nil), value...)
	h.sharedCas[key] = h.casCounter
	return abi.StatusOK
}

func (h *Host) GetHeaderMapValue(mt uint32, key string) ([]byte, abi.Status) {
	m, ok := h.Maps[types.MapType(mt)]
	if !ok {
		return nil, abi.StatusBadArgument
	}
	key = strings.ToLower(key)
	for _, p := range m {
		if p[0] == key {
			return []byte(p[1]), abi.StatusOK
		}
	}
	return nil, abi.StatusNotFound
}

func (h *Host) AddHeaderMapValue(mt uint32, key, value string) abi.Status {
	if _, ok := h.Maps[types.MapType(mt)]; !ok {
		return abi.StatusBadArgument
	}
	h.Maps[types.MapType(mt)] = append(h.Maps[types.MapType(mt)], [2]string{strings.ToLower(key), value})
	return abi.StatusOK
}

func (h *Host) ReplaceHeaderMapValue(mt uint32, key, value string) abi.Status {
	if st := h.RemoveHeaderMapValue(mt, key); st != abi.StatusOK {
		return st
	}
	return h.AddHeaderMapValue(mt, key, value)
}

func (h *Host) RemoveHeaderMapValue(mt uint32, key string) abi.Status {
	m, ok := h.Maps[types.MapType(mt)]
	if !ok {
		return abi.StatusBadArgument
	}
	key = strings.ToLower(key)
	out := m[:0]
	for _, p := range m {
		if p[0] != key {
			out = append(out, p)
		}
	}
	h.Maps[types.MapType(mt)] = out
	return abi.StatusOK
}

func (h *Host) GetHeaderMapPairs(mt uint32) ([]byte, abi.Status) {
	m, ok := h.Maps[types.MapType(mt)]
	if !ok {
		return nil, abi.StatusOK
	}
	return abi.SerializePairs(m), abi.StatusOK
}

func (h *Host) SetHeaderMapPairs(mt uint32, pairs []byte) abi.Status {
	ps, ok := abi.DeserializePairs(pairs)
	if !ok {
		ps = nil
	}
	h.Maps[types.MapType(mt)] = lower(ps)
	return abi.StatusOK
}

func (h *Host) GetBufferBytes(bt, start, maxSize uint32) ([]byte, abi.Status) {
	var b []byte
	if types.BufferType(bt) == types.BufferTypePluginConfiguration {
		if !h.configuring {
			return nil, abi.StatusNotFound
		}
		b = h.PluginConfig
	} else {
		var ok bool
		if b, ok = h.Buffers[types.BufferType(bt)]; !ok {
			return nil, abi.StatusNotFound
		}
	}
	if uint64(start) >= uint64(len(b)) {
		return nil, abi.StatusOK
	}
	end := uint64(start) + uint64(maxSize)
	if end > uint64(len(b)) {
		end = uint64(len(b))
	}
	return b[start:end], abi.StatusOK
}

func (h *Host) SetBufferBytes(bt, start, size uint32, data []byte) abi.Status {
	b := h.Buffers[types.BufferType(bt)]
	switch {
	case start == 0:
		if uint64(size) >= uint64(len(b)) {
			b = append([]byte(nil), data...)
		} else {
			b = append(append([]byte(nil), data...), b[size:]...)
		}
	case uint64(start) >= uint64(len(b)):
		b = append(b, data...)
	default:
		return abi.StatusBadArgument
	}
	h.Buffers[types.BufferType(bt)] = b
	return abi.StatusOK
}

func (h *Host) HttpCall(upstream string, headers, body, _ []byte, timeout uint32) (uint32, abi.Status) {
	if h.UnknownCluster[upstream] {
		return 0, abi.StatusBadArgument
	}
	hs, _ := abi.DeserializePairs(headers)
	h.nextToken += 4
	h.HttpCalls = append(h.HttpCalls, Callout{Token: h.nextToken, Cluster: upstream, Headers: hs, Body: body, Timeout: timeout, CallerID: vmstate.ActiveContextID()})
	return h.nextToken, abi.StatusOK
}

func (h *Host) RedisInit(cluster, _, _ string, _ uint32) abi.Status {
	name := cluster
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	if h.UnknownCluster[name] {
		return abi.StatusBadArgument
	}
	h.RedisInits = append(h.RedisInits, cluster)
	return abi.StatusOK
}

func (h *Host) RedisCall(cluster string, query []byte) (uint32, abi.Status) {
	if h.UnknownCluster[cluster] {
		return 0, abi.StatusBadArgument
	}
	h.nextToken += 4
	h.RedisCalls = append(h.RedisCalls, Callout{Token: h.nextToken, Cluster: cluster, Query: query, CallerID: vmstate.ActiveContextID()})
	return h.nextToken, abi.StatusOK
}

func (h *Host) SetEffectiveContext(id uint32) abi.Status { return abi.StatusOK }

func (h *Host) CallForeignFunction(name string, _ []byte) ([]byte, abi.Status) {
	h.ForeignCalls = append(h.ForeignCalls, name)
	switch name {
	case "get_log_level":
		return []byte{byte(h.LogLevel), 0, 0, 0}, abi.StatusOK
	case "set_global_max_requests_per_io_cycle":
		return nil, abi.StatusOK
	}
	return nil, abi.StatusNotFound
}
