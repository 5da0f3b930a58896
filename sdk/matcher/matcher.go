// Package matcher selects the configuration that applies to a request from a
// plugin configuration with per-route, per-domain and per-service rules.
//
// A configuration is a JSON object. Its keys other than "_rules_" form the
// global configuration; "_rules_" is an array of rule objects, each holding
// the rule's own configuration plus at least one match key:
//
//	{"block_urls":["swagger.html"],
//	 "_rules_":[
//	   {"block_bodies":["foo"],"_match_route_":["default/foo"]},
//	   {"block_bodies":["bar"],"_match_domain_":["*.example.com"]},
//	   {"block_urls":["x"],"_match_service_":["foo.default.svc.cluster.local:8080"]}]}
//
// For each request the rules are tried in order and the first match wins; if
// none matches, the global configuration applies, or the plugin is skipped
// when there is none. The names and semantics are those of the Higress
// wasm-go SDK's matcher package, with configurations passed as raw JSON
// bytes; domain matching is case-sensitive, as in Higress (see
// RuleMatcher.Match).
package matcher

import (
	"errors"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/sdk/internal/jsonx"
)

// Configuration keys.
const (
	// RULES_KEY holds the array of rules.
	RULES_KEY = "_rules_"
	// MATCH_ROUTE_KEY lists route names (the route_name property) a rule
	// applies to, matched exactly.
	MATCH_ROUTE_KEY = "_match_route_"
	// MATCH_DOMAIN_KEY lists domains a rule applies to: "*" (any),
	// "*.example.com" (suffix), "www.*" (prefix) or an exact host name.
	MATCH_DOMAIN_KEY = "_match_domain_"
	// MATCH_SERVICE_KEY lists services a rule applies to, as "fqdn" (any
	// port) or "fqdn:port", matched against the cluster_name property.
	MATCH_SERVICE_KEY = "_match_service_"
	// MATCH_ROUTE_PREFIX_KEY lists route-name prefixes a rule applies to.
	MATCH_ROUTE_PREFIX_KEY = "_match_route_prefix_"
	// MATCH_CONSUMER_KEY lists consumer names that, together with
	// MATCH_ROUTE_PREFIX_KEY, restrict a rule to authenticated consumers
	// (compared with the ConsumerHeaderKey request header).
	MATCH_CONSUMER_KEY = "_match_consumer_"
)

// ConsumerHeaderKey is the request header that carries the authenticated
// consumer name for RoutePrefixAndConsumer rules.
const ConsumerHeaderKey = "x-mse-consumer"

// Category is how a rule selects requests. It is derived from the match keys
// a rule has, with the precedence route > domain > service > route prefix.
type Category int

const (
	// Route rules match the route name exactly (_match_route_).
	Route Category = iota
	// Host rules match the request's domain (_match_domain_).
	Host
	// Service rules match the upstream service (_match_service_).
	Service
	// RoutePrefix rules match a route-name prefix (_match_route_prefix_).
	RoutePrefix
	// RouteAndService rules need both the route and the service to match
	// (_match_route_ together with _match_service_).
	RouteAndService
	// RoutePrefixAndConsumer rules need a route-name prefix and the
	// consumer to match (_match_route_prefix_ with _match_consumer_).
	RoutePrefixAndConsumer
)

// MatchType is how a domain pattern is compared with the request's host.
type MatchType int

const (
	// Prefix patterns ("www.*") match hosts starting with the text before
	// the star.
	Prefix MatchType = iota
	// Exact patterns match the host exactly.
	Exact
	// Suffix patterns ("*.example.com", "*") match hosts ending with the
	// text after the star.
	Suffix
)

// HostMatcher is one parsed domain pattern. Patterns are stored in lower
// case.
type HostMatcher struct {
	matchType MatchType
	host      string
}

// RuleConfig is one parsed rule: its match conditions and its configuration.
type RuleConfig[C any] struct {
	conditions
	config C
}

// conditions are the match conditions of a rule. They are kept apart from
// the generic RuleConfig so that the matching code is compiled once, whatever
// the plugin's configuration type. Lists are short and de-duplicated; a
// linear scan beats hashing at these sizes and keeps binaries small.
type conditions struct {
	category     Category
	routes       []string
	services     []string
	routePrefixs []string
	consumers    []string
	hosts        []HostMatcher
}

// GenerateHashKey returns a stable key that identifies the rule's match
// conditions: "cat:<category>" followed by "|routes:", "|services:",
// "|prefixes:" and "|hosts:" sections (each only if non-empty), each listing
// its entries sorted and comma-separated; hosts are written as
// "<MatchType>:<pattern>". Rule-level isolation uses it to find the last good
// configuration of a rule.
func (r *RuleConfig[C]) GenerateHashKey() string { return r.conditions.hashKey() }

func (c *conditions) hashKey() string {
	b := make([]byte, 0, 64)
	b = append(b, "cat:"...)
	b = strconv.AppendInt(b, int64(c.category), 10)
	b = appendSorted(b, "|routes:", c.routes)
	b = appendSorted(b, "|services:", c.services)
	b = appendSorted(b, "|prefixes:", c.routePrefixs)
	if len(c.hosts) > 0 {
		items := make([]string, len(c.hosts))
		for i, h := range c.hosts {
			items[i] = strconv.Itoa(int(h.matchType)) + ":" + h.host
		}
		b = appendSorted(b, "|hosts:", items)
	}
	return string(b)
}

// appendSorted appends label and the comma-separated sorted items, if any.
func appendSorted(b []byte, label string, items []string) []byte {
	if len(items) == 0 {
		return b
	}
	sorted := append([]string(nil), items...)
	for i := 1; i < len(sorted); i++ { // insertion sort: lists are short
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	b = append(b, label...)
	for i, s := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return b
}

// RuleMatcher holds a parsed configuration: the rules in order and the
// optional global configuration. Its zero value has no rules and no global
// configuration. Fill it with ParseRuleConfig; after that it is read-only and
// safe to use from any request.
type RuleMatcher[C any] struct {
	ruleConfig      []RuleConfig[C]
	globalConfig    C
	hasGlobalConfig bool
}

// IsolationChecker reports whether rule-level configuration isolation is
// enabled. The wrapper's PluginContext satisfies it.
type IsolationChecker interface {
	IsRuleLevelConfigIsolation() bool
}

// ruleBackup maps GenerateHashKey of a rule to the JSON of the last
// configuration of that rule that parsed successfully in this VM. It is used
// only with rule-level isolation, through loadBackup and storeBackup.
var ruleBackup = map[string]string{}

var errNoMatchKey = errors.New("there is at least one of  '_match_route_', '_match_domain_', '_match_service_' and '_match_route_prefix_' can present in configuration.")

// ParseRuleConfig parses config (the plugin configuration JSON) into m,
// replacing what m held.
//
//   - An empty configuration ("", "{}" or any JSON value that is not an
//     object with members) enables the plugin globally: parsePluginConfig is
//     called with config as is, and its error is returned.
//   - Otherwise, if the object has keys besides "_rules_", parsePluginConfig
//     is called with the whole config (including "_rules_"); on success it
//     becomes the global configuration. A failure is remembered but parsing
//     continues.
//   - With no rules, the result is nil if a global configuration was parsed,
//     else the error "parse config failed, no valid rules; global config
//     parse error:<error or <nil>>".
//   - Each rule must have at least one of _match_route_, _match_domain_,
//     _match_service_ and _match_route_prefix_; the rule's JSON, match keys
//     included, is parsed with parseOverrideConfig(ruleJSON, global, &cfg)
//     if that is non-nil, else with parsePluginConfig(ruleJSON, &cfg).
//   - Without isolation the first rule error is returned. With isolation
//     (ctx non-nil and ctx.IsRuleLevelConfigIsolation()), a rule that fails
//     to parse is replaced by the last configuration of the same rule (same
//     GenerateHashKey) that parsed in this VM, or dropped if there is none
//     or it fails too; every rule that parses is remembered. If all rules
//     fail, an error is returned.
//
// A config that is not valid JSON is an error. A nil parsePluginConfig
// accepts every configuration and leaves it at the zero value.
func (m *RuleMatcher[C]) ParseRuleConfig(ctx IsolationChecker, config []byte,
	parsePluginConfig func(json []byte, config *C) error,
	parseOverrideConfig func(json []byte, global C, config *C) error) error {
	*m = RuleMatcher[C]{}
	if parsePluginConfig == nil {
		parsePluginConfig = func([]byte, *C) error { return nil }
	}
	top, err := splitConfig(config)
	if err != nil {
		return err
	}
	if top.keyCount == 0 {
		// Enable globally for an empty configuration.
		m.hasGlobalConfig = true
		return parsePluginConfig(config, &m.globalConfig)
	}
	var globalErr error
	if top.hasGlobalKeys {
		var global C
		if err := parsePluginConfig(config, &global); err != nil {
			globalErr = err
		} else {
			m.globalConfig = global
			m.hasGlobalConfig = true
		}
	}
	if len(top.rules) == 0 {
		if m.hasGlobalConfig {
			return nil
		}
		return errors.New("parse config failed, no valid rules; global config parse error:" + errText(globalErr))
	}

	isolation := ctx != nil && ctx.IsRuleLevelConfigIsolation()
	parseRule := func(ruleJSON []byte, cfg *C) error {
		if parseOverrideConfig != nil {
			return parseOverrideConfig(ruleJSON, m.globalConfig, cfg)
		}
		return parsePluginConfig(ruleJSON, cfg)
	}
	parsed := make([]RuleConfig[C], 0, len(top.rules))
	anyFailed := false
	for _, ruleJSON := range top.rules {
		var rule RuleConfig[C]
		if err := rule.conditions.parse(ruleJSON); err != nil {
			return err
		}
		if err := parseRule(ruleJSON, &rule.config); err != nil {
			anyFailed = true
			if !isolation {
				return err
			}
			backup := loadBackup(rule.conditions.hashKey())
			if backup == "" || parseRule([]byte(backup), &rule.config) != nil {
				continue // no usable last-good configuration: drop the rule
			}
			parsed = append(parsed, rule)
			continue
		}
		if isolation {
			storeBackup(rule.conditions.hashKey(), string(ruleJSON))
		}
		parsed = append(parsed, rule)
	}
	m.ruleConfig = parsed
	if len(parsed) == 0 {
		if isolation && anyFailed {
			return errors.New("all rules failed to parse and no previous successful config available")
		}
		return errors.New("no valid rules parsed")
	}
	return nil
}

// topLevel is the shape of a plugin configuration.
type topLevel struct {
	keyCount      int      // distinct top-level keys
	hasGlobalKeys bool     // keys other than _rules_
	rules         [][]byte // the rule objects (raw JSON)
}

// splitConfig reads the top level of a configuration. Keys are counted as a
// JSON map would hold them: duplicates once, and the last "_rules_" wins.
func splitConfig(config []byte) (topLevel, error) {
	var top topLevel
	kind := jsonx.KindOf(config)
	if kind == jsonx.Invalid && isBlank(config) {
		return top, nil
	}
	if !jsonx.Valid(config) {
		return top, errors.New("invalid plugin configuration: not valid JSON")
	}
	if kind != jsonx.Object {
		return top, nil
	}
	members, err := jsonx.Members(config)
	if err != nil {
		return top, err
	}
	var rulesRaw []byte
	for i, mem := range members {
		if mem.Key == RULES_KEY {
			rulesRaw = mem.Value
		}
		if !seenBefore(members[:i], mem.Key) {
			top.keyCount++
			if mem.Key != RULES_KEY {
				top.hasGlobalKeys = true
			}
		}
	}
	if rulesRaw != nil {
		top.rules = valuesOf(rulesRaw)
	}
	return top, nil
}

func seenBefore(members []jsonx.Member, key string) bool {
	for _, m := range members {
		if m.Key == key {
			return true
		}
	}
	return false
}

// isBlank reports whether b holds only JSON whitespace.
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// parse reads the match keys of one rule and derives its category. As in a
// JSON path lookup, the first occurrence of each key counts.
func (c *conditions) parse(ruleJSON []byte) error {
	var members []jsonx.Member
	if jsonx.KindOf(ruleJSON) == jsonx.Object {
		members, _ = jsonx.Members(ruleJSON) // already validated
	}
	var seenRoute, seenDomain, seenService, seenPrefix, seenConsumer bool
	for _, mem := range members {
		switch mem.Key {
		case MATCH_ROUTE_KEY:
			if !seenRoute {
				seenRoute = true
				c.routes = stringList(mem.Value)
			}
		case MATCH_DOMAIN_KEY:
			if !seenDomain {
				seenDomain = true
				for _, h := range valuesOf(mem.Value) {
					c.hosts = append(c.hosts, newHostMatcher(stringOf(h)))
				}
			}
		case MATCH_SERVICE_KEY:
			if !seenService {
				seenService = true
				c.services = stringList(mem.Value)
			}
		case MATCH_ROUTE_PREFIX_KEY:
			if !seenPrefix {
				seenPrefix = true
				c.routePrefixs = stringList(mem.Value)
			}
		case MATCH_CONSUMER_KEY:
			if !seenConsumer {
				seenConsumer = true
				c.consumers = stringList(mem.Value)
			}
		}
	}
	hasRoute := len(c.routes) > 0
	hasService := len(c.services) > 0
	hasPrefix := len(c.routePrefixs) > 0
	switch {
	case hasRoute && hasService:
		c.category = RouteAndService
	case hasRoute:
		c.category = Route
	case len(c.hosts) > 0:
		c.category = Host
	case hasService:
		c.category = Service
	case hasPrefix && len(c.consumers) > 0:
		c.category = RoutePrefixAndConsumer
	case hasPrefix:
		c.category = RoutePrefix
	default:
		return errNoMatchKey
	}
	return nil
}

// newHostMatcher parses a domain pattern. Matching is case-sensitive, as in
// Higress: "foo.com" does not match the Host "FOO.com".
func newHostMatcher(pattern string) HostMatcher {
	switch {
	case strings.HasPrefix(pattern, "*"):
		return HostMatcher{matchType: Suffix, host: pattern[1:]}
	case strings.HasSuffix(pattern, "*"):
		return HostMatcher{matchType: Prefix, host: pattern[:len(pattern)-1]}
	}
	return HostMatcher{matchType: Exact, host: pattern}
}

// valuesOf returns the elements of a JSON array; null gives none and any
// other value is a list of itself.
func valuesOf(raw []byte) [][]byte {
	switch jsonx.KindOf(raw) {
	case jsonx.Array:
		elems, _ := jsonx.Elements(raw) // already validated
		return elems
	case jsonx.Null, jsonx.Invalid:
		return nil
	}
	return [][]byte{raw}
}

// stringList collects the distinct non-empty strings of a JSON list (see
// valuesOf and stringOf), in order.
func stringList(raw []byte) []string {
	var list []string
	for _, v := range valuesOf(raw) {
		if s := stringOf(v); s != "" && !contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// stringOf converts a JSON value to text: a string is decoded, null is "",
// and any other value (number, boolean, object, array) is its JSON text.
func stringOf(raw []byte) string {
	switch jsonx.KindOf(raw) {
	case jsonx.String:
		s, _ := jsonx.Unquote(raw)
		return s
	case jsonx.Null:
		return ""
	}
	return string(raw)
}

// HasGlobalConfig reports whether a global configuration applies to
// requests that match no rule.
func (m RuleMatcher[C]) HasGlobalConfig() bool { return m.hasGlobalConfig }

// Rules returns the number of parsed rules.
func (m RuleMatcher[C]) Rules() int { return len(m.ruleConfig) }

// Match returns the configuration for a request with the given :authority
// host, route name and upstream cluster name: the configuration of the first
// rule that matches, else the global configuration, else nil (the plugin
// does not apply). The result points to a copy; changing it does not affect
// m.
//
//   - Host rules: the port is removed from host (an IPv6 literal keeps its
//     brackets: "[::1]:80" becomes "[::1]"), then "*" matches any host,
//     "*suffix" a host ending in suffix, "prefix*" a host starting with
//     prefix, and anything else the host exactly. As in Higress the
//     comparison is case-sensitive: "foo.com" does not match "FOO.com".
//   - Route rules: routeName is one of the listed routes.
//   - Service rules: clusterName has the form
//     "outbound|<port>|<subset>|<fqdn>"; an entry "fqdn:port" matches fqdn and
//     port, an entry "fqdn" matches fqdn on any port.
//   - RouteAndService rules: both the route and the service match.
//   - RoutePrefix rules: routeName starts with one of the prefixes.
//   - RoutePrefixAndConsumer rules never match here (there is no consumer);
//     see MatchWithConsumer.
func (m RuleMatcher[C]) Match(host, routeName, clusterName string) *C {
	return m.match(request{host: host, route: routeName, cluster: clusterName})
}

// MatchWithConsumer is Match for requests with an authenticated consumer:
// RoutePrefixAndConsumer rules match when routeName starts with one of the
// rule's prefixes and consumer is one of its consumers.
func (m RuleMatcher[C]) MatchWithConsumer(host, routeName, clusterName, consumer string) *C {
	return m.match(request{host: host, route: routeName, cluster: clusterName,
		consumer: consumer, consumerKnown: true})
}

// MatchInto is Match that copies the configuration into dst instead of
// a new copy: it reports whether one applies, and leaves dst unchanged
// when none does.
func (m *RuleMatcher[C]) MatchInto(dst *C, host, routeName, clusterName string) bool {
	return copyTo(dst, m.lookup(&request{host: host, route: routeName, cluster: clusterName}))
}

// MatchWithConsumerInto is MatchWithConsumer that copies the configuration
// into dst, as MatchInto.
func (m *RuleMatcher[C]) MatchWithConsumerInto(dst *C, host, routeName, clusterName, consumer string) bool {
	return copyTo(dst, m.lookup(&request{host: host, route: routeName, cluster: clusterName,
		consumer: consumer, consumerKnown: true}))
}

func copyTo[C any](dst, c *C) bool {
	if c == nil {
		return false
	}
	*dst = *c
	return true
}

func (m RuleMatcher[C]) match(r request) *C {
	if c := m.lookup(&r); c != nil {
		cp := *c
		return &cp
	}
	return nil
}

// lookup returns the matching configuration itself (not a copy), or nil.
func (m *RuleMatcher[C]) lookup(r *request) *C {
	for i := range m.ruleConfig {
		if m.ruleConfig[i].conditions.matches(r) {
			return &m.ruleConfig[i].config
		}
	}
	if m.hasGlobalConfig {
		return &m.globalConfig
	}
	return nil
}

// request holds what a request is matched on; derived values are computed
// on first use.
type request struct {
	host, route, cluster string

	normHost  string
	hostReady bool

	svc      service
	svcReady bool

	consumer      string
	consumerKnown bool
	readConsumer  func() string // fetches the consumer when not known
}

func (r *request) normalizedHost() string {
	if !r.hostReady {
		r.normHost, r.hostReady = stripPortFromHost(r.host), true
	}
	return r.normHost
}

func (r *request) service() service {
	if !r.svcReady {
		r.svc, r.svcReady = parseClusterName(r.cluster), true
	}
	return r.svc
}

func (r *request) consumerName() (string, bool) {
	if !r.consumerKnown && r.readConsumer != nil {
		r.consumer, r.consumerKnown = r.readConsumer(), true
	}
	return r.consumer, r.consumerKnown
}

// matches reports whether a request satisfies the conditions.
func (c *conditions) matches(r *request) bool {
	switch c.category {
	case Host:
		return hostMatch(c.hosts, r.normalizedHost())
	case Route:
		return contains(c.routes, r.route)
	case Service:
		return serviceMatch(c.services, r.service())
	case RouteAndService:
		return contains(c.routes, r.route) && serviceMatch(c.services, r.service())
	case RoutePrefix:
		return prefixMatch(c.routePrefixs, r.route)
	case RoutePrefixAndConsumer:
		if !prefixMatch(c.routePrefixs, r.route) {
			return false
		}
		consumer, ok := r.consumerName()
		return ok && contains(c.consumers, consumer)
	}
	return false
}

// stripPortFromHost removes a trailing ":port" from an authority, leaving
// IPv6 literals ("[::1]") intact.
func stripPortFromHost(host string) string {
	colon := strings.LastIndexByte(host, ':')
	if colon < 0 {
		return host
	}
	if bracket := strings.LastIndexByte(host, ']'); bracket > colon {
		return host // the colon is inside an IPv6 literal without a port
	}
	return host[:colon]
}

func hostMatch(hosts []HostMatcher, host string) bool {
	for _, h := range hosts {
		switch h.matchType {
		case Suffix:
			if strings.HasSuffix(host, h.host) {
				return true
			}
		case Prefix:
			if strings.HasPrefix(host, h.host) {
				return true
			}
		case Exact:
			if host == h.host {
				return true
			}
		}
	}
	return false
}

func prefixMatch(prefixes []string, routeName string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(routeName, p) {
			return true
		}
	}
	return false
}

// service is a parsed cluster name "outbound|port|subset|fqdn".
type service struct {
	ok         bool
	port, fqdn string
}

func parseClusterName(name string) service {
	first := strings.IndexByte(name, '|')
	if first < 0 {
		return service{}
	}
	rest := name[first+1:]
	second := strings.IndexByte(rest, '|')
	if second < 0 {
		return service{}
	}
	third := strings.IndexByte(rest[second+1:], '|')
	if third < 0 {
		return service{}
	}
	fqdn := rest[second+1+third+1:]
	if strings.IndexByte(fqdn, '|') >= 0 {
		return service{}
	}
	return service{ok: true, port: rest[:second], fqdn: fqdn}
}

func serviceMatch(services []string, svc service) bool {
	if !svc.ok {
		return false
	}
	for _, entry := range services {
		if colon := strings.LastIndexByte(entry, ':'); colon >= 0 &&
			entry[:colon] == svc.fqdn && entry[colon+1:] == svc.port {
			return true
		}
		if entry == svc.fqdn {
			return true
		}
	}
	return false
}
