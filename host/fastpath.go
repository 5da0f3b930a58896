package host

import "github.com/tetratelabs/wazero/api"

// The fast-path extension (version 1) lets a module receive small call
// results without the re-entrant proxy_on_memory_allocate call the ABI
// makes for every result. It uses only ABI functions, so a module written
// for it runs unchanged on a host without it (Envoy, Higress):
//
//  1. At start the module reads the property FastPathProperty. A host with
//     the extension answers FastPathVersion; others answer NotFound, and
//     the module keeps to the ABI.
//  2. The module turns the extension on for its VM by setting the same
//     property to the version it speaks. From then on it must initialise
//     the (return_data, return_size) slots of every call that returns data
//     (proxy_get_header_map_value, proxy_get_buffer_bytes, proxy_get_property,
//     ...): either both zero, which keeps the ABI's behaviour, or the
//     address and capacity of a buffer of its own.
//  3. When a result is not empty and fits the supplied capacity, the host
//     writes it into that buffer, stores its length in return_size and
//     leaves return_data as it was; otherwise it allocates through the
//     module as the ABI says. The module tells the two apart by comparing
//     return_data with its buffer's address.
//
// The engine's SDK (sdk/proxywasm) uses it for header values when the host
// announces it; EngineConfig.NoFastPath hides it.
const (
	// FastPathProperty is the single-segment property path of the
	// extension.
	FastPathProperty = "wasmgate_fast_path"
	// FastPathVersion is the version of the extension the engine speaks.
	FastPathVersion = "1"
)

// suppliedBuffer returns the buffer the module put in the result slots of
// the current call when a result of n bytes fits it (fast-path extension).
func (v *vm) suppliedBuffer(m api.Module, ptrPtr, sizePtr uint32, n int) (uint32, bool) {
	mem := m.Memory()
	capacity, ok := mem.ReadUint32Le(sizePtr)
	if !ok || capacity == 0 || uint64(n) > uint64(capacity) {
		return 0, false
	}
	p, ok := mem.ReadUint32Le(ptrPtr)
	if !ok || p == 0 {
		return 0, false
	}
	v.fastWrites++
	return p, true
}
