package host

import (
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// gRPC callouts (proxy_grpc_call, proxy_grpc_stream and friends) as Envoy
// runs them: the calls belong to the root context, tokens are numbered per
// VM (calls 5, 9, 13, …; streams 6, 10, 14, …), every event reaches the
// plugin on the root context after the call in progress returns, and the
// calls still open when the VM closes are cancelled without callbacks.

// GRPC status codes the engine itself reports.
const (
	GRPCStatusOK                uint32 = 0
	GRPCStatusCanceled          uint32 = 1
	GRPCStatusUnknown           uint32 = 2
	GRPCStatusDeadlineExceeded  uint32 = 4
	GRPCStatusResourceExhausted uint32 = 8
	GRPCStatusInternal          uint32 = 13
	GRPCStatusUnavailable       uint32 = 14
)

// Limits of gRPC callouts.
const (
	// MaxGRPCCallsPerVM bounds the gRPC calls and streams open on one VM;
	// past it proxy_grpc_call and proxy_grpc_stream answer InternalFailure
	// (as Envoy's async client does when it cannot start a request).
	MaxGRPCCallsPerVM = 1024
	// DefaultGRPCMessageBytes is the largest message a callout receives or
	// sends when the service sets no max_receive_message_length (gRPC's
	// own default receive limit). A larger message ends the RPC with
	// RESOURCE_EXHAUSTED.
	DefaultGRPCMessageBytes = 4 << 20
	// grpcQueueDepth is the number of received stream messages waiting for
	// the plugin; the receiver blocks (HTTP/2 flow control then slows the
	// peer) until the plugin has taken one.
	grpcQueueDepth = 4
)

// GRPCTarget is where a plugin's gRPC callout goes, decoded from the
// grpc_service argument: a serialized envoy.config.core.v3.GrpcService or
// a plain cluster name.
type GRPCTarget struct {
	// Cluster is envoy_grpc.cluster_name.
	Cluster string
	// Authority is envoy_grpc.authority; Envoy sends the cluster name as
	// :authority when it is empty.
	Authority string
	// MaxMessageBytes bounds received messages
	// (envoy_grpc.max_receive_message_length, else DefaultGRPCMessageBytes).
	MaxMessageBytes int
}

// GRPCRequest is one RPC a plugin opens.
type GRPCRequest struct {
	Target GRPCTarget
	// Service is the full service name ("pkg.Service") and Method the
	// method name; the RPC path is "/Service/Method".
	Service, Method string
	// Metadata is the initial metadata: the service's initial_metadata,
	// then the plugin's, keys lower-cased.
	Metadata *HeaderMap
	// Timeout is the deadline of a unary call (0: none); streams have none.
	// The engine enforces it too: without an answer in time the plugin
	// sees UNAVAILABLE "upstream request timeout", as Envoy's router
	// reports its timeout to a gRPC client.
	Timeout time.Duration
	// Unary marks proxy_grpc_call: the request message is sent with
	// end of stream right after GRPCOpen.
	Unary bool
}

// GRPCHandler receives what the peer of an RPC sends. The caller calls it
// from its own goroutines (never from within GRPCOpen or a GRPCStream
// method), one event at a time, ending with exactly one OnClose.
type GRPCHandler interface {
	// OnInitialMetadata delivers the response headers.
	OnInitialMetadata(md *HeaderMap)
	// OnMessage delivers one message. It may block until the plugin has
	// taken earlier messages, and returns at once after a cancel.
	OnMessage(msg []byte)
	// OnTrailingMetadata delivers the trailers (grpc-status included).
	OnTrailingMetadata(md *HeaderMap)
	// OnClose ends the RPC with a gRPC status code and message.
	OnClose(status uint32, message string)
}

// GRPCStream is the plugin's side of an open RPC. Its methods are called
// with the VM held and must not block.
type GRPCStream interface {
	// Send queues one message; end half-closes the stream after it.
	Send(msg []byte, end bool)
	// CloseSend half-closes the stream.
	CloseSend()
	// Cancel resets the RPC; the handler may still be called afterwards
	// and is then ignored.
	Cancel()
}

// GRPCCaller carries out plugin gRPC callouts over real gRPC clients.
// GRPCOpen returns ErrUnknownCluster for a cluster it does not know and
// another error when the RPC cannot be started.
type GRPCCaller interface {
	GRPCOpen(req *GRPCRequest, h GRPCHandler) (GRPCStream, error)
}

// grpcState is a VM's open gRPC calls and streams (VM lock held).
type grpcState struct {
	nextCall, nextStream uint32
	calls                map[uint32]*grpcCall
	// Current delivery, valid while a gRPC callback runs.
	buf       []byte
	receiving bool
	initial   *HeaderMap
	trailing  *HeaderMap
	warned    map[string]bool // grpc_service fields already warned about
}

// grpcCall is one open RPC of a VM.
type grpcCall struct {
	v *vm
	// root is the caller's root context, which hears the answers (Envoy's
	// grpc_call and grpc_stream use the root context of the calling one).
	root   *rootCtx
	tok    uint32
	unary  bool
	stream GRPCStream
	timer  Timer
	// localClosed and remoteClosed are a stream's half-closes (VM lock).
	localClosed, remoteClosed bool

	// credit bounds the messages posted to the VM and not yet delivered.
	credit chan struct{}
	gone   chan struct{} // closed when the engine forgets the call
	once   sync.Once

	mu      sync.Mutex
	lastMsg []byte // a unary call's response
	hasMsg  bool
}

func isGRPCCallToken(tok uint32) bool   { return tok&3 == 1 }
func isGRPCStreamToken(tok uint32) bool { return tok&3 == 2 }

// allocGRPCToken returns the next call or stream token, as Envoy numbers
// them (the counter advances by 4 before each use).
func (v *vm) allocGRPCToken(unary bool) uint32 {
	g := &v.grpc
	if g.calls == nil {
		g.calls = map[uint32]*grpcCall{}
		g.nextCall, g.nextStream = 1, 2
	}
	if unary {
		g.nextCall += 4
		return g.nextCall
	}
	g.nextStream += 4
	return g.nextStream
}

// forget removes c from the VM's calls and releases its receiver.
func (c *grpcCall) forget() {
	v := c.v
	if v.grpc.calls[c.tok] == c {
		delete(v.grpc.calls, c.tok)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	c.once.Do(func() { close(c.gone) })
}

// closeGRPC cancels every open call of a closing VM; no callback follows.
func (v *vm) closeGRPC() {
	for _, c := range v.grpc.calls {
		c.stream.Cancel()
		c.forget()
	}
}

// GRPCHandler implementation: each event is posted to the VM's mailbox.

func (c *grpcCall) OnInitialMetadata(md *HeaderMap) {
	if c.unary {
		return
	}
	c.v.post(func() { c.v.deliverGRPC(c, types.MapTypeGrpcReceiveInitialMetadata, md) })
}

func (c *grpcCall) OnMessage(msg []byte) {
	if c.unary {
		c.mu.Lock()
		c.lastMsg, c.hasMsg = msg, true
		c.mu.Unlock()
		return
	}
	select {
	case c.credit <- struct{}{}:
	case <-c.gone:
		return
	}
	c.v.post(func() {
		defer func() { <-c.credit }()
		c.v.deliverGRPCMessage(c, msg)
	})
}

func (c *grpcCall) OnTrailingMetadata(md *HeaderMap) {
	if c.unary {
		return
	}
	c.v.post(func() { c.v.deliverGRPC(c, types.MapTypeGrpcReceiveTrailingMetadata, md) })
}

func (c *grpcCall) OnClose(status uint32, message string) {
	c.v.post(func() { c.v.deliverGRPCClose(c, status, message) })
}

// current reports whether c is still open on its VM and the VM can run
// callbacks.
func (v *vm) grpcCurrent(c *grpcCall) bool {
	return v.grpc.calls[c.tok] == c && !v.closed && !v.failed.Load() && v.root(c.root.id) != nil
}

// deliverGRPC runs a metadata callback (VM lock held).
func (v *vm) deliverGRPC(c *grpcCall, mt types.MapType, md *HeaderMap) {
	if !v.grpcCurrent(c) || c.remoteClosed {
		return
	}
	if md == nil {
		md = &HeaderMap{}
	}
	name := "proxy_on_grpc_receive_initial_metadata"
	if mt == types.MapTypeGrpcReceiveTrailingMetadata {
		name = "proxy_on_grpc_receive_trailing_metadata"
	}
	f := v.export(name)
	if f == nil {
		return
	}
	if mt == types.MapTypeGrpcReceiveInitialMetadata {
		v.grpc.initial = md
	} else {
		v.grpc.trailing = md
	}
	v.stack[0], v.stack[1], v.stack[2] = uint64(c.root.id), uint64(c.tok), uint64(md.Len())
	_, _ = v.callTop(cbGRPC, c.root.id, f, 3, v.e.cfg.CallTimeout)
	v.grpc.initial, v.grpc.trailing = nil, nil
}

// deliverGRPCMessage runs proxy_on_grpc_receive for a stream message.
func (v *vm) deliverGRPCMessage(c *grpcCall, msg []byte) {
	if !v.grpcCurrent(c) || c.remoteClosed {
		return
	}
	v.grpcReceive(c, msg)
}

func (v *vm) grpcReceive(c *grpcCall, msg []byte) {
	f := v.export("proxy_on_grpc_receive")
	if f == nil {
		return
	}
	v.grpc.buf, v.grpc.receiving = msg, true
	v.stack[0], v.stack[1], v.stack[2] = uint64(c.root.id), uint64(c.tok), uint64(len(msg))
	_, _ = v.callTop(cbGRPC, c.root.id, f, 3, v.e.cfg.CallTimeout)
	v.grpc.buf, v.grpc.receiving = nil, false
}

// deliverGRPCClose ends an RPC: a unary call's response goes to
// proxy_on_grpc_receive, a failure to proxy_on_grpc_close with the status
// (and message, through proxy_get_status), as Envoy's async client reports
// them.
func (v *vm) deliverGRPCClose(c *grpcCall, status uint32, message string) {
	if v.grpc.calls[c.tok] != c || c.remoteClosed {
		return
	}
	c.remoteClosed = true
	c.once.Do(func() { close(c.gone) }) // nothing more to receive
	if c.timer != nil {
		c.timer.Stop()
	}
	// As in Envoy, the call is forgotten after its last callback (a stream
	// only once the plugin closed its side too), so the callback can still
	// name its token.
	defer func() {
		if c.unary || c.localClosed {
			c.forget()
		}
	}()
	if v.closed || v.failed.Load() || v.root(c.root.id) == nil {
		return
	}
	if c.unary {
		c.mu.Lock()
		msg, has := c.lastMsg, c.hasMsg
		c.mu.Unlock()
		if status == GRPCStatusOK && !has {
			status, message = GRPCStatusInternal, "" // OK without a message
		}
		if status == GRPCStatusOK {
			v.grpcReceive(c, msg)
			return
		}
	}
	f := v.export("proxy_on_grpc_close")
	if f == nil {
		return
	}
	v.status.code, v.status.msg = status, message
	v.stack[0], v.stack[1], v.stack[2] = uint64(c.root.id), uint64(c.tok), uint64(status)
	_, _ = v.callTop(cbGRPC, c.root.id, f, 3, v.e.cfg.CallTimeout)
	v.status.msg = ""
}

// grpcTimeout ends a unary call whose deadline passed (VM lock held).
func (v *vm) grpcTimeout(c *grpcCall) {
	if v.grpc.calls[c.tok] != c {
		return
	}
	c.stream.Cancel()
	v.deliverGRPCClose(c, GRPCStatusUnavailable, "upstream request timeout")
}

// export returns the plugin's callback name, nil when it does not export it.
func (v *vm) export(name string) api.Function {
	if _, ok := v.g.mod.exports[name]; !ok {
		return nil
	}
	return v.mod.ExportedFunction(name)
}

// grpcMap returns a gRPC metadata map while its callback runs.
func (v *vm) grpcMap(mt types.MapType) (*HeaderMap, types.Status) {
	if v.cb == cbGRPC {
		if mt == types.MapTypeGrpcReceiveInitialMetadata && v.grpc.initial != nil {
			return v.grpc.initial, types.StatusOK
		}
		if mt == types.MapTypeGrpcReceiveTrailingMetadata && v.grpc.trailing != nil {
			return v.grpc.trailing, types.StatusOK
		}
	}
	return nil, types.StatusBadArgument
}

// grpcBuffer returns the message being delivered to proxy_on_grpc_receive.
func (v *vm) grpcBuffer() ([]byte, types.Status) {
	if v.cb == cbGRPC && v.grpc.receiving {
		return v.grpc.buf, types.StatusOK
	}
	return nil, types.StatusNotFound
}
