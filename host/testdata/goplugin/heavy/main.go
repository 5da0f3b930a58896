//go:build wasip1

// Command heavy is a raw proxy-wasm plugin whose proxy_on_configure does
// what a WAF or routing plugin with a large rule set does at start: it
// parses a configuration of several megabytes (one rule per line,
// "name=pattern") into a map and compiles every pattern into a table.
// The engine's start-up benchmarks use it.
package main

import (
	"bytes"
	"unsafe"
)

func main() {}

//go:wasmimport env proxy_get_buffer_bytes
func proxy_get_buffer_bytes(b, start, max, retPtr, retSize uint32) uint32

//go:wasmexport proxy_abi_version_0_2_100
func abiMarker() {}

func u32p(p *uint32) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }

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

// rules maps a rule name to its pattern's byte-class table.
var rules map[string]*[256]bool

//go:wasmexport proxy_on_configure
func onConfigure(ctx, size uint32) uint32 {
	var p, n uint32
	if proxy_get_buffer_bytes(7, 0, size, u32p(&p), u32p(&n)) != 0 {
		return 0
	}
	cfg := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)
	rules = map[string]*[256]bool{}
	for len(cfg) > 0 {
		line := cfg
		if i := bytes.IndexByte(cfg, '\n'); i >= 0 {
			line, cfg = cfg[:i], cfg[i+1:]
		} else {
			cfg = nil
		}
		name, pattern, ok := bytes.Cut(line, []byte("="))
		if !ok {
			continue
		}
		var t [256]bool
		for _, c := range pattern {
			t[c] = true
		}
		rules[string(name)] = &t
	}
	allocs = nil
	return 1
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(ctx, n, eos uint32) uint32 { return 0 }
