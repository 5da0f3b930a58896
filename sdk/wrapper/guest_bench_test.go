//go:build wasm

package wrapper

import (
	"testing"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// The guest benchmarks run in compiled wasm with stubbed host calls
// (bench/guestrun): what the wrapper's own code costs per request, without
// the engine.

// startGuest registers a plugin with an empty request-header handler and
// starts its root context 1, with the fast path on.
func startGuest() {
	vmstate.Reset()
	SetCtx("bench", ProcessRequestHeaders(func(HttpContext, struct{}) types.Action { return types.HeaderContinue }))
	vmstate.OnContextCreate(1, 0)
	vmstate.OnVMStart(1, 0)
	vmstate.OnConfigure(1, 0)
	abi.FastPath = true
}

// BenchmarkGuestStream is one request's callbacks, as the engine makes them
// for a request without a body and a response with one.
func BenchmarkGuestStream(b *testing.B) {
	startGuest()
	id := uint32(2)
	for i := 0; i < b.N; i++ {
		vmstate.OnContextCreate(id, 1)
		vmstate.OnRequestHeaders(id, 7, true)
		vmstate.OnResponseHeaders(id, 3, false)
		vmstate.OnResponseBody(id, 12, true)
		vmstate.OnLog(id)
		vmstate.OnDone(id)
		vmstate.OnDelete(id)
		id++
	}
}

// BenchmarkGuestRequestHeaders is the wrapper's request-header read: one
// host call and one pass over the pairs.
func BenchmarkGuestRequestHeaders(b *testing.B) {
	abi.FastPath = true
	for i := 0; i < b.N; i++ {
		var r requestHeaders
		r.load()
		if r.path != "/" {
			b.Fatalf("read %+v", r)
		}
	}
}
