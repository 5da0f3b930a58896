package host

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// Linear memories live on the Go heap, as with wazero's own allocator,
// with two differences that matter when VMs start: a new VM's memory is
// allocated at once with the size the module's earlier VMs had reached
// at the end of their start functions (a Go guest's runtime grows its
// memory in many small steps during _initialize, and each step that
// outgrows the capacity copies the whole memory), and a memory that must
// move grows by at least a quarter. Only the start functions count, not
// proxy_on_configure, so a plugin's configuration does not size the
// memory of other plugins built from the same module.

// startSize remembers, per module, the linear memory size its VMs reach
// at the end of their start functions.
type startSize struct{ bytes atomic.Uint64 }

// note records the size of a VM that has just started.
func (s *startSize) note(n uint64) {
	for {
		old := s.bytes.Load()
		if n <= old || s.bytes.CompareAndSwap(old, n) {
			return
		}
	}
}

// allocator returns the memory allocator of a new VM of the module.
func (s *startSize) allocator() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capacity, limit uint64) experimental.LinearMemory {
		c := min(max(capacity, s.bytes.Load()), limit)
		return &linearMemory{buf: make([]byte, 0, c), max: limit}
	})
}

// linearMemory is an experimental.LinearMemory on the Go heap. Bytes past
// the length were never visible to the module, so they are still zero
// when the memory grows into them.
type linearMemory struct {
	buf []byte
	max uint64
}

const wasmPage = 64 << 10

func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	c := max(size, uint64(cap(m.buf))*5/4)
	c = min((c+wasmPage-1)/wasmPage*wasmPage, m.max)
	b := make([]byte, size, c)
	copy(b, m.buf)
	m.buf = b
	return b
}

func (m *linearMemory) Free() { m.buf = nil }
