package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/scaffold"
)

func init() {
	var (
		opts     scaffold.Options
		cacheDir string
	)
	cmd := &cobra.Command{
		Use:   "init NAME",
		Short: "Create a plugin folder from a template (builds with no network access)",
		Long: `Init creates the folder NAME (or --dir) holding a plugin:

  main.go          the plugin, registering itself in init()
  main_test.go     tests with plugintest, on the real host engine
  go.mod, go.sum   Go 1.24; the SDK replaced by a local copy
  README.md        what the plugin does, how to build, test and deploy it
  wasmplugin.yaml  a sample Higress WasmPlugin

Templates (--template):
  basic      adds a request header; answers itself with mockEnable
  http-call  calls an HTTP service and waits for the answer
  redis      a per-minute rate limit with a counter in Redis
  body       reads the whole request body and blocks requests by content

The SDK and the test harness (plugintest) come from this binary: init writes
them to the cache directory ($XDG_CACHE_HOME/wasmgate/{sdk,harness}/<hash>,
or under --sdk-cache) and points go.mod at them with replace directives. The
other dependencies (github.com/tidwall/gjson for the plugin, wazero and a few
more for its tests) must be in the Go module cache — they are wherever
wasmgate was built — so the plugin builds and tests offline. The plugin
itself needs Go 1.24; its tests need the Go that built wasmgate's harness.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			sdk, err := scaffold.InstallSDK(cacheDir)
			if err != nil {
				return err
			}
			opts.SDK = sdk
			if opts.Harness, err = scaffold.InstallHarness(harnessDir(cacheDir)); err != nil {
				return err
			}
			files, err := scaffold.Create(opts)
			if err != nil {
				return err
			}
			dir := opts.Dir
			if dir == "" {
				dir = opts.Name
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "created %s (template %s): %s\n", dir, templateName(opts.Template), strings.Join(files, ", "))
			fmt.Fprintf(w, "SDK: %s\n", sdk.Dir)
			fmt.Fprintf(w, "next: cd %s && wasmgate build\n", filepath.Clean(dir))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Template, "template", "t", "basic", "template: "+strings.Join(scaffold.Templates(), ", "))
	f.StringVar(&opts.Dir, "dir", "", "folder to create (default NAME)")
	f.StringVar(&opts.ModulePath, "module", "", "Go module path (default NAME)")
	f.StringVar(&cacheDir, "sdk-cache", "", "where to write the SDK (default $XDG_CACHE_HOME/wasmgate/sdk)")
	rootCmd.AddCommand(cmd)
}

// harnessDir is where the harness goes: beside the SDK under --sdk-cache.
func harnessDir(sdkCache string) string {
	if sdkCache == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(filepath.Clean(sdkCache)), "harness")
}

func templateName(t string) string {
	if t == "" {
		return "basic"
	}
	return t
}
