// Command probe is the test plugin of plugintest's own tests, written on
// the raw proxywasm API so it controls every callback's result. Requests
// choose its behaviour with headers:
//
//	x-probe: deny | call | redis | pause | wait-tick | panic | reset | shared | log
//	x-body: upper | deny | stream   (request body handling)
//	x-resp: deny | call | upper     (response handling)
//
// Without x-probe it adds "x-probe-seen: 1" and copies what it reads into
// request headers: the route, cluster, source address, an environment
// variable and a plugin-level property.
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{waiting: map[uint32]bool{}}
}

type config struct {
	Cluster string `json:"cluster"`
	Redis   string `json:"redis"`
	// RedisUser, RedisPassword and RedisDB go to proxy_redis_init.
	RedisUser     string `json:"redis_user"`
	RedisPassword string `json:"redis_password"`
	RedisDB       int    `json:"redis_db"`
	TickMs        uint32 `json:"tick_ms"`
	Reject        bool   `json:"reject"`
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg      config
	requests proxywasm.MetricCounter
	ticks    proxywasm.MetricCounter
	inflight proxywasm.MetricGauge
	sizes    proxywasm.MetricHistogram
	waiting  map[uint32]bool
	nticks   int
}

func (p *pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	if size > 0 {
		b, err := proxywasm.GetPluginConfiguration()
		if err != nil {
			proxywasm.LogErrorf("read configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		if err := json.Unmarshal(b, &p.cfg); err != nil {
			proxywasm.LogErrorf("bad configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	if p.cfg.Reject {
		proxywasm.LogError("configuration rejected on purpose")
		return types.OnPluginStartStatusFailed
	}
	p.requests = proxywasm.DefineCounterMetric("probe_requests_total")
	p.ticks = proxywasm.DefineCounterMetric("probe_ticks_total")
	p.inflight = proxywasm.DefineGaugeMetric("probe_inflight")
	p.sizes = proxywasm.DefineHistogramMetric("probe_body_bytes")
	if p.cfg.TickMs > 0 {
		if err := proxywasm.SetTickPeriodMilliSeconds(p.cfg.TickMs); err != nil {
			proxywasm.LogErrorf("set tick: %v", err)
		}
	}
	if p.cfg.Redis != "" {
		cluster := p.cfg.Redis
		if p.cfg.RedisDB != 0 {
			cluster += "?db=" + strconv.Itoa(p.cfg.RedisDB)
		}
		if err := proxywasm.RedisInit(cluster, p.cfg.RedisUser, p.cfg.RedisPassword, 500); err != nil {
			proxywasm.LogWarnf("redis init: %v", err)
		}
	}
	// A counter in shared data: set it once so every update has a CAS value
	// (a CAS of 0 would overwrite unconditionally).
	if _, _, err := proxywasm.GetSharedData("hits"); err != nil {
		_ = proxywasm.SetSharedData("hits", []byte("0"), 0)
	}
	proxywasm.LogInfo("probe started")
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() {
	p.nticks++
	p.ticks.Increment(1)
	now, _ := proxywasm.GetCurrentTimeNanoseconds()
	proxywasm.LogInfof("tick %d at %d", p.nticks, now/1e6)
	for id := range p.waiting {
		delete(p.waiting, id)
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			continue
		}
		_ = proxywasm.ReplaceHttpRequestHeader("x-tick", strconv.Itoa(p.nticks))
		_ = proxywasm.ResumeHttpRequest()
	}
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	return &httpContext{p: p, id: id}
}

type httpContext struct {
	types.DefaultHttpContext
	p          *pluginContext
	id         uint32
	body, resp string
	bodyCalls  int
}

func (h *httpContext) OnHttpRequestHeaders(numHeaders int, endOfStream bool) types.Action {
	h.p.requests.Increment(1)
	h.p.inflight.Add(1)
	h.body, _ = proxywasm.GetHttpRequestHeader("x-body")
	h.resp, _ = proxywasm.GetHttpRequestHeader("x-resp")
	if h.body == "upper" {
		_ = proxywasm.RemoveHttpRequestHeader("content-length")
	}
	action, _ := proxywasm.GetHttpRequestHeader("x-probe")
	switch action {
	case "":
		h.describe()
		return types.HeaderContinue
	case "deny":
		_ = proxywasm.SendHttpResponseWithDetail(403, "probe_denied", [][2]string{{"x-denied", "yes"}}, []byte("denied"), -1)
		return types.HeaderStopIteration
	case "call":
		return h.call()
	case "redis":
		return h.redis()
	case "pause":
		return types.HeaderStopAllIterationAndWatermark
	case "wait-tick":
		h.p.waiting[h.id] = true
		return types.HeaderStopAllIterationAndWatermark
	case "panic":
		var m map[string]int
		m["boom"]++ // a nil map write: the module traps
		return types.HeaderContinue
	case "reset":
		_ = proxywasm.CloseHttpStream()
		return types.HeaderStopIteration
	case "shared":
		return h.shared()
	case "log":
		proxywasm.LogTrace("probe trace")
		proxywasm.LogDebug("probe debug")
		proxywasm.LogInfo("probe info")
		proxywasm.LogWarn("probe warn")
		proxywasm.LogError("probe error")
		proxywasm.LogCritical("probe critical")
		return types.HeaderContinue
	}
	proxywasm.LogWarnf("unknown x-probe %q", action)
	return types.HeaderContinue
}

// describe copies what the plugin reads into request headers.
func (h *httpContext) describe() {
	_ = proxywasm.AddHttpRequestHeader("x-probe-seen", "1")
	prop := func(path ...string) string {
		b, err := proxywasm.GetProperty(path)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	_ = proxywasm.AddHttpRequestHeader("x-route", prop("route_name"))
	_ = proxywasm.AddHttpRequestHeader("x-cluster", prop("cluster_name"))
	_ = proxywasm.AddHttpRequestHeader("x-source", prop("source", "address"))
	_ = proxywasm.AddHttpRequestHeader("x-req-path", prop("request", "path"))
	_ = proxywasm.AddHttpRequestHeader("x-req-id", prop("request", "id"))
	_ = proxywasm.AddHttpRequestHeader("x-node", prop("node", "id"))
	_ = proxywasm.AddHttpRequestHeader("x-plugin", prop("plugin_name"))
	_ = proxywasm.AddHttpRequestHeader("x-env", os.Getenv("PROBE_ENV"))
	now, _ := proxywasm.GetCurrentTimeNanoseconds()
	_ = proxywasm.AddHttpRequestHeader("x-now", strconv.FormatInt(now/1e9, 10))
}

func (h *httpContext) call() types.Action {
	timeout := uint32(1000)
	if v, err := proxywasm.GetHttpRequestHeader("x-timeout-ms"); err == nil {
		n, _ := strconv.Atoi(v)
		timeout = uint32(n)
	}
	id, _ := proxywasm.GetHttpRequestHeader("x-request-id")
	headers := [][2]string{{":method", "POST"}, {":path", "/check?id=" + id}, {":authority", "checker"}, {"x-probe-id", id}}
	_, err := proxywasm.DispatchHttpCall(h.p.cfg.Cluster, headers, []byte("who?"), nil, timeout, func(_, bodySize, _ int) {
		hs, _ := proxywasm.GetHttpCallResponseHeaders()
		status := ""
		for _, kv := range hs {
			if kv[0] == ":status" {
				status = kv[1]
			}
		}
		body, _ := proxywasm.GetHttpCallResponseBody(0, bodySize)
		if status != "200" {
			if status == "" {
				status = "reset"
			}
			_ = proxywasm.SendHttpResponse(502, nil, []byte("check failed: "+status), -1)
			return
		}
		_ = proxywasm.ReplaceHttpRequestHeader("x-check", string(body))
		_ = proxywasm.ResumeHttpRequest()
	})
	if err != nil {
		proxywasm.LogErrorf("dispatch to %q: %v", h.p.cfg.Cluster, err)
		return types.HeaderContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}

func (h *httpContext) redis() types.Action {
	key, _ := proxywasm.GetHttpRequestHeader("x-key")
	query := "*2\r\n$3\r\nGET\r\n$" + strconv.Itoa(len(key)) + "\r\n" + key + "\r\n"
	_, err := proxywasm.DispatchRedisCall(h.p.cfg.Redis, []byte(query), func(status, size int) {
		value := "failed"
		if status == 0 {
			b, _ := proxywasm.GetRedisCallResponse(0, size)
			value = redisText(b)
		}
		_ = proxywasm.ReplaceHttpRequestHeader("x-redis", value)
		_ = proxywasm.ResumeHttpRequest()
	})
	if err != nil {
		proxywasm.LogErrorf("redis call: %v", err)
		return types.HeaderContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}

// redisText renders a bulk string, integer or nil reply.
func redisText(b []byte) string {
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	switch {
	case len(line) == 0:
		return "empty"
	case string(line) == "$-1":
		return "nil"
	case line[0] == '$':
		v, _, _ := bytes.Cut(rest, []byte("\r\n"))
		return string(v)
	}
	return string(line)
}

func (h *httpContext) shared() types.Action {
	for i := 0; i < 1000; i++ {
		b, cas, err := proxywasm.GetSharedData("hits")
		if err != nil {
			break
		}
		n, _ := strconv.Atoi(string(b))
		n++
		if err := proxywasm.SetSharedData("hits", []byte(strconv.Itoa(n)), cas); err == nil {
			_ = proxywasm.AddHttpRequestHeader("x-hits", strconv.Itoa(n))
			return types.HeaderContinue
		}
	}
	_ = proxywasm.SendHttpResponse(500, nil, []byte("shared counter update failed"), -1)
	return types.HeaderStopIteration
}

func (h *httpContext) OnHttpRequestBody(size int, endOfStream bool) types.Action {
	h.bodyCalls++
	h.p.sizes.Record(uint64(size))
	switch h.body {
	case "upper":
		if !endOfStream {
			return types.DataStopIterationAndBuffer
		}
		b, _ := proxywasm.GetHttpRequestBody(0, size)
		_ = proxywasm.ReplaceHttpRequestBody(bytes.ToUpper(b))
	case "deny":
		if !endOfStream {
			return types.DataStopIterationAndBuffer
		}
		b, _ := proxywasm.GetHttpRequestBody(0, size)
		if bytes.Contains(b, []byte("forbidden")) {
			_ = proxywasm.SendHttpResponse(451, nil, []byte("body refused"), -1)
			return types.DataStopIterationNoBuffer
		}
	case "stream":
		b, _ := proxywasm.GetHttpRequestBody(0, size)
		_ = proxywasm.ReplaceHttpRequestBody(append([]byte("["), append(b, ']')...))
	}
	_ = proxywasm.SetProperty([]string{"probe", "body_calls"}, []byte(strconv.Itoa(h.bodyCalls)))
	return types.DataContinue
}

func (h *httpContext) OnHttpRequestTrailers(int) types.Action {
	_ = proxywasm.AddHttpRequestTrailer("x-probe-trailer", "seen")
	return types.TrailerContinue
}

func (h *httpContext) OnHttpResponseHeaders(numHeaders int, endOfStream bool) types.Action {
	status, _ := proxywasm.GetHttpResponseHeader(":status")
	_ = proxywasm.AddHttpResponseHeader("x-probe-resp", status)
	details, _ := proxywasm.GetProperty([]string{"response", "code_details"})
	_ = proxywasm.AddHttpResponseHeader("x-probe-details", string(details))
	switch h.resp {
	case "deny":
		_ = proxywasm.SendHttpResponse(503, [][2]string{{"x-replaced", "yes"}}, []byte("upstream refused"), -1)
		return types.HeaderStopIteration
	case "upper":
		_ = proxywasm.RemoveHttpResponseHeader("content-length")
	case "call":
		_, err := proxywasm.DispatchHttpCall(h.p.cfg.Cluster, [][2]string{{":method", "GET"}, {":path", "/late"}, {":authority", "checker"}}, nil, nil, 1000,
			func(_, bodySize, _ int) {
				body, _ := proxywasm.GetHttpCallResponseBody(0, bodySize)
				_ = proxywasm.AddHttpResponseHeader("x-resp-check", string(body))
				_ = proxywasm.ResumeHttpResponse()
			})
		if err != nil {
			proxywasm.LogErrorf("response call: %v", err)
			return types.HeaderContinue
		}
		return types.HeaderStopAllIterationAndWatermark
	}
	return types.HeaderContinue
}

func (h *httpContext) OnHttpResponseBody(size int, endOfStream bool) types.Action {
	if h.resp != "upper" {
		return types.DataContinue
	}
	if !endOfStream {
		return types.DataStopIterationAndBuffer
	}
	b, _ := proxywasm.GetHttpResponseBody(0, size)
	_ = proxywasm.ReplaceHttpResponseBody(bytes.ToUpper(b))
	return types.DataContinue
}

func (h *httpContext) OnHttpResponseTrailers(int) types.Action {
	_ = proxywasm.AddHttpResponseTrailer("x-probe-trailer", "seen")
	return types.TrailerContinue
}

func (h *httpContext) OnHttpStreamDone() {
	h.p.inflight.Add(-1)
	code, err := proxywasm.GetProperty([]string{"response", "code"})
	status := "none"
	if err == nil && len(code) == 8 {
		n := int64(0)
		for i := 7; i >= 0; i-- {
			n = n<<8 | int64(code[i])
		}
		status = strconv.FormatInt(n, 10)
	}
	_ = proxywasm.SetProperty([]string{"probe", "logged"}, []byte(status))
	proxywasm.LogInfo("done " + strings.TrimSpace(status))
}
