package higress

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/config"
)

// decoder reads typed fields out of a generic JSON document and records a problem, naming the
// file and the field path, for every field of the wrong type.
type decoder struct {
	file   string
	prefix string // field prefix for multi-document files, e.g. "document 2: "
	object string
	ps     *config.Problems
	failed bool
}

func (d *decoder) field(path string) string {
	if path == "" {
		return strings.TrimSuffix(d.prefix, ": ")
	}
	return d.prefix + path
}

func (d *decoder) errorf(path, format string, args ...any) {
	d.failed = true
	d.ps.Errorf(d.file, d.field(path), d.object, format, args...)
}

func (d *decoder) warnf(path, format string, args ...any) {
	d.ps.Warnf(d.file, d.field(path), d.object, format, args...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// typeName names a generic JSON value's type for messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// obj returns m[key] as an object; present is false when the key is absent or null.
func (d *decoder) obj(m map[string]any, key, path string) (v map[string]any, present bool) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return nil, false
	}
	v, ok = raw.(map[string]any)
	if !ok {
		d.errorf(join(path, key), "must be an object, not %s", typeName(raw))
		return nil, false
	}
	return v, true
}

func (d *decoder) str(m map[string]any, key, path string) string {
	raw, ok := m[key]
	if !ok || raw == nil {
		return ""
	}
	s, ok := raw.(string)
	if !ok {
		d.errorf(join(path, key), "must be a string, not %s", typeName(raw))
	}
	return s
}

func (d *decoder) list(m map[string]any, key, path string) []any {
	raw, ok := m[key]
	if !ok || raw == nil {
		return nil
	}
	l, ok := raw.([]any)
	if !ok {
		d.errorf(join(path, key), "must be a list, not %s", typeName(raw))
	}
	return l
}

func (d *decoder) strList(m map[string]any, key, path string) []string {
	l := d.list(m, key, path)
	out := make([]string, 0, len(l))
	for i, x := range l {
		s, ok := x.(string)
		if !ok {
			d.errorf(index(join(path, key), i), "must be a string, not %s", typeName(x))
			continue
		}
		out = append(out, s)
	}
	return out
}

func (d *decoder) boolean(m map[string]any, key, path string) (v, present bool) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return false, false
	}
	b, ok := raw.(bool)
	if !ok {
		d.errorf(join(path, key), "must be true or false, not %s", typeName(raw))
		return false, false
	}
	return b, true
}

// integer reads an integer in [lo, hi].
func (d *decoder) integer(m map[string]any, key, path string, lo, hi int64) (v int64, present bool) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return 0, false
	}
	n, ok := raw.(json.Number)
	if !ok {
		d.errorf(join(path, key), "must be an integer, not %s", typeName(raw))
		return 0, false
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		d.errorf(join(path, key), "must be an integer, not %s", n)
		return 0, false
	}
	if i < lo || i > hi {
		d.errorf(join(path, key), "%d is out of range %d-%d", i, lo, hi)
		return 0, false
	}
	return i, true
}

// enum reads an enum given by name (or by its number, as protobuf JSON allows).
func (d *decoder) enum(m map[string]any, key, path string, names map[string]int) (v int, present bool) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return 0, false
	}
	var want []string
	for n := range names {
		want = append(want, n)
	}
	slices.SortFunc(want, func(a, b string) int { return names[a] - names[b] })
	switch t := raw.(type) {
	case string:
		if n, ok := names[t]; ok {
			return n, true
		}
		d.errorf(join(path, key), "unknown value %q (want one of %s)", t, strings.Join(want, ", "))
	case json.Number:
		i, err := strconv.Atoi(t.String())
		if err == nil {
			for _, n := range names {
				if n == i {
					return i, true
				}
			}
		}
		d.errorf(join(path, key), "unknown value %s (want one of %s)", t, strings.Join(want, ", "))
	default:
		d.errorf(join(path, key), "must be a string, not %s", typeName(raw))
	}
	return 0, false
}

const maxInt32, minInt32 = math.MaxInt32, math.MinInt32
