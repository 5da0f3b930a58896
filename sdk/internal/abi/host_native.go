//go:build !wasm

package abi

import (
	"sync"
	"unsafe"
)

// Host is the host side of the ABI for native builds, with Go values instead
// of linear-memory pointers. Tests implement it (embedding UnimplementedHost)
// to run plugin code natively.
type Host interface {
	Log(level uint32, msg string) Status
	GetLogLevel() (uint32, Status)
	SetTickPeriodMilliseconds(period uint32) Status
	GetCurrentTimeNanoseconds() (uint64, Status)
	GetStatus() (code uint32, msg []byte, st Status)
	SetProperty(path, value []byte) Status
	GetProperty(path []byte) ([]byte, Status)
	ContinueStream(streamType uint32) Status
	CloseStream(streamType uint32) Status
	SendLocalResponse(statusCode uint32, details, body, headers []byte, grpcStatus int32) Status
	GetSharedData(key string) (value []byte, cas uint32, st Status)
	SetSharedData(key string, value []byte, cas uint32) Status
	RegisterSharedQueue(name string) (uint32, Status)
	ResolveSharedQueue(vmID, name string) (uint32, Status)
	EnqueueSharedQueue(queueID uint32, value []byte) Status
	DequeueSharedQueue(queueID uint32) ([]byte, Status)
	GetHeaderMapValue(mapType uint32, key string) ([]byte, Status)
	AddHeaderMapValue(mapType uint32, key, value string) Status
	ReplaceHeaderMapValue(mapType uint32, key, value string) Status
	RemoveHeaderMapValue(mapType uint32, key string) Status
	GetHeaderMapPairs(mapType uint32) ([]byte, Status)
	SetHeaderMapPairs(mapType uint32, pairs []byte) Status
	GetHeaderMapSize(mapType uint32) (uint32, Status)
	GetBufferBytes(bufferType, start, maxSize uint32) ([]byte, Status)
	GetBufferStatus(bufferType uint32) (length, flags uint32, st Status)
	SetBufferBytes(bufferType, start, size uint32, data []byte) Status
	HttpCall(upstream string, headers, body, trailers []byte, timeoutMs uint32) (uint32, Status)
	GrpcCall(service, serviceName, method string, metadata, message []byte, timeoutMs uint32) (uint32, Status)
	GrpcStream(service, serviceName, method string, metadata []byte) (uint32, Status)
	GrpcSend(token uint32, message []byte, endStream bool) Status
	GrpcCancel(token uint32) Status
	GrpcClose(token uint32) Status
	DefineMetric(metricType uint32, name string) (uint32, Status)
	IncrementMetric(metricID uint32, offset int64) Status
	RecordMetric(metricID uint32, value uint64) Status
	GetMetric(metricID uint32) (uint64, Status)
	SetEffectiveContext(contextID uint32) Status
	Done() Status
	CallForeignFunction(name string, args []byte) ([]byte, Status)
	RedisInit(cluster, username, password string, timeoutMs uint32) Status
	RedisCall(cluster string, query []byte) (uint32, Status)
	InjectEncodedDataToFilterChain(body []byte, endStream bool) Status
	GetUpstreamHosts() ([]byte, Status)
	SetUpstreamOverrideHost(address []byte) Status
}

var (
	hostMu sync.RWMutex
	host   Host
)

// SetHost installs the native host and returns a function that removes it.
func SetHost(h Host) (release func()) {
	hostMu.Lock()
	host = h
	hostMu.Unlock()
	return func() {
		hostMu.Lock()
		if host == h {
			host = nil
		}
		hostMu.Unlock()
	}
}

func nativeHost() Host {
	hostMu.RLock()
	defer hostMu.RUnlock()
	return host
}

func str(p unsafe.Pointer, n uint32) string {
	if p == nil || n == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(p), n))
}

func bytesOf(p unsafe.Pointer, n uint32) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return append([]byte(nil), unsafe.Slice((*byte)(p), n)...)
}

// giveBuffer writes a host-owned result into the caller's out-parameters the
// way a real host does: an empty result is pointer 0, size 0.
func giveBuffer(b []byte, st Status, retData unsafe.Pointer, retSize *uint32) Status {
	if st != StatusOK {
		return st
	}
	if len(b) == 0 {
		*(**byte)(retData) = nil
		*retSize = 0
		return st
	}
	if p := *(**byte)(retData); FastPath && p != nil && uint64(len(b)) <= uint64(*retSize) {
		// The fast-path extension, as the engine's host does it: the
		// result goes into the buffer the module supplied.
		copy(unsafe.Slice(p, *retSize), b)
		*retSize = uint32(len(b))
		return st
	}
	c := append([]byte(nil), b...)
	*(**byte)(retData) = &c[0]
	*retSize = uint32(len(c))
	return st
}

func withHost(f func(h Host) Status) Status {
	if h := nativeHost(); h != nil {
		return f(h)
	}
	return StatusUnimplemented
}

func ProxyLog(level uint32, msg unsafe.Pointer, msgSize uint32) Status {
	return withHost(func(h Host) Status { return h.Log(level, str(msg, msgSize)) })
}

func ProxyGetLogLevel(retLevel *uint32) Status {
	return withHost(func(h Host) Status { v, st := h.GetLogLevel(); *retLevel = v; return st })
}

func ProxySetTickPeriodMilliseconds(period uint32) Status {
	return withHost(func(h Host) Status { return h.SetTickPeriodMilliseconds(period) })
}

func ProxyGetCurrentTimeNanoseconds(retTime *uint64) Status {
	return withHost(func(h Host) Status { v, st := h.GetCurrentTimeNanoseconds(); *retTime = v; return st })
}

func ProxyGetStatus(retCode *uint32, retMsg unsafe.Pointer, retMsgSize *uint32) Status {
	return withHost(func(h Host) Status {
		code, msg, st := h.GetStatus()
		*retCode = code
		return giveBuffer(msg, st, retMsg, retMsgSize)
	})
}

func ProxySetProperty(path unsafe.Pointer, pathSize uint32, value unsafe.Pointer, valueSize uint32) Status {
	return withHost(func(h Host) Status { return h.SetProperty(bytesOf(path, pathSize), bytesOf(value, valueSize)) })
}

func ProxyGetProperty(path unsafe.Pointer, pathSize uint32, retData unsafe.Pointer, retSize *uint32) Status {
	return withHost(func(h Host) Status {
		b, st := h.GetProperty(bytesOf(path, pathSize))
		return giveBuffer(b, st, retData, retSize)
	})
}

func ProxyContinueStream(streamType uint32) Status {
	return withHost(func(h Host) Status { return h.ContinueStream(streamType) })
}

func ProxyCloseStream(streamType uint32) Status {
	return withHost(func(h Host) Status { return h.CloseStream(streamType) })
}

func ProxySendLocalResponse(statusCode uint32, details unsafe.Pointer, detailsSize uint32, body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) Status {
	return withHost(func(h Host) Status {
		return h.SendLocalResponse(statusCode, bytesOf(details, detailsSize), bytesOf(body, bodySize), bytesOf(headers, headersSize), grpcStatus)
	})
}

func ProxyGetSharedData(key unsafe.Pointer, keySize uint32, retValue unsafe.Pointer, retSize *uint32, retCas *uint32) Status {
	return withHost(func(h Host) Status {
		v, cas, st := h.GetSharedData(str(key, keySize))
		*retCas = cas
		return giveBuffer(v, st, retValue, retSize)
	})
}

func ProxySetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) Status {
	return withHost(func(h Host) Status { return h.SetSharedData(str(key, keySize), bytesOf(value, valueSize), cas) })
}

func ProxyRegisterSharedQueue(name unsafe.Pointer, nameSize uint32, retID *uint32) Status {
	return withHost(func(h Host) Status { id, st := h.RegisterSharedQueue(str(name, nameSize)); *retID = id; return st })
}

func ProxyResolveSharedQueue(vmID unsafe.Pointer, vmIDSize uint32, name unsafe.Pointer, nameSize uint32, retID *uint32) Status {
	return withHost(func(h Host) Status {
		id, st := h.ResolveSharedQueue(str(vmID, vmIDSize), str(name, nameSize))
		*retID = id
		return st
	})
}

func ProxyEnqueueSharedQueue(queueID uint32, value unsafe.Pointer, valueSize uint32) Status {
	return withHost(func(h Host) Status { return h.EnqueueSharedQueue(queueID, bytesOf(value, valueSize)) })
}

func ProxyDequeueSharedQueue(queueID uint32, retData unsafe.Pointer, retSize *uint32) Status {
	return withHost(func(h Host) Status {
		b, st := h.DequeueSharedQueue(queueID)
		return giveBuffer(b, st, retData, retSize)
	})
}

func ProxyGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, retValue unsafe.Pointer, retSize *uint32) Status {
	return withHost(func(h Host) Status {
		b, st := h.GetHeaderMapValue(mapType, str(key, keySize))
		return giveBuffer(b, st, retValue, retSize)
	})
}

func ProxyAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) Status {
	return withHost(func(h Host) Status { return h.AddHeaderMapValue(mapType, str(key, keySize), str(value, valueSize)) })
}

func ProxyReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) Status {
	return withHost(func(h Host) Status {
		return h.ReplaceHeaderMapValue(mapType, str(key, keySize), str(value, valueSize))
	})
}

func ProxyRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32) Status {
	return withHost(func(h Host) Status { return h.RemoveHeaderMapValue(mapType, str(key, keySize)) })
}

func ProxyGetHeaderMapPairs(mapType uint32, retData unsafe.Pointer, retSize *uint32) Status {
	return withHost(func(h Host) Status {
		b, st := h.GetHeaderMapPairs(mapType)
		return giveBuffer(b, st, retData, retSize)
	})
}

func ProxySetHeaderMapPairs(mapType uint32, data unsafe.Pointer, size uint32) Status {
	return withHost(func(h Host) Status { return h.SetHeaderMapPairs(mapType, bytesOf(data, size)) })
}

func ProxyGetHeaderMapSize(mapType uint32, retSize *uint32) Status {
	return withHost(func(h Host) Status { n, st := h.GetHeaderMapSize(mapType); *retSize = n; return st })
}

func ProxyGetBufferBytes(bufferType uint32, start uint32, maxSize uint32, retData unsafe.Pointer, retSize *uint32) Status {
	return withHost(func(h Host) Status {
		b, st := h.GetBufferBytes(bufferType, start, maxSize)
		return giveBuffer(b, st, retData, retSize)
	})
}

func ProxyGetBufferStatus(bufferType uint32, retLength *uint32, retFlags *uint32) Status {
	return withHost(func(h Host) Status {
		l, f, st := h.GetBufferStatus(bufferType)
		*retLength, *retFlags = l, f
		return st
	})
}

func ProxySetBufferBytes(bufferType uint32, start uint32, size uint32, data unsafe.Pointer, dataSize uint32) Status {
	return withHost(func(h Host) Status { return h.SetBufferBytes(bufferType, start, size, bytesOf(data, dataSize)) })
}

func ProxyHttpCall(upstream unsafe.Pointer, upstreamSize uint32, headers unsafe.Pointer, headersSize uint32, body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeoutMs uint32, retToken *uint32) Status {
	return withHost(func(h Host) Status {
		tok, st := h.HttpCall(str(upstream, upstreamSize), bytesOf(headers, headersSize), bytesOf(body, bodySize), bytesOf(trailers, trailersSize), timeoutMs)
		*retToken = tok
		return st
	})
}

func ProxyGrpcCall(service unsafe.Pointer, serviceSize uint32, serviceName unsafe.Pointer, serviceNameSize uint32, method unsafe.Pointer, methodSize uint32, metadata unsafe.Pointer, metadataSize uint32, message unsafe.Pointer, messageSize uint32, timeoutMs uint32, retToken *uint32) Status {
	return withHost(func(h Host) Status {
		tok, st := h.GrpcCall(str(service, serviceSize), str(serviceName, serviceNameSize), str(method, methodSize), bytesOf(metadata, metadataSize), bytesOf(message, messageSize), timeoutMs)
		*retToken = tok
		return st
	})
}

func ProxyGrpcStream(service unsafe.Pointer, serviceSize uint32, serviceName unsafe.Pointer, serviceNameSize uint32, method unsafe.Pointer, methodSize uint32, metadata unsafe.Pointer, metadataSize uint32, retToken *uint32) Status {
	return withHost(func(h Host) Status {
		tok, st := h.GrpcStream(str(service, serviceSize), str(serviceName, serviceNameSize), str(method, methodSize), bytesOf(metadata, metadataSize))
		*retToken = tok
		return st
	})
}

func ProxyGrpcSend(token uint32, message unsafe.Pointer, messageSize uint32, endStream uint32) Status {
	return withHost(func(h Host) Status { return h.GrpcSend(token, bytesOf(message, messageSize), endStream != 0) })
}

func ProxyGrpcCancel(token uint32) Status {
	return withHost(func(h Host) Status { return h.GrpcCancel(token) })
}

func ProxyGrpcClose(token uint32) Status {
	return withHost(func(h Host) Status { return h.GrpcClose(token) })
}

func ProxyDefineMetric(metricType uint32, name unsafe.Pointer, nameSize uint32, retID *uint32) Status {
	return withHost(func(h Host) Status { id, st := h.DefineMetric(metricType, str(name, nameSize)); *retID = id; return st })
}

func ProxyIncrementMetric(metricID uint32, offset int64) Status {
	return withHost(func(h Host) Status { return h.IncrementMetric(metricID, offset) })
}

func ProxyRecordMetric(metricID uint32, value uint64) Status {
	return withHost(func(h Host) Status { return h.RecordMetric(metricID, value) })
}

func ProxyGetMetric(metricID uint32, retValue *uint64) Status {
	return withHost(func(h Host) Status { v, st := h.GetMetric(metricID); *retValue = v; return st })
}

func ProxySetEffectiveContext(contextID uint32) Status {
	return withHost(func(h Host) Status { return h.SetEffectiveContext(contextID) })
}

func ProxyDone() Status {
	return withHost(func(h Host) Status { return h.Done() })
}

func ProxyCallForeignFunction(name unsafe.Pointer, nameSize uint32, args unsafe.Pointer, argsSize uint32, retData unsafe.Pointer, retSize *uint32) Status {
	return withHost(func(h Host) Status {
		b, st := h.CallForeignFunction(str(name, nameSize), bytesOf(args, argsSize))
		return giveBuffer(b, st, retData, retSize)
	})
}
