//go:build wasm

package abi

import "unsafe"

// loadU32 reads the little-endian uint32 at p: one load, as wasm is
// little-endian and allows unaligned access.
func loadU32(p unsafe.Pointer) uint32 { return *(*uint32)(p) }
