package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/pluginspec"
)

func init() {
	var (
		out   string
		typ   string
		check bool
	)
	cmd := &cobra.Command{
		Use:   "spec [DIR]",
		Short: "Generate spec.yaml from the plugin's config struct and doc comments",
		Long: `Spec writes DIR/spec.yaml (info, phase, priority, configSchema.openAPIV3Schema,
example) from the plugin's Go source, so the schema follows the code.

Mark the config struct with a doc comment block:

  // @Name request-block
  // @Category security
  // @Phase AUTHZ
  // @Priority 320
  // @Title Request Block
  // @Title[zh-CN] 请求屏蔽
  // @Description Blocks requests by URL, header or body.
  // @Version 1.0.0
  // @Example
  // blocked_code: 403
  // @End

Fields are named by their json (or yaml) tags; their doc comments are the
descriptions; tags add constraints: required:"true", minimum, maximum,
minLength, maxLength, minItems, maxItems, pattern, enum:"a,b", default,
example. --check compares with the existing spec.yaml instead of writing.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			s, warnings, err := pluginspec.FromSource(dir, pluginspec.GenOptions{Type: typ})
			if err != nil {
				return err
			}
			for _, w := range warnings {
				slog.Warn(w)
			}
			b, err := s.Marshal()
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(dir, "spec.yaml")
			}
			if check {
				old, err := os.ReadFile(out)
				if err != nil {
					return fmt.Errorf("check: %w", err)
				}
				if !bytes.Equal(old, b) {
					return fmt.Errorf("%s is out of date with the source; run wasmgate spec", out)
				}
				return nil
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fmt.Errorf("write spec: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file, - for stdout (default DIR/spec.yaml)")
	cmd.Flags().StringVar(&typ, "type", "", "name of the config struct (default: the one with @Name)")
	cmd.Flags().BoolVar(&check, "check", false, "fail if the spec.yaml on disk differs from the generated one")
	rootCmd.AddCommand(cmd)
}
