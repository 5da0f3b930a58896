package migrate

import (
	"bytes"
	"go/build"
	"io"
)

// buildsForPlugin reports whether a file is part of the plugin's build: the
// wasip1/wasm build of the module, or the native build its tests run in.
// Files excluded from both (//go:build ignore, another OS) are left alone.
func buildsForPlugin(name string, src []byte) bool {
	for _, goos := range []struct{ os, arch string }{{"wasip1", "wasm"}, {build.Default.GOOS, build.Default.GOARCH}} {
		ctx := build.Default
		ctx.GOOS, ctx.GOARCH = goos.os, goos.arch
		ctx.OpenFile = func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(src)), nil }
		if ok, err := ctx.MatchFile(".", name); err == nil && ok {
			return true
		}
	}
	return false
}
