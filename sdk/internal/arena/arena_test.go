package arena

import (
	"strings"
	"testing"
	"unsafe"
)

func TestCloneCopies(t *testing.T) {
	var a Strings
	src := []byte("authority.example")
	got := a.Clone(unsafe.String(&src[0], len(src)))
	for i := range src {
		src[i] = 'x'
	}
	if got != "authority.example" {
		t.Fatalf("the clone changed with its source: %q", got)
	}
}

func TestClonesStayValidAcrossChunks(t *testing.T) {
	var a Strings
	var kept []string
	// Enough values to fill several chunks, each with its own content.
	for i := 0; i < 3*chunkSize/10; i++ {
		s := strings.Repeat(string(rune('a'+i%26)), 1+i%9)
		kept = append(kept, a.Clone(s))
	}
	for i, s := range kept {
		want := strings.Repeat(string(rune('a'+i%26)), 1+i%9)
		if s != want {
			t.Fatalf("value %d is %q, want %q", i, s, want)
		}
	}
}

func TestLongAndEmptyStrings(t *testing.T) {
	var a Strings
	if a.Clone("") != "" {
		t.Fatal("empty string")
	}
	long := strings.Repeat("p", maxShared+1)
	c := a.Clone(long)
	if c != long || unsafe.StringData(c) == unsafe.StringData(long) {
		t.Fatal("a long string must be copied into its own allocation")
	}
	if len(a.chunk) != 0 {
		t.Fatalf("a long string went into the chunk (%d bytes used)", len(a.chunk))
	}
}

func TestCloneAllocatesOncePerChunk(t *testing.T) {
	var a Strings
	a.Clone("warm")
	allocs := testing.AllocsPerRun(1000, func() { a.Clone("0123456789") })
	// 1000 clones of 10 bytes fill about one chunk: far fewer than one
	// allocation per clone.
	if allocs > 0.01 {
		t.Fatalf("%.3f allocations per clone", allocs)
	}
}
