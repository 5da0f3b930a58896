package inspect

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

// Compilers Toolchain.Compiler names.
const (
	CompilerGo         = "go"         // the Go toolchain (gc), GOOS=wasip1
	CompilerTinyGo     = "tinygo"     // TinyGo
	CompilerRust       = "rust"       // rustc
	CompilerEmscripten = "emscripten" // emcc (C/C++)
	CompilerClang      = "clang"      // clang/wasi-sdk (C/C++)
)

// SDKs Toolchain.SDK names.
const (
	SDKWasmgate      = "wasmgate"            // github.com/wasmgate/wasmgate/sdk
	SDKHigressWasmGo = "higress-wasm-go"     // Higress wasm-go (wrapper), on proxy-wasm-go-sdk
	SDKProxyWasmGo   = "proxy-wasm-go-sdk"   // proxy-wasm-go-sdk (upstream, Tetrate or Higress fork)
	SDKProxyWasmRust = "proxy-wasm-rust-sdk" // the proxy-wasm crate
	SDKProxyWasmCpp  = "proxy-wasm-cpp-sdk"  // proxy_wasm_intrinsics
)

// Toolchain is what built the module, with the facts the conclusion rests
// on. An empty Compiler or SDK means the module shows no evidence of one.
type Toolchain struct {
	Compiler        string `json:"compiler,omitempty"`
	CompilerVersion string `json:"compilerVersion,omitempty"`
	// Language is the producers section's source language when present.
	Language   string `json:"language,omitempty"`
	SDK        string `json:"sdk,omitempty"`
	SDKModule  string `json:"sdkModule,omitempty"`
	SDKVersion string `json:"sdkVersion,omitempty"`
	// GoBuild is the Go module information, for modules built by gc.
	GoBuild *GoBuild `json:"goBuild,omitempty"`
	// Evidence lists the observed facts, one per line.
	Evidence []string `json:"evidence"`
}

// goSDKs are Go module paths of plugin SDKs, most specific first: a Higress
// wasm-go plugin also links proxy-wasm-go-sdk.
var goSDKs = []struct{ module, sdk string }{
	{"github.com/wasmgate/wasmgate/sdk", SDKWasmgate},
	{"github.com/higress-group/wasm-go", SDKHigressWasmGo},
	{"github.com/alibaba/higress/plugins/wasm-go", SDKHigressWasmGo},
	{"github.com/higress-group/proxy-wasm-go-sdk", SDKProxyWasmGo},
	{"github.com/tetratelabs/proxy-wasm-go-sdk", SDKProxyWasmGo},
	{"github.com/proxy-wasm/proxy-wasm-go-sdk", SDKProxyWasmGo},
}

// TinyGo runtime functions with no counterpart in gc's runtime.
var tinygoFuncs = []string{"tinygo_", "runtime.hashmap", "runtime.runtimePanic", "runtime.nilPanic", "runtime.lookupPanic"}

// rustCrate matches the source path of the proxy-wasm crate in panic
// locations, which carries its version.
var rustCrate = regexp.MustCompile(`proxy-wasm-(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)/src/`)

type facts struct {
	m         *wasmbin.Module
	producers map[string][]wasmbin.Producer
	mem       wasmbin.Memory
	names     []string
	t         Toolchain
}

func (f *facts) add(format string, args ...any) {
	f.t.Evidence = append(f.t.Evidence, fmt.Sprintf(format, args...))
}

// producer returns the first value of a producers field whose name
// contains sub (case-insensitive).
func (f *facts) producer(field, sub string) (wasmbin.Producer, bool) {
	for _, p := range f.producers[field] {
		if strings.Contains(strings.ToLower(p.Name), strings.ToLower(sub)) {
			return p, true
		}
	}
	return wasmbin.Producer{}, false
}

// funcName returns the first function name containing sub (prefix when
// prefix is set).
func (f *facts) funcName(sub string, prefix bool) string {
	for _, n := range f.names {
		if prefix && strings.HasPrefix(n, sub) || !prefix && strings.Contains(n, sub) {
			return n
		}
	}
	return ""
}

// data returns whether the initial memory contains s.
func (f *facts) data(s string) bool {
	for _, r := range f.mem {
		if bytes.Contains(r.Bytes, []byte(s)) {
			return true
		}
	}
	return false
}

func identify(m *wasmbin.Module) Toolchain {
	f := &facts{m: m, mem: m.InitialMemory(64)}
	f.t.Evidence = []string{}
	if p, err := m.Producers(); err == nil {
		f.producers = p
	} else {
		f.add("malformed producers section ignored: %v", err)
	}
	for _, n := range m.FuncNames {
		f.names = append(f.names, n)
	}
	sort.Strings(f.names)
	if l := f.producers["language"]; len(l) > 0 {
		f.t.Language = l[0].Name
	}
	f.compiler()
	f.sdk()
	return f.t
}

func (f *facts) compiler() {
	m := f.m
	switch {
	case f.goGC():
	case f.tinygo():
	case m.HasImport("env", "emscripten_notify_memory_growth"):
		f.t.Compiler = CompilerEmscripten
		f.add("imports env.emscripten_notify_memory_growth (the emscripten runtime)")
		if p, ok := f.producer("processed-by", "clang"); ok {
			f.add("producers section: processed-by %s %s", p.Name, p.Version)
		}
	case f.rust():
	default:
		if p, ok := f.producer("processed-by", "clang"); ok {
			f.t.Compiler, f.t.CompilerVersion = CompilerClang, p.Version
			f.add("producers section: processed-by %s %s", p.Name, p.Version)
		}
	}
}

func (f *facts) goGC() bool {
	var ev []string
	if _, ok := f.m.Custom["go:buildid"]; ok {
		ev = append(ev, `custom section "go:buildid" (written by the Go linker)`)
	}
	if p, ok := f.producer("processed-by", "Go cmd/compile"); ok {
		ev = append(ev, fmt.Sprintf("producers section: processed-by %s %s", p.Name, p.Version))
		f.t.CompilerVersion = p.Version
	}
	g := findGoBuild(f.mem)
	if g != nil {
		ev = append(ev, "Go module information in the data section: main package "+g.Path)
		if c := g.Settings["-compiler"]; c != "" && c != "gc" {
			g = nil // another compiler writing gc's format: do not claim gc
		}
	}
	if len(ev) == 0 {
		return false
	}
	f.t.Compiler = CompilerGo
	if f.t.CompilerVersion == "" {
		if l, ok := f.producer("language", "Go"); ok {
			f.t.CompilerVersion = l.Version
		}
	}
	if g != nil {
		g.GoVersion = f.t.CompilerVersion
		f.t.GoBuild = g
	}
	f.t.Evidence = append(f.t.Evidence, ev...)
	return true
}

func (f *facts) tinygo() bool {
	found := false
	if p, ok := f.producer("processed-by", "tinygo"); ok {
		f.t.CompilerVersion = p.Version
		f.add("producers section: processed-by %s %s", p.Name, p.Version)
		found = true
	}
	for _, prefix := range tinygoFuncs {
		if n := f.funcName(prefix, true); n != "" {
			f.add("TinyGo runtime function %s in the name section", n)
			found = true
			break
		}
	}
	if !found {
		// Without names: a Go SDK's package paths in the data of a module
		// that has none of gc's marks, started as a command with malloc.
		for _, s := range goSDKs {
			if f.data(s.module) && hasFunc(f.m, "_start") && hasFunc(f.m, "malloc") {
				f.add("Go package path %s in the data, _start and malloc exported, no Go linker sections", s.module)
				found = true
				break
			}
		}
	}
	if found {
		f.t.Compiler = CompilerTinyGo
	}
	return found
}

func (f *facts) rust() bool {
	found := false
	if p, ok := f.producer("processed-by", "rustc"); ok {
		f.t.CompilerVersion = p.Version
		f.add("producers section: processed-by %s %s", p.Name, p.Version)
		found = true
	} else if p, ok := f.producer("language", "Rust"); ok {
		f.add("producers section: language %s", p.Name)
		found = true
	}
	if n := f.funcName("core::panicking", false); n != "" {
		f.add("Rust core library function %s in the name section", n)
		found = true
	} else if n := f.funcName("4core9panicking", false); n != "" {
		f.add("Rust core library function %s in the name section", n)
		found = true
	}
	if f.data("called `Option::unwrap()` on a `None` value") {
		f.add("Rust panic message in the data section")
		found = true
	}
	if found {
		f.t.Compiler = CompilerRust
	}
	return found
}

func (f *facts) sdk() {
	if g := f.t.GoBuild; g != nil {
		for _, s := range goSDKs {
			if g.HasModule(s.module) {
				f.t.SDK, f.t.SDKModule, f.t.SDKVersion = s.sdk, s.module, g.moduleVersion(s.module)
				f.add("Go module information lists %s", s.module)
				f.sdkABIFacts()
				return
			}
		}
		return
	}
	if f.t.Compiler == CompilerGo || f.t.Compiler == CompilerTinyGo || f.t.Compiler == "" {
		for _, s := range goSDKs {
			if n := f.funcName(s.module+"/", true); n != "" {
				f.t.SDK, f.t.SDKModule = s.sdk, s.module
				f.add("function %s in the name section", n)
				f.sdkABIFacts()
				return
			}
			if f.data(s.module + "/") {
				f.t.SDK, f.t.SDKModule = s.sdk, s.module
				f.add("package path %s in the data section", s.module)
				f.sdkABIFacts()
				return
			}
		}
	}
	for _, r := range f.mem {
		if sm := rustCrate.FindSubmatch(r.Bytes); sm != nil {
			f.t.SDK, f.t.SDKVersion = SDKProxyWasmRust, string(sm[1])
			f.add("source path of the proxy-wasm crate %s in the data section", sm[1])
			return
		}
	}
	if n := f.funcName("proxy_wasm", false); n != "" && f.t.Compiler == CompilerRust {
		f.t.SDK = SDKProxyWasmRust
		f.add("function %s in the name section", n)
		return
	}
	if n := f.funcName("RootContext", false); n != "" && (f.t.Compiler == CompilerEmscripten || f.t.Compiler == CompilerClang) {
		f.t.SDK = SDKProxyWasmCpp
		f.add("function %s in the name section", n)
		return
	}
	if f.data("proxy_wasm_intrinsics") {
		f.t.SDK = SDKProxyWasmCpp
		f.add("proxy_wasm_intrinsics in the data section")
	}
}

// sdkABIFacts records the export facts that go with the SDK found.
func (f *facts) sdkABIFacts() {
	switch f.t.SDK {
	case SDKWasmgate:
		if hasFunc(f.m, "proxy_on_redis_call_response") {
			f.add("exports proxy_on_redis_call_response (Higress Redis callouts)")
		}
	case SDKProxyWasmGo:
		if hasFunc(f.m, "proxy_abi_version_0_2_0") {
			f.add("exports proxy_abi_version_0_2_0 (the proxy-wasm-go-sdk default before Go 1.24)")
		}
	}
}
