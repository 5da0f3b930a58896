package host

import (
	"encoding/binary"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmgate/wasmgate/host/internal/pairs"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Properties supplies property values (Envoy attributes and the names
// Higress plugins read) to the engine. Path holds the segments the plugin
// asked for, e.g. ["request", "path"] or ["route_name"].
//
// Values are encoded as Envoy does (see EncodeValue): return a string,
// []byte (raw bytes, e.g. a protobuf message), a bool, an integer type, a
// float64, a time.Time or time.Duration, a map (map[string]any,
// map[string]string, *HeaderMap, []HeaderField) or a list ([]string, []any).
//
// Implementations may be called from any goroutine that drives the stream.
type Properties interface {
	Property(path []string) (value any, ok bool)
}

// PropertyFunc adapts a function to Properties.
type PropertyFunc func(path []string) (any, bool)

// Property implements Properties.
func (f PropertyFunc) Property(path []string) (any, bool) { return f(path) }

// PropertyMap is a Properties backed by a map. A key is the dot-joined
// prefix of a path ("request.path", "route_name", "xds.cluster_metadata");
// the longest matching prefix wins and the rest of the path walks into map
// and list values (maps by key, lists by decimal index).
type PropertyMap map[string]any

// Property implements Properties.
func (m PropertyMap) Property(path []string) (any, bool) {
	if len(path) == 0 || len(path) > MaxPropertyPathSegments {
		return nil, false
	}
	for i := len(path); i >= 1; i-- {
		v, ok := m[strings.Join(path[:i], ".")]
		if !ok {
			continue
		}
		return walkValue(v, path[i:])
	}
	return nil, false
}

func walkValue(v any, rest []string) (any, bool) {
	for _, seg := range rest {
		switch t := v.(type) {
		case map[string]any:
			nv, ok := t[seg]
			if !ok {
				return nil, false
			}
			v = nv
		case PropertyMap:
			return t.Property(rest)
		case map[string]string:
			nv, ok := t[seg]
			if !ok {
				return nil, false
			}
			v = nv
		case *HeaderMap:
			vals := t.Values(seg)
			if len(vals) == 0 {
				return nil, false
			}
			v = strings.Join(vals, ",")
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		case []string:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// ErrSerialization reports a value EncodeValue cannot encode.
var ErrSerialization = errors.New("property value cannot be serialized")

// EncodeValue returns the bytes Envoy's serializeValue produces for v:
// strings and bytes raw; integers and floats as 8 bytes little-endian; bools
// as one byte; timestamps and durations as int64 nanoseconds; maps as
// serialized pairs (values encoded recursively, keys sorted for Go maps);
// lists as pairs whose keys are the elements and values empty.
func EncodeValue(v any) ([]byte, error) {
	var b [8]byte
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case []byte:
		return t, nil
	case bool:
		if t {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	case int:
		binary.LittleEndian.PutUint64(b[:], uint64(int64(t)))
	case int32:
		binary.LittleEndian.PutUint64(b[:], uint64(int64(t)))
	case int64:
		binary.LittleEndian.PutUint64(b[:], uint64(t))
	case uint:
		binary.LittleEndian.PutUint64(b[:], uint64(t))
	case uint32:
		binary.LittleEndian.PutUint64(b[:], uint64(t))
	case uint64:
		binary.LittleEndian.PutUint64(b[:], t)
	case float64:
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(t))
	case time.Time:
		binary.LittleEndian.PutUint64(b[:], uint64(t.UnixNano()))
	case time.Duration:
		binary.LittleEndian.PutUint64(b[:], uint64(t))
	case *HeaderMap:
		// Repeated keys are comma-joined, as Envoy's request.headers map.
		var ps []pairs.Pair
		idx := map[string]int{}
		for _, f := range t.Fields {
			if i, ok := idx[f.Key]; ok {
				ps[i].Value += "," + f.Value
				continue
			}
			idx[f.Key] = len(ps)
			ps = append(ps, pairs.Pair{Key: f.Key, Value: f.Value})
		}
		return pairs.Encode(nil, ps), nil
	case []HeaderField:
		return EncodeValue(&HeaderMap{Fields: t})
	case map[string]string:
		keys := sortedKeys(t)
		ps := make([]pairs.Pair, len(keys))
		for i, k := range keys {
			ps[i] = pairs.Pair{Key: k, Value: t[k]}
		}
		return pairs.Encode(nil, ps), nil
	case PropertyMap:
		return EncodeValue(map[string]any(t))
	case map[string]any:
		keys := sortedKeys(t)
		ps := make([]pairs.Pair, len(keys))
		for i, k := range keys {
			ev, err := EncodeValue(t[k])
			if err != nil {
				return nil, err
			}
			ps[i] = pairs.Pair{Key: k, Value: string(ev)}
		}
		return pairs.Encode(nil, ps), nil
	case []string:
		ps := make([]pairs.Pair, len(t))
		for i, s := range t {
			ps[i] = pairs.Pair{Key: s}
		}
		return pairs.Encode(nil, ps), nil
	case []any:
		ps := make([]pairs.Pair, len(t))
		for i, e := range t {
			ev, err := EncodeValue(e)
			if err != nil {
				return nil, err
			}
			ps[i] = pairs.Pair{Key: string(ev)}
		}
		return pairs.Encode(nil, ps), nil
	default:
		return nil, ErrSerialization
	}
	return b[:], nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// splitPath splits a NUL-joined property path; a trailing NUL is tolerated.
func splitPath(p []byte) []string {
	if len(p) > 0 && p[len(p)-1] == 0 {
		p = p[:len(p)-1]
	}
	if len(p) == 0 {
		return nil
	}
	return strings.Split(string(p), "\x00")
}

// property resolves a property for the current call: the engine's own names
// first, then the stream's Properties, then values the plugin set on the
// stream, then the plugin-level Properties.
func (v *vm) property(path []string, key string) ([]byte, types.Status) {
	if len(path) == 0 {
		return nil, types.StatusNotFound
	}
	s := v.target()
	if len(path) == 1 {
		switch path[0] {
		case "plugin_name":
			if n := v.p.cfg.PluginName; n != nil {
				return []byte(*n), types.StatusOK
			}
			return []byte(v.p.cfg.Name), types.StatusOK
		case "plugin_root_id":
			return []byte(v.p.cfg.RootID), types.StatusOK
		case "plugin_vm_id":
			return []byte(v.p.cfg.VMID), types.StatusOK
		case FastPathProperty:
			if !v.e.cfg.NoFastPath {
				return []byte(FastPathVersion), types.StatusOK
			}
		case "plugin_vm_memory":
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], v.memoryBytes())
			return b[:], types.StatusOK
		}
	}
	if s != nil && s.opts.Properties != nil {
		if val, ok := s.opts.Properties.Property(path); ok {
			return encodeProperty(val)
		}
	}
	if s != nil {
		if b, ok := s.opts.FilterState.Get(key); ok {
			return b, types.StatusOK
		}
	}
	if pp := v.p.cfg.Properties; pp != nil {
		if val, ok := pp.Property(path); ok {
			return encodeProperty(val)
		}
	}
	return nil, types.StatusNotFound
}

func encodeProperty(val any) ([]byte, types.Status) {
	b, err := EncodeValue(val)
	if err != nil {
		return nil, types.StatusSerializationFailure
	}
	return b, types.StatusOK
}

// setProperty stores a value the plugin set in the request's filter state
// (Envoy: the mutable object "wasm.<path>", readable by later filters and
// the access log) and applies the Higress control properties.
// val may be a view of the module's memory; what is kept is a copy.
func (v *vm) setProperty(key string, val []byte) types.Status {
	s := v.target()
	handled := false
	switch key {
	case FastPathProperty:
		if !v.e.cfg.NoFastPath {
			if string(val) != FastPathVersion {
				return types.StatusBadArgument
			}
			v.fastPath = true
			return types.StatusOK
		}
	case "wasm_need_rebuild":
		if string(val) == "true" {
			v.needRebuild = true
		}
		handled = true
	case "clear_route_cache":
		if s != nil {
			s.keepRouteCache = string(val) == "off"
		}
	case "set_decoder_buffer_limit", "set_encoder_buffer_limit":
		n, err := strconv.Atoi(string(val))
		if err != nil || n < 0 {
			return types.StatusBadArgument
		}
		if s != nil {
			if key == "set_decoder_buffer_limit" {
				s.req.limit = n
			} else {
				s.resp.limit = n
			}
		}
	}
	if s == nil {
		if handled {
			return types.StatusOK
		}
		return types.StatusNotFound // no stream info in the root context
	}
	s.opts.FilterState.Set(key, append([]byte(nil), val...))
	if o := s.opts.Observer; o != nil {
		o.PropertySet(key, val)
	}
	return types.StatusOK
}
