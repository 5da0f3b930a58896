module my-plugin

go 1.19

require (
    github.com/alibaba/higress/plugins/wasm-go v1.3.5
    github.com/higress-group/proxy-wasm-go-sdk v0.0.0-20240226064518-b3dc4646a35a
    github.com/tidwall/gjson v1.17.0
)
