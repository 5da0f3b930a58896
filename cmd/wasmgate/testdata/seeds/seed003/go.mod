module example.com/seed003

go 1.24.1

require (
	github.com/higress-group/proxy-wasm-go-sdk v0.0.0-20250611100342-5654e89a7a80
	github.com/higress-group/wasm-go v1.0.0
	github.com/tidwall/gjson v1.18.0
)
