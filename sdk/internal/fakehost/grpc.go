//go:build !wasm

package fakehost

import (
	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// GrpcCallout is a gRPC call or stream the plugin opened.
type GrpcCallout struct {
	Token                        uint32
	Service, ServiceName, Method string
	Metadata                     [][2]string
	Message                      []byte // a unary call's request
	Timeout                      uint32
	Stream                       bool
	Sent                         [][]byte // stream messages
	HalfClosed, Cancelled        bool
	CallerID                     uint32
}

func (h *Host) grpc(token uint32) *GrpcCallout {
	for i := range h.GrpcCalls {
		if h.GrpcCalls[i].Token == token {
			return &h.GrpcCalls[i]
		}
	}
	return nil
}

func (h *Host) GrpcCall(service, serviceName, method string, metadata, message []byte, timeoutMs uint32) (uint32, abi.Status) {
	if h.UnknownCluster[service] {
		return 0, abi.Status(types.StatusParseFailure)
	}
	md, _ := abi.DeserializePairs(metadata)
	h.nextGrpcCall += 4
	h.GrpcCalls = append(h.GrpcCalls, GrpcCallout{Token: h.nextGrpcCall + 1, Service: service, ServiceName: serviceName, Method: method,
		Metadata: md, Message: append([]byte(nil), message...), Timeout: timeoutMs, CallerID: vmstate.ActiveContextID()})
	return h.nextGrpcCall + 1, abi.StatusOK
}

func (h *Host) GrpcStream(service, serviceName, method string, metadata []byte) (uint32, abi.Status) {
	if h.UnknownCluster[service] {
		return 0, abi.Status(types.StatusParseFailure)
	}
	md, _ := abi.DeserializePairs(metadata)
	h.nextGrpcStream += 4
	h.GrpcCalls = append(h.GrpcCalls, GrpcCallout{Token: h.nextGrpcStream + 2, Service: service, ServiceName: serviceName, Method: method,
		Metadata: md, Stream: true, CallerID: vmstate.ActiveContextID()})
	return h.nextGrpcStream + 2, abi.StatusOK
}

func (h *Host) GrpcSend(token uint32, message []byte, endStream bool) abi.Status {
	c := h.grpc(token)
	if c == nil || !c.Stream {
		return abi.StatusNotFound
	}
	c.Sent = append(c.Sent, append([]byte(nil), message...))
	c.HalfClosed = c.HalfClosed || endStream
	return abi.StatusOK
}

func (h *Host) GrpcCancel(token uint32) abi.Status {
	c := h.grpc(token)
	if c == nil {
		return abi.StatusNotFound
	}
	c.Cancelled = true
	return abi.StatusOK
}

func (h *Host) GrpcClose(token uint32) abi.Status {
	c := h.grpc(token)
	if c == nil {
		return abi.StatusNotFound
	}
	if c.Stream {
		c.HalfClosed = true
	} else {
		c.Cancelled = true
	}
	return abi.StatusOK
}

func (h *Host) GetStatus() (uint32, []byte, abi.Status) {
	return h.statusCode, []byte(h.statusMsg), abi.StatusOK
}

// GrpcInitialMetadata delivers a stream's response headers.
func (h *Host) GrpcInitialMetadata(token uint32, md [][2]string) {
	h.Maps[types.MapTypeGrpcReceiveInitialMetadata] = md
	vmstate.OnGrpcReceiveInitialMetadata(h.rootID, token, int32(len(md)))
	delete(h.Maps, types.MapTypeGrpcReceiveInitialMetadata)
}

// GrpcReceive delivers a unary call's response or one stream message.
func (h *Host) GrpcReceive(token uint32, msg []byte) {
	h.Buffers[types.BufferTypeGrpcReceiveBuffer] = msg
	vmstate.OnGrpcReceive(h.rootID, token, int32(len(msg)))
	delete(h.Buffers, types.BufferTypeGrpcReceiveBuffer)
}

// GrpcTrailingMetadata delivers a stream's trailers.
func (h *Host) GrpcTrailingMetadata(token uint32, md [][2]string) {
	h.Maps[types.MapTypeGrpcReceiveTrailingMetadata] = md
	vmstate.OnGrpcReceiveTrailingMetadata(h.rootID, token, int32(len(md)))
	delete(h.Maps, types.MapTypeGrpcReceiveTrailingMetadata)
}

// GrpcRemoteClose ends a call or stream with a gRPC status and message.
func (h *Host) GrpcRemoteClose(token uint32, status uint32, msg string) {
	h.statusCode, h.statusMsg = status, msg
	vmstate.OnGrpcClose(h.rootID, token, status)
	h.statusCode, h.statusMsg = 0, ""
}
