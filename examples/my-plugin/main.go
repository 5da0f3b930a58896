// Command my-plugin adds the request header "hello: world"; with
// {"mockEnable": true} it answers every request itself with "hello world"
// (or with the configured "content").
package main

import (
	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("my-plugin",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
	)
}

// Config is the plugin configuration.
type Config struct {
	// mockEnable makes the plugin answer requests instead of the upstream.
	mockEnable bool
	// content is the body of the mock answer.
	content string
}

func parseConfig(json gjson.Result, config *Config) error {
	config.mockEnable = json.Get("mockEnable").Bool()
	config.content = json.Get("content").String()
	if config.content == "" {
		config.content = "hello world"
	}
	return nil
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config Config) types.Action {
	if err := proxywasm.AddHttpRequestHeader("hello", "world"); err != nil {
		proxywasm.LogWarn("add header hello: " + err.Error())
	}
	if config.mockEnable {
		if err := proxywasm.SendHttpResponse(200, nil, []byte(config.content), -1); err != nil {
			proxywasm.LogError("send mock response: " + err.Error())
		}
	}
	return types.HeaderContinue
}
