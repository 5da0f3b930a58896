package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// HeaderFunc returns a request header's value, several values joined with "," as Envoy's
// matchers see them, and whether the header is present. Pseudo-headers (":method",
// ":authority", ":path", ":scheme") are headers too.
type HeaderFunc func(name string) (string, bool)

// RouteMatcher reports whether a request matches a route: its :path (with the query string)
// and its headers.
type RouteMatcher func(path string, header HeaderFunc) bool

// Matcher builds the route's whole condition: the path (without the query string), then every
// header matcher and every query parameter matcher, as Envoy's route entry matches. Build it
// once per configuration.
func (r *Route) Matcher() (RouteMatcher, error) {
	pathMatch, err := r.Match.Matcher()
	if err != nil {
		return nil, err
	}
	var headers []func(HeaderFunc) bool
	for i := range r.HeaderMatchers {
		m, err := r.HeaderMatchers[i].matcher()
		if err != nil {
			return nil, fmt.Errorf("header matcher %q: %w", r.HeaderMatchers[i].Name, err)
		}
		headers = append(headers, m)
	}
	var queries []func(map[string]string) bool
	for i := range r.QueryMatchers {
		m, err := r.QueryMatchers[i].matcher()
		if err != nil {
			return nil, fmt.Errorf("query parameter matcher %q: %w", r.QueryMatchers[i].Name, err)
		}
		queries = append(queries, m)
	}
	return func(path string, header HeaderFunc) bool {
		p, query, _ := strings.Cut(path, "?")
		if i := strings.IndexByte(p, '#'); i >= 0 {
			p = p[:i]
		}
		if !pathMatch(p) {
			return false
		}
		for _, m := range headers {
			if !m(header) {
				return false
			}
		}
		if len(queries) > 0 {
			params := firstQueryValues(query)
			for _, m := range queries {
				if !m(params) {
					return false
				}
			}
		}
		return true
	}, nil
}

// firstQueryValues parses a query string as Envoy's route matching does: values as written
// (not percent-decoded), the first occurrence of a name winning.
func firstQueryValues(query string) map[string]string {
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query = query[:i]
	}
	out := map[string]string{}
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if _, seen := out[k]; !seen {
			out[k] = v
		}
	}
	return out
}

// Matcher compiles a string matcher.
func (m *StringMatch) Matcher() (func(string) bool, error) {
	v := m.Value
	fold := func(s string) string { return s }
	if m.IgnoreCase {
		v = strings.ToLower(v)
		fold = strings.ToLower
	}
	switch m.Kind {
	case MatchExact:
		return func(s string) bool { return fold(s) == v }, nil
	case MatchPrefix:
		return func(s string) bool { return strings.HasPrefix(fold(s), v) }, nil
	case MatchSuffix:
		return func(s string) bool { return strings.HasSuffix(fold(s), v) }, nil
	case MatchContains:
		return func(s string) bool { return strings.Contains(fold(s), v) }, nil
	case MatchRegex:
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return nil, fmt.Errorf("invalid regex %q: %w", m.Value, err)
		}
		return re.MatchString, nil
	}
	return nil, fmt.Errorf("unknown string match kind %d", m.Kind)
}

// matcher follows Envoy's HeaderUtility::matchHeaders: an absent header matches only
// `present_match: false` (or, inverted, `present_match: true`), unless it is treated as empty.
func (h *HeaderMatcher) matcher() (func(HeaderFunc) bool, error) {
	name := strings.ToLower(h.Name)
	var value func(string) bool
	present := true
	isPresent := h.Match == nil && h.Range == nil
	switch {
	case h.Match != nil:
		m, err := h.Match.Matcher()
		if err != nil {
			return nil, err
		}
		value = m
	case h.Range != nil:
		start, end := h.Range.Start, h.Range.End
		value = func(s string) bool {
			n, err := strconv.ParseInt(s, 10, 64)
			return err == nil && n >= start && n < end
		}
	case h.Present != nil:
		present = *h.Present
	}
	invert, missingEmpty := h.Invert, h.TreatMissingAsEmpty
	return func(header HeaderFunc) bool {
		v, ok := header(name)
		if !ok && !missingEmpty {
			if invert {
				return isPresent && present
			}
			return isPresent && !present
		}
		var match bool
		if isPresent {
			match = present
		} else {
			match = value(v)
		}
		return match != invert
	}, nil
}

// matcher follows Envoy's QueryParameterMatcher: the parameter must be present, and its first
// value must match.
func (q *QueryMatcher) matcher() (func(map[string]string) bool, error) {
	name := q.Name
	if q.Match == nil {
		return func(p map[string]string) bool { _, ok := p[name]; return ok }, nil
	}
	m, err := q.Match.Matcher()
	if err != nil {
		return nil, err
	}
	return func(p map[string]string) bool {
		v, ok := p[name]
		return ok && m(v)
	}, nil
}
