package main

import (
	"errors"
	"strings"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/log"
	"github.com/higress-group/wasm-go/pkg/tokenusage"
	"github.com/higress-group/wasm-go/pkg/wrapper"
	"github.com/tidwall/gjson"
	"github.com/tidwall/resp"

	"example.com/authlib"
)

func main() {}

func init() {
	wrapper.SetCtx(
		"higress-demo",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
		wrapper.ProcessResponseHeaders(onHttpResponseHeaders),
		wrapper.ProcessResponseBody(onHttpResponseBody),
	)
}

type DemoConfig struct {
	greeting string
	denyPath string
	checker  authlib.Checker
	hasAuth  bool
	redis    wrapper.RedisClient
	hasRedis bool
}

func parseConfig(json gjson.Result, config *DemoConfig) error {
	config.greeting = json.Get("greeting").String()
	if config.greeting == "" {
		return errors.New("missing greeting")
	}
	config.denyPath = json.Get("denyPath").String()
	if svc := json.Get("authService").String(); svc != "" {
		config.checker = authlib.NewChecker(svc, 80, json.Get("authPath").String())
		config.hasAuth = true
	}
	if svc := json.Get("redisService").String(); svc != "" {
		config.redis = wrapper.NewRedisClusterClient(wrapper.FQDNCluster{FQDN: svc, Port: 6379})
		config.hasRedis = true
		return config.redis.Init("", "", 1000)
	}
	return nil
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config DemoConfig) types.Action {
	proxywasm.AddHttpRequestHeader("x-greeting", config.greeting)
	if config.denyPath != "" && strings.HasPrefix(ctx.Path(), config.denyPath) {
		proxywasm.SendHttpResponseWithDetail(403, "higress-demo.denied", [][2]string{{"content-type", "application/json"}}, []byte(`{"denied":true}`), -1)
		return types.ActionPause
	}
	if config.hasRedis {
		key, _ := proxywasm.GetHttpRequestHeader("x-key")
		if err := config.redis.Get(key, func(response resp.Value) {
			if response.Error() != nil {
				log.Errorf("redis: %v", response.Error())
			} else {
				proxywasm.AddHttpRequestHeader("x-cached", response.String())
			}
			proxywasm.ResumeHttpRequest()
		}); err != nil {
			log.Errorf("redis call: %v", err)
			return types.ActionContinue
		}
		return types.HeaderStopAllIterationAndWatermark
	}
	if config.hasAuth {
		token, _ := proxywasm.GetHttpRequestHeader("authorization")
		return config.checker.Check(ctx, token, nil)
	}
	return types.ActionContinue
}

func onHttpResponseHeaders(ctx wrapper.HttpContext, config DemoConfig) types.Action {
	proxywasm.AddHttpResponseHeader("x-greeting-back", config.greeting)
	if user, ok := ctx.GetContext("user").(string); ok {
		proxywasm.AddHttpResponseHeader("x-user-back", user)
	}
	return types.ActionContinue
}

func onHttpResponseBody(ctx wrapper.HttpContext, config DemoConfig, body []byte) types.Action {
	usage := tokenusage.GetTokenUsage(ctx, body)
	model := "none"
	if m := wrapper.GetValueFromBody(body, []string{"response.model", "model"}); m != nil {
		model = m.String()
	}
	if usage.TotalToken > 0 {
		proxywasm.ReplaceHttpResponseBody([]byte(`{"model":"` + model + `","total":` + itoa(usage.TotalToken) +
			`,"input":` + itoa(ctx.GetUserAttribute(tokenusage.CtxKeyInputToken).(int64)) + `}`))
	}
	return types.ActionContinue
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}
