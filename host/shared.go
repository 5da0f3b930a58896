package host

import (
	"sync"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// sharedState is the engine-wide store behind proxy shared data and shared
// queues. Data is keyed by vm_id, as in Envoy, and lives as long as at least
// one plugin with that vm_id is open.
type sharedState struct {
	mu      sync.Mutex
	cas     uint32
	data    map[string]map[string]*sharedValue
	vmRefs  map[string]int
	queues  map[queueKey]*sharedQueue
	byToken map[uint32]*sharedQueue
	nextQ   uint32
}

type sharedValue struct {
	value []byte
	cas   uint32
}

type queueKey struct{ vmID, name string }

type sharedQueue struct {
	token uint32
	key   queueKey
	items [][]byte
	// owner and ownerRoot are the VM and root context that hear of new
	// items (proxy_on_queue_ready).
	owner     *vm
	ownerRoot uint32
}

func newSharedState() *sharedState {
	return &sharedState{
		cas:     1,
		data:    map[string]map[string]*sharedValue{},
		vmRefs:  map[string]int{},
		queues:  map[queueKey]*sharedQueue{},
		byToken: map[uint32]*sharedQueue{},
		nextQ:   1,
	}
}

func (s *sharedState) ref(vmID string) {
	s.mu.Lock()
	s.vmRefs[vmID]++
	s.mu.Unlock()
}

func (s *sharedState) unref(vmID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vmRefs[vmID]--
	if s.vmRefs[vmID] <= 0 {
		delete(s.vmRefs, vmID)
		delete(s.data, vmID)
	}
}

func (s *sharedState) get(vmID, key string) ([]byte, uint32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[vmID][key]
	if !ok {
		return nil, 0, false
	}
	return v.value, v.cas, true
}

// set stores value under key with Envoy's CAS rules: cas 0 sets
// unconditionally, an absent key is set whatever cas is, and an existing key
// whose CAS differs is a CasMismatch.
func (s *sharedState) set(vmID, key string, value []byte, cas uint32) types.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.data[vmID]
	if m == nil {
		m = map[string]*sharedValue{}
		s.data[vmID] = m
	}
	if old, ok := m[key]; ok && cas != 0 && cas != old.cas {
		return types.StatusCasMismatch
	}
	next := s.cas
	s.cas++
	if s.cas == 0 {
		s.cas = 1
	}
	m[key] = &sharedValue{value: value, cas: next}
	return types.StatusOK
}

// register returns the token of (vmID, name), creating the queue if needed,
// and binds delivery to owner (the latest registrant wins).
func (s *sharedState) register(vmID, name string, owner *vm, root uint32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := queueKey{vmID, name}
	q, ok := s.queues[k]
	if !ok {
		q = &sharedQueue{token: s.nextQ, key: k}
		s.nextQ++
		if s.nextQ == 0 {
			s.nextQ = 1
		}
		s.queues[k] = q
		s.byToken[q.token] = q
	}
	q.owner, q.ownerRoot = owner, root
	return q.token
}

// owns reports whether deliveries of some queue go to v.
func (s *sharedState) owns(v *vm) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		if q.owner == v {
			return true
		}
	}
	return false
}

func (s *sharedState) resolve(vmID, name string) (uint32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queueKey{vmID, name}]
	if !ok {
		return 0, false
	}
	return q.token, true
}

// enqueue appends value and returns the VM to notify (nil if none).
func (s *sharedState) enqueue(token uint32, value []byte) (*vm, uint32, types.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.byToken[token]
	if !ok {
		return nil, 0, types.StatusNotFound
	}
	q.items = append(q.items, value)
	return q.owner, q.ownerRoot, types.StatusOK
}

func (s *sharedState) dequeue(token uint32) ([]byte, types.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.byToken[token]
	if !ok {
		return nil, types.StatusNotFound
	}
	if len(q.items) == 0 {
		return nil, types.StatusEmpty
	}
	v := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return v, types.StatusOK
}

// dropRoot unbinds queues registered by a root context that is going away.
func (s *sharedState) dropRoot(v *vm, root uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		if q.owner == v && q.ownerRoot == root {
			q.owner = nil
		}
	}
}

// dropOwner unbinds queues registered by a VM that is going away.
func (s *sharedState) dropOwner(v *vm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		if q.owner == v {
			q.owner = nil
		}
	}
}
