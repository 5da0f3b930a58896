package gateway

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/grpccallout"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// echoGRPC is a real grpc-go server on loopback: /echo.Echo/Say answers
// "re:<message>" ("fail" ⇒ PERMISSION_DENIED, "slow" ⇒ waits for the
// deadline, "big" ⇒ a 5 MiB answer); /echo.Echo/Chat answers each message
// with "<message>!", with a header and a trailer.
type echoGRPC struct {
	addr string

	mu       sync.Mutex
	md       []metadata.MD
	deadline []bool
	chatEnd  chan error // how each Chat ended, as its handler saw it
}

func startEchoGRPC(t *testing.T) *echoGRPC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoGRPC{addr: ln.Addr().String(), chatEnd: make(chan error, 16)}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(grpccallout.RawCodec{}), grpc.UnknownServiceHandler(e.handle))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return e
}

func (e *echoGRPC) handle(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	md, _ := metadata.FromIncomingContext(ss.Context())
	_, hasDeadline := ss.Context().Deadline()
	e.mu.Lock()
	e.md = append(e.md, md)
	e.deadline = append(e.deadline, hasDeadline)
	e.mu.Unlock()
	switch method {
	case "/echo.Echo/Say":
		var m grpccallout.RawMessage
		if err := ss.RecvMsg(&m); err != nil {
			return err
		}
		switch string(m.B) {
		case "fail":
			return status.Error(codes.PermissionDenied, "denied by test")
		case "slow":
			<-ss.Context().Done()
			return ss.Context().Err()
		case "big":
			return ss.SendMsg(&grpccallout.RawMessage{B: make([]byte, 5<<20)})
		}
		return ss.SendMsg(&grpccallout.RawMessage{B: append([]byte("re:"), m.B...)})
	case "/echo.Echo/Chat":
		_ = ss.SetHeader(metadata.Pairs("x-stream-header", "h1"))
		for {
			var m grpccallout.RawMessage
			err := ss.RecvMsg(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				e.chatEnd <- err
				return err
			}
			if err := ss.SendMsg(&grpccallout.RawMessage{B: append(m.B, '!')}); err != nil {
				e.chatEnd <- err
				return err
			}
		}
		ss.SetTrailer(metadata.Pairs("x-t", "1"))
		e.chatEnd <- nil
		return nil
	}
	return status.Error(codes.Unimplemented, "unknown method "+method)
}

func (e *echoGRPC) lastMD() metadata.MD {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.md[len(e.md)-1]
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
	}, grpcCluster("grpc-echo", srv.addr)))

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
	srv.mu.Lock()
	first, firstDeadline, chatDeadline := srv.md[0], srv.deadline[0], srv.deadline[1]
	srv.mu.Unlock()
	if first.Get("x-plugin")[0] != "grpc-call" || first.Get(":authority")[0] != "grpc-echo" ||
		!strings.HasPrefix(first.Get("content-type")[0], "application/grpc") || !firstDeadline || chatDeadline {
		t.Fatalf("server saw %v (deadline %v, stream deadline %v)", first, firstDeadline, chatDeadline)
	}
	if err := <-srv.chatEnd; err != nil {
		t.Fatalf("chat ended with %v", err)
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
	select {
	case err := <-srv.chatEnd:
		if status.Code(err) != codes.Canceled {
			t.Fatalf("cancelled chat ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server never saw the cancel")
	}

	// A GrpcService target: its authority and initial metadata reach the server.
	g2 := startGateway(t, staticConfig([]config.Plugin{
		filePlugin("grpc-call", wasm, grpcPluginConfig("grpc-echo", "echo.example", 300)),
	}, grpcCluster("grpc-echo", srv.addr)))
	code, _, body = get(t, g2.url+"/headers", "x-grpc-message", "hi")
	md := srv.lastMD()
	if code != 200 || md.Get(":authority")[0] != "echo.example" || md.Get("x-configured")[0] != "yes" {
		t.Fatalf("status %d body %s; server saw %v", code, body, md)
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
