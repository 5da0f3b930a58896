// Command grpc-call makes gRPC callouts before each request: a unary call
// whose answer goes upstream in x-grpc-unary, then a bidirectional stream
// whose messages go upstream in x-grpc-stream. A failed unary call answers
// the request with 503 and the gRPC status.
//
// Messages are raw bytes: the request's x-grpc-message header (default
// "hello") for the unary call, and the comma-separated parts of
// x-grpc-stream-messages (default "a,b,c") on the stream. With
// x-grpc-cancel: 1 the plugin cancels the stream after its first answer.
package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

func main() {}

func init() {
	wrapper.SetCtx("grpc-call",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
	)
}

// Config is the plugin configuration.
type Config struct {
	service       string // the grpc_service argument
	serviceName   string
	unaryMethod   string
	streamMethod  string
	timeoutMillis uint32
}

// parseConfig reads cluster, authority (optional: a GrpcService is sent
// when set), service, unaryMethod, streamMethod and timeout (ms).
func parseConfig(json gjson.Result, config *Config) error {
	cluster := json.Get("cluster").String()
	if cluster == "" {
		return errors.New("missing cluster in config")
	}
	config.service = cluster
	if a := json.Get("authority").String(); a != "" {
		config.service = proxywasm.GrpcService(cluster, a, [][2]string{{"x-configured", "yes"}})
	}
	config.serviceName = json.Get("service").String()
	config.unaryMethod = json.Get("unaryMethod").String()
	config.streamMethod = json.Get("streamMethod").String()
	if config.serviceName == "" || config.unaryMethod == "" || config.streamMethod == "" {
		return errors.New("config needs service, unaryMethod and streamMethod")
	}
	config.timeoutMillis = uint32(json.Get("timeout").Uint())
	return nil
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config Config) types.Action {
	msg, _ := proxywasm.GetHttpRequestHeader("x-grpc-message")
	if msg == "" {
		msg = "hello"
	}
	parts, _ := proxywasm.GetHttpRequestHeader("x-grpc-stream-messages")
	if parts == "" {
		parts = "a,b,c"
	}
	cancel, _ := proxywasm.GetHttpRequestHeader("x-grpc-cancel")
	md := [][2]string{{"x-plugin", "grpc-call"}}
	_, err := proxywasm.DispatchGrpcCall(config.service, config.serviceName, config.unaryMethod, md, []byte(msg), config.timeoutMillis,
		func(status uint32, size int) {
			if status != 0 {
				_, message, _ := proxywasm.GetGrpcStatus()
				log.Warnf("gRPC call failed: status %d %s", status, message)
				_ = proxywasm.SendHttpResponse(503, [][2]string{{"x-grpc-status", strconv.Itoa(int(status))}},
					[]byte("grpc call failed: "+strconv.Itoa(int(status))+" "+message), -1)
				return
			}
			body, _ := proxywasm.GetGrpcCallResponseBody(0, size)
			_ = proxywasm.AddHttpRequestHeader("x-grpc-unary", string(body))
			openStream(config, strings.Split(parts, ","), cancel == "1")
		})
	if err != nil {
		_ = proxywasm.SendHttpResponse(503, nil, []byte("grpc call not started: "+err.Error()), -1)
		return types.HeaderContinue
	}
	return types.HeaderStopAllIterationAndWatermark
}

func openStream(config Config, parts []string, cancelAfterFirst bool) {
	var got []string
	var id uint32
	finish := func(what string) {
		_ = proxywasm.AddHttpRequestHeader("x-grpc-stream", strings.Join(got, ","))
		_ = proxywasm.AddHttpRequestHeader("x-grpc-stream-end", what)
		_ = proxywasm.ResumeHttpRequest()
	}
	var err error
	id, err = proxywasm.OpenGrpcStream(config.service, config.serviceName, config.streamMethod, nil, proxywasm.GrpcStreamHandler{
		OnInitialMetadata: func(int) {
			md, _ := proxywasm.GetGrpcStreamInitialMetadata()
			for _, kv := range md {
				if kv[0] == "x-stream-header" {
					_ = proxywasm.AddHttpRequestHeader("x-grpc-stream-header", kv[1])
				}
			}
		},
		OnMessage: func(size int) {
			b, _ := proxywasm.GetGrpcStreamMessage(0, size)
			got = append(got, string(b))
			if cancelAfterFirst {
				_ = proxywasm.CancelGrpcStream(id)
				finish("cancelled")
			}
		},
		OnTrailingMetadata: func(int) {
			md, _ := proxywasm.GetGrpcStreamTrailingMetadata()
			for _, kv := range md {
				if kv[0] == "grpc-status" {
					_ = proxywasm.AddHttpRequestHeader("x-grpc-stream-trailer-status", kv[1])
				}
			}
		},
		OnClose: func(status uint32) {
			finish("status " + strconv.Itoa(int(status)))
		},
	})
	if err != nil {
		_ = proxywasm.SendHttpResponse(503, nil, []byte("grpc stream not opened: "+err.Error()), -1)
		return
	}
	for i, p := range parts {
		// A stream to be cancelled stays open on the plugin's side.
		_ = proxywasm.SendGrpcStreamMessage(id, []byte(p), i == len(parts)-1 && !cancelAfterFirst)
	}
}
