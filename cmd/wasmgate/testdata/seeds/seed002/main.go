// Written the way seed 002 writes plugins (wrapper.Log, Redis through a
// DnsCluster), as written for Higress (TinyGo era: registration in main()).
package main

import (
	"github.com/alibaba/higress/plugins/wasm-go/pkg/wrapper"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
	"github.com/tidwall/resp"
)

func main() {
	wrapper.SetCtx("my-plugin", wrapper.ParseConfigBy(parseConfig), wrapper.ProcessRequestHeadersBy(onHttpRequestHeaders))
}

type MyPluginConfig struct {
	SomeField   string
	RedisClient wrapper.RedisClient
}

func parseConfig(json gjson.Result, config *MyPluginConfig, log wrapper.Log) error {
	config.SomeField = json.Get("some_field").String()
	log.Infof("my-plugin: config parsed, some_field=%s", config.SomeField)
	serviceName := json.Get("redis.service_name").String()
	config.RedisClient = wrapper.NewRedisClusterClient(wrapper.DnsCluster{
		ServiceName: serviceName,
		Domain:      serviceName,
		Port:        json.Get("redis.service_port").Int(),
	})
	config.RedisClient.Init(json.Get("redis.username").String(), json.Get("redis.password").String(), json.Get("redis.timeout").Int())
	return nil
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config MyPluginConfig, log wrapper.Log) types.Action {
	value, _ := proxywasm.GetHttpRequestHeader("x-user-id")
	log.Infof("my-plugin: user=%s", value)
	proxywasm.ReplaceHttpRequestHeader("x-custom-header", config.SomeField)
	err := config.RedisClient.Get("some_key", func(status int, response resp.Value) {
		log.Infof("got value: %s", response.String())
		proxywasm.ResumeHttpRequest()
	})
	if err != nil {
		return types.ActionContinue
	}
	return types.ActionPause
}
