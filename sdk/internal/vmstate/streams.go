package vmstate

// streamSlots is the size of streamTable's direct-mapped part: more than the
// streams one VM serves at once in practice.
const streamSlots = 512

// streamTable maps context ids to streams. Hosts hand out context ids in
// sequence (Envoy and this engine count them up per VM), so a slot indexed
// by the low bits of the id holds each live stream, and the map holds only
// the few that collide with an older stream still open. A Go map costs a
// hash and a probe per callback in a wasm guest, where it is a large part
// of a stream's cost; a slot costs an index.
type streamTable struct {
	slots    [streamSlots]streamSlot
	overflow map[uint32]stream
}

type streamSlot struct {
	id uint32 // 0: empty (0 is the VM's own context, never a stream)
	s  stream
}

func (t *streamTable) get(id uint32) (stream, bool) {
	if sl := &t.slots[id%streamSlots]; sl.id == id && id != 0 {
		return sl.s, true
	}
	if len(t.overflow) == 0 {
		return stream{}, false
	}
	s, ok := t.overflow[id]
	return s, ok
}

func (t *streamTable) put(id uint32, s stream) {
	sl := &t.slots[id%streamSlots]
	if sl.id == 0 || sl.id == id {
		if sl.id == 0 && t.overflow != nil {
			delete(t.overflow, id) // an id reused by the host
		}
		sl.id, sl.s = id, s
		return
	}
	if t.overflow == nil {
		t.overflow = map[uint32]stream{}
	}
	t.overflow[id] = s
}

// remove forgets id and reports whether it was a stream.
func (t *streamTable) remove(id uint32) bool {
	if sl := &t.slots[id%streamSlots]; sl.id == id && id != 0 {
		*sl = streamSlot{}
		return true
	}
	if _, ok := t.overflow[id]; ok {
		delete(t.overflow, id)
		return true
	}
	return false
}

// ctx is the stream with the given id, or the zero stream.
func (t *streamTable) ctx(id uint32) stream {
	s, _ := t.get(id)
	return s
}
