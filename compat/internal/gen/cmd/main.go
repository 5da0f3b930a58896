// Command cmd regenerates the compatibility packages' forwarding files,
// from the repository root:
//
//	go run ./compat/internal/gen/cmd
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/wasmgate/wasmgate/compat/internal/gen"
)

func main() {
	for _, p := range gen.Packages {
		if err := write(p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, d := range gen.DerivedFiles {
		out, err := gen.Derive("compat", d)
		if err == nil {
			err = os.WriteFile(filepath.Join("compat", filepath.FromSlash(d.To)), out, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func write(p gen.Package) error {
	out, err := gen.Generate("sdk", p)
	if err != nil {
		return err
	}
	dir := filepath.Join("compat", filepath.FromSlash(p.Dir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, gen.FileName), out, 0o644)
}
