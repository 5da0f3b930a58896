package inspect

import (
	"sort"
	"strings"
)

// Import classes: which host provides an env import.
const (
	ClassABI     = "abi"     // proxy-wasm ABI 0.2.x, every host
	ClassABI010  = "abi-0.1" // proxy-wasm ABI 0.1.0 only
	ClassHigress = "higress" // only Higress's Envoy (and wasmgate)
	ClassRuntime = "runtime" // toolchain runtime stubs hosts provide (emscripten)
	ClassWASI    = "wasi"
	ClassUnknown = "unknown"
)

var abiImports = setOf(`proxy_log proxy_get_log_level proxy_set_tick_period_milliseconds
	proxy_get_current_time_nanoseconds proxy_get_status proxy_set_property proxy_get_property
	proxy_continue_stream proxy_close_stream proxy_send_local_response proxy_get_shared_data
	proxy_set_shared_data proxy_register_shared_queue proxy_resolve_shared_queue
	proxy_enqueue_shared_queue proxy_dequeue_shared_queue proxy_get_header_map_value
	proxy_add_header_map_value proxy_replace_header_map_value proxy_remove_header_map_value
	proxy_get_header_map_pairs proxy_set_header_map_pairs proxy_get_header_map_size
	proxy_get_buffer_bytes proxy_get_buffer_status proxy_set_buffer_bytes proxy_http_call
	proxy_grpc_call proxy_grpc_stream proxy_grpc_send proxy_grpc_cancel proxy_grpc_close
	proxy_define_metric proxy_increment_metric proxy_record_metric proxy_get_metric
	proxy_set_effective_context proxy_done proxy_call_foreign_function`)

var abi010Imports = setOf(`proxy_get_configuration proxy_continue_request proxy_continue_response
	proxy_clear_route_cache`)

var higressImports = setOf(`proxy_redis_init proxy_redis_call proxy_inject_encoded_data_to_filter_chain
	proxy_get_upstream_hosts proxy_set_upstream_override_host`)

var runtimeImports = setOf(`emscripten_notify_memory_growth pthread_equal`)

// HigressOnlyImports lists the env imports only Higress's Envoy provides;
// upstream Envoy and Istio refuse to load a module that imports any of them.
func HigressOnlyImports() []string {
	out := make([]string, 0, len(higressImports))
	for n := range higressImports {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ClassifyImport says which hosts provide the import module.name.
func ClassifyImport(module, name string) string {
	switch module {
	case "wasi_snapshot_preview1", "wasi_unstable":
		return ClassWASI
	case "env":
		switch {
		case abiImports[name]:
			return ClassABI
		case higressImports[name]:
			return ClassHigress
		case abi010Imports[name]:
			return ClassABI010
		case runtimeImports[name]:
			return ClassRuntime
		}
	}
	return ClassUnknown
}

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
