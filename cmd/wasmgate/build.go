package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/pluginbuild"
)

func init() {
	var (
		opts    pluginbuild.Options
		tags    string
		config  string
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build a Go plugin into a proxy-wasm module (Go 1.24+, wasip1, c-shared)",
		Long: `Build compiles the plugin package in DIR (default: the current directory):

  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o DIR/main.wasm .

then prints the module's size, ABI version and imports, and loads it in the
host engine to check that it starts: the plugin must register itself
(wrapper.SetCtx or proxywasm.SetVMContext) in init(), because a c-shared
module never runs main().

--abi 0_2_1 builds for upstream Envoy and Istio (tag proxywasm_abi_0_2_1) and
fails if the module imports a function only Higress's Envoy provides.
A plugin written for Higress's SDK (github.com/higress-group/wasm-go,
proxy-wasm-go-sdk, alibaba/higress/plugins/wasm-go) builds as it is,
against wasmgate's compatibility modules (see wasmgate compat); a TinyGo-era
plugin that registers itself in main() builds with the registration moved
to init() for the build (wasmgate migrate --write changes the source).
--optimize runs wasm-opt (Debian package binaryen) when it is installed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if tags != "" {
				opts.Tags = strings.Split(tags, ",")
			}
			if verbose {
				opts.Log = cmd.ErrOrStderr()
			}
			if config != "" {
				opts.Configuration = []byte(config)
			}
			env, notes, cleanup, err := pluginEnv(opts.Dir, nil)
			if err != nil {
				return err
			}
			defer cleanup()
			opts.Env = env
			res, err := pluginbuild.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			res.Notes = append(notes, res.Notes...)
			return printBuild(cmd.OutOrStdout(), res)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "module file (default DIR/main.wasm)")
	f.StringVar(&opts.ABI, "abi", "", "ABI to build for: 0_2_100 (Higress, the SDK's default) or 0_2_1 (upstream Envoy, Istio)")
	f.BoolVar(&opts.Optimize, "optimize", false, "run wasm-opt on the module when it is installed")
	f.StringVar(&opts.OptimizeLevel, "optimize-level", "2", "wasm-opt level: 1, 2, 3, 4, s or z")
	f.StringVar(&tags, "tags", "", "extra build tags, comma-separated")
	f.BoolVar(&opts.SkipLoadCheck, "no-load-check", false, "do not load the module in the host engine")
	f.StringVar(&config, "config", "", "plugin configuration (JSON) for the load check")
	f.BoolVarP(&verbose, "verbose", "v", false, "show the output of go build and wasm-opt")
	rootCmd.AddCommand(cmd)
}

func printBuild(w io.Writer, res *pluginbuild.Result) error {
	r := res.Report
	size := fmt.Sprintf("%s bytes", groupInt(res.Size))
	if res.Optimized {
		size += fmt.Sprintf(" (%s before wasm-opt)", groupInt(res.BuildSize))
	}
	fmt.Fprintf(w, "built %s with %s\n", res.Output, res.GoVersion)
	fmt.Fprintf(w, "  size     %s\n", size)
	fmt.Fprintf(w, "  ABI      %s\n", r.ABI)
	var env, wasi []string
	for _, i := range r.Imports {
		switch i.Module {
		case "env":
			env = append(env, i.Name)
		default:
			wasi = append(wasi, i.Name)
		}
	}
	fmt.Fprintf(w, "  imports  %d host functions, %d WASI functions\n", len(env), len(wasi))
	for _, n := range env {
		mark := ""
		for _, h := range r.HigressOnlyImports {
			if h == n {
				mark = "  (Higress only)"
			}
		}
		fmt.Fprintf(w, "    env.%s%s\n", n, mark)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, m := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", m)
	}
	return nil
}

// groupInt writes n with thousands separators.
func groupInt(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
