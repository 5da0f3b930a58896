package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/pluginbuild"
)

func init() {
	cmd := &cobra.Command{
		Use:   "test [DIR] [-- GO TEST FLAGS AND PACKAGES]",
		Short: "Run the plugin's Go tests (go test ./...)",
		Long: `Test runs go test in the plugin folder DIR (default: the current directory),
on ./... unless packages are given after --:

  wasmgate test
  wasmgate test ./my-plugin -- -run TestMock -v

The tests run natively; tests written with plugintest build the plugin into
a module themselves and run it on the host engine. Tests written with
Higress's framework (github.com/higress-group/wasm-go/pkg/test) run as they
are, in Go mode and in Wasm mode (on the host engine).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := pluginbuild.TestOptions{Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()}
			dash := cmd.ArgsLenAtDash()
			before := args
			if dash >= 0 {
				before, o.Args = args[:dash], args[dash:]
			}
			switch len(before) {
			case 0:
			case 1:
				o.Dir = before[0]
			default:
				return cobra.MaximumNArgs(1)(cmd, before)
			}
			env, notes, cleanup, err := pluginEnv(o.Dir, nil)
			if err != nil {
				return err
			}
			defer cleanup()
			for _, n := range notes {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s\n", n)
			}
			o.Env = env
			return pluginbuild.Test(cmd.Context(), o)
		},
	}
	rootCmd.AddCommand(cmd)
}
