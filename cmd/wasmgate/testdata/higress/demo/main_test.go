package main

import (
	"encoding/json"
	"testing"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/test"
	"github.com/stretchr/testify/require"
)

func config(t *testing.T, v map[string]interface{}) json.RawMessage {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestParseConfig(t *testing.T) {
	test.RunGoTest(t, func(t *testing.T) {
		host, status := test.NewTestHost(config(t, map[string]interface{}{"greeting": "hi"}))
		defer host.Reset()
		require.Equal(t, types.OnPluginStartStatusOK, status)
		c, err := host.GetMatchConfig()
		require.NoError(t, err)
		require.Equal(t, "hi", c.(*DemoConfig).greeting)
	})
	test.RunTest(t, func(t *testing.T) {
		host, status := test.NewTestHost(config(t, map[string]interface{}{"denyPath": "/x"}))
		defer host.Reset()
		require.Equal(t, types.OnPluginStartStatusFailed, status)
	})
}

func TestDenyAndHeaders(t *testing.T) {
	test.RunTest(t, func(t *testing.T) {
		host, status := test.NewTestHost(config(t, map[string]interface{}{"greeting": "hello", "denyPath": "/admin"}))
		defer host.Reset()
		require.Equal(t, types.OnPluginStartStatusOK, status)

		action := host.CallOnHttpRequestHeaders([][2]string{
			{":authority", "example.com"}, {":path", "/admin/users"}, {":method", "GET"},
		})
		require.Equal(t, types.ActionPause, action)
		local := host.GetLocalResponse()
		require.NotNil(t, local)
		require.Equal(t, uint32(403), local.StatusCode)
		require.Equal(t, "higress-demo.denied", local.StatusCodeDetail)
		require.Equal(t, `{"denied":true}`, string(local.Data))
		require.True(t, test.HasHeaderWithValue(local.Headers, "Content-Type", "application/json"))
		host.CompleteHttp()

		action = host.CallOnHttpRequestHeaders([][2]string{
			{":authority", "example.com"}, {":path", "/public"}, {":method", "GET"},
		})
		require.Equal(t, types.ActionContinue, action)
		require.Nil(t, host.GetLocalResponse())
		require.True(t, test.HasHeaderWithValue(host.GetRequestHeaders(), "x-greeting", "hello"))
		action = host.CallOnHttpResponseHeaders([][2]string{{":status", "200"}})
		require.Equal(t, types.ActionContinue, action)
		v, ok := test.GetHeaderValue(host.GetResponseHeaders(), "x-greeting-back")
		require.True(t, ok)
		require.Equal(t, "hello", v)
		host.CompleteHttp()
	})
}

func TestAuthCallout(t *testing.T) {
	cfg := map[string]interface{}{"greeting": "hi", "authService": "auth.example.com", "authPath": "/p a/b%2Fc?q=1 2"}
	test.RunTest(t, func(t *testing.T) {
		host, status := test.NewTestHost(config(t, cfg))
		defer host.Reset()
		require.Equal(t, types.OnPluginStartStatusOK, status)

		action := host.CallOnHttpRequestHeaders([][2]string{
			{":authority", "example.com"}, {":path", "/api"}, {":method", "GET"}, {"authorization", "Bearer t1"},
		})
		require.Equal(t, types.HeaderStopAllIterationAndWatermark, action)
		callouts := host.GetHttpCalloutAttributes()
		require.Len(t, callouts, 1)
		require.Equal(t, "outbound|80||auth.example.com", callouts[0].Upstream)
		// As Higress: the unescaped path and the raw query.
		require.True(t, test.HasHeaderWithValue(callouts[0].Headers, ":path", "/p a/b/c?q=1 2"))
		require.True(t, test.HasHeaderWithValue(callouts[0].Headers, ":authority", "auth.example.com"))
		require.True(t, test.HasHeaderWithValue(callouts[0].Headers, "authorization", "Bearer t1"))

		host.CallOnHttpCall([][2]string{{":status", "200"}, {"X-User", "alice"}}, nil)
		require.Equal(t, types.ActionContinue, host.GetHttpStreamAction())
		require.True(t, test.HasHeaderWithValue(host.GetRequestHeaders(), "x-user", "alice"))
		require.Nil(t, host.GetLocalResponse())
		host.CallOnHttpResponseHeaders([][2]string{{":status", "200"}})
		require.True(t, test.HasHeaderWithValue(host.GetResponseHeaders(), "x-user-back", "alice"))
		host.CompleteHttp()

		action = host.CallOnHttpRequestHeaders([][2]string{
			{":authority", "example.com"}, {":path", "/api"}, {":method", "GET"}, {"authorization", "Bearer bad"},
		})
		require.Equal(t, types.HeaderStopAllIterationAndWatermark, action)
		host.CallOnHttpCall([][2]string{{":status", "401"}}, []byte("no"))
		local := host.GetLocalResponse()
		require.NotNil(t, local)
		require.Equal(t, uint32(403), local.StatusCode)
		require.Equal(t, "demo.token_rejected", local.StatusCodeDetail)
		require.Contains(t, host.GetWarnLogs(), "[higress-demo] [nil] [test-request-id-default] token rejected: 401")
		host.CompleteHttp()
	})
}

func TestDomainRulesAsHigress(t *testing.T) {
	cfg := map[string]interface{}{
		"greeting": "global",
		"_rules_": []interface{}{
			map[string]interface{}{"_match_domain_": []string{"foo.com"}, "greeting": "rule"},
		},
	}
	test.RunGoTest(t, func(t *testing.T) {
		host, status := test.NewTestHost(config(t, cfg))
		defer host.Reset()
		require.Equal(t, types.OnPluginStartStatusOK, status)
		require.NoError(t, host.SetDomainName("foo.com"))
		c, err := host.GetMatchConfig()
		require.NoError(t, err)
		require.Equal(t, "rule", c.(*DemoConfig).greeting)
		require.NoError(t, host.SetDomainName("FOO.com"))
		c, err = host.GetMatchConfig()
		require.NoError(t, err)
		require.Equal(t, "global", c.(*DemoConfig).greeting)
	})
	test.RunTest(t, func(t *testing.T) {
		host, _ := test.NewTestHost(config(t, cfg))
		defer host.Reset()
		for authority, want := range map[string]string{"foo.com": "rule", "foo.com:8080": "rule", "FOO.com": "global"} {
			host.CallOnHttpRequestHeaders([][2]string{{":authority", authority}, {":path", "/"}, {":method", "GET"}})
			require.True(t, test.HasHeaderWithValue(host.GetRequestHeaders(), "x-greeting", want), authority)
			host.CompleteHttp()
		}
	})
}

func TestRedis(t *testing.T) {
	test.RunTest(t, func(t *testing.T) {
		host, status := test.NewTestHost(config(t, map[string]interface{}{"greeting": "hi", "redisService": "redis.example.com"}))
		defer host.Reset()
		require.Equal(t, types.OnPluginStartStatusOK, status)
		action := host.CallOnHttpRequestHeaders([][2]string{{":authority", "example.com"}, {":path", "/"}, {"x-key", "k1"}})
		require.Equal(t, types.HeaderStopAllIterationAndWatermark, action)
		calls := host.GetRedisCalloutAttributes()
		require.Len(t, calls, 1)
		require.Equal(t, "outbound|6379||redis.example.com", calls[0].Upstream)
		require.Equal(t, "*2\r\n$3\r\nget\r\n$2\r\nk1\r\n", string(calls[0].Query))
		host.CallOnRedisCall(0, test.CreateRedisRespString("cached-value"))
		require.Equal(t, types.ActionContinue, host.GetHttpStreamAction())
		require.True(t, test.HasHeaderWithValue(host.GetRequestHeaders(), "x-cached", "cached-value"))
		host.CompleteHttp()
	})
	require.Equal(t, "*3\r\n$1\r\na\r\n:1\r\n$3\r\n1.5\r\n", string(test.CreateRedisRespArray([]interface{}{"a", true, 1.5})))
	require.Equal(t, ":7\r\n", string(test.CreateRedisRespInt(7)))
	require.Equal(t, "$-1\r\n", string(test.CreateRedisRespNull()))
}

func TestTokenUsage(t *testing.T) {
	test.RunTest(t, func(t *testing.T) {
		host, _ := test.NewTestHost(config(t, map[string]interface{}{"greeting": "hi"}))
		defer host.Reset()
		host.CallOnHttpRequestHeaders([][2]string{{":authority", "example.com"}, {":path", "/v1/chat"}, {":method", "POST"}})
		host.CallOnHttpResponseHeaders([][2]string{{":status", "200"}, {"content-type", "application/json"}})
		action := host.CallOnHttpResponseBody([]byte(`{"model":"gpt-4","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`))
		require.Equal(t, types.ActionContinue, action)
		require.Equal(t, `{"model":"gpt-4","total":7,"input":3}`, string(host.GetResponseBody()))
		host.CompleteHttp()
	})
}
