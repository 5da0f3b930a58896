package host

import (
	"bytes"
	"testing"
)

// A linear memory keeps its contents when it grows, within its capacity or
// past it, shows only zeros in the part it grew by, and refuses to grow
// past its maximum; a new memory starts with the size noted at the end of
// earlier VMs' start functions.
func TestLinearMemory(t *testing.T) {
	var s startSize
	s.note(3 * wasmPage)
	s.note(2 * wasmPage) // the largest size noted stays
	m := s.allocator().Allocate(wasmPage, 8*wasmPage).(*linearMemory)
	if cap(m.buf) != 3*wasmPage {
		t.Fatalf("capacity %d, want %d", cap(m.buf), 3*wasmPage)
	}
	b := m.Reallocate(wasmPage)
	for i := range b {
		b[i] = 0xAA
	}
	grown := m.Reallocate(2 * wasmPage)
	if &grown[0] != &b[0] {
		t.Fatal("moved while within its capacity")
	}
	if !bytes.Equal(grown[:wasmPage], bytes.Repeat([]byte{0xAA}, wasmPage)) || !bytes.Equal(grown[wasmPage:], make([]byte, wasmPage)) {
		t.Fatal("contents or zeros lost within the capacity")
	}
	moved := m.Reallocate(5 * wasmPage)
	if len(moved) != 5*wasmPage || cap(moved)%wasmPage != 0 || cap(moved) > 8*wasmPage {
		t.Fatalf("len %d cap %d", len(moved), cap(moved))
	}
	if !bytes.Equal(moved[:wasmPage], bytes.Repeat([]byte{0xAA}, wasmPage)) || !bytes.Equal(moved[wasmPage:], make([]byte, 4*wasmPage)) {
		t.Fatal("contents or zeros lost when moving")
	}
	if m.Reallocate(9*wasmPage) != nil {
		t.Fatal("grew past its maximum")
	}
	if got := m.Reallocate(8 * wasmPage); len(got) != 8*wasmPage {
		t.Fatalf("could not grow to its maximum: %d", len(got))
	}
}
