package datamerge

import (
	"os"
	"testing"

	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// BenchmarkMergeHelloWorld merges the data segments of examples/hello-world.
func BenchmarkMergeHelloWorld(b *testing.B) {
	in, err := os.ReadFile(testwasm.Build(b, "examples/hello-world"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	for i := 0; i < b.N; i++ {
		Merge(in)
	}
}
