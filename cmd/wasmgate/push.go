package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/fetch"
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

// pushFlags bound an upload: each connection and each answer by the fetch
// timeouts' connect and response bounds, the whole push by --timeout.
type pushFlags struct {
	connect, response, total time.Duration
}

func (f *pushFlags) add(cmd *cobra.Command) {
	d := fetch.DefaultTimeouts()
	fl := cmd.Flags()
	fl.DurationVar(&f.connect, "connect-timeout", d.Connect, "bound on opening one connection to the registry (TCP and TLS)")
	fl.DurationVar(&f.response, "response-timeout", d.Response, "bound on waiting for the registry to answer a request once it is sent")
	fl.DurationVar(&f.total, "timeout", 5*time.Minute, "bound on the whole push")
}

// push uploads the image rooted at manifest from store to ref within f's
// bounds, retrying answers the registry marks as temporary (5xx, 429).
func (f *pushFlags) push(ctx context.Context, src oras.ReadOnlyTarget, manifest, ref string, rf registryFlags) (ocispec.Descriptor, error) {
	opts := rf.options()
	client := fetch.Client(fetch.Timeouts{Connect: f.connect, Response: f.response})
	opts.HTTPClient = &http.Client{Transport: retry.NewTransport(client.Transport)}
	ctx, cancel := context.WithTimeoutCause(ctx, f.total, fmt.Errorf("push %s: not done within the %s --timeout", ref, f.total))
	defer cancel()
	desc, err := registry.Push(ctx, src, manifest, ref, opts)
	if err != nil && context.Cause(ctx) != nil && ctx.Err() == context.DeadlineExceeded {
		return desc, context.Cause(ctx)
	}
	return desc, err
}

func init() {
	var (
		rf     registryFlags
		pf     pushFlags
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
				desc, err := pf.push(ctx, l.Store, l.Manifest.Digest.String(), ref, rf)
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
			desc, err := pf.push(ctx, img, img.Manifest.Digest.String(), ref, rf)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", desc.Digest, ref)
			return nil
		},
	}
	rf.add(cmd)
	pf.add(cmd)
	cmd.Flags().StringVar(&format, "format", "oci", "image format when packaging a folder or .wasm: oci, docker or wasm")
	cmd.Flags().StringVar(&wasm, "wasm", "", "module file when packaging a folder")
	rootCmd.AddCommand(cmd)
}
