// Command http-call asks a token service for a token before each request and
// forwards the request with the token in a header.
package main

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("http-call",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
	)
}

// Config is the plugin configuration.
type Config struct {
	client      wrapper.HttpClient
	requestPath string
	tokenHeader string
}

// parseConfig reads serviceName (a full service name such as "token.dns",
// "token.static" or "token.ns.svc.cluster.local"), servicePort (80 by default
// for .static services), requestPath and tokenHeader.
func parseConfig(json gjson.Result, config *Config) error {
	config.tokenHeader = json.Get("tokenHeader").String()
	if config.tokenHeader == "" {
		return errors.New("missing tokenHeader in config")
	}
	config.requestPath = json.Get("requestPath").String()
	if config.requestPath == "" {
		return errors.New("missing requestPath in config")
	}
	serviceName := json.Get("serviceName").String()
	if serviceName == "" {
		return errors.New("missing serviceName in config")
	}
	servicePort := json.Get("servicePort").Int()
	if servicePort == 0 {
		if !strings.HasSuffix(serviceName, ".static") {
			return errors.New("missing servicePort in config")
		}
		servicePort = 80
	}
	config.client = wrapper.NewClusterClient(wrapper.FQDNCluster{FQDN: serviceName, Port: servicePort})
	return nil
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config Config) types.Action {
	err := config.client.Get(config.requestPath, nil, func(statusCode int, responseHeaders http.Header, responseBody []byte) {
		if statusCode != http.StatusOK {
			log.Errorf("http call failed, status: %d", statusCode)
			_ = proxywasm.SendHttpResponse(http.StatusInternalServerError, nil, []byte("http call failed"), -1)
			return
		}
		log.Infof("token service answered %d with %d bytes", statusCode, len(responseBody))
		if token := responseHeaders.Get(config.tokenHeader); token != "" {
			_ = proxywasm.AddHttpRequestHeader(config.tokenHeader, token)
		}
		_ = proxywasm.ResumeHttpRequest()
	})
	if err != nil {
		// The cluster is unknown to the gateway: let the request through.
		log.Errorf("calling the token service failed, request passes without a token: %v", err)
		return types.HeaderContinue
	}
	// Hold the request (and its body) until the callback resumes it.
	return types.HeaderStopAllIterationAndWatermark
}
