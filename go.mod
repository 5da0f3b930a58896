module github.com/wasmgate/wasmgate

go 1.24
