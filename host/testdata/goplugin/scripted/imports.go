//go:build wasip1

package main

// Host imports, declared directly (no SDK). Pointers and sizes are uint32.

//go:wasmimport env proxy_log
func proxy_log(level, ptr, size uint32) uint32

//go:wasmimport env proxy_get_log_level
func proxy_get_log_level(ret uint32) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxy_set_tick_period_milliseconds(ms uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxy_get_current_time_nanoseconds(ret uint32) uint32

//go:wasmimport env proxy_get_status
func proxy_get_status(code, msgPtr, msgSize uint32) uint32

//go:wasmimport env proxy_get_property
func proxy_get_property(pathPtr, pathSize, retPtr, retSize uint32) uint32

//go:wasmimport env proxy_set_property
func proxy_set_property(pathPtr, pathSize, valPtr, valSize uint32) uint32

//go:wasmimport env proxy_continue_stream
func proxy_continue_stream(t uint32) uint32

//go:wasmimport env proxy_close_stream
func proxy_close_stream(t uint32) uint32

//go:wasmimport env proxy_send_local_response
func proxy_send_local_response(status, dPtr, dSize, bPtr, bSize, hPtr, hSize, grpc uint32) uint32

//go:wasmimport env proxy_get_shared_data
func proxy_get_shared_data(kPtr, kSize, retPtr, retSize, casPtr uint32) uint32

//go:wasmimport env proxy_set_shared_data
func proxy_set_shared_data(kPtr, kSize, vPtr, vSize, cas uint32) uint32

//go:wasmimport env proxy_register_shared_queue
func proxy_register_shared_queue(nPtr, nSize, retID uint32) uint32

//go:wasmimport env proxy_resolve_shared_queue
func proxy_resolve_shared_queue(vPtr, vSize, nPtr, nSize, retID uint32) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func proxy_enqueue_shared_queue(id, vPtr, vSize uint32) uint32

//go:wasmimport env proxy_dequeue_shared_queue
func proxy_dequeue_shared_queue(id, retPtr, retSize uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxy_get_header_map_value(m, kPtr, kSize, retPtr, retSize uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func proxy_add_header_map_value(m, kPtr, kSize, vPtr, vSize uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func proxy_replace_header_map_value(m, kPtr, kSize, vPtr, vSize uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func proxy_remove_header_map_value(m, kPtr, kSize uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func proxy_get_header_map_pairs(m, retPtr, retSize uint32) uint32

//go:wasmimport env proxy_set_header_map_pairs
func proxy_set_header_map_pairs(m, ptr, size uint32) uint32

//go:wasmimport env proxy_get_header_map_size
func proxy_get_header_map_size(m, ret uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxy_get_buffer_bytes(b, start, max, retPtr, retSize uint32) uint32

//go:wasmimport env proxy_set_buffer_bytes
func proxy_set_buffer_bytes(b, start, size, ptr, n uint32) uint32

//go:wasmimport env proxy_get_buffer_status
func proxy_get_buffer_status(b, lenPtr, flagsPtr uint32) uint32

//go:wasmimport env proxy_http_call
func proxy_http_call(uPtr, uSize, hPtr, hSize, bPtr, bSize, tPtr, tSize, timeout, retToken uint32) uint32

//go:wasmimport env proxy_grpc_call
func proxy_grpc_call(svcPtr, svcSize, namePtr, nameSize, methodPtr, methodSize, mdPtr, mdSize, msgPtr, msgSize, timeout, retToken uint32) uint32

//go:wasmimport env proxy_grpc_stream
func proxy_grpc_stream(svcPtr, svcSize, namePtr, nameSize, methodPtr, methodSize, mdPtr, mdSize, retToken uint32) uint32

//go:wasmimport env proxy_grpc_send
func proxy_grpc_send(token, msgPtr, msgSize, eos uint32) uint32

//go:wasmimport env proxy_grpc_cancel
func proxy_grpc_cancel(token uint32) uint32

//go:wasmimport env proxy_grpc_close
func proxy_grpc_close(token uint32) uint32

//go:wasmimport env proxy_define_metric
func proxy_define_metric(t, nPtr, nSize, retID uint32) uint32

//go:wasmimport env proxy_increment_metric
func proxy_increment_metric(id uint32, delta int64) uint32

//go:wasmimport env proxy_record_metric
func proxy_record_metric(id uint32, value uint64) uint32

//go:wasmimport env proxy_get_metric
func proxy_get_metric(id, ret uint32) uint32

//go:wasmimport env proxy_set_effective_context
func proxy_set_effective_context(id uint32) uint32

//go:wasmimport env proxy_done
func proxy_done() uint32

//go:wasmimport env proxy_call_foreign_function
func proxy_call_foreign_function(nPtr, nSize, aPtr, aSize, retPtr, retSize uint32) uint32

//go:wasmimport env proxy_redis_init
func proxy_redis_init(cPtr, cSize, uPtr, uSize, pPtr, pSize, timeout uint32) uint32

//go:wasmimport env proxy_redis_call
func proxy_redis_call(cPtr, cSize, qPtr, qSize, retToken uint32) uint32

//go:wasmimport env proxy_inject_encoded_data_to_filter_chain
func proxy_inject_encoded_data_to_filter_chain(bPtr, bSize, eos uint32) uint32

//go:wasmimport env proxy_set_upstream_override_host
func proxy_set_upstream_override_host(aPtr, aSize uint32) uint32

//go:wasmimport env proxy_get_upstream_hosts
func proxy_get_upstream_hosts(retPtr, retSize uint32) uint32
