package main

import (
	"net"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/plugintest"
)

// The tests run the plugin on the gateway's host engine against a real
// gRPC server (plugintest.GRPCServer) with scripted answers.

const cluster = "grpc-echo"

func echoServer(t *testing.T) *plugintest.GRPCServer {
	srv := plugintest.NewGRPCServer(t)
	srv.Handle("/echo.Echo/Say", func(c plugintest.GRPCCall) plugintest.GRPCReply {
		if string(c.Messages[0]) == "fail" {
			return plugintest.GRPCReply{Status: 7, Message: "denied"}
		}
		return plugintest.GRPCReply{Messages: [][]byte{append([]byte("re:"), c.Messages[0]...)}}
	})
	srv.HandleEach("/echo.Echo/Chat", func(msg []byte) [][]byte { return [][]byte{append(msg, '!')} })
	return srv
}

func load(t *testing.T, srv string, timeout int) *plugintest.Plugin {
	cfg := `{"cluster":"` + cluster + `","service":"echo.Echo","unaryMethod":"Say","streamMethod":"Chat","timeout":` + itoa(timeout) + `}`
	return plugintest.Load(t, ".", plugintest.Config(cfg), plugintest.GRPCCluster(cluster, srv))
}

func itoa(n int) string {
	b := []byte{}
	for ; n > 0 || len(b) == 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestUnaryThenStream(t *testing.T) {
	srv := echoServer(t)
	p := load(t, srv.Addr, 0)
	res := p.Do(t, plugintest.Get("/get").WithHeader("x-grpc-message", "hi"))
	if res.Upstream == nil {
		t.Fatalf("local reply %+v", res.Local)
	}
	h := res.Upstream.Header
	if h.Get("x-grpc-unary") != "re:hi" || h.Get("x-grpc-stream") != "a!,b!,c!" || h.Get("x-grpc-stream-end") != "status 0" ||
		h.Get("x-grpc-stream-trailer-status") != "0" {
		t.Fatalf("upstream headers %v", h)
	}
	calls := srv.Calls()
	if len(calls) != 2 || calls[0].Method != "/echo.Echo/Say" || calls[0].Authority != cluster ||
		calls[0].Metadata.Get("x-plugin")[0] != "grpc-call" || string(calls[1].Messages[2]) != "c" {
		t.Fatalf("server calls %+v", calls)
	}
}

func TestFailedCallAnswers503(t *testing.T) {
	p := load(t, echoServer(t).Addr, 0)
	res := p.Do(t, plugintest.Get("/get").WithHeader("x-grpc-message", "fail"))
	if res.Local == nil || res.Local.Status != 503 || string(res.Local.Body) != "grpc call failed: 7 denied" ||
		res.Local.Header.Get("x-grpc-status") != "7" {
		t.Fatalf("local reply %+v, upstream %+v", res.Local, res.Upstream)
	}
}

func TestUnreachableCluster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := load(t, addr, 0)
	res := p.Do(t, plugintest.Get("/get"))
	if res.Local == nil || res.Local.Header.Get("x-grpc-status") != "14" {
		t.Fatalf("local reply %+v", res.Local)
	}
}

func TestTimeoutOnSimulatedClock(t *testing.T) {
	srv := plugintest.NewGRPCServer(t)
	// The server never answers before the client gives up.
	srv.Handle("/echo.Echo/Say", func(plugintest.GRPCCall) plugintest.GRPCReply { return plugintest.GRPCReply{Hang: true} })
	p := load(t, srv.Addr, 500)
	call := p.Go(plugintest.Get("/get"))
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Calls()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the call never reached the server")
		}
		time.Sleep(time.Millisecond)
	}
	p.Advance(500 * time.Millisecond)
	res := call.Wait(t)
	if res.Local == nil || string(res.Local.Body) != "grpc call failed: 14 upstream request timeout" {
		t.Fatalf("local reply %+v", res.Local)
	}
}

func TestCancelledStream(t *testing.T) {
	srv := echoServer(t)
	p := load(t, srv.Addr, 0)
	res := p.Do(t, plugintest.Get("/get").WithHeader("x-grpc-cancel", "1"))
	if res.Upstream == nil || res.Upstream.Header.Get("x-grpc-stream") != "a!" || res.Upstream.Header.Get("x-grpc-stream-end") != "cancelled" {
		t.Fatalf("upstream %+v local %+v", res.Upstream, res.Local)
	}
	<-srv.Ended() // the unary call
	select {
	case end := <-srv.Ended():
		if end.Method != "/echo.Echo/Chat" || end.Err == nil {
			t.Fatalf("the cancelled stream ended with %+v", end)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server never saw the cancel")
	}
}
