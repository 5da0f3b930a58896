package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/fetch"
	"github.com/wasmgate/wasmgate/oci/registry"
)

func init() {
	var (
		rf       registryFlags
		ff       fetchFlags
		out      string
		metadata string
	)
	cmd := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull a plugin image and extract its module",
		Long: `Pull downloads REF and writes its module to -o (default plugin.wasm). It accepts
the image forms Higress gateways accept: the Higress OCI image (plugin.tar.gz as
the last layer), a Docker image whose last layer holds plugin.wasm, and the
raw-module layer form. Every blob is checked against its digest, and the image
is read within the size limits (--max-*-size) as it streams in; metadata file
names must be plain file names. The pull is bounded by the fetch timeouts and
retried when another attempt may succeed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := pullImage(cmd.Context(), args[0], rf, ff)
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
					if err := oci.CheckFileName(f.Name); err != nil {
						return fmt.Errorf("metadata file: %w", err)
					}
					if err := os.WriteFile(filepath.Join(metadata, f.Name), f.Data, 0o644); err != nil {
						return fmt.Errorf("write %s: %w", f.Name, err)
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s (%s image %s)\n", a.WasmDigest(), out, args[0], a.Variant, a.Manifest.Digest)
			return nil
		},
	}
	rf.add(cmd)
	ff.add(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "plugin.wasm", "module output file, - for stdout")
	cmd.Flags().StringVar(&metadata, "metadata", "", "also write spec.yaml, READMEs and icon.png into this directory")
	rootCmd.AddCommand(cmd)
}

// pullImage pulls ref within ff's size limits and timeouts, retrying when
// another attempt may succeed.
func pullImage(ctx context.Context, ref string, rf registryFlags, ff fetchFlags) (*oci.Artifact, error) {
	opts := rf.options()
	lim, err := ff.imageLimits()
	if err != nil {
		return nil, err
	}
	opts.Limits = lim
	opts.HTTPClient = fetch.Client(ff.timeouts())
	var a *oci.Artifact
	err = fetch.Retry(ctx, ff.timeouts(), slog.Default(), ref, func(ctx context.Context) error {
		var err error
		a, err = registry.Pull(ctx, ref, opts)
		return err
	})
	return a, err
}
