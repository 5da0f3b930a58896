// A TinyGo-era plugin in the style of the alibaba/higress wrapper: it asks
// an auth service for a user id and forwards it upstream.
package main

import (
	"errors"
	"net/http"

	"github.com/alibaba/higress/plugins/wasm-go/pkg/wrapper"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
)

func main() {
	// Registered when TinyGo runs main.
	wrapper.SetCtx(
		"user-lookup",
		wrapper.ParseConfigBy(parseConfig),
		wrapper.ProcessRequestHeadersBy(onHttpRequestHeaders),
		wrapper.ProcessResponseHeadersBy(onHttpResponseHeaders),
	)
}

type LookupConfig struct {
	client     wrapper.HttpClient
	lookupPath string
	idHeader   string
}

func parseConfig(json gjson.Result, config *LookupConfig, log wrapper.Log) error {
	config.lookupPath = json.Get("lookupPath").String()
	config.idHeader = json.Get("idHeader").String()
	if config.lookupPath == "" || config.idHeader == "" {
		return errors.New("lookupPath and idHeader are required")
	}
	name := json.Get("serviceName").String()
	port := json.Get("servicePort").Int()
	switch json.Get("serviceSource").String() {
	case "k8s":
		config.client = wrapper.NewClusterClient(wrapper.K8sCluster{
			ServiceName: name,
			Namespace:   json.Get("namespace").String(),
			Port:        port,
		})
	case "dns":
		config.client = wrapper.NewClusterClient(wrapper.DnsCluster{
			ServiceName: name,
			Port:        port,
			Domain:      json.Get("domain").String(),
		})
	default:
		return errors.New("serviceSource must be k8s or dns")
	}
	return nil
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config LookupConfig, log wrapper.Log) types.Action {
	auth, _ := proxywasm.GetHttpRequestHeader("authorization")
	if auth == "" {
		proxywasm.SendHttpResponse(401, nil, []byte("missing authorization"), -1)
		return types.ActionContinue
	}
	config.client.Get(config.lookupPath, [][2]string{{"authorization", auth}},
		func(statusCode int, responseHeaders http.Header, responseBody []byte) {
			if statusCode != http.StatusOK {
				log.Errorf("lookup failed: %d", statusCode)
				proxywasm.SendHttpResponse(403, nil, []byte("lookup failed"), -1)
				return
			}
			proxywasm.ReplaceHttpRequestHeader(config.idHeader, gjson.GetBytes(responseBody, "id").String())
			proxywasm.ResumeHttpRequest()
		}, 2000)
	// Wait for the callback.
	return types.ActionPause
}

func onHttpResponseHeaders(ctx wrapper.HttpContext, config LookupConfig, log wrapper.Log) types.Action {
	proxywasm.RemoveHttpResponseHeader("x-internal")
	return types.ActionContinue
}
