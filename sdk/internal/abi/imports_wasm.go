//go:build wasm

package abi

import "unsafe"

//go:wasmimport env proxy_log
//go:noescape
func ProxyLog(level uint32, msg unsafe.Pointer, msgSize uint32) Status

//go:wasmimport env proxy_get_log_level
//go:noescape
func ProxyGetLogLevel(retLevel *uint32) Status

//go:wasmimport env proxy_set_tick_period_milliseconds
//go:noescape
func ProxySetTickPeriodMilliseconds(period uint32) Status

//go:wasmimport env proxy_get_current_time_nanoseconds
//go:noescape
func ProxyGetCurrentTimeNanoseconds(retTime *uint64) Status

//go:wasmimport env proxy_get_status
//go:noescape
func ProxyGetStatus(retCode *uint32, retMsg unsafe.Pointer, retMsgSize *uint32) Status

//go:wasmimport env proxy_set_property
//go:noescape
func ProxySetProperty(path unsafe.Pointer, pathSize uint32, value unsafe.Pointer, valueSize uint32) Status

//go:wasmimport env proxy_get_property
//go:noescape
func ProxyGetProperty(path unsafe.Pointer, pathSize uint32, retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_continue_stream
//go:noescape
func ProxyContinueStream(streamType uint32) Status

//go:wasmimport env proxy_close_stream
//go:noescape
func ProxyCloseStream(streamType uint32) Status

//go:wasmimport env proxy_send_local_response
//go:noescape
func ProxySendLocalResponse(statusCode uint32, details unsafe.Pointer, detailsSize uint32, body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) Status

//go:wasmimport env proxy_get_shared_data
//go:noescape
func ProxyGetSharedData(key unsafe.Pointer, keySize uint32, retValue unsafe.Pointer, retSize *uint32, retCas *uint32) Status

//go:wasmimport env proxy_set_shared_data
//go:noescape
func ProxySetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) Status

//go:wasmimport env proxy_register_shared_queue
//go:noescape
func ProxyRegisterSharedQueue(name unsafe.Pointer, nameSize uint32, retID *uint32) Status

//go:wasmimport env proxy_resolve_shared_queue
//go:noescape
func ProxyResolveSharedQueue(vmID unsafe.Pointer, vmIDSize uint32, name unsafe.Pointer, nameSize uint32, retID *uint32) Status

//go:wasmimport env proxy_enqueue_shared_queue
//go:noescape
func ProxyEnqueueSharedQueue(queueID uint32, value unsafe.Pointer, valueSize uint32) Status

//go:wasmimport env proxy_dequeue_shared_queue
//go:noescape
func ProxyDequeueSharedQueue(queueID uint32, retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_get_header_map_value
//go:noescape
func ProxyGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, retValue unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_add_header_map_value
//go:noescape
func ProxyAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) Status

//go:wasmimport env proxy_replace_header_map_value
//go:noescape
func ProxyReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) Status

//go:wasmimport env proxy_remove_header_map_value
//go:noescape
func ProxyRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32) Status

//go:wasmimport env proxy_get_header_map_pairs
//go:noescape
func ProxyGetHeaderMapPairs(mapType uint32, retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_set_header_map_pairs
//go:noescape
func ProxySetHeaderMapPairs(mapType uint32, data unsafe.Pointer, size uint32) Status

//go:wasmimport env proxy_get_header_map_size
//go:noescape
func ProxyGetHeaderMapSize(mapType uint32, retSize *uint32) Status

//go:wasmimport env proxy_get_buffer_bytes
//go:noescape
func ProxyGetBufferBytes(bufferType uint32, start uint32, maxSize uint32, retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_get_buffer_status
//go:noescape
func ProxyGetBufferStatus(bufferType uint32, retLength *uint32, retFlags *uint32) Status

//go:wasmimport env proxy_set_buffer_bytes
//go:noescape
func ProxySetBufferBytes(bufferType uint32, start uint32, size uint32, data unsafe.Pointer, dataSize uint32) Status

//go:wasmimport env proxy_http_call
//go:noescape
func ProxyHttpCall(upstream unsafe.Pointer, upstreamSize uint32, headers unsafe.Pointer, headersSize uint32, body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeoutMs uint32, retToken *uint32) Status

//go:wasmimport env proxy_grpc_call
//go:noescape
func ProxyGrpcCall(service unsafe.Pointer, serviceSize uint32, serviceName unsafe.Pointer, serviceNameSize uint32, method unsafe.Pointer, methodSize uint32, metadata unsafe.Pointer, metadataSize uint32, message unsafe.Pointer, messageSize uint32, timeoutMs uint32, retToken *uint32) Status

//go:wasmimport env proxy_grpc_stream
//go:noescape
func ProxyGrpcStream(service unsafe.Pointer, serviceSize uint32, serviceName unsafe.Pointer, serviceNameSize uint32, method unsafe.Pointer, methodSize uint32, metadata unsafe.Pointer, metadataSize uint32, retToken *uint32) Status

//go:wasmimport env proxy_grpc_send
//go:noescape
func ProxyGrpcSend(token uint32, message unsafe.Pointer, messageSize uint32, endStream uint32) Status

//go:wasmimport env proxy_grpc_cancel
//go:noescape
func ProxyGrpcCancel(token uint32) Status

//go:wasmimport env proxy_grpc_close
//go:noescape
func ProxyGrpcClose(token uint32) Status

//go:wasmimport env proxy_define_metric
//go:noescape
func ProxyDefineMetric(metricType uint32, name unsafe.Pointer, nameSize uint32, retID *uint32) Status

//go:wasmimport env proxy_increment_metric
//go:noescape
func ProxyIncrementMetric(metricID uint32, offset int64) Status

//go:wasmimport env proxy_record_metric
//go:noescape
func ProxyRecordMetric(metricID uint32, value uint64) Status

//go:wasmimport env proxy_get_metric
//go:noescape
func ProxyGetMetric(metricID uint32, retValue *uint64) Status

//go:wasmimport env proxy_set_effective_context
//go:noescape
func ProxySetEffectiveContext(contextID uint32) Status

//go:wasmimport env proxy_done
//go:noescape
func ProxyDone() Status

//go:wasmimport env proxy_call_foreign_function
//go:noescape
func ProxyCallForeignFunction(name unsafe.Pointer, nameSize uint32, args unsafe.Pointer, argsSize uint32, retData unsafe.Pointer, retSize *uint32) Status
