//go:build !wasm

package abi

import "unsafe"

// loadU32 reads the little-endian uint32 at p.
func loadU32(p unsafe.Pointer) uint32 {
	b := (*[4]byte)(p)
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
