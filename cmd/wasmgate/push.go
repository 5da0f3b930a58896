package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/registry"
)

// registryFlags are the flags push, pull and deploy share.
type registryFlags struct {
	plainHTTP    bool
	dockerConfig string
}

func (f *registryFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.plainHTTP, "plain-http", false, "talk plain HTTP to the registry (loopback registries fall back to it by themselves)")
	cmd.Flags().StringVar(&f.dockerConfig, "docker-config", "", "Docker config.json with credentials (default $DOCKER_CONFIG/config.json or ~/.docker/config.json)")
}

func (f *registryFlags) options() registry.Options {
	return registry.Options{PlainHTTP: f.plainHTTP, DockerConfig: f.dockerConfig}
}

func init() {
	var (
		rf     registryFlags
		format string
		wasm   string
	)
	cmd := &cobra.Command{
		Use:   "push DIR|FILE REF",
		Short: "Push a plugin image to a registry",
		Long: `Push uploads a plugin image to REF (HOST[:PORT]/REPOSITORY:TAG, oci:// optional).

The source is an OCI layout written by wasmgate package (a directory or a
.tar), or a plugin folder, which is packaged on the fly (--format, --wasm),
or a .wasm file, packaged alone.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, ref := args[0], args[1]
			ctx := cmd.Context()
			st, err := os.Stat(src)
			if err != nil {
				return err
			}
			if oci.IsLayout(src) {
				l, err := oci.OpenLayout(ctx, src, "")
				if err != nil {
					return err
				}
				desc, err := registry.Push(ctx, l.Store, l.Manifest.Digest.String(), ref, rf.options())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", desc.Digest, ref)
				return nil
			}
			f, err := oci.ParseFormat(format)
			if err != nil {
				return err
			}
			var img *oci.Image
			if st.IsDir() {
				if img, _, err = buildImage(src, wasm, f); err != nil {
					return err
				}
			} else {
				b, err := os.ReadFile(src)
				if err != nil {
					return err
				}
				slog.Warn("pushing a bare module: the image has no spec.yaml or README")
				if img, err = oci.Build(&oci.Plugin{Wasm: b}, f); err != nil {
					return fmt.Errorf("%s: %w", src, err)
				}
			}
			desc, err := registry.Push(ctx, img, img.Manifest.Digest.String(), ref, rf.options())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", desc.Digest, ref)
			return nil
		},
	}
	rf.add(cmd)
	cmd.Flags().StringVar(&format, "format", "oci", "image format when packaging a folder or .wasm: oci, docker or wasm")
	cmd.Flags().StringVar(&wasm, "wasm", "", "module file when packaging a folder")
	rootCmd.AddCommand(cmd)
}
