// Written the way seed 001 (TinyGo-era alibaba/higress wrapper) writes plugins,
// as written for Higress (TinyGo era: registration in main()).
package main

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/alibaba/higress/plugins/wasm-go/pkg/wrapper"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
	"github.com/tidwall/resp"
)

func main() {
	wrapper.SetCtx("http-call", wrapper.ParseConfigBy(parseConfig), wrapper.ProcessRequestHeadersBy(onHttpRequestHeaders))
	wrapper.SetCtx("redis-demo", wrapper.ParseConfigBy(parseRedis), wrapper.ProcessRequestHeadersBy(onRedis),
		wrapper.ProcessResponseHeadersBy(onRedisResponse))
}

type MyConfig struct {
	client      wrapper.HttpClient
	requestPath string
	tokenHeader string
}

func parseConfig(json gjson.Result, config *MyConfig, log wrapper.Log) error {
	config.tokenHeader = json.Get("tokenHeader").String()
	config.requestPath = json.Get("requestPath").String()
	serviceSource := json.Get("serviceSource").String()
	serviceName := json.Get("serviceName").String()
	servicePort := json.Get("servicePort").Int()
	if serviceName == "" || servicePort == 0 {
		return errors.New("invalid service config")
	}
	switch serviceSource {
	case "k8s":
		config.client = wrapper.NewClusterClient(wrapper.K8sCluster{ServiceName: serviceName, Namespace: json.Get("namespace").String(), Port: servicePort})
		return nil
	case "nacos":
		config.client = wrapper.NewClusterClient(wrapper.NacosCluster{ServiceName: serviceName, NamespaceID: json.Get("namespace").String(), Port: servicePort})
		return nil
	case "ip":
		config.client = wrapper.NewClusterClient(wrapper.StaticIpCluster{ServiceName: serviceName, Port: servicePort})
		return nil
	case "dns":
		config.client = wrapper.NewClusterClient(wrapper.DnsCluster{ServiceName: serviceName, Port: servicePort, Domain: json.Get("domain").String()})
		return nil
	default:
		return errors.New("unknown service source: " + serviceSource)
	}
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config MyConfig, log wrapper.Log) types.Action {
	config.client.Get(config.requestPath, nil,
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
	return types.ActionPause
}

type RedisCallConfig struct {
	client wrapper.RedisClient
	qpm    int
}

func parseRedis(json gjson.Result, config *RedisCallConfig, log wrapper.Log) error {
	config.qpm = int(json.Get("qpm").Int())
	config.client = wrapper.NewRedisClusterClient(wrapper.DnsCluster{
		ServiceName: json.Get("serviceName").String(),
		Port:        json.Get("servicePort").Int(),
		Domain:      json.Get("domain").String(),
	})
	return config.client.Init(json.Get("username").String(), json.Get("password").String(), json.Get("timeout").Int())
}

func onRedis(ctx wrapper.HttpContext, config RedisCallConfig, log wrapper.Log) types.Action {
	now := time.Now()
	minuteAligned := now.Truncate(time.Minute)
	timeStamp := strconv.FormatInt(minuteAligned.Unix(), 10)
	config.client.Incr(timeStamp, func(status int, response resp.Value) {
		if status != 0 {
			log.Errorf("Error occured while calling redis")
			proxywasm.SendHttpResponse(430, nil, []byte("Error while calling redis"), -1)
		} else {
			ctx.SetContext("timeStamp", timeStamp)
			ctx.SetContext("CallTimeLeft", strconv.Itoa(config.qpm-response.Integer()))
			if response.Integer() == 1 {
				config.client.Expire(timeStamp, 60, func(status int, response resp.Value) {
					if status != 0 {
						log.Errorf("Error occured while calling redis")
					}
					proxywasm.ResumeHttpRequest()
				})
			} else if response.Integer() > config.qpm {
				proxywasm.SendHttpResponse(429, [][2]string{{"timeStamp", timeStamp}, {"CallTimeLeft", "0"}}, []byte("Too many requests"), -1)
			} else {
				proxywasm.ResumeHttpRequest()
			}
		}
	})
	return types.ActionPause
}

func onRedisResponse(ctx wrapper.HttpContext, config RedisCallConfig, log wrapper.Log) types.Action {
	if ctx.GetContext("timeStamp") != nil {
		proxywasm.AddHttpResponseHeader("timeStamp", ctx.GetContext("timeStamp").(string))
	}
	return types.ActionContinue
}
