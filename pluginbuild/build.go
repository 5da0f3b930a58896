// Package pluginbuild builds a Go plugin package into a proxy-wasm module
// (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared), optionally optimizes it
// with wasm-opt, and checks the result: the ABI it declares, the imports
// its target host provides, and that it registers itself during
// initialization when loaded in the host engine.
package pluginbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/wasmgate/wasmgate/inspect"
)

// ABI versions a plugin can be built for.
const (
	// ABIHigress is Higress's 0.2.100: the Higress extensions are
	// available (Redis, inject encoded data, upstream hosts).
	ABIHigress = "0_2_100"
	// ABIUpstream is proxy-wasm 0.2.1 for upstream Envoy and Istio, built
	// with the proxywasm_abi_0_2_1 tag.
	ABIUpstream = "0_2_1"
)

// UpstreamTag is the build tag that selects ABI 0.2.1 in the SDK.
const UpstreamTag = "proxywasm_abi_0_2_1"

// Options configures Build. Only Dir is needed.
type Options struct {
	// Dir is the plugin's package directory (default ".").
	Dir string
	// Output is the module file (default Dir/main.wasm).
	Output string
	// ABI is ABIHigress or ABIUpstream; empty leaves the choice to the
	// SDK (wasmgate's SDK then builds for Higress) and checks nothing.
	ABI string
	// Tags are extra build tags.
	Tags []string
	// Optimize runs wasm-opt on the module when it is installed.
	Optimize bool
	// OptimizeLevel is wasm-opt's level: "1" to "4", "s" or "z"
	// (default "2").
	OptimizeLevel string
	// GoTool and WasmOpt are the programs to run (default: "go" and
	// "wasm-opt" from PATH).
	GoTool, WasmOpt string
	// Env is the environment of the tools (default os.Environ()); GOOS and
	// GOARCH are set on top of it.
	Env []string
	// Log receives the tools' output as they run (nil: discarded; the
	// output of a failing step is in the error either way).
	Log io.Writer
	// SkipLoadCheck skips loading the module in the host engine.
	SkipLoadCheck bool
	// Configuration is the plugin configuration the load check passes to
	// proxy_on_configure (default none).
	Configuration []byte
}

// Result describes a built module.
type Result struct {
	// Output is the module file.
	Output string
	// GoVersion is the Go toolchain that built it.
	GoVersion string
	// Size is the module's size; BuildSize its size before wasm-opt (equal
	// to Size when not optimized).
	Size, BuildSize int
	// Optimized says whether wasm-opt ran.
	Optimized bool
	// Report is the inspection of the module.
	Report *inspect.Report
	// Notes are things worth telling that did not stop the build.
	Notes []string
}

// ErrNotRegistered means the module registered no plugin while it was
// initialized: the registration is in main(), which a c-shared module
// never runs.
var ErrNotRegistered = errors.New("register the plugin in init(), not main(): a Go 1.24 wasip1 c-shared module runs init functions only, so wrapper.SetCtx or proxywasm.SetVMContext in main() is never called")

// Build builds the plugin package in opts.Dir.
func Build(ctx context.Context, opts Options) (*Result, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	version, err := GoVersion(ctx, o.GoTool, o.Dir, o.Env)
	if err != nil {
		return nil, err
	}
	if err := CheckGoVersion(version); err != nil {
		return nil, err
	}
	res := &Result{Output: o.Output, GoVersion: version}
	if err := o.goBuild(ctx); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(o.Output)
	if err != nil {
		return nil, fmt.Errorf("read built module: %w", err)
	}
	res.BuildSize = len(b)
	if o.Optimize {
		ob, note, err := o.optimize(ctx)
		if err != nil {
			return nil, err
		}
		if note != "" {
			res.Notes = append(res.Notes, note)
		}
		if ob != nil {
			b, res.Optimized = ob, true
		}
	}
	res.Size = len(b)
	if res.Report, err = inspect.Bytes(b); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", o.Output, err)
	}
	res.Report.File = o.Output
	if err := checkABI(res.Report, o.ABI); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Output, err)
	}
	if !o.SkipLoadCheck {
		notes, err := CheckLoads(ctx, b, o.Configuration)
		res.Notes = append(res.Notes, notes...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Output, err)
		}
	}
	return res, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		o.Dir = "."
	}
	st, err := os.Stat(o.Dir)
	if err != nil {
		return o, fmt.Errorf("plugin directory: %w", err)
	}
	if !st.IsDir() {
		return o, fmt.Errorf("plugin directory %s is not a directory", o.Dir)
	}
	if o.Output == "" {
		o.Output = filepath.Join(o.Dir, "main.wasm")
	}
	if o.Output, err = filepath.Abs(o.Output); err != nil {
		return o, err
	}
	switch o.ABI {
	case "", ABIHigress, ABIUpstream:
	default:
		return o, fmt.Errorf("unknown ABI %q: use %s (Higress) or %s (upstream Envoy, Istio)", o.ABI, ABIHigress, ABIUpstream)
	}
	if o.OptimizeLevel == "" {
		o.OptimizeLevel = "2"
	}
	if !strings.Contains("1234sz", o.OptimizeLevel) || len(o.OptimizeLevel) != 1 {
		return o, fmt.Errorf("unknown wasm-opt level %q: use 1, 2, 3, 4, s or z", o.OptimizeLevel)
	}
	if o.GoTool == "" {
		o.GoTool = "go"
	}
	if o.WasmOpt == "" {
		o.WasmOpt = "wasm-opt"
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

func (o Options) tags() []string {
	tags := append([]string(nil), o.Tags...)
	if o.ABI == ABIUpstream {
		tags = append(tags, UpstreamTag)
	}
	return tags
}

func (o Options) goBuild(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(o.Output), 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", o.Output}
	if tags := o.tags(); len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, ".")
	cmd := exec.CommandContext(ctx, o.GoTool, args...)
	cmd.Dir = o.Dir
	cmd.Env = append(append([]string(nil), o.Env...), "GOOS=wasip1", "GOARCH=wasm")
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, o.Log)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("GOOS=wasip1 GOARCH=wasm %s %s (in %s): %w\n%s", o.GoTool, strings.Join(args, " "), o.Dir, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// optimize runs wasm-opt over the output in place. It returns nil bytes
// and a note when wasm-opt is not installed.
func (o Options) optimize(ctx context.Context) ([]byte, string, error) {
	tool, err := exec.LookPath(o.WasmOpt)
	if err != nil {
		return nil, "wasm-opt is not installed (Debian/Ubuntu: apt-get install binaryen); the module is not optimized", nil
	}
	tmp := o.Output + ".opt"
	// Go's wasm output uses these post-MVP features; wasm-opt must accept
	// them (and may use them) but add no others.
	args := []string{"-O" + o.OptimizeLevel, "--enable-bulk-memory", "--enable-sign-ext",
		"--enable-nontrapping-float-to-int", "--enable-mutable-globals", o.Output, "-o", tmp}
	cmd := exec.CommandContext(ctx, tool, args...)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, o.Log)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		msg := strings.TrimSpace(out.String())
		if len(msg) > 4000 {
			msg = msg[:4000] + "\n…"
		}
		return nil, "", fmt.Errorf("%s %s: %w\n%s", o.WasmOpt, strings.Join(args, " "), err, msg)
	}
	b, err := os.ReadFile(tmp)
	if err != nil {
		return nil, "", fmt.Errorf("read optimized module: %w", err)
	}
	if err := os.Rename(tmp, o.Output); err != nil {
		return nil, "", fmt.Errorf("replace %s with the optimized module: %w", o.Output, err)
	}
	return b, "", nil
}

// checkABI verifies the module declares an ABI (the one requested, if
// any) and, for upstream Envoy, imports nothing only Higress provides.
func checkABI(r *inspect.Report, abi string) error {
	if r.ABI == "" {
		return errors.New("the module exports no proxy_abi_version_* marker: it is not a proxy-wasm plugin (does the package import a proxy-wasm SDK?)")
	}
	if abi != "" && r.ABI != abi {
		return fmt.Errorf("built for ABI %s but the module declares %s: the plugin's SDK does not follow the %s tag", abi, r.ABI, UpstreamTag)
	}
	if abi = r.ABI; abi == ABIUpstream && len(r.HigressOnlyImports) > 0 {
		return fmt.Errorf("built for upstream Envoy (ABI %s) but imports %s, which only Higress's Envoy provides: upstream Envoy and Istio refuse to load it; remove the code that uses it or build for Higress (--abi %s)",
			abi, joinEnv(r.HigressOnlyImports), ABIHigress)
	}
	return nil
}

func joinEnv(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "env." + n
	}
	return strings.Join(out, ", ")
}
