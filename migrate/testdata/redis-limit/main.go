// A TinyGo-era Redis rate limit: per client IP and minute.
package main

import (
	"strconv"
	"time"

	_ "github.com/higress-group/nottinygc"

	"github.com/alibaba/higress/plugins/wasm-go/pkg/wrapper"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
	"github.com/tidwall/resp"
)

func main() {
	wrapper.SetCtx("redis-limit",
		wrapper.ParseConfigBy(parseConfig),
		wrapper.ProcessRequestHeadersBy(onRequestHeaders),
		wrapper.ProcessRequestBodyBy(onRequestBody),
		wrapper.ProcessResponseHeadersBy(onResponseHeaders))
}

//export sched_yield
func sched_yield() int32 { return 0 }

type LimitConfig struct {
	redis  wrapper.RedisClient
	limit  int
	header string
}

func parseConfig(json gjson.Result, config *LimitConfig, log wrapper.Log) error {
	config.limit = int(json.Get("limit").Int())
	config.header = json.Get("header").String()
	config.redis = wrapper.NewRedisClusterClient(wrapper.FQDNCluster{
		FQDN: json.Get("serviceName").String(),
		Port: json.Get("servicePort").Int(),
	})
	return config.redis.Init("", json.Get("password").String(), 1000)
}

func onRequestHeaders(ctx wrapper.HttpContext, config LimitConfig, log wrapper.Log) types.Action {
	ip, _ := proxywasm.GetHttpRequestHeader("x-real-ip")
	key := ip + ":" + strconv.FormatInt(time.Now().Unix()/60, 10)
	if err := config.redis.Incr(key, func(status int, response resp.Value) {
		if status != 0 {
			log.Errorf("redis status %d", status)
			proxywasm.ResumeHttpRequest()
			return
		}
		n := response.Integer()
		ctx.SetContext("left", strconv.Itoa(config.limit-n))
		if n == 1 {
			config.redis.Expire(key, 60, func(status int, response resp.Value) {})
		}
		if n > config.limit {
			proxywasm.SendHttpResponse(429, nil, []byte("slow down"), -1)
			return
		}
		proxywasm.ResumeHttpRequest()
	}); err != nil {
		return types.ActionContinue
	}
	return types.ActionPause
}

// onRequestBody buffers the body: ActionPause is right here.
func onRequestBody(ctx wrapper.HttpContext, config LimitConfig, body []byte, log wrapper.Log) types.Action {
	if len(body) > 1<<20 {
		return types.ActionPause
	}
	return types.ActionContinue
}

func onResponseHeaders(ctx wrapper.HttpContext, config LimitConfig, log wrapper.Log) types.Action {
	if left, ok := ctx.GetContext("left").(string); ok {
		proxywasm.AddHttpResponseHeader(config.header, left)
	}
	return types.ActionContinue
}
