package envoy

import (
	"regexp"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/wasmgate/wasmgate/config"
)

// metadata reads filter_metadata.
func metadata(md *corev3.Metadata) config.Metadata {
	if len(md.GetFilterMetadata()) == 0 {
		return nil
	}
	out := config.Metadata{}
	for k, s := range md.GetFilterMetadata() {
		out[k] = s.AsMap()
	}
	return out
}

// headerMutationSource is a route, virtual host or route configuration.
type headerMutationSource interface {
	GetRequestHeadersToAdd() []*corev3.HeaderValueOption
	GetRequestHeadersToRemove() []string
	GetResponseHeadersToAdd() []*corev3.HeaderValueOption
	GetResponseHeadersToRemove() []string
}

// headerMutations reads the four header mutation fields of src at path. An entry Envoy would
// reject is reported as an error and left out.
func (p *parser) headerMutations(src headerMutationSource, path fieldPath) config.HeaderMutations {
	var m config.HeaderMutations
	m.RequestAdd = p.headersToAdd(src.GetRequestHeadersToAdd(), path.key("request_headers_to_add"))
	m.ResponseAdd = p.headersToAdd(src.GetResponseHeadersToAdd(), path.key("response_headers_to_add"))
	m.RequestRemove = p.headersToRemove(src.GetRequestHeadersToRemove(), path.key("request_headers_to_remove"))
	m.ResponseRemove = p.headersToRemove(src.GetResponseHeadersToRemove(), path.key("response_headers_to_remove"))
	return m
}

func (p *parser) headersToAdd(opts []*corev3.HeaderValueOption, path fieldPath) []config.HeaderValue {
	var out []config.HeaderValue
	for i, o := range opts {
		ipath := path.idx(i)
		key := strings.ToLower(o.GetHeader().GetKey())
		if strings.HasPrefix(key, ":") || key == "host" {
			p.errorf(ipath.key("header").key("key"), "%q: pseudo-headers and host may not be modified by header mutations (as in Envoy); use the route's rewrites", key)
			continue
		}
		if o.GetAppend() != nil && o.GetAppendAction() != corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD {
			p.errorf(ipath, "append and append_action are both set, which Envoy rejects")
			continue
		}
		value := o.GetHeader().GetValue()
		if raw := o.GetHeader().GetRawValue(); len(raw) > 0 {
			value = string(raw)
		}
		f, unsupported, err := config.ParseHeaderFormat(value)
		if err != nil {
			p.errorf(ipath.key("header").key("value"), "%v", err)
			continue
		}
		for _, u := range unsupported {
			p.warnf(ipath.key("header").key("value"), "%s is not supported by wasmgate; it expands to an empty value", u)
		}
		hv := config.HeaderValue{Key: key, Value: value, Format: f, KeepEmptyValue: o.GetKeepEmptyValue()}
		switch {
		case o.GetAppend() != nil && !o.GetAppend().GetValue():
			hv.Action = config.OverwriteIfExistsOrAdd
		case o.GetAppend() == nil:
			hv.Action = config.HeaderAppendAction(o.GetAppendAction())
		}
		out = append(out, hv)
	}
	return out
}

func (p *parser) headersToRemove(names []string, path fieldPath) []string {
	var out []string
	for i, n := range names {
		n = strings.ToLower(n)
		if strings.HasPrefix(n, ":") || n == "host" {
			p.errorf(path.idx(i), "%q: pseudo-headers and host may not be removed (as in Envoy)", n)
			continue
		}
		out = append(out, n)
	}
	return out
}

// httpSettings reads the connection manager's response and request shaping.
func (p *parser) httpSettings(h *hcmv3.HttpConnectionManager) config.HTTPSettings {
	s := config.HTTPSettings{ServerName: h.GetServerName()}
	switch h.GetServerHeaderTransformation() {
	case hcmv3.HttpConnectionManager_APPEND_IF_ABSENT:
		s.ServerHeader = config.ServerAppendIfAbsent
	case hcmv3.HttpConnectionManager_PASS_THROUGH:
		s.ServerHeader = config.ServerPassThrough
	}
	s.SchemeOverwrite = h.GetSchemeHeaderTransformation().GetSchemeToOverwrite()
	for _, u := range h.GetUpgradeConfigs() {
		if e := u.GetEnabled(); e == nil || e.GetValue() {
			s.Upgrades = append(s.Upgrades, strings.ToLower(u.GetUpgradeType()))
		}
	}
	switch h.GetCodecType() {
	case hcmv3.HttpConnectionManager_HTTP1:
		s.Codec = config.CodecHTTP1
	case hcmv3.HttpConnectionManager_HTTP2:
		s.Codec = config.CodecHTTP2
	}
	return s
}

// stringMatch converts an Envoy string matcher.
func stringMatch(m *matcherv3.StringMatcher) (*config.StringMatch, bool) {
	sm := &config.StringMatch{IgnoreCase: m.GetIgnoreCase()}
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		sm.Kind, sm.Value = config.MatchExact, p.Exact
	case *matcherv3.StringMatcher_Prefix:
		sm.Kind, sm.Value = config.MatchPrefix, p.Prefix
	case *matcherv3.StringMatcher_Suffix:
		sm.Kind, sm.Value = config.MatchSuffix, p.Suffix
	case *matcherv3.StringMatcher_Contains:
		sm.Kind, sm.Value = config.MatchContains, p.Contains
	case *matcherv3.StringMatcher_SafeRegex:
		sm.Kind, sm.Value, sm.IgnoreCase = config.MatchRegex, p.SafeRegex.GetRegex(), false
	default:
		return nil, false
	}
	return sm, true
}

// headerMatchers converts a route's header matchers; ok is false after an error.
func (p *parser) headerMatchers(hs []*routev3.HeaderMatcher, path fieldPath) ([]config.HeaderMatcher, bool) {
	var out []config.HeaderMatcher
	for i, h := range hs {
		hpath := path.idx(i)
		hm := config.HeaderMatcher{Name: strings.ToLower(h.GetName()), Invert: h.GetInvertMatch(), TreatMissingAsEmpty: h.GetTreatMissingHeaderAsEmpty()}
		switch s := h.GetHeaderMatchSpecifier().(type) {
		case *routev3.HeaderMatcher_ExactMatch:
			if s.ExactMatch != "" {
				hm.Match = &config.StringMatch{Kind: config.MatchExact, Value: s.ExactMatch}
			} // an empty exact_match matches any value (Envoy's legacy rule)
		case *routev3.HeaderMatcher_SafeRegexMatch:
			hm.Match = &config.StringMatch{Kind: config.MatchRegex, Value: s.SafeRegexMatch.GetRegex()}
		case *routev3.HeaderMatcher_RangeMatch:
			hm.Range = &config.Int64Range{Start: s.RangeMatch.GetStart(), End: s.RangeMatch.GetEnd()}
		case *routev3.HeaderMatcher_PresentMatch:
			v := s.PresentMatch
			hm.Present = &v
		case *routev3.HeaderMatcher_PrefixMatch:
			hm.Match = &config.StringMatch{Kind: config.MatchPrefix, Value: s.PrefixMatch}
		case *routev3.HeaderMatcher_SuffixMatch:
			hm.Match = &config.StringMatch{Kind: config.MatchSuffix, Value: s.SuffixMatch}
		case *routev3.HeaderMatcher_ContainsMatch:
			hm.Match = &config.StringMatch{Kind: config.MatchContains, Value: s.ContainsMatch}
		case *routev3.HeaderMatcher_StringMatch:
			sm, ok := stringMatch(s.StringMatch)
			if !ok {
				p.errorf(hpath.key("string_match"), "a string matcher needs exact, prefix, suffix, contains or safe_regex")
				return nil, false
			}
			hm.Match = sm
		}
		if hm.Match != nil {
			if _, err := hm.Match.Matcher(); err != nil {
				p.errorf(hpath, "%v", err)
				return nil, false
			}
		}
		out = append(out, hm)
	}
	return out, true
}

// queryMatchers converts a route's query parameter matchers; ok is false after an error.
func (p *parser) queryMatchers(qs []*routev3.QueryParameterMatcher, path fieldPath) ([]config.QueryMatcher, bool) {
	var out []config.QueryMatcher
	for i, q := range qs {
		qm := config.QueryMatcher{Name: q.GetName(), Present: q.GetPresentMatch()}
		if sm := q.GetStringMatch(); sm != nil {
			m, ok := stringMatch(sm)
			if !ok {
				p.errorf(path.idx(i).key("string_match"), "a string matcher needs exact, prefix, suffix, contains or safe_regex")
				return nil, false
			}
			if _, err := m.Matcher(); err != nil {
				p.errorf(path.idx(i).key("string_match"), "%v", err)
				return nil, false
			}
			qm.Match = m
		}
		out = append(out, qm)
	}
	return out, true
}

// retryPolicy reads the retry conditions the gateway applies; other conditions are warned.
func (p *parser) retryPolicy(rp *routev3.RetryPolicy, path fieldPath) *config.RetryPolicy {
	out := &config.RetryPolicy{NumRetries: 1}
	if n := rp.GetNumRetries(); n != nil {
		out.NumRetries = int(n.GetValue())
	}
	for _, c := range rp.GetRetriableStatusCodes() {
		out.RetriableStatusCodes = append(out.RetriableStatusCodes, int(c))
	}
	var unsupported []string
	for _, cond := range strings.Split(rp.GetRetryOn(), ",") {
		cond = strings.TrimSpace(cond)
		switch cond {
		case "":
		case "5xx", "gateway-error", "reset", "connect-failure", "retriable-4xx", "refused-stream", "retriable-status-codes":
			out.RetryOn = append(out.RetryOn, cond)
		default:
			unsupported = append(unsupported, cond)
		}
	}
	if len(unsupported) > 0 {
		p.warnf(path.key("retry_on"), "retry conditions %s are not supported by wasmgate; ignored (supported: 5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes)", strings.Join(unsupported, ","))
	}
	return out
}

// statsTags reads stats_config.stats_tags; a tag with an invalid regex is an error and left out.
func (p *parser) statsTags(sc *metricsv3.StatsConfig, path fieldPath) []config.StatsTag {
	var out []config.StatsTag
	for i, t := range sc.GetStatsTags() {
		tpath := path.key("stats_tags").idx(i)
		tag := config.StatsTag{Name: t.GetTagName(), Regex: t.GetRegex(), FixedValue: t.GetFixedValue()}
		if tag.Regex == "" && t.GetFixedValue() == "" {
			// Envoy's default extractors (envoy.cluster_name, …) name Envoy's own statistics.
			p.warnf(tpath, "tag %q without a regex uses Envoy's default extractor, which matches only Envoy's own statistics (not exported by wasmgate); ignored", tag.Name)
			continue
		}
		if tag.Regex != "" {
			if _, err := regexp.Compile(tag.Regex); err != nil {
				p.errorf(tpath.key("regex"), "tag %q: %v (wasmgate uses RE2 syntax, without lookarounds)", tag.Name, err)
				continue
			}
		}
		out = append(out, tag)
	}
	return out
}
