// Package abi binds the proxy-wasm host functions.
//
// Built for wasm, every function is a //go:wasmimport of module "env" with the
// raw ABI signature: pointers into linear memory, u32 sizes and an u32 status.
// Out-parameters that receive a buffer take the address of a *byte variable;
// the host writes a 32-bit address into it, which on wasm32 is that pointer.
//
// Built natively (for unit tests), the same functions forward to the Host set
// with SetHost, translating Go pointers to Go values; with no host set every
// call returns StatusUnimplemented. The signatures are identical on both sides,
// so the proxywasm layer above is one piece of code.
package abi

// Status is the u32 proxy_status_t every host function returns.
type Status = uint32

// Status values used by this package (the full list is in sdk/proxywasm/types).
const (
	StatusOK            Status = 0
	StatusNotFound      Status = 1
	StatusBadArgument   Status = 2
	StatusUnimplemented Status = 12
)
