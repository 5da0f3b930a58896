package vmstate

import "testing"

func TestStreamTableKeepsCollidingStreamsApart(t *testing.T) {
	var tb streamTable
	want := map[uint32]uint32{}
	// Ids that share a slot, ids in sequence, and an id reused after removal.
	ids := []uint32{1, 1 + streamSlots, 1 + 2*streamSlots, 2, 3, streamSlots - 1, 2*streamSlots - 1}
	for _, id := range ids {
		tb.put(id, stream{root: id * 10})
		want[id] = id * 10
	}
	check := func(stage string) {
		t.Helper()
		for id, root := range want {
			s, ok := tb.get(id)
			if !ok || s.root != root {
				t.Fatalf("%s: get(%d) = %v, %v; want root %d", stage, id, s.root, ok, root)
			}
		}
		for _, id := range []uint32{0, 4, 1 + 3*streamSlots} {
			if _, ok := want[id]; ok {
				continue
			}
			if _, ok := tb.get(id); ok {
				t.Fatalf("%s: get(%d) found a stream that was never put", stage, id)
			}
		}
	}
	check("after put")
	// Removing the slot's owner leaves the overflowing streams reachable.
	if !tb.remove(1) {
		t.Fatal("remove(1) = false")
	}
	delete(want, 1)
	check("after removing the slot owner")
	if tb.remove(1) {
		t.Fatal("second remove(1) = true")
	}
	// Updating an overflowing stream moves it into the free slot, once.
	tb.put(1+streamSlots, stream{root: 7})
	want[1+streamSlots] = 7
	check("after update")
	if !tb.remove(1 + streamSlots) {
		t.Fatal("remove of the moved stream = false")
	}
	delete(want, 1+streamSlots)
	check("after removing the moved stream")
	for id := range want {
		if !tb.remove(id) {
			t.Fatalf("remove(%d) = false", id)
		}
	}
	want = map[uint32]uint32{}
	check("after removing all")
	if len(tb.overflow) != 0 {
		t.Fatalf("overflow holds %d streams after all were removed", len(tb.overflow))
	}
}
