package plugintest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/grpccallout"
)

// GRPCCluster sends the cluster's gRPC callouts (proxy_grpc_call,
// proxy_grpc_stream) to a real gRPC server at addr ("127.0.0.1:port",
// HTTP/2 in plain text), for example a GRPCServer. The plugin names the
// cluster as Envoy's envoy_grpc.cluster_name or as a plain string; callouts
// to a cluster no option names fail as Envoy's do (ParseFailure for a plain
// name). Unary timeouts follow the simulated clock (Advance), so no
// grpc-timeout reaches the server.
func GRPCCluster(name, addr string) Option {
	return func(s *settings) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			s.fail(fmt.Errorf("plugintest: GRPCCluster %q: %q is not host:port", name, addr))
			return
		}
		s.grpcReal[name] = addr
	}
}

// grpcAddr is a GRPCCluster as a callout target.
type grpcAddr struct{ name, addr string }

func (g grpcAddr) Name() string { return g.name }
func (g grpcAddr) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", g.addr)
}
func (g grpcAddr) TLS() *tls.Config { return nil }

// GRPCOpen implements host.GRPCCaller.
func (c *callouts) GRPCOpen(req *host.GRPCRequest, h host.GRPCHandler) (host.GRPCStream, error) {
	addr, ok := c.grpcReal[req.Target.Cluster]
	if !ok {
		return nil, host.ErrUnknownCluster
	}
	r := *req
	r.Timeout = 0 // the engine times the call on the simulated clock
	return c.grpc.Open(grpcAddr{name: req.Target.Cluster, addr: addr}, &r, h)
}

// GRPCCall is an RPC a GRPCServer received.
type GRPCCall struct {
	// Method is the full method, "/package.Service/Method".
	Method    string
	Authority string
	// Metadata is the initial metadata without pseudo-headers.
	Metadata metadata.MD
	// Messages are the messages the client sent, in order.
	Messages [][]byte
	// Deadline reports whether the client sent a deadline (grpc-timeout).
	Deadline bool
}

// GRPCEnd is how an RPC ended on a GRPCServer.
type GRPCEnd struct {
	Method string
	// Err is nil, or the error the client caused (a cancel is CANCELLED).
	Err error
}

// GRPCReply is a scripted answer to an RPC.
type GRPCReply struct {
	// Header is the response metadata, Trailer the trailers.
	Header, Trailer [][2]string
	// Messages are sent in order.
	Messages [][]byte
	// Status is the gRPC status code (0 OK) and Message its message.
	Status  uint32
	Message string
	// Hang never answers: the RPC stays open until the client ends it
	// (a timeout, a cancel).
	Hang bool
}

// GRPCHandler scripts a method's answer; it runs once the client has sent
// every message (half-closed).
type GRPCHandler func(call GRPCCall) GRPCReply

// GRPCEachHandler answers each message as it arrives (bidirectional
// streaming); the RPC ends OK when the client half-closes.
type GRPCEachHandler func(msg []byte) [][]byte

// GRPCServer is a real gRPC server (grpc-go) on a loopback port, whose
// methods answer from scripts. Messages are raw bytes.
type GRPCServer struct {
	// Addr is "127.0.0.1:port", for GRPCCluster.
	Addr string

	srv *grpc.Server

	mu       sync.Mutex
	handlers map[string]GRPCHandler
	each     map[string]eachHandler
	calls    []GRPCCall
	ended    chan GRPCEnd
}

type eachHandler struct {
	h      GRPCEachHandler
	header [][2]string
}

// NewGRPCServer starts a GRPCServer, stopped when the test ends. A method
// without a handler answers UNIMPLEMENTED.
func NewGRPCServer(t testing.TB) *GRPCServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("plugintest: gRPC server: %v", err)
	}
	s := &GRPCServer{Addr: ln.Addr().String(), handlers: map[string]GRPCHandler{}, each: map[string]eachHandler{},
		ended: make(chan GRPCEnd, 64)}
	s.srv = grpc.NewServer(grpc.ForceServerCodecV2(grpccallout.RawCodec{}), grpc.UnknownServiceHandler(s.serve))
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(s.srv.Stop)
	return s
}

// Handle scripts method ("/package.Service/Method").
func (s *GRPCServer) Handle(method string, h GRPCHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[method] = h
	delete(s.each, method)
}

// HandleEach answers each message of method as it arrives, after sending
// header as the response metadata.
func (s *GRPCServer) HandleEach(method string, h GRPCEachHandler, header ...[2]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.each[method] = eachHandler{h: h, header: header}
	delete(s.handlers, method)
}

// GRPCReplyWith answers every call with msgs and status OK.
func GRPCReplyWith(msgs ...[]byte) GRPCHandler {
	return func(GRPCCall) GRPCReply { return GRPCReply{Messages: msgs} }
}

// GRPCFail answers every call with a gRPC status and message.
func GRPCFail(code uint32, message string) GRPCHandler {
	return func(GRPCCall) GRPCReply { return GRPCReply{Status: code, Message: message} }
}

// Calls returns the RPCs received so far (those still open with the
// messages received until then).
func (s *GRPCServer) Calls() []GRPCCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]GRPCCall(nil), s.calls...)
}

// Ended returns a channel that receives how each RPC ended on the server
// (the 64 first ones not yet taken).
func (s *GRPCServer) Ended() <-chan GRPCEnd { return s.ended }

func (s *GRPCServer) serve(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	md, _ := metadata.FromIncomingContext(ss.Context())
	_, deadline := ss.Context().Deadline()
	call := GRPCCall{Method: method, Metadata: metadata.MD{}, Deadline: deadline}
	for k, v := range md {
		if k == ":authority" {
			call.Authority = v[0]
			continue
		}
		if !strings.HasPrefix(k, ":") {
			call.Metadata[k] = v
		}
	}
	s.mu.Lock()
	idx := len(s.calls)
	s.calls = append(s.calls, call)
	h, each := s.handlers[method], s.each[method]
	s.mu.Unlock()
	err := s.answer(ss, idx, h, each)
	select {
	case s.ended <- GRPCEnd{Method: method, Err: err}:
	default:
	}
	return err
}

func (s *GRPCServer) answer(ss grpc.ServerStream, idx int, h GRPCHandler, each eachHandler) error {
	if h == nil && each.h == nil {
		return status.Error(codes.Unimplemented, "plugintest: no handler for this method")
	}
	if len(each.header) > 0 {
		if err := ss.SendHeader(pairsMD(each.header)); err != nil {
			return err
		}
	}
	for {
		var m grpccallout.RawMessage
		err := ss.RecvMsg(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.calls[idx].Messages = append(s.calls[idx].Messages, m.B)
		s.mu.Unlock()
		if each.h != nil {
			for _, out := range each.h(m.B) {
				if err := ss.SendMsg(&grpccallout.RawMessage{B: out}); err != nil {
					return err
				}
			}
		}
	}
	if each.h != nil {
		return nil
	}
	s.mu.Lock()
	call := s.calls[idx]
	s.mu.Unlock()
	r := h(call)
	if r.Hang {
		<-ss.Context().Done()
		return status.FromContextError(ss.Context().Err()).Err()
	}
	if len(r.Header) > 0 {
		if err := ss.SendHeader(pairsMD(r.Header)); err != nil {
			return err
		}
	}
	for _, out := range r.Messages {
		if err := ss.SendMsg(&grpccallout.RawMessage{B: out}); err != nil {
			return err
		}
	}
	ss.SetTrailer(pairsMD(r.Trailer))
	if r.Status != 0 {
		return status.Error(codes.Code(r.Status), r.Message)
	}
	return nil
}

func pairsMD(ps [][2]string) metadata.MD {
	md := metadata.MD{}
	for _, p := range ps {
		md.Append(p[0], p[1])
	}
	return md
}
