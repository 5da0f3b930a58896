// Package compat holds the compatibility modules, one directory each:
// packages under Higress's import paths that forward to wasmgate's SDK.
//
//	wasm-go/           github.com/higress-group/wasm-go (pkg/wrapper, log, matcher,
//	                   iface, tokenusage, test)
//	proxy-wasm-go-sdk/ github.com/higress-group/proxy-wasm-go-sdk (proxywasm, types,
//	                   proxytest)
//	higress-plugins/   github.com/alibaba/higress/plugins/wasm-go (pkg/wrapper, log,
//	                   matcher: the older wrapper)
//	resp/              github.com/tidwall/resp
//
// In this repository they are packages of the root module (so that they
// build and vet with it); scaffold.InstallCompat writes each with its own
// go.mod to the user cache, and wasmgate build, test and compat point a
// plugin's go.mod at them with replace directives. The zz_sdk.go files are
// generated (compat/internal/gen), and so is higress-plugins' wrapper file
// zz_higress.go, from wasm-go's higress.go with the older Redis callback;
// the rest keeps Higress's signatures where they differ from the SDK's.
package compat
