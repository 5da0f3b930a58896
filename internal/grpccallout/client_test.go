package grpccallout

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wasmgate/wasmgate/host"
)

type addr string

func (a addr) Name() string { return "test" }
func (a addr) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", string(a))
}
func (a addr) TLS() *tls.Config { return nil }

// events records what the client reports.
type events struct {
	mu      sync.Mutex
	initial *host.HeaderMap
	msgs    []string
	trail   *host.HeaderMap
	code    uint32
	msg     string
	closed  chan struct{}
}

func newEvents() *events { return &events{closed: make(chan struct{})} }

func (e *events) OnInitialMetadata(md *host.HeaderMap) { e.mu.Lock(); e.initial = md; e.mu.Unlock() }
func (e *events) OnMessage(m []byte)                   { e.mu.Lock(); e.msgs = append(e.msgs, string(m)); e.mu.Unlock() }
func (e *events) OnTrailingMetadata(md *host.HeaderMap) {
	e.mu.Lock()
	e.trail = md
	e.mu.Unlock()
}
func (e *events) OnClose(code uint32, msg string) {
	e.mu.Lock()
	e.code, e.msg = code, msg
	e.mu.Unlock()
	close(e.closed)
}

func (e *events) wait(t *testing.T) {
	t.Helper()
	select {
	case <-e.closed:
	case <-time.After(20 * time.Second):
		t.Fatal("no close")
	}
}

func server(t *testing.T, h func(grpc.ServerStream) error) addr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(RawCodec{}), grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error { return h(ss) }))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return addr(ln.Addr().String())
}

func request(md ...string) *host.GRPCRequest {
	return &host.GRPCRequest{Target: host.GRPCTarget{Cluster: "c", Authority: "c", MaxMessageBytes: host.DefaultGRPCMessageBytes},
		Service: "s.S", Method: "M", Metadata: host.NewHeaderMap(md...)}
}

func TestStreamEndedByServerStopsSender(t *testing.T) {
	var seen metadata.MD
	a := server(t, func(ss grpc.ServerStream) error {
		seen, _ = metadata.FromIncomingContext(ss.Context())
		_ = ss.SendHeader(metadata.Pairs("x-bin", "\x00\x01"))
		ss.SetTrailer(metadata.Pairs("t", "1"))
		return status.Error(codes.AlreadyExists, "exists")
	})
	var c Conns
	defer c.Close()
	ev := newEvents()
	st, err := c.Open(a, request("k-bin", "AAE", "k", "v"), ev)
	if err != nil {
		t.Fatal(err)
	}
	ev.wait(t)
	s := st.(*grpcCallout)
	s.Send([]byte("after the end"), false)
	s.mu.Lock()
	failed, queued := s.failure != nil, len(s.queue)
	s.mu.Unlock()
	if !failed || queued != 0 {
		t.Fatalf("the ended RPC still takes messages (failed %v, queued %d)", failed, queued)
	}
	if ev.code != uint32(codes.AlreadyExists) || ev.msg != "exists" {
		t.Fatal(ev.code, ev.msg)
	}
	if v, _ := ev.initial.Get("x-bin"); v != "AAE" || ev.initial.Fields[0].Key != ":status" {
		t.Fatalf("initial %v", ev.initial.Fields)
	}
	if got := ev.trail.Fields; len(got) != 3 || got[0].Value != "6" || got[1].Value != "exists" || got[2].Key != "t" {
		t.Fatalf("trailers %v", got)
	}
	if string(seen.Get("k-bin")[0]) != "\x00\x01" || seen.Get("k")[0] != "v" {
		t.Fatalf("server saw %v", seen)
	}
}

func TestSendQueueBounded(t *testing.T) {
	release := make(chan struct{})
	a := server(t, func(ss grpc.ServerStream) error {
		<-release // reads nothing: the client's sends back up
		return nil
	})
	defer close(release)
	var c Conns
	defer c.Close()
	ev := newEvents()
	st, err := c.Open(a, request(), ev)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := 0; i < 3*grpcSendQueueBytes/len(chunk); i++ {
		st.Send(chunk, false)
	}
	ev.wait(t)
	if ev.code != uint32(codes.ResourceExhausted) || !strings.Contains(ev.msg, "send queue") {
		t.Fatal(ev.code, ev.msg)
	}
}
