module example.com/seed001

go 1.19

require (
	github.com/alibaba/higress/plugins/wasm-go v1.3.5
	github.com/higress-group/proxy-wasm-go-sdk v0.0.0-20240226064518-b3dc4646a35a
	github.com/tidwall/gjson v1.14.3
	github.com/tidwall/resp v0.1.1
)

require (
	github.com/google/uuid v1.3.0 // indirect
	github.com/higress-group/nottinygc v0.0.0-20231101025119-e93c4c2f8520 // indirect
	github.com/magefile/mage v1.14.0 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
)
