package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/inspect"
)

func init() {
	var (
		asJSON  bool
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "inspect FILE.wasm",
		Short: "Show a module's ABI version, start function, imports, exports, toolchain and sizes",
		Long: `Inspect reads a proxy-wasm module and reports:

  - the ABI version it declares (its proxy_abi_version_* export)
  - how a host starts it: _initialize (+ main or __main_void) for a reactor,
    _start for a command
  - its allocator: proxy_on_memory_allocate and/or malloc
  - which toolchain and SDK built it (Go, TinyGo, Rust, C/C++ with
    emscripten or clang; wasmgate's SDK, Higress wasm-go, proxy-wasm-go-sdk,
    the Rust and C++ SDKs), from the producers and name sections, the Go
    module information in the data section and the imports
  - imports only Higress's Envoy provides (Redis, inject encoded data,
    upstream hosts, override host), which upstream Envoy refuses to load
  - the size of each section

--verbose adds every import and export and the evidence for the toolchain;
--json prints everything as JSON.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := inspect.File(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return r.WriteText(cmd.OutOrStdout(), verbose)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every import and export and the toolchain evidence")
	rootCmd.AddCommand(cmd)
}
