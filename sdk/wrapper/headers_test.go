//go:build !wasm

package wrapper

import (
	"strconv"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/internal/fakehost"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
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

func TestRequestHeadersStayWhereTheHostWroteThem(t *testing.T) {
	for _, fast := range []bool{false, true} {
		abi.FastPath = fast
		h := fakehost.New()
		var kept []requestHeaders
		// Enough requests to fill several chunks.
		for i := 0; i < 200; i++ {
			h.Maps[types.MapTypeHttpRequestHeaders] = [][2]string{
				{":authority", "a.example"}, {":path", "/p/" + strconv.Itoa(i)},
				{"x-request-id", strings.Repeat("r", 40) + strconv.Itoa(i)}, {"x-pad", strings.Repeat("x", 100)},
			}
			var r requestHeaders
			r.load()
			kept = append(kept, r)
			// Calls that return data through the fast path do not
			// overwrite them.
			_, _ = abi.HeaderMapPairs(uint32(types.MapTypeHttpRequestHeaders))
		}
		h.Close()
		abi.FastPath = false
		for i, r := range kept {
			if r.path != "/p/"+strconv.Itoa(i) || r.requestID != strings.Repeat("r", 40)+strconv.Itoa(i) || r.authority != "a.example" {
				t.Fatalf("fast path %v: request %d read as %+v", fast, i, r)
			}
		}
	}
}

func TestLargeRequestHeadersTakeTheABIPath(t *testing.T) {
	abi.FastPath = true
	defer func() { abi.FastPath = false }()
	h := fakehost.New()
	defer h.Close()
	big := strings.Repeat("v", headersRoom)
	h.Maps[types.MapTypeHttpRequestHeaders] = [][2]string{{":path", "/big"}, {"x-big", big}, {"x-request-id", "id"}}
	var r requestHeaders
	r.load()
	if r.path != "/big" || r.requestID != "id" {
		t.Fatalf("read %+v", r)
	}
}
