package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/pluginspec"
)

func init() {
	var (
		out    string
		format string
		wasm   string
		tag    string
	)
	cmd := &cobra.Command{
		Use:   "package [DIR]",
		Short: "Build a plugin image (Higress OCI format, or plain Docker form)",
		Long: `Package builds a plugin image from a plugin folder holding a built plugin.wasm or
main.wasm (or the module named with --wasm), plus spec.yaml, README.md,
README_{lang}.md and icon.png when present.

Formats:
  oci     the Higress plugin image: each metadata file in its own layer with
          its media type, plugin.tar.gz (holding plugin.wasm) as the last layer
  docker  the plain image a FROM scratch Dockerfile makes: one layer holding
          plugin.wasm
  wasm    two layers: a runtime config and the raw module

The result is an OCI image layout, written to a directory or, when -o ends
in .tar, to a tar file. The same inputs always give the same image digest.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			f, err := oci.ParseFormat(format)
			if err != nil {
				return err
			}
			img, version, err := buildImage(dir, wasm, f)
			if err != nil {
				return err
			}
			if tag == "" {
				tag = version
			}
			if out == "" {
				out = filepath.Join(dir, "out", "image")
			}
			if strings.HasSuffix(out, ".tar") {
				var buf bytes.Buffer
				if err := img.WriteLayoutTar(&buf, tag); err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
					return fmt.Errorf("write %s: %w", out, err)
				}
			} else if err := img.WriteLayout(out, tag); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t(tag %s, %s format)\n", img.Manifest.Digest, out, tag, img.Format)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output: an OCI layout directory, or FILE.tar (default DIR/out/image)")
	cmd.Flags().StringVar(&format, "format", "oci", "image format: oci, docker or wasm")
	cmd.Flags().StringVar(&wasm, "wasm", "", "module file (default DIR/plugin.wasm, else DIR/main.wasm)")
	cmd.Flags().StringVar(&tag, "tag", "", "tag in the layout (default spec.yaml's info.version, else latest)")
	rootCmd.AddCommand(cmd)
}

// buildImage packages a plugin folder and returns the image and the
// version spec.yaml declares ("latest" without one).
func buildImage(dir, wasm string, f oci.Format) (*oci.Image, string, error) {
	p, warnings, err := oci.LoadPluginDir(dir, oci.LoadOptions{Wasm: wasm})
	if err != nil {
		return nil, "", err
	}
	for _, w := range warnings {
		slog.Warn(w)
	}
	version := "latest"
	for _, file := range p.Files {
		if file.Name != "spec.yaml" {
			continue
		}
		s, err := pluginspec.Parse(file.Data)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", filepath.Join(dir, "spec.yaml"), err)
		}
		if s.Info.Version != "" {
			version = s.Info.Version
		}
	}
	if f != oci.FormatOCI && len(p.Files) > 0 {
		slog.Warn("the " + string(f) + " format carries the module only; spec.yaml and READMEs are left out")
	}
	img, err := oci.Build(p, f)
	if err != nil {
		return nil, "", err
	}
	return img, version, nil
}
