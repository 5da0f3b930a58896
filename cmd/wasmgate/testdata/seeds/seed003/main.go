// Written the way seed 003 writes plugins (wrapper.Log with the Go 1.24
// layout), as written for Higress.
package main

import (
	"net/http"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	logs "github.com/higress-group/wasm-go/pkg/log"
	"github.com/higress-group/wasm-go/pkg/wrapper"
	"github.com/tidwall/gjson"
)

func main() {}

func init() {
	wrapper.SetCtx("my-plugin",
		wrapper.ParseConfigBy(parseConfig),
		wrapper.ProcessRequestHeadersBy(onHttpRequestHeaders),
	)
	wrapper.SetCtx("redis", wrapper.ParseConfigBy(parseRedis), wrapper.ProcessRequestHeadersBy(onAuth))
}

type MyConfig struct {
	mockEnable bool
	content    string
	client     wrapper.HttpClient
}

func parseConfig(json gjson.Result, config *MyConfig, log wrapper.Log) error {
	config.mockEnable = json.Get("mockEnable").Bool()
	config.content = json.Get("content").String()
	return nil
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config MyConfig, log wrapper.Log) types.Action {
	proxywasm.AddHttpRequestHeader("X-Custom-Header", "higress-plugin")
	if config.mockEnable {
		proxywasm.SendHttpResponse(200, nil, []byte(config.content), -1)
	}
	return types.HeaderContinue
}

type RedisConfig struct {
	client wrapper.RedisClient
	auth   wrapper.HttpClient
}

func parseRedis(json gjson.Result, config *RedisConfig, log logs.Log) error {
	serviceName := json.Get("serviceName").String()
	servicePort := json.Get("servicePort").Int()
	config.client = wrapper.NewRedisClusterClient(wrapper.FQDNCluster{FQDN: serviceName, Port: servicePort})
	config.auth = wrapper.NewClusterClient(wrapper.FQDNCluster{FQDN: "auth.dns", Port: 80})
	return config.client.Init("", "", 1000)
}

func onAuth(ctx wrapper.HttpContext, config RedisConfig, log logs.Log) types.Action {
	err := config.auth.Get("/api/auth", nil,
		func(statusCode int, responseHeaders http.Header, responseBody []byte) {
			if statusCode != http.StatusOK {
				proxywasm.SendHttpResponse(http.StatusUnauthorized, nil, []byte("Unauthorized"), -1)
				return
			}
			proxywasm.ResumeHttpRequest()
		})
	if err != nil {
		return types.HeaderContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}
