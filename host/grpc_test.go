package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// fakeGRPC is a GRPCCaller the test drives by hand.
type fakeGRPC struct {
	mu       sync.Mutex
	clusters map[string]bool
	opened   []*fakeGRPCStream
	arrived  chan *fakeGRPCStream
	fail     error
}

type fakeGRPCStream struct {
	req *GRPCRequest
	h   GRPCHandler

	mu        sync.Mutex
	sent      []string
	ended     bool
	cancelled bool
}

func newFakeGRPC(clusters ...string) *fakeGRPC {
	f := &fakeGRPC{clusters: map[string]bool{}, arrived: make(chan *fakeGRPCStream, 64)}
	for _, c := range clusters {
		f.clusters[c] = true
	}
	return f
}

func (f *fakeGRPC) GRPCOpen(req *GRPCRequest, h GRPCHandler) (GRPCStream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	if !f.clusters[req.Target.Cluster] {
		return nil, ErrUnknownCluster
	}
	s := &fakeGRPCStream{req: req, h: h}
	f.opened = append(f.opened, s)
	f.arrived <- s
	return s, nil
}

func (f *fakeGRPC) next(t testing.TB) *fakeGRPCStream {
	t.Helper()
	select {
	case s := <-f.arrived:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("no gRPC call opened")
	}
	return nil
}

func (s *fakeGRPCStream) Send(msg []byte, end bool) {
	s.mu.Lock()
	s.sent = append(s.sent, string(msg))
	s.ended = s.ended || end
	s.mu.Unlock()
}

func (s *fakeGRPCStream) CloseSend() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
}

func (s *fakeGRPCStream) Cancel() {
	s.mu.Lock()
	s.cancelled = true
	s.mu.Unlock()
}

func (s *fakeGRPCStream) state() (sent []string, ended, cancelled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...), s.ended, s.cancelled
}

func withGRPC(g GRPCCaller) pluginOpt { return func(c *PluginConfig) { c.GRPC = g } }

// grpcServiceHex is a serialized GrpcService naming cluster.
func grpcServiceHex(t testing.TB, gs *corev3.GrpcService) string {
	t.Helper()
	b, err := proto.Marshal(gs)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func envoyGRPC(cluster, authority string) *corev3.GrpcService {
	return &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
		EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: cluster, Authority: authority}}}
}

func runHeaders(t testing.TB, p *Plugin) *Stream {
	t.Helper()
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	return s
}

func TestGRPCCallUnary(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("grpc-backend")
	gs := envoyGRPC("grpc-backend", "")
	gs.InitialMetadata = []*corev3.HeaderValue{{Key: "X-Service", Value: "svc"}}
	script := fmt.Sprintf(`{"request_headers":[
		{"op":"grpc_call","hex":%q,"service":"echo.Echo","method":"Say","pairs":[["X-Plugin","p"]],"data":"ping","timeout":5000},
		{"op":"grpc_call","cluster":"grpc-backend","service":"echo.Echo","method":"Say","data":"second"},
		{"op":"grpc_stream","cluster":"grpc-backend","service":"echo.Echo","method":"Chat"},
		{"op":"get_body","buf":5,"max":10}]}`, grpcServiceHex(t, gs))
	p, rec := scripted(t, e, false, script, withGRPC(g))
	s := runHeaders(t, p)
	defer s.Done()
	// Envoy's numbering: calls 5, 9, …; streams 6, 10, …
	rec.mustHave(t, "grpc_call st=0 token=5", "grpc_call st=0 token=9", "grpc_stream st=0 token=6",
		"get_body st=1") // no gRPC message outside proxy_on_grpc_receive: NotFound
	c1, c2 := g.next(t), g.next(t)
	r := c1.req
	if r.Target.Cluster != "grpc-backend" || r.Target.Authority != "grpc-backend" || r.Service != "echo.Echo" ||
		r.Method != "Say" || r.Timeout != 5*time.Second || !r.Unary || r.Target.MaxMessageBytes != DefaultGRPCMessageBytes {
		t.Fatalf("%+v", r)
	}
	if got := fmt.Sprint(r.Metadata.Fields); got != "[{x-service svc} {x-plugin p}]" {
		t.Fatal(got)
	}
	if sent, ended, _ := c1.state(); len(sent) != 1 || sent[0] != "ping" || !ended {
		t.Fatal(sent, ended)
	}
	// A unary call reports only its response, on the root context.
	c1.h.OnInitialMetadata(NewHeaderMap("x-md", "1"))
	c1.h.OnMessage([]byte("pong"))
	c1.h.OnTrailingMetadata(NewHeaderMap("grpc-status", "0"))
	c1.h.OnClose(GRPCStatusOK, "")
	rec.waitFor(t, "grpc_receive token=5")
	rec.mustHave(t, "cb:grpc_receive ctx=1 a=5", "grpc_receive token=5 size=4 st=0 data=pong")
	// A failure goes to proxy_on_grpc_close with the status and message.
	c2.h.OnClose(7, "denied")
	rec.waitFor(t, "grpc_close token=9")
	rec.mustHave(t, "grpc_close token=9 status=7 get_status=0 code=7 msg=denied")
	for _, l := range rec.wasmLines() {
		if strings.Contains(l, "grpc_initial token=5") || strings.Contains(l, "grpc_trailing token=5") {
			t.Fatalf("unary call delivered metadata: %s", l)
		}
	}
	// Later events of a finished call are ignored.
	c2.h.OnClose(0, "")
	c1.h.OnClose(0, "")
}

func TestGRPCCallOKWithoutMessageIsInternal(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("b")
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"grpc_call","cluster":"b","service":"s","method":"m"}]}`, withGRPC(g))
	s := runHeaders(t, p)
	defer s.Done()
	g.next(t).h.OnClose(GRPCStatusOK, "")
	rec.waitFor(t, "grpc_close token=5")
	rec.mustHave(t, "grpc_close token=5 status=13 get_status=0 code=13 msg=")
}

func TestGRPCStreamLifecycle(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("b")
	p, rec := scripted(t, e, false, `{"request_headers":[
		{"op":"grpc_stream","cluster":"b","service":"chat.Chat","method":"Talk","pairs":[["K","v"]]},
		{"op":"grpc_send","data":"one"},
		{"op":"grpc_send","token":5,"data":"x"},
		{"op":"grpc_send","token":10,"data":"x"}],
	"grpc_receive":[{"op":"get_body","buf":5,"max":-1},{"op":"grpc_send","data":"reply","end":true},{"op":"grpc_send","data":"late"}],
	"grpc_trailing":[{"op":"get_header","map":5,"key":"grpc-status"},{"op":"get_header","map":4,"key":"x"}],
	"grpc_close":[{"op":"grpc_send","data":"after"},{"op":"grpc_close"},{"op":"grpc_close"}]}`, withGRPC(g))
	s := runHeaders(t, p)
	defer s.Done()
	rec.mustHave(t, "grpc_stream st=0 token=6", "grpc_send st=0", "grpc_send st=2", "grpc_send st=1")
	c := g.next(t)
	if c.req.Unary || c.req.Timeout != 0 || fmt.Sprint(c.req.Metadata.Fields) != "[{k v}]" {
		t.Fatalf("%+v", c.req)
	}
	c.h.OnInitialMetadata(NewHeaderMap(":status", "200", "content-type", "application/grpc", "x", "1"))
	c.h.OnMessage([]byte("hello"))
	c.h.OnTrailingMetadata(NewHeaderMap("grpc-status", "0", "t", "2"))
	c.h.OnClose(GRPCStatusOK, "")
	rec.waitFor(t, "cb:grpc_close")
	rec.mustHave(t,
		"grpc_initial token=6 n=3 st=0 :status=200;content-type=application/grpc;x=1",
		"grpc_receive token=6 size=5 st=0 data=hello", "get_body st=0 len=5 ptr0=false data=hello",
		"grpc_trailing token=6 n=2 st=0 grpc-status=0;t=2", "get_header grpc-status st=0 val=0",
		"get_header x st=2", // initial metadata only during its own callback
		"grpc_close token=6 status=0 get_status=0 code=0 msg=",
		"grpc_close st=0", "grpc_close st=1") // closed on both sides: forgotten
	sent, ended, cancelled := c.state()
	if fmt.Sprint(sent) != "[one reply]" || !ended || cancelled {
		t.Fatal(sent, ended, cancelled)
	}
}

func TestGRPCCancelDeliversNothing(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("b")
	p, rec := scripted(t, e, false, `{"request_headers":[
		{"op":"grpc_stream","cluster":"b","service":"s","method":"m"},
		{"op":"grpc_cancel"},{"op":"grpc_cancel"},{"op":"grpc_send","data":"x"},
		{"op":"grpc_call","cluster":"b","service":"s","method":"m"},
		{"op":"grpc_close"},{"op":"grpc_cancel","token":4},{"op":"grpc_close","token":7}],
	"response_headers":[{"op":"log","level":2,"msg":"marker"}]}`, withGRPC(g))
	s := runHeaders(t, p)
	defer s.Done()
	rec.mustHave(t, "grpc_cancel st=0", "grpc_cancel st=1", "grpc_send st=1", "grpc_call st=0 token=5",
		"grpc_close st=0", "grpc_cancel st=2", "grpc_close st=2")
	st, call := g.next(t), g.next(t)
	if _, _, cancelled := st.state(); !cancelled {
		t.Fatal("stream not cancelled")
	}
	if _, _, cancelled := call.state(); !cancelled {
		t.Fatal("call not cancelled by proxy_grpc_close")
	}
	// The peer's late events reach nobody (Envoy calls no proxy_on_grpc_close after a cancel).
	st.h.OnMessage([]byte("late"))
	st.h.OnClose(GRPCStatusCanceled, "cancelled")
	call.h.OnClose(GRPCStatusCanceled, "cancelled")
	// The next call into the VM runs after anything the events queued.
	s.ResponseHeaders(NewHeaderMap(":status", "200"), true)
	rec.waitFor(t, "marker")
	for _, l := range rec.wasmLines() {
		if strings.Contains(l, "cb:grpc_") {
			t.Fatalf("callback after cancel: %s", l)
		}
	}
}

func TestGRPCServiceArgument(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("known")
	withLimit := envoyGRPC("known", "auth.example")
	withLimit.GetEnvoyGrpc().MaxReceiveMessageLength = wrapperspb.UInt32(1024)
	withLimit.Timeout = durationpb.New(time.Second)
	google := &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_GoogleGrpc_{
		GoogleGrpc: &corev3.GrpcService_GoogleGrpc{TargetUri: "x"}}}
	script := fmt.Sprintf(`{"request_headers":[
		{"op":"grpc_call","cluster":"unknown","service":"s","method":"m"},
		{"op":"grpc_stream","cluster":"unknown","service":"s","method":"m"},
		{"op":"grpc_call","hex":%q,"service":"s","method":"m"},
		{"op":"grpc_call","hex":%q,"service":"s","method":"m"},
		{"op":"grpc_call","service":"s","method":"m"},
		{"op":"grpc_call","hex":%q,"service":"s","method":"m"}]}`,
		grpcServiceHex(t, envoyGRPC("unknown", "")), grpcServiceHex(t, google), grpcServiceHex(t, withLimit))
	p, rec := scripted(t, e, false, script, withGRPC(g))
	s := runHeaders(t, p)
	defer s.Done()
	// A plain name of an unknown cluster: ParseFailure and no token used;
	// a GrpcService of an unknown cluster: InternalFailure (its token is
	// used, as Envoy numbers the call before it fails); no envoy_grpc
	// (google_grpc, or empty bytes, which parse as an empty GrpcService):
	// BadArgument.
	rec.mustHave(t, "grpc_call st=4 token=0", "grpc_stream st=4 token=0", "grpc_call st=10 token=0",
		"grpc_call st=2 token=0", "grpc_call st=0 token=9")
	r := g.next(t).req
	if r.Target.Authority != "auth.example" || r.Target.MaxMessageBytes != 1024 {
		t.Fatalf("%+v", r.Target)
	}
	var warned []string
	for _, l := range rec.all() {
		if strings.HasPrefix(l.Msg, "plugin gRPC callout: field") {
			warned = append(warned, l.Attrs["field"])
		}
	}
	if fmt.Sprint(warned) != "[grpc_service.google_grpc grpc_service.timeout]" {
		t.Fatal(warned)
	}
	// Without a GRPCCaller no cluster is known.
	p2, rec2 := scripted(t, e, false, `{"request_headers":[{"op":"grpc_call","cluster":"c","service":"s","method":"m"}]}`)
	runHeaders(t, p2).Done()
	rec2.mustHave(t, "grpc_call st=4")
	// A caller that cannot start the call.
	g.fail = errors.New("pool exhausted")
	p3, rec3 := scripted(t, e, false, `{"request_headers":[{"op":"grpc_call","cluster":"known","service":"s","method":"m"}]}`, withGRPC(g))
	runHeaders(t, p3).Done()
	rec3.mustHave(t, "grpc_call st=10")
}

func TestGRPCCallTimeout(t *testing.T) {
	clock := newManualClock()
	e := newTestEngine(t, EngineConfig{Clock: clock})
	g := newFakeGRPC("b")
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"grpc_call","cluster":"b","service":"s","method":"m","timeout":250}]}`, withGRPC(g))
	s := runHeaders(t, p)
	defer s.Done()
	c := g.next(t)
	clock.Advance(250 * time.Millisecond)
	rec.waitFor(t, "grpc_close token=5")
	rec.mustHave(t, "grpc_close token=5 status=14 get_status=0 code=14 msg=upstream request timeout")
	if _, _, cancelled := c.state(); !cancelled {
		t.Fatal("timed-out call not cancelled")
	}
	c.h.OnMessage([]byte("late"))
	c.h.OnClose(0, "")
}

func TestGRPCCallsCancelledWhenVMCloses(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("b")
	p, _ := scripted(t, e, false, `{"request_headers":[
		{"op":"grpc_stream","cluster":"b","service":"s","method":"m"},
		{"op":"grpc_call","cluster":"b","service":"s","method":"m"}]}`, withGRPC(g))
	runHeaders(t, p).Done() // the calls belong to the root context: they outlive the stream
	st, call := g.next(t), g.next(t)
	for _, c := range []*fakeGRPCStream{st, call} {
		if _, _, cancelled := c.state(); cancelled {
			t.Fatal("call cancelled with the stream")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.Close(ctx)
	for _, c := range []*fakeGRPCStream{st, call} {
		if _, _, cancelled := c.state(); !cancelled {
			t.Fatal("call not cancelled when the VM closed")
		}
	}
}

// TestGRPCStreamFlowControl: a receiver waits while the plugin has
// grpcQueueDepth messages to take, and is released when the call goes.
func TestGRPCStreamFlowControl(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("b")
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"grpc_stream","cluster":"b","service":"s","method":"m"}]}`, withGRPC(g))
	s := runHeaders(t, p)
	defer s.Done()
	st := g.next(t)
	v := p.g.serving()[0]
	c := st.h.(*grpcCall)
	send := func(n int) chan struct{} {
		done := make(chan struct{})
		go func() {
			for i := 0; i < n; i++ {
				st.h.OnMessage([]byte("m"))
			}
			close(done)
		}()
		return done
	}
	waitFull := func() {
		deadline := time.Now().Add(20 * time.Second)
		for len(c.credit) < grpcQueueDepth {
			if time.Now().After(deadline) {
				t.Fatal("queue never filled")
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The VM is busy: messages queue up to the depth, then the receiver waits.
	v.lock()
	done := send(grpcQueueDepth + 2)
	waitFull()
	select {
	case <-done:
		t.Fatal("receiver not held back")
	default:
	}
	v.unlock() // the plugin takes them all
	<-done
	rec.waitFor(t, fmt.Sprintf("grpc_receive token=6 size=1 st=0 data=m"))
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n < grpcQueueDepth+2; {
		n = 0
		for _, l := range rec.wasmLines() {
			if strings.HasPrefix(l, "grpc_receive token=6") {
				n++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages delivered", n)
		}
		time.Sleep(time.Millisecond)
	}
	// Blocked again, then the call is forgotten (as when the VM closes).
	v.lock()
	done = send(3 * grpcQueueDepth)
	waitFull()
	v.closeGRPC()
	v.unlock()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("receiver still blocked after the call went")
	}
}

func TestGRPCOpenCallsBounded(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("b")
	g.arrived = make(chan *fakeGRPCStream, MaxGRPCCallsPerVM+1)
	p, rec := scripted(t, e, false, fmt.Sprintf(`{"request_headers":[
		{"op":"grpc_stream","cluster":"b","service":"s","method":"m","times":%d},
		{"op":"grpc_cancel"},
		{"op":"grpc_stream","cluster":"b","service":"s","method":"m"}]}`, MaxGRPCCallsPerVM+1), withGRPC(g))
	runHeaders(t, p).Done()
	var ok, refused int
	for _, l := range rec.wasmLines() {
		switch {
		case strings.HasPrefix(l, "grpc_stream st=0"):
			ok++
		case strings.HasPrefix(l, "grpc_stream st=10"):
			refused++
		}
	}
	// 1024 open, one refused; a cancel frees a place for the last one.
	if ok != MaxGRPCCallsPerVM+1 || refused != 1 {
		t.Fatalf("%d opened, %d refused", ok, refused)
	}
	warned := false
	for _, l := range rec.all() {
		warned = warned || strings.Contains(l.Msg, "too many open calls")
	}
	if !warned {
		t.Fatal("no warning for the refused call")
	}
}

// TestGRPCRawWATModule drives the gRPC ABI from a hand-written module with
// no SDK: the calls are opened in proxy_on_configure (root context) and
// every callback reads its buffer, map or status.
func TestGRPCRawWATModule(t *testing.T) {
	e := testEngine(t)
	g := newFakeGRPC("cluster")
	_, rec := startPlugin(t, e, compileWat(t, e, "grpc"), PluginConfig{Name: "grpc-wat", GRPC: g})
	call, stream := g.next(t), g.next(t)
	if call.req.Service != "svc.S" || call.req.Method != "Unary" || !call.req.Unary || stream.req.Method != "Chat" {
		t.Fatalf("%+v %+v", call.req, stream.req)
	}
	if sent, ended, _ := stream.state(); fmt.Sprint(sent) != "[hello]" || !ended {
		t.Fatal(sent, ended)
	}
	stream.h.OnInitialMetadata(NewHeaderMap(":status", "200", "x", "meta"))
	stream.h.OnMessage([]byte("hello back"))
	call.h.OnMessage([]byte("pong"))
	call.h.OnClose(GRPCStatusOK, "")
	stream.h.OnTrailingMetadata(NewHeaderMap("grpc-status", "9"))
	stream.h.OnClose(9, "precondition")
	rec.waitFor(t, "closed")
	got := strings.Join(rec.wasmLines(), "|")
	if got != "stream |meta|stream |hello back|call |pong|stream |9|stream |precondition|closed" {
		t.Fatal(got)
	}
}
