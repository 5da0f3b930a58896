//go:build wasm && proxywasm_abi_0_2_1

package proxywasm

// proxy_abi_version_0_2_1 marks the module as standard ABI 0.2.1 for upstream
// Envoy (≥ 1.33) and Istio. Built this way the module imports none of the
// Higress extensions; their functions return types.ErrorUnimplemented.
//
//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion_0_2_1() {}
