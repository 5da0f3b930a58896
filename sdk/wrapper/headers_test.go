//go:build !wasm

package wrapper

import (
	"testing"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
)

func TestRequestHeadersFirstValueWins(t *testing.T) {
	b := abi.SerializePairs([][2]string{
		{":authority", "a.example"}, {":path", "/first"}, {"x-request-id", "id-1"},
		{":path", "/second"}, {"x-request-id", "id-2"}, {"connection", "upgrade"},
		{"upgrade", "websocket"}, {"x-other", "v"}, {":method", "POST"}, {":scheme", "https"},
	})
	var r requestHeaders
	r.read(b)
	want := requestHeaders{authority: "a.example", path: "/first", requestID: "id-1",
		connection: "upgrade", upgrade: "websocket", method: "POST", scheme: "https"}
	if r != want {
		t.Fatalf("read = %+v, want %+v", r, want)
	}
	r = requestHeaders{}
	r.read(b[:len(b)-1])
	if r != (requestHeaders{}) {
		t.Fatalf("malformed headers read as %+v", r)
	}
}

func TestRequestHeadersCopyOutOfTheFastPathBuffer(t *testing.T) {
	b := abi.SerializePairs([][2]string{{":path", "/kept"}, {"content-type", "text/plain"}})
	n := copy(abi.ValueBuf[:], b)
	var r requestHeaders
	r.read(abi.ValueBuf[:n])
	for i := range abi.ValueBuf[:n] {
		abi.ValueBuf[i] = 0
	}
	if r.path != "/kept" || r.contentType != "text/plain" {
		t.Fatalf("values changed with the fast-path buffer: %+v", r)
	}
}
