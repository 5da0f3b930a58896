module example.com/redis-limit

go 1.20

require (
	github.com/alibaba/higress/plugins/wasm-go v1.4.0
	github.com/higress-group/nottinygc v0.0.0-20231101025119-e93c4c2f8520
	github.com/higress-group/proxy-wasm-go-sdk v0.0.0-20240711023527-ba358c48772f
	github.com/tidwall/gjson v1.17.1
	github.com/tidwall/resp v0.1.1
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/magefile/mage v1.15.0 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
)
