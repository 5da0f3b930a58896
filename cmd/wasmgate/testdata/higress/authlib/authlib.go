// Package authlib is a library written against Higress's SDK, as OIDC and
// other shared plugin libraries are: it checks a token with an HTTP call to
// an auth service and resumes or answers the request.
package authlib

import (
	"net/http"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/iface"
	"github.com/higress-group/wasm-go/pkg/log"
	"github.com/higress-group/wasm-go/pkg/wrapper"
)

// Checker calls the auth service.
type Checker struct {
	Client wrapper.HttpClient
	Path   string
}

// NewChecker returns a Checker of an FQDN service.
func NewChecker(fqdn string, port int64, path string) Checker {
	return Checker{Client: wrapper.NewClusterClient(wrapper.FQDNCluster{FQDN: fqdn, Port: port}), Path: path}
}

// Check sends the request's token to the auth service; the request goes on
// when the service answers 200 and is denied with 403 otherwise.
func (c Checker) Check(ctx iface.HttpContext, token string, done wrapper.ResponseCallback) types.Action {
	err := c.Client.Get(c.Path, [][2]string{{"authorization", token}}, func(statusCode int, responseHeaders http.Header, responseBody []byte) {
		if done != nil {
			done(statusCode, responseHeaders, responseBody)
		}
		if statusCode != http.StatusOK {
			log.Warnf("token rejected: %d", statusCode)
			_ = proxywasm.SendHttpResponseWithDetail(403, "demo.token_rejected", [][2]string{{"content-type", "text/plain"}}, []byte("denied"), -1)
			return
		}
		ctx.SetContext("user", responseHeaders.Get("X-User"))
		_ = proxywasm.AddHttpRequestHeader("x-user", responseHeaders.Get("X-User"))
		_ = proxywasm.ResumeHttpRequest()
	}, 2000)
	if err != nil {
		log.Errorf("auth call failed: %v", err)
		return types.ActionContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}
