// Package sdk is the root of the wasmgate plugin SDK module. Plugins import
// its subpackages (wrapper, proxywasm, proxywasm/types, log, matcher, resp);
// this package holds only the module's own source, for tools.
package sdk

import "embed"

// Source is this module's source tree (go.mod, go.sum and every package,
// tests and testdata included), embedded so that the wasmgate command can
// give a new plugin module the SDK with no network access and no checkout
// of the repository: `wasmgate init` writes it to a cache directory and
// points the plugin's go.mod at it with a replace directive. Nothing in a
// plugin imports this package, so plugins do not carry it.
//
//go:embed *
var Source embed.FS
