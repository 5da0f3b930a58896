package config

import (
	"strconv"
	"strings"
)

// Metadata is Envoy's config.core.v3.Metadata `filter_metadata`: for each filter name, a tree
// as a protobuf Struct holds it (map[string]any, []any, string, float64, bool and nil). Plugins
// read it as the route_metadata, cluster_metadata, listener_metadata and xds.* properties.
type Metadata map[string]map[string]any

// HTTPSettings are a listener's connection-manager settings (Envoy HttpConnectionManager).
type HTTPSettings struct {
	// ServerName is the `server` response header value; "" means Envoy's default "envoy".
	ServerName string
	// ServerHeader says what happens to a `server` header already on the response.
	ServerHeader ServerHeaderTransformation
	// SchemeOverwrite, when set, replaces the request's :scheme before the plugins see it
	// (Envoy `scheme_header_transformation.scheme_to_overwrite`: "http" or "https").
	SchemeOverwrite string
	// Headers are the route configuration's header mutations (applied after the virtual host's
	// and the route's, so they win, unless MostSpecificHeaderMutationsWins).
	Headers HeaderMutations
	// MostSpecificHeaderMutationsWins applies the route's mutations last instead of first.
	MostSpecificHeaderMutationsWins bool
	// Codec is the HTTP version the listener speaks (codec_type; AUTO by default).
	Codec Codec
	// Upgrades are the HTTP/1.1 upgrade types the listener passes through, lower case
	// ("websocket"; "connect" for CONNECT requests), as the connection manager's
	// upgrade_configs enable them. A request for another upgrade gets 403 upgrade_failed.
	Upgrades []string
	// HTTPOptions are the timeouts and limits.
	HTTPOptions
}

// EffectiveServerName resolves ServerName to Envoy's default.
func (h HTTPSettings) EffectiveServerName() string {
	if h.ServerName == "" {
		return DefaultServerName
	}
	return h.ServerName
}

// DefaultServerName is Envoy's default `server` header value.
const DefaultServerName = "envoy"

// HigressServerName is the `server` header Higress gateways send (Istio's connection manager
// names itself istio-envoy).
const HigressServerName = "istio-envoy"

// ServerHeaderTransformation is Envoy's HttpConnectionManager.ServerHeaderTransformation.
type ServerHeaderTransformation int

const (
	// ServerOverwrite sets `server` to the server name on every response (Envoy's default).
	ServerOverwrite ServerHeaderTransformation = iota
	// ServerAppendIfAbsent sets it only when the response has none.
	ServerAppendIfAbsent
	// ServerPassThrough leaves the response's header as it is, and adds none.
	ServerPassThrough
)

// HeaderAppendAction is Envoy's HeaderValueOption.HeaderAppendAction.
type HeaderAppendAction int

const (
	// AppendIfExistsOrAdd adds the value as one more entry (Envoy's default).
	AppendIfExistsOrAdd HeaderAppendAction = iota
	// AddIfAbsent adds the header only when it is not present.
	AddIfAbsent
	// OverwriteIfExistsOrAdd replaces every value of the header, or adds it.
	OverwriteIfExistsOrAdd
	// OverwriteIfExists replaces the header only when it is present.
	OverwriteIfExists
)

// String returns Envoy's name of the action.
func (a HeaderAppendAction) String() string {
	switch a {
	case AppendIfExistsOrAdd:
		return "APPEND_IF_EXISTS_OR_ADD"
	case AddIfAbsent:
		return "ADD_IF_ABSENT"
	case OverwriteIfExistsOrAdd:
		return "OVERWRITE_IF_EXISTS_OR_ADD"
	case OverwriteIfExists:
		return "OVERWRITE_IF_EXISTS"
	}
	return "HeaderAppendAction(" + strconv.Itoa(int(a)) + ")"
}

// HeaderValue is one header to add. Value may contain Envoy's %…% substitutions
// (%REQ(x)%, %DOWNSTREAM_REMOTE_ADDRESS%, %UPSTREAM_HOST%, …); "%%" is a literal "%".
type HeaderValue struct {
	// Key is the header name, lower case.
	Key   string
	Value string
	// Format is Value parsed (see ParseHeaderFormat).
	Format HeaderFormat
	Action HeaderAppendAction
	// KeepEmptyValue adds the header even when Value expands to "" (Envoy drops it otherwise).
	KeepEmptyValue bool
}

// HeaderMutations are Envoy's request_headers_to_add/remove and response_headers_to_add/remove
// of one level (route, virtual host or route configuration). Removals apply before additions.
type HeaderMutations struct {
	RequestAdd     []HeaderValue
	RequestRemove  []string
	ResponseAdd    []HeaderValue
	ResponseRemove []string
}

// Empty reports whether m changes nothing.
func (m *HeaderMutations) Empty() bool {
	return len(m.RequestAdd) == 0 && len(m.RequestRemove) == 0 && len(m.ResponseAdd) == 0 && len(m.ResponseRemove) == 0
}

// StringMatchKind is how a StringMatch compares.
type StringMatchKind int

const (
	// MatchExact compares the whole value.
	MatchExact StringMatchKind = iota
	// MatchPrefix matches a value starting with Value.
	MatchPrefix
	// MatchSuffix matches a value ending with Value.
	MatchSuffix
	// MatchContains matches a value containing Value.
	MatchContains
	// MatchRegex matches when the whole value matches the RE2 expression Value.
	MatchRegex
)

// StringMatch is Envoy's type.matcher.v3.StringMatcher.
type StringMatch struct {
	Kind  StringMatchKind
	Value string
	// IgnoreCase compares exact, prefix, suffix and contains case-insensitively.
	IgnoreCase bool
}

// HeaderMatcher is Envoy's config.route.v3.HeaderMatcher. Exactly one of Match, Present and
// Range is set; with none set, the header must be present (Envoy's legacy empty matcher).
type HeaderMatcher struct {
	// Name is the header name, lower case (":method", ":authority" and ":path" are matched
	// against the pseudo-headers).
	Name    string
	Match   *StringMatch
	Present *bool
	Range   *Int64Range
	// Invert negates the result.
	Invert bool
	// TreatMissingAsEmpty matches an absent header as the empty value.
	TreatMissingAsEmpty bool
}

// Int64Range is a half-open range [Start, End).
type Int64Range struct {
	Start, End int64
}

// QueryMatcher is Envoy's config.route.v3.QueryParameterMatcher. With Match nil and Present
// false it matches a parameter that is present (Envoy's legacy empty matcher).
type QueryMatcher struct {
	Name    string
	Match   *StringMatch
	Present bool
}

// RegexRewrite is Envoy's regex_rewrite: every match of Pattern in the path (without the
// query string) is replaced by Substitution, which may use \1-style group references.
type RegexRewrite struct {
	Pattern      string
	Substitution string
}

// RetryPolicy is the part of Envoy's route retry_policy the gateway applies: requests without a
// body are sent again, after a jittered back-off, when an attempt fails as RetryOn says.
type RetryPolicy struct {
	// RetryOn lists Envoy's conditions: "5xx", "gateway-error", "reset", "connect-failure",
	// "retriable-4xx", "refused-stream", "retriable-status-codes".
	RetryOn []string
	// NumRetries is the number of retries after the first attempt (Envoy's default is 1).
	NumRetries int
	// RetriableStatusCodes are retried with "retriable-status-codes".
	RetriableStatusCodes []int
}

// StatsTag is Envoy's config.metrics.v3.TagSpecifier: a label extracted from metric names.
// With Regex, the first capture group is cut out of the name and the second (or, when there
// is none, the first) is the label value; with FixedValue, every metric gets the label.
type StatsTag struct {
	Name       string
	Regex      string
	FixedValue string
}

// HigressStatsTags are the tag specifiers of Higress's gateway bootstrap that apply to plugin
// metrics (names `wasmcustom.<plugin metric>`), so that the ai-statistics family
// `route.R.upstream.C.model.M.consumer.U.metric.N` becomes
// `route_upstream_model_consumer_metric_N{ai_route=R,ai_cluster=C,ai_model=M,ai_consumer=U}`.
func HigressStatsTags() []StatsTag {
	return []StatsTag{
		{Name: "ai_route", Regex: `^wasmcustom\.route\.((.*?)\.)upstream`},
		{Name: "ai_cluster", Regex: `^wasmcustom\..*?\.upstream\.((.*?)\.)model`},
		{Name: "ai_model", Regex: `^wasmcustom\..*?\.model\.((.*?)\.)consumer`},
		{Name: "ai_consumer", Regex: `^wasmcustom\..*?\.consumer\.((.*?)\.)metric`},
	}
}

// AllowsUpgrade reports whether the listener passes an upgrade type through (case-insensitive).
func (h HTTPSettings) AllowsUpgrade(kind string) bool {
	for _, u := range h.Upgrades {
		if strings.EqualFold(u, kind) {
			return true
		}
	}
	return false
}
