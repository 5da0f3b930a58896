// Command redis-dns reads a value from Redis for every request and passes it
// upstream in a header. Redis is a DNS service source (McpBridge type dns), as
// in a Higress standalone data directory.
package main

import (
	"errors"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/resp"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("redis-dns",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
	)
}

// Config is the plugin configuration.
type Config struct {
	client wrapper.RedisClient
	key    string
	header string
}

// parseConfig reads redis.service_name (the McpBridge registry name),
// redis.service_port, redis.username, redis.password, redis.timeout, the key
// to read and the request header to put its value in.
func parseConfig(json gjson.Result, config *Config) error {
	name := json.Get("redis.service_name").String()
	if name == "" {
		return errors.New("missing redis.service_name in config")
	}
	port := json.Get("redis.service_port").Int()
	if port == 0 {
		port = 6379
	}
	config.key = json.Get("key").String()
	if config.key == "" {
		return errors.New("missing key in config")
	}
	config.header = json.Get("header").String()
	if config.header == "" {
		config.header = "x-redis-value"
	}
	log.Infof("redis-dns: reading key %q from %s:%d", config.key, name, port)
	config.client = wrapper.NewRedisClusterClient(wrapper.DnsCluster{ServiceName: name, Domain: name, Port: port})
	return config.client.Init(json.Get("redis.username").String(), json.Get("redis.password").String(),
		json.Get("redis.timeout").Int())
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config Config) types.Action {
	err := config.client.Get(config.key, func(response resp.Value) {
		defer func() { _ = proxywasm.ResumeHttpRequest() }()
		if err := response.Error(); err != nil {
			log.Errorf("redis get %s failed: %v", config.key, err)
			return
		}
		if response.IsNull() {
			log.Infof("redis key %s is not set", config.key)
			return
		}
		log.Infof("redis value of %s: %s", config.key, response.String())
		_ = proxywasm.AddHttpRequestHeader(config.header, response.String())
	})
	if err != nil {
		log.Errorf("redis call failed, request passes: %v", err)
		return types.HeaderContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}
