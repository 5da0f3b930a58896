// Command guestrun runs a wasip1 test binary of the SDK (GOOS=wasip1
// GOARCH=wasm go test -c) on wazero with every proxy-wasm import answered
// by a stub, so that benchmarks of guest code run where plugins run: in
// compiled wasm, not natively. The stubs return status OK and no data,
// except proxy_get_header_map_pairs, which writes a fixed request of seven
// headers into the buffer the module supplies (the engine's fast path).
//
//	GOOS=wasip1 GOARCH=wasm go test -c -o /tmp/wrapper.test ./sdk/wrapper
//	go run ./bench/guestrun /tmp/wrapper.test -test.run '^$' -test.bench Guest
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// requestHeaders is what proxy_get_header_map_pairs answers: a request as
// the gateway hands it to plugins, in the ABI's pairs encoding.
var requestHeaders = encodePairs(
	":authority", "127.0.0.1:18004", ":path", "/", ":method", "GET", ":scheme", "http",
	"x-forwarded-proto", "http", "x-request-id", "0f6c3a52-1d2b-4c4e-9a51-3f4c2b1d0e9a",
	"x-envoy-internal", "true")

// encodePairs encodes keys and values: the count, each key's and value's
// length (little-endian uint32), then each key and value followed by NUL.
func encodePairs(kv ...string) []byte {
	n := len(kv) / 2
	b := binary.LittleEndian.AppendUint32(nil, uint32(n))
	for _, s := range kv {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	}
	for _, s := range kv {
		b = append(append(b, s...), 0)
	}
	return b
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: guestrun TEST_BINARY [test flags]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "guestrun:", err)
		os.Exit(1)
	}
}

func run(path string, args []string) error {
	ctx := context.Background()
	bin, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return fmt.Errorf("compile %s: %w", path, err)
	}
	stubs := map[string]wazero.HostModuleBuilder{}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod == wasi_snapshot_preview1.ModuleName {
			continue
		}
		b, ok := stubs[mod]
		if !ok {
			b = rt.NewHostModuleBuilder(mod)
			stubs[mod] = b
		}
		b.NewFunctionBuilder().WithGoModuleFunction(stub(name, len(f.ResultTypes())), f.ParamTypes(), f.ResultTypes()).Export(name)
	}
	for mod, b := range stubs {
		if _, err := b.Instantiate(ctx); err != nil {
			return fmt.Errorf("stub module %s: %w", mod, err)
		}
	}
	cfg := wazero.NewModuleConfig().WithArgs(args...).WithStdout(os.Stdout).WithStderr(os.Stderr).
		WithSysNanotime().WithSysWalltime().WithSysNanosleep()
	_, err = rt.InstantiateModule(ctx, cm, cfg)
	return err
}

// stub answers an import: zeros (status OK), or the fixed request headers.
func stub(name string, results int) api.GoModuleFunc {
	if name == "proxy_get_header_map_pairs" {
		return func(_ context.Context, m api.Module, s []uint64) {
			mem := m.Memory()
			dataPtr, sizePtr := uint32(s[1]), uint32(s[2])
			p, _ := mem.ReadUint32Le(dataPtr)
			capacity, _ := mem.ReadUint32Le(sizePtr)
			if p != 0 && int(capacity) >= len(requestHeaders) {
				mem.Write(p, requestHeaders)
				mem.WriteUint32Le(sizePtr, uint32(len(requestHeaders)))
			}
			s[0] = 0
		}
	}
	return func(_ context.Context, _ api.Module, s []uint64) {
		for i := 0; i < results; i++ {
			s[i] = 0
		}
	}
}
