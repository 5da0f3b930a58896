//go:build wasip1

// Command bench is a raw proxy-wasm plugin (no SDK) for the engine's
// benchmarks. Its plugin configuration selects what on_request_headers
// does: "empty" returns at once, "get1" reads one header, "higress" runs
// Higress's published workload (20 header adds, 20 gets, 20 removes);
// "build" only builds the workload's 40 key and value strings, and
// "calls" only makes its 60 host calls, with strings built at start.
package main

import (
	"strconv"
	"unsafe"
)

func main() {}

//go:wasmimport env proxy_get_buffer_bytes
func proxy_get_buffer_bytes(b, start, max, retPtr, retSize uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxy_get_header_map_value(m, kPtr, kSize, retPtr, retSize uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func proxy_add_header_map_value(m, kPtr, kSize, vPtr, vSize uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func proxy_remove_header_map_value(m, kPtr, kSize uint32) uint32

//go:wasmexport proxy_abi_version_0_2_100
func abiMarker() {}

var mode string

func sp(s string) (uint32, uint32) {
	if len(s) == 0 {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

func u32p(p *uint32) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }

// allocs keeps the buffers handed to the host alive (a buffer only the host
// knows the address of would otherwise be garbage, or live in this
// function's stack frame) until the next callback.
var allocs [][]byte

//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) uint32 {
	b := make([]byte, size)
	allocs = append(allocs, b)
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

//go:wasmexport proxy_on_context_create
func onContextCreate(ctx, parent uint32) {}

//go:wasmexport proxy_on_vm_start
func onVMStart(ctx, size uint32) uint32 { return 1 }

//go:wasmexport proxy_on_configure
func onConfigure(ctx, size uint32) uint32 {
	var p, n uint32
	if proxy_get_buffer_bytes(7, 0, size, u32p(&p), u32p(&n)) == 0 && n > 0 {
		mode = string(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n))
	}
	return 1
}

var keys [20]string

// sink keeps the "build" mode's values alive; builtKeys and builtValues
// are the workload's strings, built once.
var (
	sink                   string
	builtKeys, builtValues [20]string
)

func init() {
	for i := range builtKeys {
		builtKeys[i] = "x-bench-" + strconv.Itoa(i)
		builtValues[i] = "value-" + strconv.Itoa(i)
	}
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(ctx, n, eos uint32) uint32 {
	allocs = allocs[:0]
	var p, size uint32
	switch mode {
	case "get1":
		kp, kn := sp(":path")
		proxy_get_header_map_value(0, kp, kn, u32p(&p), u32p(&size))
	case "build":
		for i := 0; i < 20; i++ {
			keys[i] = "x-bench-" + strconv.Itoa(i)
			sink = "value-" + strconv.Itoa(i)
		}
	case "calls":
		for i := 0; i < 20; i++ {
			kp, kn := sp(builtKeys[i])
			vp, vn := sp(builtValues[i])
			proxy_add_header_map_value(0, kp, kn, vp, vn)
		}
		for i := 0; i < 20; i++ {
			kp, kn := sp(builtKeys[i])
			proxy_get_header_map_value(0, kp, kn, u32p(&p), u32p(&size))
		}
		for i := 0; i < 20; i++ {
			kp, kn := sp(builtKeys[i])
			proxy_remove_header_map_value(0, kp, kn)
		}
	case "higress":
		for i := 0; i < 20; i++ {
			keys[i] = "x-bench-" + strconv.Itoa(i)
			kp, kn := sp(keys[i])
			vp, vn := sp("value-" + strconv.Itoa(i))
			proxy_add_header_map_value(0, kp, kn, vp, vn)
		}
		for i := 0; i < 20; i++ {
			kp, kn := sp(keys[i])
			proxy_get_header_map_value(0, kp, kn, u32p(&p), u32p(&size))
		}
		for i := 0; i < 20; i++ {
			kp, kn := sp(keys[i])
			proxy_remove_header_map_value(0, kp, kn)
		}
	}
	return 0
}

//go:wasmexport proxy_on_log
func onLog(ctx uint32) {}

//go:wasmexport proxy_on_done
func onDone(ctx uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func onDelete(ctx uint32) {}
