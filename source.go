// Package wasmgate holds what the wasmgate binary gives plugin folders
// besides the SDK: the sources of the test harness (plugintest and the host
// engine it runs plugins on), with this module's go.mod and go.sum, and the
// compatibility modules that answer Higress's import paths.
//
// The project's packages are documented in docs/architecture.md.
package wasmgate

import "embed"

// HarnessSource is the part of this module a plugin's tests link:
// plugintest, host, gateway/trace, internal/attributes, internal/grpccallout,
// internal/redisbridge and internal/wasmbin, plus go.mod and go.sum.
// Tests and testdata are embedded too and skipped when it is written out.
//
//go:embed go.mod go.sum plugintest host gateway/trace internal/attributes internal/grpccallout internal/redisbridge internal/wasmbin
var HarnessSource embed.FS

// CompatSource holds the compatibility modules: packages under Higress's
// import paths (compat/wasm-go is github.com/higress-group/wasm-go, …) that
// forward to the SDK. Their go.mod files are written when they are
// installed (scaffold.InstallCompat).
//
//go:embed compat
var CompatSource embed.FS
