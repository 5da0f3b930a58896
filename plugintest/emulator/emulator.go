// Package emulator implements the SDK's proxytest.HostEmulator (Higress's
// proxytest API) on the host engine: the plugin runs as its .wasm module on
// the engine that serves the gateway's traffic, one VM, with the engine's
// filter rules. Callouts wait until the test answers them (the clock's
// timers never fire by themselves, so callout timeouts do not expire) and
// Tick runs proxy_on_tick at once.
//
// Differences from the in-process emulator (proxytest.NewHostEmulator)
// follow from the engine: a local reply sent from the request phase runs
// through the plugin's response callbacks at once (as Envoy sends it
// downstream), a local reply's headers are those the engine sends (the
// plugin's, plus content-length and content-type when there is a body),
// and TCP contexts and GetQueueSize are not available (they panic with a
// message naming them).
package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxytest"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// New compiles wasm and returns an emulator for it configured by opt (its
// VM context is ignored: the module registers its own). reset stops the
// plugin and the engine.
func New(wasm []byte, opt *proxytest.EmulatorOption) (proxytest.HostEmulator, func(), error) {
	e := &Emulator{
		props:   map[string][]byte{},
		foreign: map[string]func([]byte) []byte{},
		streams: map[uint32]*stream{},
		http:    map[uint32][]proxytest.HttpCalloutAttribute{},
		redis:   map[uint32][]proxytest.RedisCalloutAttribute{},
		pending: map[uint32]*pendingCall{},
		nextID:  proxytest.PluginContextID + 1,
		config:  opt.PluginConfiguration(),
		vmConf:  opt.VMConfiguration(),
	}
	for k, v := range opt.Properties() {
		e.props[k] = v
	}
	e.owner = proxytest.PluginContextID
	ctx := context.Background()
	logger := slog.New(&logHandler{e: e})
	var err error
	e.engine, err = host.NewEngine(ctx, host.EngineConfig{Logger: logger, Clock: heldClock{}, CallTimeout: 30 * time.Second})
	if err != nil {
		return nil, nil, fmt.Errorf("emulator: %w", err)
	}
	e.mod, err = e.engine.Compile(ctx, wasm)
	if err != nil {
		_ = e.engine.Close(ctx)
		return nil, nil, fmt.Errorf("emulator: %w", err)
	}
	e.logger = logger
	return e, e.close, nil
}

// Emulator is a HostEmulator on the engine.
type Emulator struct {
	engine *host.Engine
	mod    *host.Module
	plugin *host.Plugin
	logger *slog.Logger

	config, vmConf []byte
	started        bool

	mu      sync.Mutex // guards logs and props, written from engine callbacks
	props   map[string][]byte
	foreign map[string]func([]byte) []byte
	logs    [types.LogLevelMax][]string

	streams map[uint32]*stream
	nextID  uint32

	owner       uint32 // the context that makes callouts during the current call
	http        map[uint32][]proxytest.HttpCalloutAttribute
	redis       map[uint32][]proxytest.RedisCalloutAttribute
	pending     map[uint32]*pendingCall
	nextCallout uint32
}

type stream struct {
	s                        *host.Stream
	reqHeaders, respHeaders  *host.HeaderMap
	reqTrailers, respTrailer *host.HeaderMap
	reqBody, respBody        []byte
	reqHeld, respHeld        bool // the direction is stopped: data released later comes in Results/events
	action                   types.Action
	local                    *proxytest.LocalHttpResponse
}

type pendingCall struct {
	owner     uint32
	httpDone  func(*host.CalloutResponse)
	redisDone func([]byte, error)
}

func (e *Emulator) close() {
	ctx := context.Background()
	for id, st := range e.streams {
		st.s.Done()
		delete(e.streams, id)
	}
	if e.plugin != nil {
		e.plugin.Close(ctx)
	}
	_ = e.engine.Close(ctx)
}

// ---- VM and plugin ----

// StartVM reports success: the engine starts the VM together with the
// plugin (StartPlugin).
func (e *Emulator) StartVM() types.OnVMStartStatus { return types.OnVMStartStatusOK }

// StartPlugin starts the plugin: VM start and proxy_on_configure.
func (e *Emulator) StartPlugin() types.OnPluginStartStatus {
	if e.started {
		return types.OnPluginStartStatusOK
	}
	p, err := e.engine.NewPlugin(context.Background(), e.mod, host.PluginConfig{
		Name:             "wasm-unit-test",
		Configuration:    e.config,
		VMConfiguration:  e.vmConf,
		PoolSize:         1,
		LogLevel:         ptr(types.LogLevelTrace),
		Logger:           e.logger,
		Properties:       host.PropertyFunc(e.property),
		HTTP:             e,
		Redis:            e,
		ForeignFunctions: e.foreign,
	})
	if err != nil {
		e.record(types.LogLevelCritical, err.Error())
		return types.OnPluginStartStatusFailed
	}
	e.plugin, e.started = p, true
	return types.OnPluginStartStatusOK
}

func ptr[T any](v T) *T { return &v }

// FinishVM stops the plugin (proxy_on_done).
func (e *Emulator) FinishVM() bool {
	if e.plugin != nil {
		e.plugin.Close(context.Background())
		e.plugin = nil
	}
	return true
}

func (e *Emulator) mustPlugin(what string) *host.Plugin {
	if e.plugin == nil {
		panic("emulator: " + what + " before StartPlugin (or after the plugin failed to start)")
	}
	return e.plugin
}

// Tick runs proxy_on_tick now.
func (e *Emulator) Tick() {
	e.owner = proxytest.PluginContextID
	e.mustPlugin("Tick").TickNow()
}

// GetTickPeriod returns the tick period in milliseconds.
func (e *Emulator) GetTickPeriod() uint32 {
	if e.plugin == nil {
		return 0
	}
	return uint32(e.plugin.TickPeriod() / time.Millisecond)
}

// GetQueueSize is not available on the engine.
func (e *Emulator) GetQueueSize(queueID uint32) int {
	panic("emulator: GetQueueSize is not available in wasm mode (the engine's shared queues are not inspectable)")
}

// RegisterForeignFunction answers proxy_call_foreign_function(name).
func (e *Emulator) RegisterForeignFunction(name string, f func([]byte) []byte) { e.foreign[name] = f }

func (e *Emulator) logsAt(l types.LogLevel) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.logs[l]...)
}

func (e *Emulator) GetTraceLogs() []string    { return e.logsAt(types.LogLevelTrace) }
func (e *Emulator) GetDebugLogs() []string    { return e.logsAt(types.LogLevelDebug) }
func (e *Emulator) GetInfoLogs() []string     { return e.logsAt(types.LogLevelInfo) }
func (e *Emulator) GetWarnLogs() []string     { return e.logsAt(types.LogLevelWarn) }
func (e *Emulator) GetErrorLogs() []string    { return e.logsAt(types.LogLevelError) }
func (e *Emulator) GetCriticalLogs() []string { return e.logsAt(types.LogLevelCritical) }

func (e *Emulator) record(l types.LogLevel, msg string) {
	e.mu.Lock()
	e.logs[l] = append(e.logs[l], msg)
	e.mu.Unlock()
}

func (e *Emulator) metric(name string, kind types.MetricType) (uint64, error) {
	for _, m := range e.engine.Metrics() {
		if m.Name != name {
			continue
		}
		if m.Type != kind {
			return 0, fmt.Errorf("%s is not of metric type %d but %d", name, kind, m.Type)
		}
		if m.Histogram != nil {
			return uint64(m.Histogram.Sum), nil
		}
		return uint64(m.Value), nil
	}
	return 0, fmt.Errorf("%s not found", name)
}

func (e *Emulator) GetCounterMetric(name string) (uint64, error) {
	return e.metric(name, types.MetricTypeCounter)
}
func (e *Emulator) GetGaugeMetric(name string) (uint64, error) {
	return e.metric(name, types.MetricTypeGauge)
}
func (e *Emulator) GetHistogramMetric(name string) (uint64, error) {
	return e.metric(name, types.MetricTypeHistogram)
}

// ---- properties ----

func (e *Emulator) property(path []string) (any, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.props[proxytest.PropertyKey(path)]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), v...), true
}

// GetProperty returns what the plugin set on the current HTTP stream, or
// else what the test set.
func (e *Emulator) GetProperty(path []string) ([]byte, error) {
	key := proxytest.PropertyKey(path)
	if st := e.streams[e.lastStream()]; st != nil {
		if v, ok := st.s.FilterState()[key]; ok {
			return v, nil
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.props[key]; ok {
		return v, nil
	}
	return nil, types.ErrorStatusNotFound
}

// SetProperty sets a property the plugin reads (route_name, cluster_name, …).
func (e *Emulator) SetProperty(path []string, data []byte) error {
	if len(path) == 0 {
		return errors.New("path must not be empty")
	}
	e.mu.Lock()
	e.props[proxytest.PropertyKey(path)] = append([]byte(nil), data...)
	e.mu.Unlock()
	return nil
}

func (e *Emulator) lastStream() uint32 {
	var last uint32
	for id := range e.streams {
		if id > last {
			last = id
		}
	}
	return last
}

// ---- callouts ----

// HTTPCall implements host.HTTPCaller: the call waits for the test's answer.
func (e *Emulator) HTTPCall(req *host.CalloutRequest, done func(*host.CalloutResponse)) error {
	e.nextCallout++
	id := e.nextCallout
	attr := proxytest.HttpCalloutAttribute{CalloutID: id, Upstream: req.Cluster, Headers: fieldsOf(req.Headers), Trailers: fieldsOf(req.Trailers), Body: append([]byte(nil), req.Body...)}
	e.http[e.owner] = append(e.http[e.owner], attr)
	e.pending[id] = &pendingCall{owner: e.owner, httpDone: done}
	return nil
}

// RedisInit implements host.RedisCaller.
func (e *Emulator) RedisInit(cluster, username, password string, timeout time.Duration) error {
	return nil
}

// RedisCall implements host.RedisCaller: the call waits for the test's answer.
func (e *Emulator) RedisCall(cluster string, query []byte, done func(reply []byte, err error)) error {
	e.nextCallout++
	id := e.nextCallout
	e.redis[e.owner] = append(e.redis[e.owner], proxytest.RedisCalloutAttribute{CalloutID: id, Upstream: cluster, Query: append([]byte(nil), query...)})
	e.pending[id] = &pendingCall{owner: e.owner, redisDone: done}
	return nil
}

func (e *Emulator) GetCalloutAttributesFromContext(contextID uint32) []proxytest.HttpCalloutAttribute {
	return e.http[contextID]
}

func (e *Emulator) GetRedisCalloutAttributesFromContext(contextID uint32) []proxytest.RedisCalloutAttribute {
	return e.redis[contextID]
}

func (e *Emulator) CallOnHttpCallResponse(calloutID uint32, headers, trailers [][2]string, body []byte) {
	p := e.pending[calloutID]
	if p == nil || p.httpDone == nil {
		e.record(types.LogLevelWarn, "emulator: no pending HTTP callout "+strconv.Itoa(int(calloutID)))
		return
	}
	delete(e.pending, calloutID)
	e.owner = p.owner
	resp := &host.CalloutResponse{Headers: headerMap(headers), Body: body}
	if len(trailers) > 0 {
		resp.Trailers = headerMap(trailers)
	}
	p.httpDone(resp)
	e.owner = proxytest.PluginContextID
}

func (e *Emulator) CallOnRedisCallResponse(calloutID uint32, status int32, response []byte) {
	p := e.pending[calloutID]
	if p == nil || p.redisDone == nil {
		e.record(types.LogLevelWarn, "emulator: no pending Redis call "+strconv.Itoa(int(calloutID)))
		return
	}
	delete(e.pending, calloutID)
	e.owner = p.owner
	if status != 0 {
		p.redisDone(nil, fmt.Errorf("redis call status %d", status))
	} else {
		p.redisDone(response, nil)
	}
	e.owner = proxytest.PluginContextID
}

// ---- TCP: not on the engine ----

func tcpUnavailable(name string) {
	panic("emulator: " + name + " is not available in wasm mode (the engine runs HTTP filters only)")
}

func (e *Emulator) InitializeConnection() (uint32, types.Action) {
	tcpUnavailable("InitializeConnection")
	return 0, 0
}
func (e *Emulator) CallOnUpstreamData(uint32, []byte) types.Action {
	tcpUnavailable("CallOnUpstreamData")
	return 0
}
func (e *Emulator) CallOnDownstreamData(uint32, []byte) types.Action {
	tcpUnavailable("CallOnDownstreamData")
	return 0
}
func (e *Emulator) CloseUpstreamConnection(uint32)   { tcpUnavailable("CloseUpstreamConnection") }
func (e *Emulator) CloseDownstreamConnection(uint32) { tcpUnavailable("CloseDownstreamConnection") }
func (e *Emulator) CompleteConnection(uint32)        { tcpUnavailable("CompleteConnection") }

// ---- HTTP ----

func (e *Emulator) InitializeHttpContext() uint32 {
	id := e.nextID
	e.nextID++
	st := &stream{}
	st.s = e.mustPlugin("InitializeHttpContext").NewStream(host.StreamOptions{Events: func(ev host.Event) { e.event(st, ev) }})
	e.streams[id] = st
	return id
}

func (e *Emulator) stream(id uint32) *stream {
	st := e.streams[id]
	if st == nil {
		panic(fmt.Sprintf("emulator: no HTTP context %d (InitializeHttpContext first)", id))
	}
	return st
}

// event applies an asynchronous effect (from a callout callback or a tick).
func (e *Emulator) event(st *stream, ev host.Event) {
	switch ev.Kind {
	case host.EventResume:
		st.action = types.ActionContinue
		e.apply(st, ev.Dir, st.s.Resume(ev.Dir), nil)
	case host.EventLocalReply:
		st.local = localResponse(ev.Reply)
	case host.EventInject:
		st.respBody = append(st.respBody, ev.Data...)
	}
}

// apply records what a Result releases and returns the plugin's action.
// chunk is the body chunk of a body call: while the engine holds the
// direction it is kept here as it arrived (the plugin's changes show when
// the engine releases the body).
func (e *Emulator) apply(st *stream, dir host.Direction, r host.Result, chunk []byte) types.Action {
	body, held := &st.reqBody, &st.reqHeld
	if dir == host.Response {
		body, held = &st.respBody, &st.respHeld
	}
	switch {
	case r.Body != nil:
		*body = append([]byte(nil), r.Body...)
	case chunk != nil && r.Action == host.ActionStop:
		if !*held {
			*body = nil
		}
		*body = append(*body, chunk...)
	}
	*held = r.Action == host.ActionStop
	switch r.Action {
	case host.ActionLocalReply:
		st.local = localResponse(r.LocalReply)
		return types.ActionPause
	case host.ActionReset:
		return types.ActionPause
	}
	return types.Action(st.s.LastCallbackResult())
}

func (e *Emulator) call(id uint32, f func(st *stream) types.Action) types.Action {
	st := e.stream(id)
	e.owner = id
	a := f(st)
	e.owner = proxytest.PluginContextID
	st.action = a
	return a
}

func (e *Emulator) CallOnRequestHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action {
	return e.call(contextID, func(st *stream) types.Action {
		if st.reqHeaders == nil {
			st.reqHeaders = headerMap(headers)
		}
		return e.apply(st, host.Request, st.s.RequestHeaders(st.reqHeaders, endOfStream), nil)
	})
}

func (e *Emulator) CallOnRequestBody(contextID uint32, body []byte, endOfStream bool) types.Action {
	return e.call(contextID, func(st *stream) types.Action {
		return e.apply(st, host.Request, st.s.RequestBody(body, endOfStream), body)
	})
}

func (e *Emulator) CallOnRequestTrailers(contextID uint32, trailers [][2]string) types.Action {
	return e.call(contextID, func(st *stream) types.Action {
		st.reqTrailers = headerMap(trailers)
		return e.apply(st, host.Request, st.s.RequestTrailers(st.reqTrailers), nil)
	})
}

func (e *Emulator) CallOnResponseHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action {
	return e.call(contextID, func(st *stream) types.Action {
		st.respHeaders = headerMap(headers)
		return e.apply(st, host.Response, st.s.ResponseHeaders(st.respHeaders, endOfStream), nil)
	})
}

func (e *Emulator) CallOnResponseBody(contextID uint32, body []byte, endOfStream bool) types.Action {
	return e.call(contextID, func(st *stream) types.Action {
		return e.apply(st, host.Response, st.s.ResponseBody(body, endOfStream), body)
	})
}

func (e *Emulator) CallOnResponseTrailers(contextID uint32, trailers [][2]string) types.Action {
	return e.call(contextID, func(st *stream) types.Action {
		st.respTrailer = headerMap(trailers)
		return e.apply(st, host.Response, st.s.ResponseTrailers(st.respTrailer), nil)
	})
}

func (e *Emulator) CompleteHttpContext(contextID uint32) {
	st := e.streams[contextID]
	if st == nil {
		return
	}
	e.owner = contextID
	st.s.Done()
	e.owner = proxytest.PluginContextID
}

func (e *Emulator) GetCurrentHttpStreamAction(contextID uint32) types.Action {
	return e.stream(contextID).action
}

func (e *Emulator) GetCurrentRequestHeaders(contextID uint32) [][2]string {
	return fieldsOf(e.stream(contextID).reqHeaders)
}

func (e *Emulator) GetCurrentResponseHeaders(contextID uint32) [][2]string {
	return fieldsOf(e.stream(contextID).respHeaders)
}

func (e *Emulator) GetCurrentRequestBody(contextID uint32) []byte {
	return e.stream(contextID).reqBody
}

func (e *Emulator) GetCurrentResponseBody(contextID uint32) []byte {
	return e.stream(contextID).respBody
}

func (e *Emulator) GetSentLocalResponse(contextID uint32) *proxytest.LocalHttpResponse {
	return e.stream(contextID).local
}

// SetHttpRequestHeaders sets the request headers the next
// CallOnRequestHeaders delivers.
func (e *Emulator) SetHttpRequestHeaders(contextID uint32, headers [][2]string) {
	e.stream(contextID).reqHeaders = headerMap(headers)
}

// ---- helpers ----

func headerMap(hs [][2]string) *host.HeaderMap {
	h := &host.HeaderMap{}
	for _, p := range hs {
		h.Add(p[0], p[1])
	}
	return h
}

func fieldsOf(h *host.HeaderMap) [][2]string {
	if h == nil {
		return nil
	}
	out := make([][2]string, 0, len(h.Fields))
	for _, f := range h.Fields {
		out = append(out, [2]string{f.Key, f.Value})
	}
	return out
}

func localResponse(r *host.LocalReply) *proxytest.LocalHttpResponse {
	if r == nil {
		return nil
	}
	var hs [][2]string
	for _, p := range fieldsOf(r.Headers) {
		if p[0] != ":status" {
			hs = append(hs, p)
		}
	}
	return &proxytest.LocalHttpResponse{StatusCode: uint32(r.StatusCode), StatusCodeDetail: r.Details,
		Data: append([]byte(nil), r.Body...), Headers: hs, GRPCStatus: int32(r.GRPCStatus)}
}

// heldClock is the real time whose timers never fire: callouts wait for
// the test, and ticks run when the test calls Tick.
type heldClock struct{}

func (heldClock) Now() time.Time  { return time.Now() }
func (heldClock) Nanotime() int64 { return host.SystemClock{}.Nanotime() }
func (heldClock) AfterFunc(time.Duration, func()) host.Timer {
	return heldTimer{}
}

type heldTimer struct{}

func (heldTimer) Stop() bool { return true }

// logHandler records the plugin's logs by level.
type logHandler struct{ e *Emulator }

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logHandler) WithGroup(string) slog.Handler            { return h }
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	l := types.LogLevelCritical
	switch {
	case r.Level <= host.LevelTrace:
		l = types.LogLevelTrace
	case r.Level <= slog.LevelDebug:
		l = types.LogLevelDebug
	case r.Level <= slog.LevelInfo:
		l = types.LogLevelInfo
	case r.Level <= slog.LevelWarn:
		l = types.LogLevelWarn
	case r.Level <= slog.LevelError:
		l = types.LogLevelError
	}
	h.e.record(l, r.Message)
	return nil
}

var _ proxytest.HostEmulator = (*Emulator)(nil)
