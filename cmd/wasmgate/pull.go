package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/oci/registry"
)

func init() {
	var (
		rf       registryFlags
		out      string
		metadata string
	)
	cmd := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull a plugin image and extract its module",
		Long: `Pull downloads REF and writes its module to -o (default plugin.wasm). It accepts
the image forms Higress gateways accept: the Higress OCI image (plugin.tar.gz as
the last layer), a Docker image whose last layer holds plugin.wasm, and the
raw-module layer form. Every blob is checked against its digest.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := registry.Pull(cmd.Context(), args[0], rf.options())
			if err != nil {
				return err
			}
			for _, w := range a.Warnings {
				slog.Warn(w)
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(a.Wasm)
				return err
			}
			if err := os.WriteFile(out, a.Wasm, 0o644); err != nil {
				return fmt.Errorf("write module: %w", err)
			}
			if metadata != "" {
				if err := os.MkdirAll(metadata, 0o755); err != nil {
					return err
				}
				for _, f := range a.Files {
					if err := os.WriteFile(filepath.Join(metadata, filepath.Base(f.Name)), f.Data, 0o644); err != nil {
						return fmt.Errorf("write %s: %w", f.Name, err)
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s (%s image %s)\n", a.WasmDigest(), out, args[0], a.Variant, a.Manifest.Digest)
			return nil
		},
	}
	rf.add(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "plugin.wasm", "module output file, - for stdout")
	cmd.Flags().StringVar(&metadata, "metadata", "", "also write spec.yaml, READMEs and icon.png into this directory")
	rootCmd.AddCommand(cmd)
}
