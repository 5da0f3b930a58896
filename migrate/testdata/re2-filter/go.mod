module example.com/re2-filter

go 1.19

require (
	github.com/tetratelabs/proxy-wasm-go-sdk v0.22.0
	github.com/wasilibs/go-re2 v1.3.0
)

require (
	github.com/magefile/mage v1.14.0 // indirect
	github.com/tetratelabs/wazero v1.2.1 // indirect
)
