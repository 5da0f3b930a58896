package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/oci"
	"github.com/wasmgate/wasmgate/oci/fetch"
)

// fetchFlags are the module fetch timeouts and image size limits that run
// and pull share.
type fetchFlags struct {
	t      fetch.Timeouts
	limits [5]string
}

// sizeFlags name the image size limits, in fetchFlags.limits order.
var sizeFlags = [5]struct{ name, help string }{
	{"max-module-size", "largest plugin.wasm accepted"},
	{"max-layer-size", "largest image blob (compressed layer, raw module, metadata file) accepted, as stored"},
	{"max-image-size", "largest image accepted, all blobs together, as stored"},
	{"max-uncompressed-layer-size", "most bytes one compressed layer may expand to"},
	{"max-uncompressed-image-size", "most bytes an image's layers may expand to together"},
}

func (f *fetchFlags) add(cmd *cobra.Command) {
	d := fetch.DefaultTimeouts()
	fl := cmd.Flags()
	fl.DurationVar(&f.t.Connect, "fetch-connect-timeout", d.Connect, "bound on opening one connection to a registry or module server (TCP and TLS)")
	fl.DurationVar(&f.t.Response, "fetch-response-timeout", d.Response, "bound on waiting for a registry or module server to answer a request")
	fl.DurationVar(&f.t.Total, "fetch-timeout", d.Total, "bound on fetching one module, retries included")
	fl.IntVar(&f.t.Attempts, "fetch-attempts", d.Attempts, "attempts for a fetch that fails in a way another try may fix (timeouts, refused connections, 5xx)")
	lim := oci.DefaultLimits()
	defaults := [5]int64{lim.Module, lim.Layer, lim.Image, lim.Uncompressed, lim.UncompressedImage}
	for i, s := range sizeFlags {
		fl.StringVar(&f.limits[i], s.name, fmt.Sprintf("%dMi", defaults[i]>>20), s.help+" (bytes, or with Ki, Mi, Gi)")
	}
}

func (f *fetchFlags) timeouts() fetch.Timeouts { return f.t.WithDefaults() }

func (f *fetchFlags) imageLimits() (oci.Limits, error) {
	var v [5]int64
	for i, s := range f.limits {
		n, err := oci.ParseSize(s)
		if err != nil {
			return oci.Limits{}, fmt.Errorf("--%s: %w", sizeFlags[i].name, err)
		}
		if n <= 0 {
			return oci.Limits{}, fmt.Errorf("--%s: must be more than 0", sizeFlags[i].name)
		}
		v[i] = n
	}
	return oci.Limits{Module: v[0], Layer: v[1], Image: v[2], Uncompressed: v[3], UncompressedImage: v[4]}.WithDefaults(), nil
}
