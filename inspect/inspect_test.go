package inspect

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

// Modules built from this repository's examples with our SDK.
func TestOurSDK(t *testing.T) {
	for _, tc := range []struct {
		name, pkg, abi string
		tags           []string
		higress        []string
	}{
		{"hello-world", "./examples/hello-world", "0_2_100", nil, nil},
		{"redis-demo", "./examples/redis-demo", "0_2_100", nil, []string{"proxy_redis_init", "proxy_redis_call"}},
		{"redis-demo upstream", "./examples/redis-demo", "0_2_1", []string{"proxywasm_abi_0_2_1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Bytes(goBuild(t, "..", tc.pkg, true, tc.tags...))
			if err != nil {
				t.Fatal(err)
			}
			if r.ABI != tc.abi || len(r.ABIMarkers) != 1 {
				t.Errorf("ABI = %q %v, want %s", r.ABI, r.ABIMarkers, tc.abi)
			}
			if r.Start.Kind != "reactor" || strings.Join(r.Start.Functions, ",") != "_initialize" {
				t.Errorf("start = %+v", r.Start)
			}
			if strings.Join(r.Allocators, ",") != "proxy_on_memory_allocate" {
				t.Errorf("allocators = %v", r.Allocators)
			}
			tch := r.Toolchain
			if tch.Compiler != CompilerGo || !strings.HasPrefix(tch.CompilerVersion, "go1.") || tch.Language != "Go" {
				t.Errorf("compiler = %+v", tch)
			}
			if tch.SDK != SDKWasmgate || tch.SDKModule != "github.com/wasmgate/wasmgate/sdk" {
				t.Errorf("sdk = %q %q", tch.SDK, tch.SDKModule)
			}
			if tch.GoBuild == nil || tch.GoBuild.Path != "github.com/wasmgate/wasmgate/"+strings.TrimPrefix(tc.pkg, "./") ||
				tch.GoBuild.Settings["-buildmode"] != "c-shared" || tch.GoBuild.Settings["GOOS"] != "wasip1" {
				t.Errorf("go build info = %+v", tch.GoBuild)
			}
			if got := strings.Join(r.HigressOnlyImports, ","); got != strings.Join(tc.higress, ",") {
				t.Errorf("Higress-only imports = %q, want %q", got, tc.higress)
			}
			if (len(tc.higress) > 0) != warned(r, "only Higress's Envoy provides them") {
				t.Errorf("warnings = %q", r.Warnings)
			}
			if len(r.UnknownImports) > 0 {
				t.Errorf("unknown imports %v", r.UnknownImports)
			}
			if tc.abi == "0_2_100" && !has(evidence(r), "exports proxy_on_redis_call_response (Higress Redis callouts)") {
				t.Errorf("evidence = %q", r.Toolchain.Evidence)
			}
			total := 0
			for _, s := range r.Sections {
				total += s.Size
			}
			if total >= r.Size || total < r.Size*99/100 {
				t.Errorf("section sizes add up to %d of %d bytes", total, r.Size)
			}
		})
	}
}

func evidence(r *Report) []string { return r.Toolchain.Evidence }

// standIn writes a small Go module at a third-party SDK's module path, so
// that a real gc build records that path in its module information, as a
// plugin built with that SDK would.
const standInSDK = `package proxywasm

//go:wasmexport proxy_abi_version_0_2_100
func abiMarker() {}

var buf []byte

//go:wasmexport proxy_on_memory_allocate
func allocate(size uint32) *byte {
	buf = make([]byte, size+1)
	return &buf[0]
}

// Register is called from the plugin's init.
func Register(name string) { _ = name }
`

func TestGoSDKsByModulePath(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"pwsdk/go.mod":            "module github.com/higress-group/proxy-wasm-go-sdk\n\ngo 1.24\n",
		"pwsdk/proxywasm/sdk.go":  standInSDK,
		"wasmgo/go.mod":           "module github.com/higress-group/wasm-go\n\ngo 1.24\n\nrequire github.com/higress-group/proxy-wasm-go-sdk v0.0.0\n\nreplace github.com/higress-group/proxy-wasm-go-sdk => ../pwsdk\n",
		"wasmgo/pkg/wrapper/w.go": "package wrapper\n\nimport \"github.com/higress-group/proxy-wasm-go-sdk/proxywasm\"\n\nfunc SetCtx(name string) { proxywasm.Register(name) }\n",
		"plain/go.mod":            "module example.com/plain\n\ngo 1.24\n\nrequire github.com/higress-group/proxy-wasm-go-sdk v0.0.0\n\nreplace github.com/higress-group/proxy-wasm-go-sdk => ../pwsdk\n",
		"plain/main.go":           "package main\n\nimport \"github.com/higress-group/proxy-wasm-go-sdk/proxywasm\"\n\nfunc main() {}\n\nfunc init() { proxywasm.Register(\"plain\") }\n",
		"higress/go.mod":          "module example.com/higress\n\ngo 1.24\n\nrequire (\n\tgithub.com/higress-group/wasm-go v0.0.0\n\tgithub.com/higress-group/proxy-wasm-go-sdk v0.0.0\n)\n\nreplace (\n\tgithub.com/higress-group/wasm-go => ../wasmgo\n\tgithub.com/higress-group/proxy-wasm-go-sdk => ../pwsdk\n)\n",
		"higress/main.go":         "package main\n\nimport \"github.com/higress-group/wasm-go/pkg/wrapper\"\n\nfunc main() {}\n\nfunc init() { wrapper.SetCtx(\"higress\") }\n",
		"higress/command/main.go": "package main\n\nimport \"github.com/higress-group/wasm-go/pkg/wrapper\"\n\nfunc main() { wrapper.SetCtx(\"command\") }\n",
	})
	for _, tc := range []struct {
		name, dir, pkg string
		cshared        bool
		sdk, module    string
	}{
		{"proxy-wasm-go-sdk", dir + "/plain", ".", true, SDKProxyWasmGo, "github.com/higress-group/proxy-wasm-go-sdk"},
		{"higress wasm-go", dir + "/higress", ".", true, SDKHigressWasmGo, "github.com/higress-group/wasm-go"},
		{"command", dir + "/higress", "./command", false, SDKHigressWasmGo, "github.com/higress-group/wasm-go"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Bytes(goBuild(t, tc.dir, tc.pkg, tc.cshared))
			if err != nil {
				t.Fatal(err)
			}
			if r.Toolchain.Compiler != CompilerGo || r.Toolchain.SDK != tc.sdk || r.Toolchain.SDKModule != tc.module {
				t.Fatalf("toolchain = %+v", r.Toolchain)
			}
			if r.ABI != "0_2_100" {
				t.Errorf("ABI = %q", r.ABI)
			}
			if tc.cshared == warned(r, "built as a command (_start)") {
				t.Errorf("start %+v, warnings %q", r.Start, r.Warnings)
			}
			if !tc.cshared && (r.Start.Kind != "command" || r.Start.Functions[0] != "_start") {
				t.Errorf("start = %+v", r.Start)
			}
		})
	}
}

// Hand-written modules shaped like other toolchains' output: wat2wasm
// cannot be TinyGo, rustc or emscripten, but the facts inspect reads
// (exports, imports, names, producers, data) are the same.
func TestOtherToolchainShapes(t *testing.T) {
	tinygo := `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $runtime.fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/internal.ProxyLog (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (func $tinygo_getCurrentStackPointer (result i32) (global.get $__stack_pointer))
  (func $runtime.alloc (param i32) (result i32) (i32.const 1024))
  (func $github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm.proxyOnVMStart (param i32 i32) (result i32) (i32.const 1))
  (func $_start)
  (export "_start" (func $_start))
  (export "malloc" (func $runtime.alloc))
  (export "free" (func $_start))
  (export "proxy_on_memory_allocate" (func $runtime.alloc))
  (export "proxy_on_vm_start" (func $github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm.proxyOnVMStart))
  (export "proxy_abi_version_0_2_0" (func $_start)))`
	tinygoStripped := `(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_redis_init" (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func $f)
  (func $alloc (param i32) (result i32) (i32.const 1024))
  (export "_start" (func $f))
  (export "malloc" (func $alloc))
  (export "proxy_on_memory_allocate" (func $alloc))
  (export "proxy_abi_version_0_2_100" (func $f))
  (data (i32.const 1024) "github.com/alibaba/higress/plugins/wasm-go/pkg/wrapper.(*CommonVmCtx).OnVMStart")
  (data (i32.const 2048) "panic: runtime error: "))`
	rust := `(module
  (import "env" "proxy_log" (func $_ZN10proxy_wasm9hostcalls3log17h0123456789abcdefE (param i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (func $_initialize)
  (func $_ZN4core9panicking9panic_fmt17h0123456789abcdefE)
  (func $proxy_on_memory_allocate (param i32) (result i32) (i32.const 1048576))
  (export "_initialize" (func $_initialize))
  (export "proxy_on_memory_allocate" (func $proxy_on_memory_allocate))
  (export "proxy_abi_version_0_2_1" (func $_initialize))
  (data (i32.const 1048576) "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/proxy-wasm-0.2.2/src/hostcalls.rs")
  (data (i32.const 1049000) "called ` + "`Option::unwrap()` on a `None`" + ` value"))`
	emscripten := `(module
  (import "env" "emscripten_notify_memory_growth" (func (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_configuration" (func (param i32 i32) (result i32)))
  (memory (export "memory") 256)
  (func $_start)
  (func $_ZN11RootContext10onConfigureEm (param i32 i32) (result i32) (i32.const 1))
  (func $malloc (param i32) (result i32) (i32.const 4096))
  (export "_start" (func $_start))
  (export "malloc" (func $malloc))
  (export "proxy_on_configure" (func $_ZN11RootContext10onConfigureEm))
  (export "proxy_abi_version_0_1_0" (func $_start))
  (export "proxy_abi_version_0_2_1" (func $_start))
  (data (i32.const 1024) "proxy_wasm_intrinsics.cc"))`
	for _, tc := range []struct {
		name      string
		b         []byte
		compiler  string
		version   string
		sdk       string
		sdkVer    string
		abi       string
		start     string
		allocs    string
		higress   string
		warnings  []string
		evidences []string
	}{
		{"tinygo", wat(t, tinygo, true), CompilerTinyGo, "", SDKProxyWasmGo, "", "0_2_0", "command", "proxy_on_memory_allocate,malloc", "",
			nil, []string{"TinyGo runtime function tinygo_getCurrentStackPointer in the name section",
				"function github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm.proxyOnVMStart in the name section",
				"exports proxy_abi_version_0_2_0 (the proxy-wasm-go-sdk default before Go 1.24)"}},
		{"tinygo with producers", withProducers(wat(t, tinygo, true), [][3]string{{"language", "Go", "1.20"}, {"processed-by", "TinyGo", "0.28.1"}}),
			CompilerTinyGo, "0.28.1", SDKProxyWasmGo, "", "0_2_0", "command", "proxy_on_memory_allocate,malloc", "", nil,
			[]string{"producers section: processed-by TinyGo 0.28.1"}},
		{"tinygo stripped", wat(t, tinygoStripped, false), CompilerTinyGo, "", SDKHigressWasmGo, "", "0_2_100", "command", "proxy_on_memory_allocate,malloc", "proxy_redis_init",
			[]string{"only Higress's Envoy provides them"},
			[]string{"Go package path github.com/alibaba/higress/plugins/wasm-go in the data, _start and malloc exported, no Go linker sections",
				"package path github.com/alibaba/higress/plugins/wasm-go in the data section"}},
		{"rust", withProducers(wat(t, rust, true), [][3]string{{"language", "Rust", ""}, {"processed-by", "rustc", "1.80.0 (051478957 2024-07-21)"}}),
			CompilerRust, "1.80.0 (051478957 2024-07-21)", SDKProxyWasmRust, "0.2.2", "0_2_1", "reactor", "proxy_on_memory_allocate", "", nil,
			[]string{"Rust core library function _ZN4core9panicking9panic_fmt17h0123456789abcdefE in the name section",
				"Rust panic message in the data section", "source path of the proxy-wasm crate 0.2.2 in the data section"}},
		{"rust stripped", wat(t, rust, false), CompilerRust, "", SDKProxyWasmRust, "0.2.2", "0_2_1", "reactor", "proxy_on_memory_allocate", "", nil, nil},
		{"emscripten", wat(t, emscripten, true), CompilerEmscripten, "", SDKProxyWasmCpp, "", "0_2_1", "command", "malloc", "",
			[]string{"several ABI markers (0_1_0, 0_2_1): hosts use 0_2_1"},
			[]string{"imports env.emscripten_notify_memory_growth (the emscripten runtime)", "function _ZN11RootContext10onConfigureEm in the name section"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Bytes(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			tch := r.Toolchain
			if tch.Compiler != tc.compiler || tch.CompilerVersion != tc.version || tch.SDK != tc.sdk || tch.SDKVersion != tc.sdkVer {
				t.Errorf("toolchain = %+v", tch)
			}
			if tch.GoBuild != nil {
				t.Errorf("Go build info found in a non-gc module: %+v", tch.GoBuild)
			}
			if r.ABI != tc.abi || r.Start.Kind != tc.start || strings.Join(r.Allocators, ",") != tc.allocs {
				t.Errorf("abi %q start %+v allocators %v", r.ABI, r.Start, r.Allocators)
			}
			if got := strings.Join(r.HigressOnlyImports, ","); got != tc.higress {
				t.Errorf("Higress-only imports = %q", got)
			}
			for _, w := range tc.warnings {
				if !warned(r, w) {
					t.Errorf("no warning %q in %q", w, r.Warnings)
				}
			}
			for _, e := range tc.evidences {
				if !has(tch.Evidence, e) {
					t.Errorf("no evidence %q in %q", e, tch.Evidence)
				}
			}
			if len(r.UnknownImports) > 0 {
				t.Errorf("unknown imports: %v", r.UnknownImports)
			}
		})
	}
}

func TestNotProxyWasm(t *testing.T) {
	r, err := Bytes(wat(t, `(module
  (import "env" "abort" (func (param i32)))
  (import "other" "thing" (func))
  (func $s)
  (start $s))`, true))
	if err != nil {
		t.Fatal(err)
	}
	if r.ABI != "" || len(r.Allocators) != 0 || r.Start.Kind != "none" || r.Start.StartSection != "s" {
		t.Errorf("report = %+v", r)
	}
	for _, w := range []string{"not a proxy-wasm module", "no allocator", "env.abort, other.thing: not proxy-wasm host functions"} {
		if !warned(r, w) {
			t.Errorf("no warning %q in %q", w, r.Warnings)
		}
	}
	if r.Toolchain.Compiler != "" || r.Toolchain.SDK != "" {
		t.Errorf("toolchain = %+v", r.Toolchain)
	}
	if _, err := Bytes([]byte("not wasm")); err != wasmbin.ErrNotWasm {
		t.Errorf("err = %v", err)
	}
	if _, err := File("testdata/missing.wasm"); err == nil || !strings.Contains(err.Error(), "missing.wasm") {
		t.Errorf("err = %v", err)
	}
}

func TestOutput(t *testing.T) {
	b := wat(t, `(module
  (import "env" "proxy_redis_call" (func (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $i)
  (func $a (param i32) (result i32) (i32.const 0))
  (export "_initialize" (func $i))
  (export "proxy_on_memory_allocate" (func $a))
  (export "proxy_abi_version_0_2_100" (func $i)))`, true)
	r, err := Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ABI                   0_2_100 (export proxy_abi_version_0_2_100)",
		"start                 reactor: _initialize",
		"Higress-only imports  proxy_redis_call",
		"imports               1 (1 higress)",
		"  env.proxy_redis_call  func  higress",
		"warnings:\n  - imports proxy_redis_call: only Higress's Envoy provides them",
		"  code    ",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if back.ABI != "0_2_100" || back.HigressOnlyImports[0] != "proxy_redis_call" || back.Imports[0].Class != ClassHigress || back.Size != len(b) {
		t.Errorf("JSON round trip = %+v", back)
	}
	if groupDigits(1234567) != "1,234,567" || groupDigits(999) != "999" || groupDigits(-1000) != "-1,000" {
		t.Error("groupDigits")
	}
}

func TestHigressOnlyImports(t *testing.T) {
	got := strings.Join(HigressOnlyImports(), " ")
	want := "proxy_get_upstream_hosts proxy_inject_encoded_data_to_filter_chain proxy_redis_call proxy_redis_init proxy_set_upstream_override_host"
	if got != want {
		t.Errorf("HigressOnlyImports = %s", got)
	}
	for _, tc := range [][3]string{
		{"env", "proxy_log", ClassABI}, {"env", "proxy_redis_init", ClassHigress},
		{"env", "proxy_get_configuration", ClassABI010}, {"wasi_snapshot_preview1", "fd_write", ClassWASI},
		{"env", "emscripten_notify_memory_growth", ClassRuntime}, {"env", "nope", ClassUnknown},
	} {
		if c := ClassifyImport(tc[0], tc[1]); c != tc[2] {
			t.Errorf("ClassifyImport(%s, %s) = %s", tc[0], tc[1], c)
		}
	}
}

// Inspect never panics, whatever the bytes.
func FuzzBytes(f *testing.F) {
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x00\x01\x0b\x0c\x02\x00\x41\x10\x0b\x03abc\x01\x01x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Bytes(b)
		if err == nil {
			_ = r.WriteText(&bytes.Buffer{}, true)
		}
	})
}
