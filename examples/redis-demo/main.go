// Command redis-demo limits each client to qpm requests per minute with a
// counter in Redis (INCR on the current minute, EXPIRE after 60 s).
package main

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/resp"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("redis-demo",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
		wrapper.ProcessResponseHeaders(onHttpResponseHeaders),
	)
}

// Config is the plugin configuration.
type Config struct {
	client wrapper.RedisClient
	qpm    int
}

func parseConfig(json gjson.Result, config *Config) error {
	serviceName := json.Get("serviceName").String()
	if serviceName == "" {
		return errors.New("missing serviceName in config")
	}
	servicePort := json.Get("servicePort").Int()
	if servicePort == 0 {
		servicePort = 6379
		if strings.HasSuffix(serviceName, ".static") {
			servicePort = 80 // the logical port of a static service
		}
	}
	timeout := json.Get("timeout").Int()
	if timeout == 0 {
		timeout = 1000
	}
	config.qpm = int(json.Get("qpm").Int())
	if config.qpm <= 0 {
		return errors.New("qpm must be a positive number")
	}
	config.client = wrapper.NewRedisClusterClient(wrapper.FQDNCluster{FQDN: serviceName, Port: servicePort})
	return config.client.Init(json.Get("username").String(), json.Get("password").String(), timeout)
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config Config) types.Action {
	window := strconv.FormatInt(time.Now().Truncate(time.Minute).Unix(), 10)
	err := config.client.Incr(window, func(response resp.Value) {
		if err := response.Error(); err != nil {
			// Redis is unavailable: fail open.
			log.Errorf("redis incr failed, request passes: %v", err)
			_ = proxywasm.ResumeHttpRequest()
			return
		}
		count := response.Integer()
		ctx.SetContext("timeStamp", window)
		ctx.SetContext("callTimeLeft", strconv.Itoa(config.qpm-count))
		switch {
		case count == 1:
			// First request of this minute: let the counter expire with it.
			err := config.client.Expire(window, 60, func(response resp.Value) {
				if err := response.Error(); err != nil {
					log.Errorf("redis expire failed: %v", err)
				}
				_ = proxywasm.ResumeHttpRequest()
			})
			if err != nil {
				log.Errorf("redis expire failed: %v", err)
				_ = proxywasm.ResumeHttpRequest()
			}
		case count > config.qpm:
			// The local reply carries the headers itself; the response
			// handler must not add them a second time.
			ctx.SetContext("limited", true)
			_ = proxywasm.SendHttpResponse(429, [][2]string{{"timeStamp", window}, {"callTimeLeft", "0"}},
				[]byte("Too many requests\n"), -1)
		default:
			_ = proxywasm.ResumeHttpRequest()
		}
	})
	if err != nil {
		log.Errorf("redis call failed, request passes: %v", err)
		return types.HeaderContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}

func onHttpResponseHeaders(ctx wrapper.HttpContext, config Config) types.Action {
	if ctx.GetBoolContext("limited", false) {
		return types.HeaderContinue
	}
	if v, ok := ctx.GetContext("timeStamp").(string); ok {
		_ = proxywasm.AddHttpResponseHeader("timeStamp", v)
	}
	if v, ok := ctx.GetContext("callTimeLeft").(string); ok {
		_ = proxywasm.AddHttpResponseHeader("callTimeLeft", v)
	}
	return types.HeaderContinue
}
