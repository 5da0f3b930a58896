package host

import (
	"sort"
	"strings"
	"sync"
)

// FilterStatePrefix is the prefix of the filter-state keys proxy_set_property
// writes (Envoy's CelStateKeyPrefix): a plugin's set_property("ai_log", v)
// is the filter-state object "wasm.ai_log".
const FilterStatePrefix = "wasm."

// FilterState is one request's filter state as plugins write it with
// proxy_set_property: shared by every plugin of the request (a value one
// sets, later plugins read with proxy_get_property, in any phase, until the
// request ends) and readable by the embedder, e.g. for the access log.
// Envoy keeps these objects mutable with the filter chain's life span.
// Safe for concurrent use.
type FilterState struct {
	mu sync.Mutex
	// entries by property path, without FilterStatePrefix, in the order
	// they were first set: a request sets a few, so a slice beats a map.
	// The first ones live in inline, with the filter state itself.
	entries []filterStateEntry
	inline  [2]filterStateEntry
}

type filterStateEntry struct {
	path  string
	value []byte
}

// NewFilterState returns an empty filter state.
func NewFilterState() *FilterState { return &FilterState{} }

// Get returns the value set for a property path (NUL-joined segments, as
// the plugin passed it).
func (f *FilterState) Get(path string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.entries {
		if f.entries[i].path == path {
			return f.entries[i].value, true
		}
	}
	return nil, false
}

// Lookup returns the value of an Envoy filter-state key ("wasm.ai_log").
func (f *FilterState) Lookup(key string) ([]byte, bool) {
	path, ok := strings.CutPrefix(key, FilterStatePrefix)
	if !ok {
		return nil, false
	}
	return f.Get(path)
}

// Set stores a value for a property path; the bytes are kept as given.
func (f *FilterState) Set(path string, v []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.entries {
		if f.entries[i].path == path {
			f.entries[i].value = v
			return
		}
	}
	if f.entries == nil {
		f.entries = f.inline[:0]
	}
	f.entries = append(f.entries, filterStateEntry{path, v})
}

// Keys returns the property paths set, sorted.
func (f *FilterState) Keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.entries))
	for _, e := range f.entries {
		out = append(out, e.path)
	}
	sort.Strings(out)
	return out
}

// copy returns a copy of the values.
func (f *FilterState) copy() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]byte, len(f.entries))
	for _, e := range f.entries {
		out[e.path] = append([]byte(nil), e.value...)
	}
	return out
}
