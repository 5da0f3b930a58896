module example.com/unsupported

go 1.24

require github.com/higress-group/wasm-go v1.0.0
