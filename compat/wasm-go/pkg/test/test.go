// Package test is Higress's unit-test framework for plugins (pkg/test of
// github.com/higress-group/wasm-go) on wasmgate:
//
//   - Go mode runs the plugin's Go code in the test binary against the
//     SDK's in-process host (proxytest.NewHostEmulator), which follows the
//     engine's rules for one filter;
//   - Wasm mode builds the plugin package to a .wasm module (or takes
//     WASM_FILE_PATH) and runs it on wasmgate's host engine, the engine
//     of the gateway;
//   - RunTest runs a test in both modes, as subtests "go" and "wasm".
//
// Tests written for Higress's framework run unchanged.
package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func init() {
	// Panics in the plugin fail the test instead of being logged.
	os.Setenv("WASM_DISABLE_PANIC_RECOVERY", "true")
}

type mode int

const (
	goMode mode = iota
	wasmMode
)

var (
	// initVM is the VM context the plugin registered in init(), taken
	// before the first emulator resets the VM state.
	initVM     types.VMContext
	initVMOnce sync.Once

	modeMu      sync.Mutex // held while a test runs in a mode
	currentMode mode
	currentWasm []byte

	// live is the test host not yet reset, reset by the next NewTestHost
	// or at the end of the (sub)test.
	live *testHost
)

func captureVM() {
	initVMOnce.Do(func() { initVM = proxywasm.GetVMContext() })
}

func runIn(t *testing.T, m mode, wasm []byte, f func(*testing.T)) {
	captureVM()
	modeMu.Lock()
	currentMode, currentWasm = m, wasm
	defer func() {
		if live != nil {
			live.Reset()
		}
		currentMode, currentWasm = goMode, nil
		modeMu.Unlock()
	}()
	f(t)
}

// RunGoTest runs f as subtest "go": the plugin's Go code in this binary.
func RunGoTest(t *testing.T, f func(*testing.T)) {
	t.Helper()
	t.Run("go", func(t *testing.T) { runIn(t, goMode, nil, f) })
}

// RunWasmTest runs f as subtest "wasm": the plugin built to wasm on the
// host engine. The module is WASM_FILE_PATH when set, else the package in
// the current directory built for wasip1 (once per test binary).
func RunWasmTest(t *testing.T, f func(*testing.T)) {
	t.Helper()
	runWasm(t, "", f)
}

// RunWasmTestWithPath is RunWasmTest with the module file given.
func RunWasmTestWithPath(t *testing.T, wasmPath string, f func(*testing.T)) {
	t.Helper()
	runWasm(t, wasmPath, f)
}

// RunTest runs f in Go mode and in Wasm mode.
func RunTest(t *testing.T, f func(*testing.T)) {
	t.Helper()
	RunGoTest(t, f)
	RunWasmTest(t, f)
}

// RunTestWithPath runs f in Go mode and in Wasm mode with the module given.
func RunTestWithPath(t *testing.T, wasmPath string, f func(*testing.T)) {
	t.Helper()
	RunGoTest(t, f)
	RunWasmTestWithPath(t, wasmPath, f)
}

func runWasm(t *testing.T, path string, f func(*testing.T)) {
	t.Helper()
	t.Run("wasm", func(t *testing.T) {
		wasm, err := loadWasm(path)
		if err != nil {
			t.Fatalf("wasm mode: %v", err)
		}
		runIn(t, wasmMode, wasm, f)
	})
}

var built struct {
	once sync.Once
	wasm []byte
	err  error
}

func loadWasm(path string) ([]byte, error) {
	if path == "" {
		path = os.Getenv("WASM_FILE_PATH")
	}
	if path != "" {
		return os.ReadFile(path)
	}
	built.once.Do(func() { built.wasm, built.err = buildPackage() })
	return built.wasm, built.err
}

// buildPackage builds the package in the current directory (the package
// under test) as a proxy-wasm module.
func buildPackage() ([]byte, error) {
	dir, err := os.MkdirTemp("", "wasm-unit-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "plugin.wasm")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the plugin for wasip1 (set WASM_FILE_PATH to use a built module): %v\n%s", err, strings.TrimSpace(string(msg)))
	}
	return os.ReadFile(out)
}
