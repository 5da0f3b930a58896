// Package grpccallout carries out plugin gRPC callouts (host.GRPCCaller)
// over grpc-go clients: one client connection per upstream and authority,
// closed after a minute unused, messages passed through as raw bytes.
package grpccallout

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wasmgate/wasmgate/host"
)

const (
	// grpcConnIdle is how long a callout connection stays open unused.
	grpcConnIdle = time.Minute
	// grpcSendQueueBytes bounds the messages a plugin queued and the peer
	// has not taken yet; past it the RPC ends with RESOURCE_EXHAUSTED.
	grpcSendQueueBytes = 2 * host.DefaultGRPCMessageBytes
)

// Envoy's async client reports a connection it could not open with this
// message (the router's local reply as a gRPC status).
const grpcConnectFailure = "upstream connect error or disconnect/reset before headers. reset reason: connection failure"

// Upstream is where a callout connection goes. It must be comparable: it
// keys the connection cache.
type Upstream interface {
	// Name names the upstream (the gRPC target's host part).
	Name() string
	// Dial connects to one of its endpoints.
	Dial(ctx context.Context) (net.Conn, error)
	// TLS is the client TLS configuration, nil for plain text (h2c).
	TLS() *tls.Config
}

// Conns caches callout connections. The zero value is ready to use.
type Conns struct {
	mu    sync.Mutex
	conns map[connKey]*grpcConn
}

type connKey struct {
	up        Upstream
	authority string
}

type grpcConn struct {
	cc     *grpc.ClientConn
	active int
	idle   *time.Timer
}

// Open starts req on up and reports what the peer answers to h.
func (g *Conns) Open(up Upstream, req *host.GRPCRequest, h host.GRPCHandler) (host.GRPCStream, error) {
	key := connKey{up: up, authority: req.Target.Authority}
	conn, err := g.acquire(key)
	if err != nil {
		return nil, err
	}
	s := newGRPCCallout(req, h, func() { g.release(key, conn) })
	go s.run(conn.cc, req)
	return s, nil
}

func (g *Conns) acquire(key connKey) (*grpcConn, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns == nil {
		g.conns = map[connKey]*grpcConn{}
	}
	if c := g.conns[key]; c != nil {
		c.active++
		if c.idle != nil {
			c.idle.Stop()
			c.idle = nil
		}
		return c, nil
	}
	up := key.up
	creds := insecure.NewCredentials()
	if tc := up.TLS(); tc != nil {
		creds = credentials.NewTLS(tc.Clone())
	}
	cc, err := grpc.NewClient("passthrough:///"+up.Name(),
		grpc.WithTransportCredentials(creds),
		grpc.WithAuthority(key.authority),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return up.Dial(ctx) }),
		grpc.WithIdleTimeout(grpcConnIdle),
	)
	if err != nil {
		return nil, err
	}
	c := &grpcConn{cc: cc, active: 1}
	g.conns[key] = c
	return c, nil
}

// Close closes every cached connection; their RPCs end.
func (g *Conns) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, c := range g.conns {
		if c.idle != nil {
			c.idle.Stop()
		}
		_ = c.cc.Close()
		delete(g.conns, k)
	}
}

func (g *Conns) release(key connKey, c *grpcConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.active--
	if c.active > 0 {
		return
	}
	c.idle = time.AfterFunc(grpcConnIdle, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if c.active == 0 && g.conns[key] == c {
			delete(g.conns, key)
			_ = c.cc.Close()
		}
	})
}

// RawCodec passes messages through as bytes (*[]byte on a server, see
// RawMessage). Its empty name keeps the content-type "application/grpc",
// as Envoy sends it.
type RawCodec struct{}

// RawMessage is a message RawCodec passes through.
type RawMessage struct{ B []byte }

// Marshal implements encoding.CodecV2.
func (RawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*RawMessage)
	if !ok {
		return nil, errors.New("raw codec: not a raw message")
	}
	return mem.BufferSlice{mem.SliceBuffer(m.B)}, nil
}

// Unmarshal implements encoding.CodecV2.
func (RawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*RawMessage)
	if !ok {
		return errors.New("raw codec: not a raw message")
	}
	m.B = data.Materialize()
	return nil
}

// Name implements encoding.CodecV2.
func (RawCodec) Name() string { return "" }

// grpcCallout is one RPC a plugin opened.
type grpcCallout struct {
	h       host.GRPCHandler
	ctx     context.Context
	cancel  context.CancelFunc
	release func()

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []grpcSend
	queued  int
	failure *status.Status // why the engine's side ended the RPC
}

type grpcSend struct {
	msg   []byte
	end   bool
	close bool
}

func newGRPCCallout(req *host.GRPCRequest, h host.GRPCHandler, release func()) *grpcCallout {
	ctx, cancel := context.WithCancel(context.Background())
	if req.Unary && req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), req.Timeout)
	}
	if req.Metadata.Len() > 0 {
		md := metadata.MD{}
		for _, f := range req.Metadata.Fields {
			v := f.Value
			if strings.HasSuffix(f.Key, "-bin") {
				v = decodeBinaryHeader(v)
			}
			md.Append(f.Key, v)
		}
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	s := &grpcCallout{h: h, ctx: ctx, cancel: cancel, release: release}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// Send implements host.GRPCStream.
func (s *grpcCallout) Send(msg []byte, end bool) {
	s.push(grpcSend{msg: msg, end: end})
}

// CloseSend implements host.GRPCStream.
func (s *grpcCallout) CloseSend() { s.push(grpcSend{close: true}) }

// Cancel implements host.GRPCStream.
func (s *grpcCallout) Cancel() {
	s.fail(status.New(codes.Canceled, "cancelled"))
}

func (s *grpcCallout) push(item grpcSend) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure != nil {
		return
	}
	if s.queued+len(item.msg) > grpcSendQueueBytes {
		s.failLocked(status.New(codes.ResourceExhausted, "gRPC callout send queue over "+strconv.Itoa(grpcSendQueueBytes)+" bytes"))
		return
	}
	s.queued += len(item.msg)
	s.queue = append(s.queue, item)
	s.cond.Signal()
}

func (s *grpcCallout) fail(st *status.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLocked(st)
}

func (s *grpcCallout) failLocked(st *status.Status) {
	if s.failure == nil {
		s.failure = st
	}
	s.cancel()
	s.cond.Broadcast()
}

// next waits for the next queued send; false once the RPC ended.
func (s *grpcCallout) next() (grpcSend, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 && s.failure == nil {
		s.cond.Wait()
	}
	if s.failure != nil {
		return grpcSend{}, false
	}
	item := s.queue[0]
	s.queue[0] = grpcSend{}
	s.queue = s.queue[1:]
	s.queued -= len(item.msg)
	return item, true
}

// run opens the RPC, sends what the plugin queues and reports what the
// peer answers, ending with exactly one OnClose.
func (s *grpcCallout) run(cc *grpc.ClientConn, req *host.GRPCRequest) {
	defer s.release()
	// The RPC is over: the sender stops and later sends are dropped.
	defer s.fail(status.New(codes.Canceled, "rpc ended"))
	cs, err := cc.NewStream(s.ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true},
		"/"+req.Service+"/"+req.Method,
		grpc.ForceCodecV2(RawCodec{}),
		grpc.MaxCallRecvMsgSize(req.Target.MaxMessageBytes),
		grpc.MaxCallSendMsgSize(host.DefaultGRPCMessageBytes))
	if err != nil {
		s.finish(nil, err, false)
		return
	}
	go s.sendLoop(cs)
	header, herr := cs.Header()
	gotHeaders := herr == nil && len(header) > 0
	if gotHeaders {
		s.h.OnInitialMetadata(initialMetadata(header))
	} else {
		s.h.OnInitialMetadata(&host.HeaderMap{})
	}
	for {
		var m RawMessage
		err := cs.RecvMsg(&m)
		if err != nil {
			s.finish(cs, err, gotHeaders)
			return
		}
		s.h.OnMessage(m.B)
	}
}

func (s *grpcCallout) sendLoop(cs grpc.ClientStream) {
	for {
		item, ok := s.next()
		if !ok {
			return
		}
		if !item.close {
			if err := cs.SendMsg(&RawMessage{B: item.msg}); err != nil {
				if !errors.Is(err, io.EOF) { // io.EOF: the peer ended the RPC, RecvMsg tells how
					s.fail(status.Convert(err))
				}
				return
			}
		}
		if item.close || item.end {
			_ = cs.CloseSend()
			return
		}
	}
}

// pastDeadline reports whether the call's timeout has passed, by the clock
// rather than by its timer.
func (s *grpcCallout) pastDeadline() bool {
	d, ok := s.ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// finish reports the end of the RPC: trailing metadata (for a stream that
// got that far), then its status.
func (s *grpcCallout) finish(cs grpc.ClientStream, err error, gotHeaders bool) {
	code, msg := uint32(codes.OK), ""
	if !errors.Is(err, io.EOF) {
		st := status.Convert(err)
		code, msg = uint32(st.Code()), st.Message()
	}
	s.mu.Lock()
	failure := s.failure
	s.mu.Unlock()
	switch {
	case failure != nil && failure.Code() != codes.Canceled:
		code, msg = uint32(failure.Code()), failure.Message()
	case errors.Is(s.ctx.Err(), context.DeadlineExceeded) || (code != uint32(codes.OK) && s.pastDeadline()):
		// The call's own timeout, as Envoy's async client reports it. A
		// server's DEADLINE_EXCEEDED (it got the deadline as grpc-timeout)
		// can arrive before the local timer has fired; the deadline had
		// passed all the same.
		code, msg = host.GRPCStatusUnavailable, "upstream request timeout"
	case code == uint32(codes.Unavailable) && !gotHeaders:
		msg = grpcConnectFailure
	}
	trailers := &host.HeaderMap{}
	trailers.Add("grpc-status", strconv.Itoa(int(code)))
	if msg != "" {
		trailers.Add("grpc-message", msg)
	}
	if cs != nil {
		addMetadata(trailers, cs.Trailer())
	}
	s.h.OnTrailingMetadata(trailers)
	s.h.OnClose(code, msg)
}

// initialMetadata is the response headers as Envoy hands them to the
// plugin: ":status" first, then the metadata in key order.
func initialMetadata(md metadata.MD) *host.HeaderMap {
	h := host.NewHeaderMap(":status", "200")
	addMetadata(h, md)
	return h
}

func addMetadata(h *host.HeaderMap, md metadata.MD) {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range md[k] {
			if strings.HasSuffix(k, "-bin") {
				v = encodeBinaryHeader(v)
			}
			h.Add(k, v)
		}
	}
}

// Binary ("-bin") metadata travels base64-encoded, as the plugin reads and
// writes it in Envoy; grpc-go encodes and decodes it itself.
func encodeBinaryHeader(v string) string { return base64.RawStdEncoding.EncodeToString([]byte(v)) }

func decodeBinaryHeader(v string) string {
	if b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "=")); err == nil {
		return string(b)
	}
	return v
}
