package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Matcher returns a function reporting whether a request path (without the query string)
// satisfies m. It fails only for an invalid regular expression or an unknown kind. Build
// matchers once per configuration, not per request.
func (m PathMatch) Matcher() (func(path string) bool, error) {
	value := m.Value
	switch m.Kind {
	case PathPrefix:
		if m.IgnoreCase {
			lv := strings.ToLower(value)
			return func(p string) bool {
				return len(p) >= len(lv) && strings.ToLower(p[:len(lv)]) == lv
			}, nil
		}
		return func(p string) bool { return strings.HasPrefix(p, value) }, nil
	case PathExact:
		if m.IgnoreCase {
			return func(p string) bool { return strings.EqualFold(p, value) }, nil
		}
		return func(p string) bool { return p == value }, nil
	case PathSeparatedPrefix:
		v := strings.TrimSuffix(value, "/")
		if v == "" {
			return func(p string) bool { return strings.HasPrefix(p, "/") }, nil
		}
		if m.IgnoreCase {
			v = strings.ToLower(v)
		}
		return func(p string) bool {
			if m.IgnoreCase {
				p = strings.ToLower(p)
			}
			return p == v || strings.HasPrefix(p, v+"/")
		}, nil
	case PathConnect:
		return func(p string) bool { return p == "" }, nil
	case PathRegex:
		expr := "^(?:" + value + ")$"
		if m.IgnoreCase {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("invalid path regex %q: %w", value, err)
		}
		return re.MatchString, nil
	}
	return nil, fmt.Errorf("unknown path match kind %v", m.Kind)
}

// SelectVirtualHost returns the index of the virtual host serving host (the request's Host or
// :authority, port included), or -1. It follows Envoy's order: an exact domain first, then the
// longest leading-wildcard domain ("*.example.com"), then the longest trailing-wildcard domain
// ("example.*"), then "*". Comparison is case-insensitive.
func SelectVirtualHost(vhosts []VirtualHost, host string) int {
	host = strings.ToLower(host)
	best, bestClass, bestLen := -1, 4, -1
	consider := func(i, class, n int) {
		if class < bestClass || (class == bestClass && n > bestLen) {
			best, bestClass, bestLen = i, class, n
		}
	}
	for i := range vhosts {
		for _, d := range vhosts[i].Domains {
			d = strings.ToLower(d)
			switch {
			case d == "*":
				consider(i, 3, 0)
			case strings.HasPrefix(d, "*"):
				if s := d[1:]; len(host) > len(s) && strings.HasSuffix(host, s) {
					consider(i, 1, len(s))
				}
			case strings.HasSuffix(d, "*"):
				if s := d[:len(d)-1]; len(host) > len(s) && strings.HasPrefix(host, s) {
					consider(i, 2, len(s))
				}
			case d == host:
				consider(i, 0, len(d))
			}
		}
	}
	return best
}
