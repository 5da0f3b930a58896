package host

import (
	"strings"

	"github.com/wasmgate/wasmgate/host/internal/pairs"
)

// HeaderField is one header entry. Keys are lower-case.
type HeaderField struct {
	Key   string
	Value string
}

// HeaderMap is an ordered list of header fields, as Envoy keeps them:
// repeated keys are separate entries, keys are lower-case and pseudo-headers
// (":method", ":path", ":authority", ":scheme", ":status") are ordinary
// entries. The zero value is an empty map.
//
// A HeaderMap handed to a Stream is read and modified in place by the
// plugin while the stream holds it; the caller must not use it concurrently.
type HeaderMap struct {
	Fields []HeaderField
}

// NewHeaderMap builds a map from key/value pairs, lower-casing keys.
func NewHeaderMap(kv ...string) *HeaderMap {
	// Room for the entries a request or response usually gets next (the
	// client's headers after the pseudo-headers, the upstream's after
	// :status), instead of growing the slice a few times.
	h := &HeaderMap{Fields: make([]HeaderField, 0, len(kv)/2+headerRoom)}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// headerRoom is the room NewHeaderMap leaves for entries added later.
const headerRoom = 8

// Len returns the number of entries.
func (h *HeaderMap) Len() int {
	if h == nil {
		return 0
	}
	return len(h.Fields)
}

// ByteSize returns the sum of key and value lengths (Envoy's byteSize()).
func (h *HeaderMap) ByteSize() int {
	if h == nil {
		return 0
	}
	n := 0
	for _, f := range h.Fields {
		n += len(f.Key) + len(f.Value)
	}
	return n
}

// Get returns the first value of key.
func (h *HeaderMap) Get(key string) (string, bool) {
	if h == nil {
		return "", false
	}
	key = lower(key)
	for _, f := range h.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// Values returns every value of key, in order.
func (h *HeaderMap) Values(key string) []string {
	if h == nil {
		return nil
	}
	key = lower(key)
	var out []string
	for _, f := range h.Fields {
		if f.Key == key {
			out = append(out, f.Value)
		}
	}
	return out
}

// Add appends an entry.
func (h *HeaderMap) Add(key, value string) {
	h.Fields = append(h.Fields, HeaderField{Key: lower(key), Value: value})
}

// Set replaces every entry of key with one entry, kept at the position of the
// first one (appended when absent).
func (h *HeaderMap) Set(key, value string) {
	key = lower(key)
	out := h.Fields[:0]
	found := false
	for _, f := range h.Fields {
		if f.Key == key {
			if found {
				continue
			}
			found = true
			f.Value = value
		}
		out = append(out, f)
	}
	clearTail(h.Fields, len(out))
	h.Fields = out
	if !found {
		h.Fields = append(h.Fields, HeaderField{Key: key, Value: value})
	}
}

// Del removes every entry of key.
func (h *HeaderMap) Del(key string) { h.del(lower(key)) }

// del removes every entry of the lower-case key.
func (h *HeaderMap) del(key string) {
	for i, f := range h.Fields {
		if f.Key == key {
			h.removeFrom(i, key)
			return
		}
	}
}

// removeFrom removes the entries of key from index i on (the first of them
// is at i), moving only the entries after it.
func (h *HeaderMap) removeFrom(i int, key string) {
	out := h.Fields[:i]
	for _, f := range h.Fields[i+1:] {
		if f.Key != key {
			out = append(out, f)
		}
	}
	clearTail(h.Fields, len(out))
	h.Fields = out
}

// Clone returns a deep copy.
func (h *HeaderMap) Clone() *HeaderMap {
	if h == nil {
		return nil
	}
	return &HeaderMap{Fields: append([]HeaderField(nil), h.Fields...)}
}

func clearTail(fs []HeaderField, from int) {
	for i := from; i < len(fs); i++ {
		fs[i] = HeaderField{}
	}
}

func (h *HeaderMap) pairs() []pairs.Pair {
	if h == nil || len(h.Fields) == 0 {
		return nil
	}
	ps := make([]pairs.Pair, len(h.Fields))
	for i, f := range h.Fields {
		ps[i] = pairs.Pair{Key: f.Key, Value: f.Value}
	}
	return ps
}

func headerMapFromPairs(ps []pairs.Pair) *HeaderMap {
	h := &HeaderMap{Fields: make([]HeaderField, 0, len(ps))}
	for _, p := range ps {
		h.Add(p.Key, p.Value)
	}
	return h
}

// lower lower-cases ASCII letters, without allocating when s already is.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// getBytes is Get for a key held in guest memory. Keys are compared without
// a copy; a key with upper-case letters (rare: SDKs send lower-case names)
// takes the allocating path.
func (h *HeaderMap) getBytes(key []byte) (string, bool) {
	if h == nil {
		return "", false
	}
	if hasUpper(key) {
		return h.Get(string(key))
	}
	for _, f := range h.Fields {
		if f.Key == string(key) {
			return f.Value, true
		}
	}
	return "", false
}

// delBytes is Del for a key held in guest memory.
func (h *HeaderMap) delBytes(key []byte) {
	if hasUpper(key) {
		h.Del(string(key))
		return
	}
	for i, f := range h.Fields {
		if f.Key == string(key) {
			h.removeFrom(i, f.Key)
			return
		}
	}
}

func hasUpper(b []byte) bool {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}
