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
