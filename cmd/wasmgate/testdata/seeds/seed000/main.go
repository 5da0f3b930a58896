// Written the way seed 000 (Go 1.24, higress-group/wasm-go) writes plugins,
// as written for Higress.
package main

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	logs "github.com/higress-group/wasm-go/pkg/log"
	"github.com/higress-group/wasm-go/pkg/wrapper"
	"github.com/tidwall/gjson"
	"github.com/tidwall/resp"
)

func main() {}

func init() {
	wrapper.SetCtx("my-plugin", wrapper.ParseConfigBy(parseConfig), wrapper.ProcessRequestHeadersBy(onHttpRequestHeaders))
	wrapper.SetCtx("hello-world", wrapper.ProcessRequestHeadersBy(onHello))
	wrapper.SetCtx("http-call", wrapper.ParseConfigBy(parseHTTPConfig), wrapper.ProcessRequestHeadersBy(onHTTP))
	wrapper.SetCtx("redis-demo", wrapper.ParseConfigBy(parseRedisConfig),
		wrapper.ProcessRequestHeadersBy(onRedis), wrapper.ProcessResponseHeadersBy(onRedisResponse))
}

type MyConfig struct{ mockEnable bool }

func parseConfig(json gjson.Result, config *MyConfig, log logs.Log) error {
	config.mockEnable = json.Get("mockEnable").Bool()
	return nil
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config MyConfig, log logs.Log) types.Action {
	proxywasm.AddHttpRequestHeader("hello", "world")
	if config.mockEnable {
		proxywasm.SendHttpResponse(200, nil, []byte("hello world"), -1)
	}
	return types.HeaderContinue
}

type Empty struct{}

func onHello(ctx wrapper.HttpContext, config Empty, log logs.Log) types.Action {
	proxywasm.SendHttpResponse(200, nil, []byte("hello world"), -1)
	return types.HeaderContinue
}

type HTTPConfig struct {
	client      wrapper.HttpClient
	requestPath string
	tokenHeader string
}

func parseHTTPConfig(json gjson.Result, config *HTTPConfig, log logs.Log) error {
	config.tokenHeader = json.Get("tokenHeader").String()
	if config.tokenHeader == "" {
		return errors.New("missing tokenHeader in config")
	}
	config.requestPath = json.Get("requestPath").String()
	serviceName := json.Get("serviceName").String()
	servicePort := json.Get("servicePort").Int()
	if servicePort == 0 && strings.HasSuffix(serviceName, ".static") {
		servicePort = 80
	}
	config.client = wrapper.NewClusterClient(wrapper.FQDNCluster{FQDN: serviceName, Port: servicePort})
	return nil
}

func onHTTP(ctx wrapper.HttpContext, config HTTPConfig, log logs.Log) types.Action {
	err := config.client.Get(config.requestPath, nil,
		func(statusCode int, responseHeaders http.Header, responseBody []byte) {
			if statusCode != http.StatusOK {
				log.Errorf("http call failed, status: %d", statusCode)
				proxywasm.SendHttpResponse(http.StatusInternalServerError, nil, []byte("http call failed"), -1)
				return
			}
			log.Infof("get status: %d, response body: %s", statusCode, responseBody)
			token := responseHeaders.Get(config.tokenHeader)
			if token != "" {
				proxywasm.AddHttpRequestHeader(config.tokenHeader, token)
			}
			proxywasm.ResumeHttpRequest()
		})
	if err != nil {
		log.Errorf("Error occured while calling http, it seems cannot find the service cluster.")
		return types.ActionContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}

type RedisCallConfig struct {
	client wrapper.RedisClient
	qpm    int
}

func parseRedisConfig(json gjson.Result, config *RedisCallConfig, log logs.Log) error {
	serviceName := json.Get("serviceName").String()
	servicePort := json.Get("servicePort").Int()
	if servicePort == 0 {
		if strings.HasSuffix(serviceName, ".static") {
			servicePort = 80
		} else {
			servicePort = 6379
		}
	}
	username := json.Get("username").String()
	password := json.Get("password").String()
	timeout := json.Get("timeout").Int()
	if timeout == 0 {
		timeout = 1000
	}
	config.qpm = int(json.Get("qpm").Int())
	config.client = wrapper.NewRedisClusterClient(wrapper.FQDNCluster{FQDN: serviceName, Port: servicePort})
	return config.client.Init(username, password, timeout)
}

func onRedis(ctx wrapper.HttpContext, config RedisCallConfig, log logs.Log) types.Action {
	now := time.Now()
	minuteAligned := now.Truncate(time.Minute)
	timeStamp := strconv.FormatInt(minuteAligned.Unix(), 10)
	err := config.client.Incr(timeStamp, func(response resp.Value) {
		if response.Error() != nil {
			log.Errorf("call redis error: %v", response.Error())
			proxywasm.ResumeHttpRequest()
		} else {
			ctx.SetContext("timeStamp", timeStamp)
			ctx.SetContext("callTimeLeft", strconv.Itoa(config.qpm-response.Integer()))
			if response.Integer() == 1 {
				err := config.client.Expire(timeStamp, 60, func(response resp.Value) {
					if response.Error() != nil {
						log.Errorf("call redis error: %v", response.Error())
					}
					proxywasm.ResumeHttpRequest()
				})
				if err != nil {
					proxywasm.ResumeHttpRequest()
				}
			} else if response.Integer() > config.qpm {
				proxywasm.SendHttpResponse(429, [][2]string{{"timeStamp", timeStamp}, {"callTimeLeft", "0"}}, []byte("Too many requests\n"), -1)
			} else {
				proxywasm.ResumeHttpRequest()
			}
		}
	})
	if err != nil {
		return types.HeaderContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}

func onRedisResponse(ctx wrapper.HttpContext, config RedisCallConfig, log logs.Log) types.Action {
	if ctx.GetContext("timeStamp") != nil {
		proxywasm.AddHttpResponseHeader("timeStamp", ctx.GetContext("timeStamp").(string))
	}
	if ctx.GetContext("callTimeLeft") != nil {
		proxywasm.AddHttpResponseHeader("callTimeLeft", ctx.GetContext("callTimeLeft").(string))
	}
	return types.HeaderContinue
}
