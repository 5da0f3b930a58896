// Command traced is a test plugin for request traces. Its configuration
// names what it does:
//
//	headers  adds x-traced, replaces authorization, removes x-drop, sets the
//	         property trace_mark and logs "headers done"
//	callout  holds the request headers for an HTTP call to the cluster
//	         "outbound|80||auth.static" (GET /auth), then adds
//	         x-auth-status with the answer's status and resumes
//	redis    holds the request headers for INCR trace-hits on the cluster
//	         "outbound|6379||redis.static", then adds x-hits and resumes
//	body     buffers the request body and replaces it with its upper case
//	final    answers /anything/reply with a local 418 and traps (panics)
//	         on /anything/trap
//	tick     holds every request until the next tick (every 20 ms), which
//	         resumes it
//	spin     loops forever in the request headers of /anything/spin
//	reroute  changes the path to /anything/rerouted
package main

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func main() {}

const (
	authCluster  = "outbound|80||auth.static"
	redisCluster = "outbound|6379||redis.static"
)

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &plugin{} })
}

type plugin struct {
	types.DefaultPluginContext
	mode string
}

// held are the streams waiting for the next tick (mode tick).
var held []uint32

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, _ := proxywasm.GetPluginConfiguration()
	p.mode = strings.TrimSpace(string(cfg))
	if p.mode == "tick" {
		_ = proxywasm.SetTickPeriodMilliSeconds(20)
	}
	if p.mode == "redis" {
		if err := proxywasm.RedisInit(redisCluster, "", "", 2000); err != nil {
			proxywasm.LogCritical("redis init: " + err.Error())
			return types.OnPluginStartStatusFailed
		}
	}
	return types.OnPluginStartStatusOK
}

func (p *plugin) OnTick() {
	for _, id := range held {
		if proxywasm.SetEffectiveContext(id) == nil {
			_ = proxywasm.ResumeHttpRequest()
		}
	}
	held = held[:0]
}

func (p *plugin) NewHttpContext(id uint32) types.HttpContext { return &stream{mode: p.mode, id: id} }

type stream struct {
	types.DefaultHttpContext
	mode string
	id   uint32
}

func (s *stream) OnHttpRequestHeaders(_ int, endOfStream bool) types.Action {
	switch s.mode {
	case "headers":
		_ = proxywasm.AddHttpRequestHeader("x-traced", "yes")
		_ = proxywasm.ReplaceHttpRequestHeader("authorization", "Bearer replaced-secret")
		_ = proxywasm.RemoveHttpRequestHeader("x-drop")
		_ = proxywasm.SetProperty([]string{"trace_mark"}, []byte("marked"))
		proxywasm.LogInfo("headers done")
	case "callout":
		_, err := proxywasm.DispatchHttpCall(authCluster,
			[][2]string{{":method", "GET"}, {":path", "/auth"}, {":authority", "auth.local"}}, nil, nil, 5000,
			func(int, int, int) {
				h, _ := proxywasm.GetHttpCallResponseHeaders()
				status := ""
				for _, kv := range h {
					if kv[0] == ":status" {
						status = kv[1]
					}
				}
				_ = proxywasm.AddHttpRequestHeader("x-auth-status", status)
				_ = proxywasm.ResumeHttpRequest()
			})
		if err != nil {
			proxywasm.LogError("callout: " + err.Error())
			return types.ActionContinue
		}
		return types.HeaderStopAllIterationAndWatermark
	case "redis":
		q := []byte("*2\r\n$4\r\nINCR\r\n$10\r\ntrace-hits\r\n")
		_, err := proxywasm.DispatchRedisCall(redisCluster, q, func(status, size int) {
			reply, _ := proxywasm.GetRedisCallResponse(0, size)
			n := strings.TrimPrefix(strings.TrimSpace(string(reply)), ":")
			if _, err := strconv.Atoi(n); err == nil {
				_ = proxywasm.AddHttpRequestHeader("x-hits", n)
			}
			_ = proxywasm.ResumeHttpRequest()
		})
		if err != nil {
			proxywasm.LogError("redis: " + err.Error())
			return types.ActionContinue
		}
		return types.HeaderStopAllIterationAndWatermark
	case "reroute":
		_ = proxywasm.ReplaceHttpRequestHeader(":path", "/anything/rerouted")
	case "tick":
		held = append(held, s.id)
		return types.HeaderStopIteration
	case "spin":
		if path, _ := proxywasm.GetHttpRequestHeader(":path"); path == "/anything/spin" {
			for n := 0; ; n++ {
				if n < 0 {
					break
				}
			}
		}
	case "body":
		_ = proxywasm.RemoveHttpRequestHeader("content-length")
	case "final":
		path, _ := proxywasm.GetHttpRequestHeader(":path")
		switch path {
		case "/anything/reply":
			_ = proxywasm.SendHttpResponseWithDetail(418, "traced_teapot", [][2]string{{"x-reply", "teapot"}}, []byte("short and stout"), -1)
			return types.HeaderStopIteration
		case "/anything/trap":
			panic("trap requested")
		}
	}
	return types.ActionContinue
}

func (s *stream) OnHttpRequestBody(_ int, endOfStream bool) types.Action {
	if s.mode != "body" {
		return types.DataContinue
	}
	if !endOfStream {
		return types.DataStopIterationAndBuffer
	}
	body, _ := proxywasm.GetHttpRequestBody(0, 1<<20)
	_ = proxywasm.ReplaceHttpRequestBody(bytes.ToUpper(body))
	return types.DataContinue
}
