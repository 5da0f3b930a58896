package gateway

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testwasm"
	"github.com/wasmgate/wasmgate/plugintest"
)

// startEchoGRPC is a real grpc-go server on loopback: /echo.Echo/Say
// answers "re:<message>" ("fail" ⇒ PERMISSION_DENIED, "slow" ⇒ no answer,
// "big" ⇒ a 5 MiB answer); /echo.Echo/Chat answers each message with
// "<message>!", after a header.
func startEchoGRPC(t *testing.T) *plugintest.GRPCServer {
	t.Helper()
	srv := plugintest.NewGRPCServer(t)
	srv.Handle("/echo.Echo/Say", func(c plugintest.GRPCCall) plugintest.GRPCReply {
		switch string(c.Messages[0]) {
		case "fail":
			return plugintest.GRPCReply{Status: uint32(codes.PermissionDenied), Message: "denied by test"}
		case "slow":
			return plugintest.GRPCReply{Hang: true}
		case "big":
			return plugintest.GRPCReply{Messages: [][]byte{make([]byte, 5<<20)}}
		}
		return plugintest.GRPCReply{Messages: [][]byte{append([]byte("re:"), c.Messages[0]...)}}
	})
	srv.HandleEach("/echo.Echo/Chat", func(m []byte) [][]byte { return [][]byte{append(m, '!')} }, [2]string{"x-stream-header", "h1"})
	return srv
}

// nextEnd returns how the next RPC of method ended on srv.
func nextEnd(t *testing.T, srv *plugintest.GRPCServer, method string) plugintest.GRPCEnd {
	t.Helper()
	for {
		select {
		case end := <-srv.Ended():
			if end.Method == method {
				return end
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no %s ended", method)
		}
	}
}

func grpcCluster(name, addr string) config.Cluster {
	host, port := splitAddr(addr)
	return config.Cluster{Name: name, Discovery: config.DiscoveryStatic, Endpoints: []config.Endpoint{{Host: host, Port: port}}}
}

func grpcPluginConfig(cluster, authority string, timeout int) string {
	return `{"cluster":"` + cluster + `","authority":"` + authority + `","service":"echo.Echo","unaryMethod":"Say","streamMethod":"Chat","timeout":` + strconv.Itoa(timeout) + `}`
}

// TestGRPCCalloutsToRealServer: a plugin's unary and streaming callouts
// reach a real grpc-go server through the named cluster and return its
// messages; failures report the status Envoy reports.
func TestGRPCCalloutsToRealServer(t *testing.T) {
	wasm := testwasm.Build(t, "examples/grpc-call")
	srv := startEchoGRPC(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	g := startGateway(t, staticConfig([]config.Plugin{
		filePlugin("grpc-call", wasm, grpcPluginConfig("grpc-echo", "", 2000)),
	}, grpcCluster("grpc-echo", srv.Addr)))

	code, _, body := get(t, g.url+"/headers", "x-grpc-message", "hi")
	if code != 200 {
		t.Fatalf("status %d body %s", code, body)
	}
	h := echoHeaders(t, body)
	if h["X-Grpc-Unary"] != "re:hi" || h["X-Grpc-Stream"] != "a!,b!,c!" || h["X-Grpc-Stream-End"] != "status 0" ||
		h["X-Grpc-Stream-Header"] != "h1" || h["X-Grpc-Stream-Trailer-Status"] != "0" {
		t.Fatalf("upstream headers %v", h)
	}
	// The unary call: initial metadata from the plugin, :authority the
	// cluster name (Envoy's default), the deadline sent as grpc-timeout.
	calls := srv.Calls()
	first := calls[0]
	if first.Metadata.Get("x-plugin")[0] != "grpc-call" || first.Authority != "grpc-echo" ||
		!strings.HasPrefix(first.Metadata.Get("content-type")[0], "application/grpc") || !first.Deadline || calls[1].Deadline {
		t.Fatalf("server saw %+v", calls)
	}
	if end := nextEnd(t, srv, "/echo.Echo/Chat"); end.Err != nil {
		t.Fatalf("chat ended with %v", end.Err)
	}

	// A failed call: the plugin answers with the server's status and message.
	code, _, body = get(t, g.url+"/headers", "x-grpc-message", "fail")
	if code != 503 || body != "grpc call failed: 7 denied by test" {
		t.Fatalf("status %d body %q", code, body)
	}
	// Over the message limit: RESOURCE_EXHAUSTED.
	code, _, body = get(t, g.url+"/headers", "x-grpc-message", "big")
	if code != 503 || !strings.HasPrefix(body, "grpc call failed: 8 ") {
		t.Fatalf("status %d body %q", code, body)
	}
	// Cancelled after the first answer: no close reaches the plugin, the
	// server sees the stream cancelled.
	code, _, body = get(t, g.url+"/headers", "x-grpc-cancel", "1")
	if h := echoHeaders(t, body); code != 200 || h["X-Grpc-Stream"] != "a!" || h["X-Grpc-Stream-End"] != "cancelled" {
		t.Fatalf("status %d headers %v", code, h)
	}
	if end := nextEnd(t, srv, "/echo.Echo/Chat"); status.Code(end.Err) != codes.Canceled {
		t.Fatalf("cancelled chat ended with %v", end.Err)
	}

	// A GrpcService target: its authority and initial metadata reach the server.
	g2 := startGateway(t, staticConfig([]config.Plugin{
		filePlugin("grpc-call", wasm, grpcPluginConfig("grpc-echo", "echo.example", 300)),
	}, grpcCluster("grpc-echo", srv.Addr)))
	code, _, body = get(t, g2.url+"/headers", "x-grpc-message", "hi")
	calls = srv.Calls()
	last := calls[len(calls)-2] // the unary call, before the stream
	if code != 200 || last.Authority != "echo.example" || last.Metadata.Get("x-configured")[0] != "yes" {
		t.Fatalf("status %d body %s; server saw %+v", code, body, last)
	}
	// The unary deadline passes: UNAVAILABLE "upstream request timeout".
	code, _, body = get(t, g2.url+"/headers", "x-grpc-message", "slow")
	if code != 503 || body != "grpc call failed: 14 upstream request timeout" {
		t.Fatalf("status %d body %q", code, body)
	}

	// An unreachable cluster: UNAVAILABLE with Envoy's connect-failure message.
	g3 := startGateway(t, staticConfig([]config.Plugin{
		filePlugin("grpc-call", wasm, grpcPluginConfig("grpc-dead", "", 5000)),
	}, grpcCluster("grpc-dead", deadAddr)))
	code, _, body = get(t, g3.url+"/headers")
	if code != 503 || body != "grpc call failed: 14 "+"upstream connect error or disconnect/reset before headers. reset reason: connection failure" {
		t.Fatalf("status %d body %q", code, body)
	}
}
