package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/migrate"
	"github.com/wasmgate/wasmgate/scaffold"
)

func init() {
	var (
		write    bool
		sdkDir   string
		cacheDir string
		noSDK    bool
	)
	cmd := &cobra.Command{
		Use:   "migrate DIR",
		Short: "Rewrite a Higress wasm-go or TinyGo-era plugin for wasmgate's SDK and Go 1.24",
		Long: `Migrate rewrites the plugin in DIR and prints the changes as a unified diff
(or writes them with --write):

  - imports of Higress's wrapper, log and matcher packages (alibaba/higress
    and higress-group/wasm-go), proxy-wasm-go-sdk's proxywasm and types
    (Higress, Tetrate and proxy-wasm forks) and tidwall/resp point at
    github.com/wasmgate/wasmgate/sdk/...
  - the registration in main() moves to init(), leaving func main() {}
  - a header-phase handler returning types.ActionPause after starting an
    HTTP or Redis call returns types.HeaderStopAllIterationAndWatermark
  - github.com/wasilibs/go-re2 becomes the standard library's regexp;
    nottinygc imports are removed
  - pkg/tokenusage, pkg/iface and proxytest point at the SDK's tokenusage,
    wrapper and proxytest; wrapper.GetValueFromBody becomes
    bodyjson.GetValueFromBody; pkg/test stays (wasmgate's compatibility
    modules run Higress's test framework)
  - go.mod drops the Higress, proxy-wasm-go-sdk and TinyGo requirements
    that nothing kept needs, requires the SDK and its dependencies (replaced
    by the copy in this binary, as wasmgate init does; --sdk to use
    another) and says go 1.24; with --write, go mod tidy runs when the
    module proxy is reachable

Only the SDKs' own packages are rewritten: the plugin's packages and files
excluded by build constraints are left alone. Dependencies that import
Higress's SDK are listed (wasmgate build and test build them against the
compatibility modules). What it cannot do (pkg/mcp, TinyGo //export
directives) is listed on standard error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts migrate.Options
			var err error
			switch {
			case noSDK:
			case sdkDir != "":
				opts.SDK, err = scaffold.LoadSDK(sdkDir)
			default:
				opts.SDK, err = scaffold.InstallSDK(cacheDir)
			}
			if err != nil {
				return err
			}
			res, err := migrate.Dir(args[0], opts)
			if err != nil {
				return err
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if write {
				if err := res.Write(); err != nil {
					return err
				}
				for _, f := range res.Files {
					fmt.Fprintf(out, "wrote %s\n", f.Path)
				}
			} else {
				fmt.Fprint(out, res.Diff())
			}
			if len(res.Files) == 0 {
				fmt.Fprintln(errOut, "nothing to change")
			}
			if kept := res.Kept(); len(kept) > 0 {
				fmt.Fprintf(errOut, "kept (%d):\n", len(kept))
				for _, n := range kept {
					fmt.Fprintf(errOut, "  %s\n", n)
				}
			}
			if write && changedGoMod(res) {
				// Through the module proxy when it is reachable: go.mod builds
				// without it, tidy only drops what nothing needs any more.
				if err := goIn(cmd, args[0], nil, "mod", "tidy"); err != nil {
					fmt.Fprintf(errOut, "go mod tidy did not run (is the module proxy reachable?): go.mod already lists what wasmgate build needs; run go mod tidy later to drop requirements nothing uses\n  %s\n",
						strings.ReplaceAll(err.Error(), "\n", "\n  "))
				} else {
					fmt.Fprintln(out, "ran go mod tidy")
				}
			}
			if manual := res.Manual(); len(manual) > 0 {
				fmt.Fprintf(errOut, "left to do by hand (%d):\n", len(manual))
				for _, n := range manual {
					fmt.Fprintf(errOut, "  %s\n", n)
				}
			}
			if write && len(res.Files) > 0 {
				fmt.Fprintf(errOut, "next: wasmgate build %s\n", args[0])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&write, "write", "w", false, "write the changes instead of printing a diff")
	f.StringVar(&sdkDir, "sdk", "", "SDK module directory for the go.mod replace (default: the copy in this binary, in the cache)")
	f.StringVar(&cacheDir, "sdk-cache", "", "where to write the SDK copy (default $XDG_CACHE_HOME/wasmgate/sdk)")
	f.BoolVar(&noSDK, "no-replace", false, "only require the SDK; add no replace directive")
	rootCmd.AddCommand(cmd)
}

func changedGoMod(res *migrate.Result) bool {
	for _, f := range res.Files {
		if f.Path == "go.mod" {
			return true
		}
	}
	return false
}
