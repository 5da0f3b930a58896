package compat_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmgate/wasmgate/compat/internal/gen"
)

// TestForwardingFilesCurrent: every zz_sdk.go is what the generator writes
// from the SDK as it is (run go run ./compat/internal/gen/cmd after
// changing the SDK's exported names).
func TestForwardingFilesCurrent(t *testing.T) {
	for _, p := range gen.Packages {
		want, err := gen.Generate(filepath.Join("..", "sdk"), p)
		require.NoError(t, err, p.Dir)
		got, err := os.ReadFile(filepath.Join(filepath.FromSlash(p.Dir), gen.FileName))
		require.NoError(t, err, p.Dir)
		require.Equal(t, string(want), string(got), "%s is stale: run go run ./compat/internal/gen/cmd", p.Dir)
	}
}

// TestDerivedFilesCurrent: every file derived from another compatibility
// package's is what the generator writes from its source as it is.
func TestDerivedFilesCurrent(t *testing.T) {
	for _, d := range gen.DerivedFiles {
		want, err := gen.Derive(".", d)
		require.NoError(t, err, d.To)
		got, err := os.ReadFile(filepath.FromSlash(d.To))
		require.NoError(t, err, d.To)
		require.Equal(t, string(want), string(got), "%s is stale: run go run ./compat/internal/gen/cmd", d.To)
	}
}

// TestDeriveNamesAMissingDeclaration: a replacement whose declaration is
// gone from the source is an error, not a file with the old text.
func TestDeriveNamesAMissingDeclaration(t *testing.T) {
	d := gen.DerivedFiles[0]
	d.Replace = map[string]string{"NoSuchDeclaration": "type NoSuchDeclaration int"}
	_, err := gen.Derive(".", d)
	require.ErrorContains(t, err, "declares no NoSuchDeclaration")
}
