//go:build !wasm

package wrapper

import (
	"testing"

	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func TestSkippableFollowsHandlers(t *testing.T) {
	const always = vmstate.SkipRequestTrailers | vmstate.SkipResponseTrailers | vmstate.SkipDone
	headers := func(HttpContext, testConfig) types.Action { return types.ActionContinue }
	body := func(HttpContext, testConfig, []byte) types.Action { return types.ActionContinue }
	chunk := func(_ HttpContext, _ testConfig, b []byte, _ bool) []byte { return b }
	done := func(HttpContext, testConfig) {}
	cases := []struct {
		name    string
		options []CtxOption[testConfig]
		want    uint32
	}{
		{"request headers only", []CtxOption[testConfig]{ProcessRequestHeaders(headers)},
			always | vmstate.SkipRequestBody | vmstate.SkipResponseHeaders | vmstate.SkipResponseBody | vmstate.SkipLog},
		{"request body", []CtxOption[testConfig]{ProcessRequestBody(body)},
			always | vmstate.SkipResponseHeaders | vmstate.SkipResponseBody | vmstate.SkipLog},
		{"streaming request body", []CtxOption[testConfig]{ProcessStreamingRequestBody(chunk)},
			always | vmstate.SkipResponseHeaders | vmstate.SkipResponseBody | vmstate.SkipLog},
		{"response headers", []CtxOption[testConfig]{ProcessResponseHeaders(headers)},
			always | vmstate.SkipRequestBody | vmstate.SkipResponseBody | vmstate.SkipLog},
		{"response body", []CtxOption[testConfig]{ProcessResponseBody(body)},
			always | vmstate.SkipRequestBody | vmstate.SkipLog},
		{"streaming response body", []CtxOption[testConfig]{ProcessStreamingResponseBody(chunk)},
			always | vmstate.SkipRequestBody | vmstate.SkipLog},
		{"stream done", []CtxOption[testConfig]{ProcessStreamDone(done)},
			always | vmstate.SkipRequestBody | vmstate.SkipResponseBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start(t, `{}`, append([]CtxOption[testConfig]{ParseConfig(parseTestConfig)}, c.options...)...)
			if got := vmstate.Skippable(); got != c.want {
				t.Fatalf("skippable %#x, want %#x", got, c.want)
			}
		})
	}
}

// While a callout is pending nothing is skipped: its callback sees the
// stream's phase as the host's callbacks left it.
func TestSkipSuspendedWhileCalloutPending(t *testing.T) {
	var phase HTTPExecutionPhase
	var saved HttpContext
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			saved = ctx
			client := NewClusterClient(FQDNCluster{FQDN: "token.dns", Port: 8080})
			if err := client.Get("/t", nil, func(int, map[string][]string, []byte) {
				phase = saved.GetExecutionPhase()
			}); err != nil {
				t.Errorf("get: %v", err)
			}
			return types.ActionContinue
		}))
	before := vmstate.Skippable()
	if before&vmstate.SkipResponseHeaders == 0 {
		t.Fatalf("response headers not skippable: %#x", before)
	}
	s := h.NewStream()
	s.RequestHeaders([][2]string{{":authority", "a.example"}}, false)
	if got := vmstate.Skippable(); got != 0 {
		t.Fatalf("skippable %#x with a callout pending", got)
	}
	s.RequestBody([]byte("abc"), true)
	s.ResponseHeaders([][2]string{{":status", "200"}}, false)
	h.RespondHttpCall(h.HttpCalls[0].Token, [][2]string{{":status", "200"}}, nil)
	if phase != EncodeHeader {
		t.Fatalf("phase in the callout's callback %v, want EncodeHeader", phase)
	}
	if got := vmstate.Skippable(); got != before {
		t.Fatalf("skippable %#x after the callout, want %#x", got, before)
	}
	s.Done()
}

// RouteCall needs the response callbacks of every later stream.
func TestRouteCallKeepsResponseCallbacks(t *testing.T) {
	var status int
	h, _ := start(t, `{}`, ParseConfig(parseTestConfig),
		ProcessRequestHeaders(func(ctx HttpContext, c testConfig) types.Action {
			if err := ctx.RouteCall("GET", "/other", nil, nil, func(code int, _ [][2]string, _ []byte) {
				status = code
			}); err != nil {
				t.Errorf("route call: %v", err)
			}
			return types.ActionContinue
		}))
	s := h.NewStream()
	s.RequestHeaders([][2]string{{":authority", "a.example"}, {":path", "/"}, {":method", "GET"}}, true)
	if got := vmstate.Skippable(); got&(vmstate.SkipResponseHeaders|vmstate.SkipResponseBody) != 0 {
		t.Fatalf("response callbacks still skippable: %#x", got)
	}
	s.ResponseHeaders([][2]string{{":status", "201"}}, false)
	s.ResponseBody([]byte("ok"), true)
	if status != 201 {
		t.Fatalf("route call callback got %d", status)
	}
	s.Done()
}
