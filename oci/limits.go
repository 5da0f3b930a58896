package oci

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Limits bound what reading one image may take. Sizes are checked while the
// image streams in: a blob's declared size before it is fetched, the bytes a
// layer decompresses to as they come out of the decompressor. Memory use is
// the module plus a small constant whatever the image holds. A zero field
// takes its value from DefaultLimits.
type Limits struct {
	// Layer bounds one blob as stored in the registry: a compressed layer,
	// a raw module layer, a metadata file, a config.
	Layer int64
	// Image bounds every blob of one image together, as stored: manifests,
	// config and layers.
	Image int64
	// Uncompressed bounds one layer once decompressed, every archive entry
	// counted, not only plugin.wasm.
	Uncompressed int64
	// UncompressedImage bounds what all the image's layers give once
	// decompressed, metadata files included.
	UncompressedImage int64
	// Module bounds plugin.wasm itself.
	Module int64
	// Metadata bounds one metadata file (spec.yaml, a README, icon.png).
	Metadata int64
}

// DefaultLimits are the limits a zero Limits field takes: modules up to
// MaxModuleSize (256 MiB, the Higress limit), metadata files up to 16 MiB.
func DefaultLimits() Limits {
	return Limits{
		Layer:             MaxModuleSize,
		Image:             2 * MaxModuleSize,
		Uncompressed:      MaxModuleSize + 16<<20,
		UncompressedImage: 2 * MaxModuleSize,
		Module:            MaxModuleSize,
		Metadata:          maxMetadataSize,
	}
}

// WithDefaults returns l with its zero fields set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.Layer, d.Layer)
	set(&l.Image, d.Image)
	set(&l.Uncompressed, d.Uncompressed)
	set(&l.UncompressedImage, d.UncompressedImage)
	set(&l.Module, d.Module)
	set(&l.Metadata, d.Metadata)
	return l
}

// LimitError reports an image that exceeds one of its Limits.
type LimitError struct {
	// What names the blob or file ("layer 2 (plugin.tar.gz)").
	What string
	// Limit names the limit ("layer size", "uncompressed layer size", …).
	Limit string
	// Max is the limit in bytes.
	Max int64
	// Size is the declared size when the blob announced it, else 0: the
	// content was cut off as soon as it went over.
	Size int64
}

func (e *LimitError) Error() string {
	if e.Size > 0 {
		return fmt.Sprintf("%s is %d bytes, over the %d-byte %s limit", e.What, e.Size, e.Max, e.Limit)
	}
	return fmt.Sprintf("%s: more than %d bytes, over the %s limit (refused while reading)", e.What, e.Max, e.Limit)
}

// ParseSize reads a byte count written as a plain number or with a unit:
// k/Ki/KiB, M/Mi/MiB, G/Gi/GiB (powers of 1024), kB/MB/GB (powers of 1000).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes, optionally with a unit (Ki, Mi, Gi, kB, MB, GB)", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	var mul int64
	switch strings.TrimSpace(t[i:]) {
	case "", "B":
		mul = 1
	case "k", "K", "Ki", "KiB":
		mul = 1 << 10
	case "M", "Mi", "MiB":
		mul = 1 << 20
	case "G", "Gi", "GiB":
		mul = 1 << 30
	case "kB", "KB":
		mul = 1000
	case "MB":
		mul = 1000 * 1000
	case "GB":
		mul = 1000 * 1000 * 1000
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (want Ki, Mi, Gi, kB, MB or GB)", s, t[i:])
	}
	if n > (1<<62)/mul {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mul, nil
}

// CheckFileName reports whether name can be written as a file inside a
// directory without leaving it: not empty, not "." or "..", no path
// separator, not absolute, no NUL byte.
func CheckFileName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty file name")
	case name == "." || name == "..":
		return fmt.Errorf("file name %q is a directory reference", name)
	case strings.ContainsAny(name, "/\\"):
		return fmt.Errorf("file name %q contains a path separator", name)
	case path.IsAbs(name) || (len(name) >= 2 && name[1] == ':'):
		return fmt.Errorf("file name %q is an absolute path", name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("file name %q contains a NUL byte", name)
	}
	return nil
}

// budget tracks what one extraction has read against its Limits.
type budget struct {
	lim       Limits
	stored    int64
	extracted int64
}

// claim accounts for a blob of the declared size before it is fetched.
func (b *budget) claim(what string, size, max int64, limit string) error {
	if size < 0 || size > max {
		return &LimitError{What: what, Limit: limit, Max: max, Size: size}
	}
	if b.stored+size > b.lim.Image {
		return &LimitError{What: what, Limit: "image size (all blobs together)", Max: b.lim.Image, Size: b.stored + size}
	}
	b.stored += size
	return nil
}

// countReader counts what a decompressor gives against the per-layer and
// per-image uncompressed limits, failing the read that goes over.
type countReader struct {
	r    interface{ Read([]byte) (int, error) }
	b    *budget
	what string
	n    int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.b.extracted += int64(n)
	switch {
	case c.n > c.b.lim.Uncompressed:
		return n, &LimitError{What: c.what, Limit: "uncompressed layer size", Max: c.b.lim.Uncompressed}
	case c.b.extracted > c.b.lim.UncompressedImage:
		return n, &LimitError{What: c.what, Limit: "uncompressed image size", Max: c.b.lim.UncompressedImage}
	}
	return n, err
}
