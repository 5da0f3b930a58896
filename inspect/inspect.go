// Package inspect reports what a proxy-wasm module is: the ABI version it
// declares, how a host starts it, its allocator, what it imports and
// exports, which toolchain and SDK built it, which imports only Higress's
// Envoy provides, and where its bytes go. It reads the binary only; it
// never runs the module.
package inspect

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

// Report is the result of inspecting one module.
type Report struct {
	File string `json:"file,omitempty"`
	Size int    `json:"size"`
	// ABI is the proxy-wasm ABI version the module declares ("0_2_100",
	// "0_2_1", "0_2_0", "0_1_0"), empty without a marker export. When a
	// module exports several markers ABI is the newest, as hosts choose.
	ABI        string   `json:"abi"`
	ABIMarkers []string `json:"abiMarkers,omitempty"`
	Start      Start    `json:"start"`
	// Allocators are the allocation exports hosts use to pass data in:
	// proxy_on_memory_allocate and/or malloc.
	Allocators []string  `json:"allocators"`
	Toolchain  Toolchain `json:"toolchain"`
	// HigressOnlyImports are env imports only Higress's Envoy provides.
	HigressOnlyImports []string `json:"higressOnlyImports,omitempty"`
	// UnknownImports are imports no proxy-wasm host provides.
	UnknownImports []string  `json:"unknownImports,omitempty"`
	Imports        []Import  `json:"imports"`
	Exports        []Export  `json:"exports"`
	Sections       []Section `json:"sections"`
	// Warnings are problems a host or gateway would have with the module.
	Warnings []string `json:"warnings,omitempty"`
}

// Start is how a host initializes the module.
type Start struct {
	// Kind is "reactor" (_initialize), "command" (_start) or "none".
	Kind string `json:"kind"`
	// Functions are the start exports a proxy-wasm host calls, in order:
	// _initialize then main or __main_void, or _start.
	Functions []string `json:"functions,omitempty"`
	// StartSection names the function of the wasm start section, which the
	// runtime itself runs at instantiation ("" when there is none).
	StartSection string `json:"startSection,omitempty"`
}

// Import is one import with the class of host that provides it.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	// Class is one of the Class* constants.
	Class string `json:"class"`
}

// Export is one export.
type Export struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Section is one section's payload size; custom sections are named
// "custom:NAME".
type Section struct {
	Name    string  `json:"name"`
	Size    int     `json:"size"`
	Percent float64 `json:"percent"`
}

// File inspects the module file at path.
func File(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	r, err := Bytes(b)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}
	r.File = path
	return r, nil
}

// Bytes inspects a module held in memory.
func Bytes(b []byte) (*Report, error) {
	m, err := wasmbin.Parse(b)
	if err != nil {
		return nil, err
	}
	r := &Report{Size: len(b), Allocators: []string{}}
	r.abi(m)
	r.start(m)
	for _, a := range []string{"proxy_on_memory_allocate", "malloc"} {
		if hasFunc(m, a) {
			r.Allocators = append(r.Allocators, a)
		}
	}
	r.imports(m)
	for _, e := range m.Exports {
		r.Exports = append(r.Exports, Export{Name: e.Name, Kind: e.Kind.String()})
	}
	r.sections(m)
	r.Toolchain = identify(m)
	r.warn(m)
	return r, nil
}

const markerPrefix = "proxy_abi_version_"

// abiOrder ranks markers the way hosts pick among several.
var abiOrder = map[string]int{"0_1_0": 1, "0_2_0": 2, "0_2_1": 3, "0_2_100": 4}

func (r *Report) abi(m *wasmbin.Module) {
	for _, e := range m.Exports {
		if e.Kind == wasmbin.KindFunc && strings.HasPrefix(e.Name, markerPrefix) {
			v := strings.TrimPrefix(e.Name, markerPrefix)
			r.ABIMarkers = append(r.ABIMarkers, v)
			if abiOrder[v] > abiOrder[r.ABI] {
				r.ABI = v
			}
		}
	}
	sort.Slice(r.ABIMarkers, func(i, j int) bool { return abiOrder[r.ABIMarkers[i]] < abiOrder[r.ABIMarkers[j]] })
}

func (r *Report) start(m *wasmbin.Module) {
	r.Start.Kind = "none"
	switch {
	case hasFunc(m, "_initialize"):
		r.Start.Kind = "reactor"
		r.Start.Functions = []string{"_initialize"}
		if hasFunc(m, "main") {
			r.Start.Functions = append(r.Start.Functions, "main")
		} else if hasFunc(m, "__main_void") {
			r.Start.Functions = append(r.Start.Functions, "__main_void")
		}
	case hasFunc(m, "_start"):
		r.Start.Kind = "command"
		r.Start.Functions = []string{"_start"}
	}
	if m.HasStart {
		name := m.FuncNames[m.Start]
		if name == "" {
			name = fmt.Sprintf("function %d", m.Start)
		}
		r.Start.StartSection = name
	}
}

func (r *Report) imports(m *wasmbin.Module) {
	for _, i := range m.Imports {
		class := ClassifyImport(i.Module, i.Name)
		if i.Kind != wasmbin.KindFunc && class == ClassUnknown && i.Module == "env" {
			// Imported memories and tables (emscripten, wasi-sdk with
			// --import-memory) are not host functions.
			class = ClassRuntime
		}
		r.Imports = append(r.Imports, Import{Module: i.Module, Name: i.Name, Kind: i.Kind.String(), Class: class})
		switch class {
		case ClassHigress:
			r.HigressOnlyImports = append(r.HigressOnlyImports, i.Name)
		case ClassUnknown:
			r.UnknownImports = append(r.UnknownImports, i.Module+"."+i.Name)
		}
	}
}

func (r *Report) sections(m *wasmbin.Module) {
	for _, s := range m.Sections {
		name := s.Name
		if s.ID == wasmbin.SectionCustom {
			name = "custom:" + s.Name
		}
		pct := 0.0
		if r.Size > 0 {
			pct = float64(s.Size) * 100 / float64(r.Size)
		}
		r.Sections = append(r.Sections, Section{Name: name, Size: s.Size, Percent: pct})
	}
}

func (r *Report) warn(m *wasmbin.Module) {
	w := func(format string, args ...any) { r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...)) }
	if r.ABI == "" {
		w("no proxy_abi_version_* export: this is not a proxy-wasm module, hosts refuse to load it")
	} else if len(r.ABIMarkers) > 1 {
		w("several ABI markers (%s): hosts use %s", strings.Join(r.ABIMarkers, ", "), r.ABI)
	}
	if len(r.Allocators) == 0 {
		w("no allocator: the module exports neither proxy_on_memory_allocate nor malloc, hosts refuse to load it")
	}
	if r.Start.Kind == "none" && !m.HasStart {
		w("no start function (_initialize or _start): the language runtime is never initialized")
	}
	if r.Toolchain.Compiler == CompilerGo && r.Start.Kind == "command" {
		w("Go module built as a command (_start): build it with -buildmode=c-shared so the host runs _initialize (init functions) and main never runs")
	}
	if hasFunc(m, "_initialize") && hasFunc(m, "_start") {
		w("exports both _initialize and _start: hosts run _initialize only")
	}
	if len(r.HigressOnlyImports) > 0 {
		w("imports %s: only Higress's Envoy provides them, upstream Envoy and Istio refuse to load the module",
			strings.Join(r.HigressOnlyImports, ", "))
	}
	if len(r.UnknownImports) > 0 {
		w("imports %s: not proxy-wasm host functions, hosts that lack them refuse to load the module",
			strings.Join(r.UnknownImports, ", "))
	}
	if r.ABI == "0_2_100" && r.Toolchain.SDK == SDKWasmgate && !hasFunc(m, "proxy_on_redis_call_response") {
		w("declares ABI 0_2_100 but does not export proxy_on_redis_call_response: Redis replies cannot be delivered")
	}
}

func hasFunc(m *wasmbin.Module, name string) bool {
	e, ok := m.Export(name)
	return ok && e.Kind == wasmbin.KindFunc
}
