package host

import (
	"context"
	"errors"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/tetratelabs/wazero/api"
	"google.golang.org/protobuf/proto"

	"github.com/wasmgate/wasmgate/host/internal/pairs"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// grpcArgs are the arguments proxy_grpc_call and proxy_grpc_stream share.
type grpcArgs struct {
	service     []byte
	serviceName string
	method      string
	metadata    []pairs.Pair
	message     []byte
	timeoutMs   uint64
	unary       bool
	tokenPtr    uint32
}

func hGRPCCall(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	a, st := readGRPCArgs(m, s, true)
	if st != types.StatusOK {
		return st
	}
	return v.openGRPC(m, a)
}

func hGRPCStream(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	a, st := readGRPCArgs(m, s, false)
	if st != types.StatusOK {
		return st
	}
	return v.openGRPC(m, a)
}

func readGRPCArgs(m api.Module, s []uint64, unary bool) (grpcArgs, types.Status) {
	a := grpcArgs{unary: unary}
	svc, ok1 := readCopy(m, uint32(s[0]), uint32(s[1]))
	name, ok2 := readString(m, uint32(s[2]), uint32(s[3]))
	method, ok3 := readString(m, uint32(s[4]), uint32(s[5]))
	md, ok4 := read(m, uint32(s[6]), uint32(s[7]))
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return a, types.StatusInvalidMemoryAccess
	}
	a.service, a.serviceName, a.method = svc, name, method
	a.metadata, _ = pairs.Decode(md)
	if unary {
		msg, ok := readCopy(m, uint32(s[8]), uint32(s[9]))
		if !ok {
			return a, types.StatusInvalidMemoryAccess
		}
		a.message, a.timeoutMs, a.tokenPtr = msg, uint64(uint32(s[10])), uint32(s[11])
	} else {
		a.tokenPtr = uint32(s[8])
	}
	return a, types.StatusOK
}

// decodeGRPCService reads the grpc_service argument as Envoy does: a
// serialized GrpcService when it parses as one, else a cluster name.
func (v *vm) decodeGRPCService(raw []byte) (GRPCTarget, *HeaderMap, bool, types.Status) {
	t := GRPCTarget{MaxMessageBytes: DefaultGRPCMessageBytes}
	md := &HeaderMap{}
	var gs corev3.GrpcService
	if err := proto.Unmarshal(raw, &gs); err != nil {
		t.Cluster = string(raw)
		return t, md, true, types.StatusOK
	}
	eg := gs.GetEnvoyGrpc()
	if eg == nil {
		if gs.GetGoogleGrpc() != nil {
			v.warnGRPCField("grpc_service.google_grpc", "not supported: only envoy_grpc targets are reached")
		}
		return t, md, false, types.StatusBadArgument
	}
	t.Cluster, t.Authority = eg.GetClusterName(), eg.GetAuthority()
	if n := eg.GetMaxReceiveMessageLength(); n != nil && n.GetValue() > 0 && int(n.GetValue()) < t.MaxMessageBytes {
		t.MaxMessageBytes = int(n.GetValue())
	}
	if eg.GetRetryPolicy() != nil {
		v.warnGRPCField("grpc_service.envoy_grpc.retry_policy", "not applied: calls are not retried")
	}
	if gs.GetRetryPolicy() != nil {
		v.warnGRPCField("grpc_service.retry_policy", "not applied: calls are not retried")
	}
	if gs.GetTimeout() != nil {
		v.warnGRPCField("grpc_service.timeout", "not applied: the call's own timeout argument is the deadline, as in Envoy's Wasm gRPC calls")
	}
	for _, h := range gs.GetInitialMetadata() {
		val := h.GetValue()
		if val == "" && len(h.GetRawValue()) > 0 {
			val = string(h.GetRawValue())
		}
		md.Add(h.GetKey(), val)
	}
	return t, md, false, types.StatusOK
}

func (v *vm) warnGRPCField(field, why string) {
	if v.grpc.warned == nil {
		v.grpc.warned = map[string]bool{}
	}
	if v.grpc.warned[field] {
		return
	}
	v.grpc.warned[field] = true
	v.log.Warn("plugin gRPC callout: field "+why, "field", field)
}

func (v *vm) openGRPC(m api.Module, a grpcArgs) types.Status {
	if !writeU32(m, a.tokenPtr, 0) {
		return types.StatusInvalidMemoryAccess
	}
	target, md, rawName, st := v.decodeGRPCService(a.service)
	if st != types.StatusOK {
		return st
	}
	if v.rc == nil {
		return types.StatusBadArgument // no root context yet (start functions)
	}
	caller := v.p.cfg.GRPC
	if rawName && caller == nil {
		return types.StatusParseFailure // no cluster is known
	}
	if caller == nil {
		return types.StatusInternalFailure
	}
	if len(v.grpc.calls) >= MaxGRPCCallsPerVM {
		v.log.Warn("plugin gRPC callout refused: too many open calls on the VM", "limit", MaxGRPCCallsPerVM)
		return types.StatusInternalFailure
	}
	for _, p := range a.metadata {
		md.Add(p.Key, p.Value)
	}
	if target.Authority == "" {
		target.Authority = target.Cluster
	}
	req := &GRPCRequest{
		Target: target, Service: a.serviceName, Method: a.method, Metadata: md,
		Timeout: time.Duration(a.timeoutMs) * time.Millisecond, Unary: a.unary,
	}
	tok := v.allocGRPCToken(a.unary)
	c := &grpcCall{v: v, root: v.rc, tok: tok, unary: a.unary, credit: make(chan struct{}, grpcQueueDepth), gone: make(chan struct{})}
	stream, err := caller.GRPCOpen(req, c)
	if err != nil {
		if rawName && errors.Is(err, ErrUnknownCluster) {
			v.releaseGRPCToken(a.unary) // Envoy numbers only calls it starts
			return types.StatusParseFailure
		}
		v.log.Debug("plugin gRPC callout not started", "cluster", target.Cluster, "error", err)
		return types.StatusInternalFailure
	}
	c.stream = stream
	v.grpc.calls[tok] = c
	if a.unary {
		stream.Send(a.message, true)
		if req.Timeout > 0 {
			c.timer = v.e.clock.AfterFunc(req.Timeout, func() { v.post(func() { v.grpcTimeout(c) }) })
		}
	}
	if !writeU32(m, a.tokenPtr, tok) {
		return types.StatusInvalidMemoryAccess
	}
	return types.StatusOK
}

func (v *vm) releaseGRPCToken(unary bool) {
	if unary {
		v.grpc.nextCall -= 4
	} else {
		v.grpc.nextStream -= 4
	}
}

func hGRPCSend(v *vm, _ context.Context, m api.Module, s []uint64) types.Status {
	tok := uint32(s[0])
	msg, ok := readCopy(m, uint32(s[1]), uint32(s[2]))
	if !ok {
		return types.StatusInvalidMemoryAccess
	}
	if !isGRPCStreamToken(tok) {
		return types.StatusBadArgument
	}
	c := v.grpc.calls[tok]
	if c == nil {
		return types.StatusNotFound
	}
	if c.localClosed || c.remoteClosed {
		v.log.Debug("plugin gRPC message dropped: the stream is closed", "token", tok)
		return types.StatusOK // Envoy answers Ok and the closed stream takes nothing
	}
	end := uint32(s[3]) != 0
	c.stream.Send(msg, end)
	if end {
		c.localClosed = true
	}
	return types.StatusOK
}

func hGRPCCancel(v *vm, _ context.Context, _ api.Module, s []uint64) types.Status {
	tok := uint32(s[0])
	if !isGRPCCallToken(tok) && !isGRPCStreamToken(tok) {
		return types.StatusBadArgument
	}
	c := v.grpc.calls[tok]
	if c == nil {
		return types.StatusNotFound
	}
	if !c.remoteClosed {
		c.stream.Cancel()
	}
	c.forget()
	return types.StatusOK
}

func hGRPCClose(v *vm, ctx context.Context, m api.Module, s []uint64) types.Status {
	tok := uint32(s[0])
	if isGRPCCallToken(tok) {
		return hGRPCCancel(v, ctx, m, s) // closing a unary call cancels it
	}
	if !isGRPCStreamToken(tok) {
		return types.StatusBadArgument
	}
	c := v.grpc.calls[tok]
	if c == nil {
		return types.StatusNotFound
	}
	if !c.localClosed && !c.remoteClosed {
		c.stream.CloseSend()
	}
	c.localClosed = true
	if c.remoteClosed {
		c.forget()
	}
	return types.StatusOK
}
