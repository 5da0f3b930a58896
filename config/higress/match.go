package higress

import (
	"maps"
	"slices"
	"strings"

	"github.com/wasmgate/wasmgate/config"
)

// ingressMatch is what an Ingress's match annotations add to each of its routes, as the Higress
// controller translates them (pkg/ingress/kube/annotations/match.go):
//
//	higress.io/{exact,prefix,regex}-match-header-NAME: VALUE   a header condition
//	higress.io/{exact,prefix,regex}-match-query-NAME: VALUE    a query parameter condition
//	higress.io/match-method: "GET POST"                       the methods (a :method regex)
//
// Istio turns them into Envoy header matchers (string_match exact/prefix/safe_regex) and query
// parameter matchers.
type ingressMatch struct {
	headers []config.HeaderMatcher
	queries []config.QueryMatcher
	// method is the :method regex ("GET|POST"), "" for any method.
	method string
	// key names the conditions for duplicate detection, as Higress names routes: the header
	// and query conditions, sorted (not the methods).
	key string
}

const (
	matchHeaderPart = "match-header"
	matchQueryPart  = "match-query"
	annMatchMethod  = "match-method"
)

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// isMatchAnnotation reports whether k is one of the annotations parseMatch reads.
func isMatchAnnotation(k string) bool {
	return strings.Contains(k, matchHeaderPart) || strings.Contains(k, matchQueryPart) || k == "higress.io/"+annMatchMethod || k == "nginx.ingress.kubernetes.io/"+annMatchMethod
}

// parseMatch reads the match annotations; warn reports an annotation Higress cannot use.
func parseMatch(ann map[string]string, warn func(key, format string, args ...any)) ingressMatch {
	var m ingressMatch
	var mappings []string
	for _, k := range slices.Sorted(maps.Keys(ann)) {
		v := ann[k]
		part := ""
		switch {
		case strings.Contains(k, matchHeaderPart):
			part = matchHeaderPart
		case strings.Contains(k, matchQueryPart):
			part = matchQueryPart
		case strings.HasSuffix(k, "/"+annMatchMethod):
			for _, meth := range strings.Split(v, " ") {
				meth = strings.ToUpper(meth)
				if slices.Contains(httpMethods, meth) && !slices.Contains(strings.Split(m.method, "|"), meth) {
					if m.method != "" {
						m.method += "|"
					}
					m.method += meth
				} else if meth != "" && !slices.Contains(strings.Split(m.method, "|"), meth) {
					warn(k, "%q is not an HTTP method Higress matches (%s); ignored", meth, strings.Join(httpMethods, " "))
				}
			}
			continue
		default:
			continue
		}
		rest, ok := strings.CutPrefix(k, "higress.io/")
		kind, name, _ := strings.Cut(rest, "-"+part+"-")
		if !ok || name == "" || !slices.Contains([]string{"exact", "prefix", "regex"}, kind) {
			warn(k, "not a match annotation Higress reads (higress.io/{exact,prefix,regex}-%s-NAME); ignored", part)
			continue
		}
		sm := &config.StringMatch{Kind: config.MatchExact, Value: v}
		switch kind {
		case "prefix":
			sm.Kind = config.MatchPrefix
		case "regex":
			sm.Kind = config.MatchRegex
		}
		if sm.Kind == config.MatchRegex {
			if _, err := sm.Matcher(); err != nil {
				warn(k, "%v; the condition is ignored", err)
				continue
			}
		}
		if part == matchHeaderPart {
			m.headers = append(m.headers, config.HeaderMatcher{Name: strings.ToLower(name), Match: sm})
			mappings = append(mappings, "header-"+kind+"-"+name+"-"+v)
		} else {
			m.queries = append(m.queries, config.QueryMatcher{Name: name, Match: sm})
			mappings = append(mappings, "query:"+kind+":"+name+":"+v)
		}
	}
	slices.Sort(mappings)
	m.key = strings.Join(mappings, "|")
	return m
}

// apply adds the conditions to a route.
func (m *ingressMatch) apply(r *hroute) {
	r.route.HeaderMatchers = append(r.route.HeaderMatchers, m.headers...)
	if m.method != "" {
		r.route.HeaderMatchers = append(r.route.HeaderMatchers,
			config.HeaderMatcher{Name: ":method", Match: &config.StringMatch{Kind: config.MatchRegex, Value: m.method}})
	}
	r.route.QueryMatchers = append(r.route.QueryMatchers, m.queries...)
	r.method, r.headers, r.queries = m.method, len(m.headers), len(m.queries)
}
