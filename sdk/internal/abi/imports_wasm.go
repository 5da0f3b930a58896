//go:build wasm

package abi

import "unsafe"

//go:wasmimport env proxy_log
func ProxyLog(level uint32, msg unsafe.Pointer, msgSize uint32) Status

//go:wasmimport env proxy_get_log_level
func ProxyGetLogLevel(retLevel *uint32) Status

//go:wasmimport env proxy_set_tick_period_milliseconds
func ProxySetTickPeriodMilliseconds(period uint32) Status

//go:wasmimport env proxy_get_current_time_nanoseconds
func ProxyGetCurrentTimeNanoseconds(retTime *uint64) Status

//go:wasmimport env proxy_get_status
func ProxyGetStatus(retCode *uint32, retMsg unsafe.Pointer, retMsgSize *uint32) Status

//go:wasmimport env proxy_set_property
func ProxySetProperty(path unsafe.Pointer, pathSize uint32, value unsafe.Pointer, valueSize uint32) Status

//go:wasmimport env proxy_get_property
func ProxyGetProperty(path unsafe.Pointer, pathSize uint32, retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_continue_stream
func ProxyContinueStream(streamType uint32) Status

//go:wasmimport env proxy_close_stream
func ProxyCloseStream(streamType uint32) Status

//go:wasmimport env proxy_send_local_response
func ProxySendLocalResponse(statusCode uint32, details unsafe.Pointer, detailsSize uint32, body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) Status

//go:wasmimport env proxy_get_shared_data
func ProxyGetSharedData(key unsafe.Pointer, keySize uint32, retValue unsafe.Pointer, retSize *uint32, retCas *uint32) Status

//go:wasmimport env proxy_set_shared_data
func ProxySetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) Status

//go:wasmimport env proxy_register_shared_queue
func ProxyRegisterSharedQueue(name unsafe.Pointer, nameSize uint32, retID *uint32) Status

//go:wasmimport env proxy_resolve_shared_queue
func ProxyResolveSharedQueue(vmID unsafe.Pointer, vmIDSize uint32, name unsafe.Pointer, nameSize uint32, retID *uint32) Status

//go:wasmimport env proxy_enqueue_shared_queue
func ProxyEnqueueSharedQueue(queueID uint32, value unsafe.Pointer, valueSize uint32) Status

//go:wasmimport env proxy_dequeue_shared_queue
func ProxyDequeueSharedQueue(queueID uint32, retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_get_header_map_value
func ProxyGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, retValue unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_add_header_map_value
func ProxyAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) Status

//go:wasmimport env proxy_replace_header_map_value
func ProxyReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) Status

//go:wasmimport env proxy_remove_header_map_value
func ProxyRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32) Status

//go:wasmimport env proxy_get_header_map_pairs
func ProxyGetHeaderMapPairs(mapType uint32, retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_set_header_map_pairs
func ProxySetHeaderMapPairs(mapType uint32, data unsafe.Pointer, size uint32) Status

//go:wasmimport env proxy_get_header_map_size
func ProxyGetHeaderMapSize(mapType uint32, retSize *uint32) Status

//go:wasmimport env proxy_get_buffer_bytes
func ProxyGetBufferBytes(bufferType uint32, start uint32, maxSize uint32, retData unsafe.Pointer, retSize *uint32) Status

//go:wasmimport env proxy_get_buffer_status
func ProxyGetBufferStatus(bufferType uint32, retLength *uint32, retFlags *uint32) Status

//go:wasmimport env proxy_set_buffer_bytes
func ProxySetBufferBytes(bufferType uint32, start uint32, size uint32, data unsafe.Pointer, dataSize uint32) Status

//go:wasmimport env proxy_http_call
func ProxyHttpCall(upstream unsafe.Pointer, upstreamSize uint32, headers unsafe.Pointer, headersSize uint32, body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeoutMs uint32, retToken *uint32) Status

//go:wasmimport env proxy_grpc_call
func ProxyGrpcCall(service unsafe.Pointer, serviceSize uint32, serviceName unsafe.Pointer, serviceNameSize uint32, method unsafe.Pointer, methodSize uint32, metadata unsafe.Pointer, metadataSize uint32, message unsafe.Pointer, messageSize uint32, timeoutMs uint32, retToken *uint32) Status

//go:wasmimport env proxy_grpc_stream
func ProxyGrpcStream(service unsafe.Pointer, serviceSize uint32, serviceName unsafe.Pointer, serviceNameSize uint32, method unsafe.Pointer, methodSize uint32, metadata unsafe.Pointer, metadataSize uint32, retToken *uint32) Status

//go:wasmimport env proxy_grpc_send
func ProxyGrpcSend(token uint32, message unsafe.Pointer, messageSize uint32, endStream uint32) Status

//go:wasmimport env proxy_grpc_cancel
func ProxyGrpcCancel(token uint32) Status

//go:wasmimport env proxy_grpc_close
func ProxyGrpcClose(token uint32) Status

//go:wasmimport env proxy_define_metric
func ProxyDefineMetric(metricType uint32, name unsafe.Pointer, nameSize uint32, retID *uint32) Status

//go:wasmimport env proxy_increment_metric
func ProxyIncrementMetric(metricID uint32, offset int64) Status

//go:wasmimport env proxy_record_metric
func ProxyRecordMetric(metricID uint32, value uint64) Status

//go:wasmimport env proxy_get_metric
func ProxyGetMetric(metricID uint32, retValue *uint64) Status

//go:wasmimport env proxy_set_effective_context
func ProxySetEffectiveContext(contextID uint32) Status

//go:wasmimport env proxy_done
func ProxyDone() Status

//go:wasmimport env proxy_call_foreign_function
func ProxyCallForeignFunction(name unsafe.Pointer, nameSize uint32, args unsafe.Pointer, argsSize uint32, retData unsafe.Pointer, retSize *uint32) Status
