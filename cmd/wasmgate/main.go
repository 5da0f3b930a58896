// Command wasmgate runs, builds, tests and ships proxy-wasm gateway plugins.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// rootCmd is the top of the command tree; each subcommand lives in its own
// file and adds itself in an init function.
var rootCmd = &cobra.Command{
	Use:           "wasmgate",
	Short:         "Write, run, test and ship proxy-wasm gateway plugins in Go",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "wasmgate:", err)
		os.Exit(1)
	}
}
