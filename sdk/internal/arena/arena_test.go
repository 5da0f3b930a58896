package arena

import (
	"bytes"
	"testing"
)

func TestTakenBytesStayValidAcrossChunks(t *testing.T) {
	var a Chunks
	var kept [][]byte
	// Enough values to fill several chunks, each with its own content.
	for i := 0; i < 3*chunkSize/10; i++ {
		room := a.Free(16)
		if cap(room) < 16 || len(room) != 0 {
			t.Fatalf("Free(16) gave len %d cap %d", len(room), cap(room))
		}
		v := room[:1+i%9]
		for j := range v {
			v[j] = byte('a' + i%26)
		}
		a.Take(len(v))
		kept = append(kept, v)
	}
	for i, v := range kept {
		if want := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%9); !bytes.Equal(v, want) {
			t.Fatalf("value %d is %q, want %q", i, v, want)
		}
	}
}

func TestFreeWithoutTakeOffersTheSameRoom(t *testing.T) {
	var a Chunks
	r1 := a.Free(100)
	r2 := a.Free(100)
	if &r1[:1][0] != &r2[:1][0] {
		t.Fatal("room not taken was not offered again")
	}
	a.Take(10)
	if r3 := a.Free(100); &r3[:1][0] == &r1[:1][0] {
		t.Fatal("room taken was offered again")
	}
}

func TestFreeLargerThanAChunk(t *testing.T) {
	var a Chunks
	if a.Free(chunkSize+1) != nil {
		t.Fatal("room larger than a chunk")
	}
}

func TestFreeAllocatesOncePerChunk(t *testing.T) {
	var a Chunks
	a.Free(1)
	allocs := testing.AllocsPerRun(1000, func() { a.Free(10); a.Take(10) })
	// 1000 values of 10 bytes fill about one chunk: far fewer than one
	// allocation per value.
	if allocs > 0.01 {
		t.Fatalf("%.3f allocations per value", allocs)
	}
}
