package matcher

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/sdk/internal/jsonx"
)

type testConfig struct {
	Name string
	Raw  string // the JSON the parser received
}

// parseName reads the "name" member; a member "fail" makes it fail.
func parseName(json []byte, c *testConfig) error {
	c.Raw = string(json)
	ms, err := jsonx.Members(json)
	if err != nil && jsonx.KindOf(json) == jsonx.Object {
		return err
	}
	for _, m := range ms {
		switch m.Key {
		case "name":
			c.Name, _ = jsonx.Unquote(m.Value)
		case "fail":
			s, _ := jsonx.Unquote(m.Value)
			return errors.New(s)
		}
	}
	return nil
}

type isolation bool

func (i isolation) IsRuleLevelConfigIsolation() bool { return bool(i) }

func mustParse(t *testing.T, config string) RuleMatcher[testConfig] {
	t.Helper()
	var m RuleMatcher[testConfig]
	if err := m.ParseRuleConfig(isolation(false), []byte(config), parseName, nil); err != nil {
		t.Fatalf("ParseRuleConfig(%s): %v", config, err)
	}
	return m
}

func name(c *testConfig) string {
	if c == nil {
		return "<nil>"
	}
	return c.Name
}

type req struct{ host, route, cluster string }

func expectMatches(t *testing.T, m RuleMatcher[testConfig], cases map[req]string) {
	t.Helper()
	for r, want := range cases {
		if got := name(m.Match(r.host, r.route, r.cluster)); got != want {
			t.Errorf("Match(%q, %q, %q) = %s, want %s", r.host, r.route, r.cluster, got, want)
		}
		dst := testConfig{Name: "<nil>"}
		m.MatchInto(&dst, r.host, r.route, r.cluster)
		if dst.Name != want {
			t.Errorf("MatchInto(%q, %q, %q) = %s, want %s", r.host, r.route, r.cluster, dst.Name, want)
		}
	}
}

// The exact JSON the Higress controller produces for a WasmPlugin with a
// defaultConfig and three matchRules (ingress, domain, service).
const controllerJSON = `{"block_urls":["swagger.html"],"name":"global",
 "_rules_":[
   {"block_bodies":["foo"],"_match_route_":["default/foo"],"name":"r-route"},
   {"block_bodies":["foo","bar"],"_match_domain_":["*.example.com"],"name":"r-domain"},
   {"block_urls":["x"],"_match_service_":["foo.default.svc.cluster.local:8080"],"name":"r-service"}]}`

func TestControllerConfigShape(t *testing.T) {
	m := mustParse(t, controllerJSON)
	if !m.HasGlobalConfig() || m.Rules() != 3 {
		t.Fatalf("global=%v rules=%d", m.HasGlobalConfig(), m.Rules())
	}
	if m.globalConfig.Raw != controllerJSON {
		t.Error("global parser did not receive the whole configuration")
	}
	wantCats := []Category{Route, Host, Service}
	for i, r := range m.ruleConfig {
		if r.category != wantCats[i] {
			t.Errorf("rule %d category %d, want %d", i, r.category, wantCats[i])
		}
	}
	// The rule parser receives the rule JSON including its _match_* keys.
	if got := m.ruleConfig[0].config.Raw; got != `{"block_bodies":["foo"],"_match_route_":["default/foo"],"name":"r-route"}` {
		t.Errorf("rule JSON = %s", got)
	}
	expectMatches(t, m, map[req]string{
		{"foo.com", "default/foo", ""}:                                           "r-route",
		{"www.example.com", "default/foo", ""}:                                   "r-route",
		{"www.example.com", "other", ""}:                                         "r-domain",
		{"www.example.com:8443", "", ""}:                                         "r-domain",
		{"example.com", "", ""}:                                                  "global",
		{"a.com", "x", "outbound|8080||foo.default.svc.cluster.local"}:           "r-service",
		{"a.com", "x", "outbound|9090||foo.default.svc.cluster.local"}:           "global",
		{"a.com", "x", "outbound|8080|v1|foo.default.svc.cluster.local"}:         "r-service",
		{"a.com", "default/foo", "outbound|8080||foo.default.svc.cluster.local"}: "r-route",
		{"", "", ""}: "global",
	})
}

func TestOnlyRulesMeansNoGlobal(t *testing.T) {
	m := mustParse(t, `{"_rules_":[{"_match_route_":["r1"],"name":"one"}]}`)
	if m.HasGlobalConfig() || m.Rules() != 1 {
		t.Fatal("unexpected global")
	}
	expectMatches(t, m, map[req]string{
		{"h", "r1", ""}: "one",
		{"h", "r2", ""}: "<nil>",
	})
}

func TestCategoryPrecedence(t *testing.T) {
	cases := []struct {
		rule string
		cat  Category
	}{
		{`"_match_route_":["r"]`, Route},
		{`"_match_domain_":["d"]`, Host},
		{`"_match_service_":["s"]`, Service},
		{`"_match_route_prefix_":["p"]`, RoutePrefix},
		{`"_match_route_":["r"],"_match_service_":["s"]`, RouteAndService},
		{`"_match_route_":["r"],"_match_domain_":["d"]`, Route},
		{`"_match_domain_":["d"],"_match_route_":["r"]`, Route},
		{`"_match_route_":["r"],"_match_route_prefix_":["p"]`, Route},
		{`"_match_domain_":["d"],"_match_service_":["s"]`, Host},
		{`"_match_domain_":["d"],"_match_route_prefix_":["p"]`, Host},
		{`"_match_service_":["s"],"_match_route_prefix_":["p"]`, Service},
		{`"_match_route_prefix_":["p"],"_match_consumer_":["c"]`, RoutePrefixAndConsumer},
		{`"_match_route_":[""],"_match_domain_":["d"]`, Host}, // empty route names are dropped
		{`"_match_route_":[],"_match_service_":["s"]`, Service},
		{`"_match_route_":"r"`, Route}, // a single value counts as a list of one
	}
	for _, c := range cases {
		m := mustParse(t, `{"_rules_":[{`+c.rule+`}]}`)
		if got := m.ruleConfig[0].category; got != c.cat {
			t.Errorf("%s: category %d, want %d", c.rule, got, c.cat)
		}
	}
	// A rule with route and domain matches by route only: the domain is ignored.
	m := mustParse(t, `{"_rules_":[{"_match_route_":["r"],"_match_domain_":["a.com"],"name":"rd"}]}`)
	expectMatches(t, m, map[req]string{
		{"a.com", "r", ""}:     "rd",
		{"b.com", "r", ""}:     "rd",
		{"a.com", "other", ""}: "<nil>",
	})
	// RouteAndService needs both.
	m = mustParse(t, `{"_rules_":[{"_match_route_":["r"],"_match_service_":["svc"],"name":"rs"}]}`)
	expectMatches(t, m, map[req]string{
		{"", "r", "outbound|80||svc"}:      "rs",
		{"", "r", "outbound|80||other"}:    "<nil>",
		{"", "x", "outbound|80||svc"}:      "<nil>",
		{"", "r", ""}:                      "<nil>",
		{"", "r", "outbound|80|extra|svc"}: "rs",
	})
}

func TestHostWildcards(t *testing.T) {
	m := mustParse(t, `{"_rules_":[
		{"_match_domain_":["www.exact.com"],"name":"exact"},
		{"_match_domain_":["*.example.com"],"name":"suffix"},
		{"_match_domain_":["api.*"],"name":"prefix"},
		{"_match_domain_":["*bare.org"],"name":"bare"},
		{"_match_domain_":["[::1]","10.0.0.1","[2001:DB8::1]"],"name":"ip"}]}`)
	expectMatches(t, m, map[req]string{
		{"www.exact.com", "", ""}:       "exact",
		{"www.exact.com:8080", "", ""}:  "exact",
		{"exact.com", "", ""}:           "<nil>",
		{"www.exact.com.cn", "", ""}:    "<nil>",
		{"a.example.com", "", ""}:       "suffix",
		{"a.b.example.com:443", "", ""}: "suffix",
		{"example.com", "", ""}:         "<nil>",
		{"api.foo.io", "", ""}:          "prefix",
		{"api.", "", ""}:                "prefix",
		{"api", "", ""}:                 "<nil>",
		{"bare.org", "", ""}:            "bare",
		{"notbare.org", "", ""}:         "bare",
		{"[::1]", "", ""}:               "ip",
		{"[::1]:8080", "", ""}:          "ip",
		{"10.0.0.1:80", "", ""}:         "ip",
		{"[2001:DB8::1]:443", "", ""}:   "ip",
		{"[2001:db8::1]:443", "", ""}:   "<nil>", // case-sensitive, as in Higress
		{"[2001:db8::2]:443", "", ""}:   "<nil>",
		{"WWW.Exact.COM", "", ""}:       "<nil>",
		{"A.EXAMPLE.COM:8080", "", ""}:  "<nil>",
		{"a.EXAMPLE.com:8080", "", ""}:  "<nil>",
		{"Api.Foo", "", ""}:             "<nil>",
		{"", "", ""}:                    "<nil>",
	})
	// "*" matches every host, including an empty one.
	m = mustParse(t, `{"_rules_":[{"_match_domain_":["*"],"name":"any"}]}`)
	expectMatches(t, m, map[req]string{
		{"anything.io", "", ""}: "any",
		{"", "", ""}:            "any",
		{"[::1]:1", "", ""}:     "any",
	})
	// Parsed matchers: patterns kept as written, "*" is a Suffix with empty text.
	m = mustParse(t, `{"_rules_":[{"_match_domain_":["*.Example.com","WWW.*","*","Abc.com",""]}]}`)
	want := []HostMatcher{{Suffix, ".Example.com"}, {Prefix, "WWW."}, {Suffix, ""}, {Exact, "Abc.com"}, {Exact, ""}}
	if !reflect.DeepEqual(m.ruleConfig[0].hosts, want) {
		t.Errorf("hosts = %+v, want %+v", m.ruleConfig[0].hosts, want)
	}
}

func TestStripPortFromHost(t *testing.T) {
	cases := map[string]string{
		"example.com":        "example.com",
		"example.com:80":     "example.com",
		"example.com:":       "example.com",
		"[::1]":              "[::1]",
		"[::1]:8080":         "[::1]",
		"[fe80::1%eth0]:443": "[fe80::1%eth0]",
		"::1":                ":",
		"":                   "",
		"1.2.3.4:5":          "1.2.3.4",
	}
	for in, want := range cases {
		if got := stripPortFromHost(in); got != want {
			t.Errorf("stripPortFromHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServiceMatch(t *testing.T) {
	cases := []struct {
		entry, cluster string
		want           bool
	}{
		{"qwen.dns", "outbound|443||qwen.dns", true},
		{"qwen.dns:443", "outbound|443||qwen.dns", true},
		{"qwen.dns:80", "outbound|443||qwen.dns", false},
		{"moonshot.dns:443", "outbound|443||qwen.dns", false},
		{"qwen.dns:", "outbound|443||qwen.dns", false},
		{"qwen.dns", "outbound|443|v1|qwen.dns", true},
		{"qwen.dns", "qwen.dns", false},
		{"qwen.dns", "outbound|443|qwen.dns", false},
		{"qwen.dns", "outbound|443||qwen.dns|x", false},
		{"qwen.dns", "", false},
		{"QWEN.dns", "outbound|443||qwen.dns", false}, // service names are matched exactly
		{"a:b:443", "outbound|443||a:b", true},
	}
	for _, c := range cases {
		got := serviceMatch([]string{c.entry}, parseClusterName(c.cluster))
		if got != c.want {
			t.Errorf("entry %q cluster %q: %v, want %v", c.entry, c.cluster, got, c.want)
		}
	}
	m := mustParse(t, `{"_rules_":[{"_match_service_":["test1.dns","test2.static:8080"],"name":"svc"}]}`)
	expectMatches(t, m, map[req]string{
		{"", "", "outbound|80||test1.dns"}:      "svc",
		{"", "", "outbound|8080||test2.static"}: "svc",
		{"", "", "outbound|8081||test2.static"}: "<nil>",
	})
}

func TestRoutePrefix(t *testing.T) {
	m := mustParse(t, `{"n":1,"name":"g","_rules_":[{"_match_route_prefix_":["api1","api2/"],"name":"pfx"}]}`)
	expectMatches(t, m, map[req]string{
		{"", "api1", ""}:       "pfx",
		{"", "api1-x", ""}:     "pfx",
		{"", "api2/route", ""}: "pfx",
		{"", "api2", ""}:       "g",
		{"", "xapi1", ""}:      "g",
	})
}

func TestFirstMatchWins(t *testing.T) {
	m := mustParse(t, `{"_rules_":[
		{"_match_domain_":["*.a.com"],"name":"first"},
		{"_match_route_":["r"],"name":"second"},
		{"_match_domain_":["x.a.com"],"name":"third"}]}`)
	expectMatches(t, m, map[req]string{
		{"x.a.com", "r", ""}: "first",
		{"b.com", "r", ""}:   "second",
		{"x.a.com", "", ""}:  "first",
	})
	m = mustParse(t, `{"_rules_":[
		{"_match_route_":["r"],"name":"route"},
		{"_match_domain_":["*"],"name":"all"}]}`)
	expectMatches(t, m, map[req]string{
		{"x.a.com", "r", ""}: "route",
		{"x.a.com", "q", ""}: "all",
	})
}

func TestEmptyConfig(t *testing.T) {
	for _, cfg := range []string{"", "  \n", "{}", " { } ", "null", "[]", `"x"`, "1"} {
		var m RuleMatcher[testConfig]
		if err := m.ParseRuleConfig(nil, []byte(cfg), parseName, nil); err != nil {
			t.Errorf("%q: %v", cfg, err)
			continue
		}
		if !m.HasGlobalConfig() || m.Rules() != 0 {
			t.Errorf("%q: not global", cfg)
		}
		if m.globalConfig.Raw != cfg {
			t.Errorf("%q: parser got %q", cfg, m.globalConfig.Raw)
		}
		if c := m.Match("h", "r", "c"); c == nil || c.Raw != cfg {
			t.Errorf("%q: Match = %v", cfg, c)
		}
	}
	// The parser's verdict on an empty configuration is returned.
	var m RuleMatcher[testConfig]
	err := m.ParseRuleConfig(nil, nil, func([]byte, *testConfig) error { return errors.New("config required") }, nil)
	if err == nil || err.Error() != "config required" {
		t.Errorf("err = %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ config, err string }{
		{`{"_rules_":[]}`, "parse config failed, no valid rules; global config parse error:<nil>"},
		{`{"_rules_":null}`, "parse config failed, no valid rules; global config parse error:<nil>"},
		{`{"fail":"bad global"}`, "parse config failed, no valid rules; global config parse error:bad global"},
		{`{"fail":"bad global","_rules_":[]}`, "parse config failed, no valid rules; global config parse error:bad global"},
		{`{"_rules_":[{"age":16}]}`, "there is at least one of  '_match_route_', '_match_domain_', '_match_service_' and '_match_route_prefix_' can present in configuration."},
		{`{"_rules_":[{"_match_route_":["r"]},{"_match_consumer_":["c"]}]}`, "there is at least one of  '_match_route_', '_match_domain_', '_match_service_' and '_match_route_prefix_' can present in configuration."},
		{`{"_rules_":[{"_match_route_":[""]}]}`, "there is at least one of  '_match_route_', '_match_domain_', '_match_service_' and '_match_route_prefix_' can present in configuration."},
		{`{"_rules_":["str"]}`, "there is at least one of  '_match_route_', '_match_domain_', '_match_service_' and '_match_route_prefix_' can present in configuration."},
		{`{"_rules_":[{"_match_route_":["r"],"fail":"bad rule"}]}`, "bad rule"},
		{`{"_rules_":[{"_match_route_":["r"]},{"_match_route_":["s"],"fail":"second"}]}`, "second"},
		{`{"a":1`, "invalid plugin configuration: not valid JSON"},
		{`{"a":1}}`, "invalid plugin configuration: not valid JSON"},
		{`nope`, "invalid plugin configuration: not valid JSON"},
	}
	for _, c := range cases {
		var m RuleMatcher[testConfig]
		err := m.ParseRuleConfig(isolation(false), []byte(c.config), parseName, nil)
		if err == nil || err.Error() != c.err {
			t.Errorf("%s: err = %v, want %q", c.config, err, c.err)
		}
	}
	// The exact Higress text, two spaces included.
	if !strings.Contains(errNoMatchKey.Error(), "one of  '") {
		t.Error("error text changed")
	}
	// A global config that fails is not used, but valid rules still load.
	var m RuleMatcher[testConfig]
	if err := m.ParseRuleConfig(nil, []byte(`{"fail":"g","_rules_":[{"_match_route_":["r"],"name":"ok"}]}`), parseName, nil); err != nil {
		t.Fatal(err)
	}
	if m.HasGlobalConfig() || name(m.Match("", "r", "")) != "ok" || m.Match("", "x", "") != nil {
		t.Error("failed global config handling")
	}
}

func TestRulesValueShapes(t *testing.T) {
	// A single object instead of an array is one rule.
	m := mustParse(t, `{"_rules_":{"_match_route_":["r"],"name":"one"}}`)
	if m.Rules() != 1 || name(m.Match("", "r", "")) != "one" {
		t.Error("object _rules_")
	}
	// Match values: numbers and booleans are converted to text, empty
	// strings and nulls are dropped.
	m = mustParse(t, `{"_rules_":[{"_match_route_":[123,"",null,true,1.5,"r","r"],"name":"n"}]}`)
	want := []string{"123", "true", "1.5", "r"}
	if !reflect.DeepEqual(m.ruleConfig[0].routes, want) {
		t.Errorf("routes = %v", m.ruleConfig[0].routes)
	}
	// Escaped strings are decoded.
	m = mustParse(t, `{"_rules_":[{"_match_route_":["ns\/r\u0031"],"name":"esc"}]}`)
	if name(m.Match("", "ns/r1", "")) != "esc" {
		t.Error("escaped route")
	}
	// Duplicate keys: the last _rules_ counts; within a rule the first match key counts.
	m = mustParse(t, `{"_rules_":[{"_match_route_":["old"]}],"_rules_":[{"_match_route_":["a"],"_match_route_":["b"],"name":"dup"}]}`)
	if m.HasGlobalConfig() || m.Rules() != 1 {
		t.Fatalf("dup: global=%v rules=%d", m.HasGlobalConfig(), m.Rules())
	}
	expectMatches(t, m, map[req]string{{"", "a", ""}: "dup", {"", "b", ""}: "<nil>", {"", "old", ""}: "<nil>"})
}

func TestOverrideConfig(t *testing.T) {
	type authConfig struct {
		consumers []string
		allow     []string
	}
	list := func(json []byte, key string) []string {
		ms, _ := jsonx.Members(json)
		var out []string
		for _, m := range ms {
			if m.Key == key {
				es, _ := jsonx.Elements(m.Value)
				for _, e := range es {
					s, _ := jsonx.Unquote(e)
					out = append(out, s)
				}
			}
		}
		return out
	}
	parseGlobal := func(json []byte, c *authConfig) error {
		c.consumers = list(json, "consumers")
		if c.consumers != nil && list(json, "allow") != nil {
			return errors.New("consumers and allow should not be configured at the same level")
		}
		return nil
	}
	parseRule := func(json []byte, global authConfig, c *authConfig) error {
		if list(json, "consumers") != nil && list(json, "allow") != nil {
			return errors.New("consumers and allow should not be configured at the same level")
		}
		*c = global
		c.allow = list(json, "allow")
		return nil
	}
	var m RuleMatcher[authConfig]
	err := m.ParseRuleConfig(nil, []byte(`{"consumers":["c1","c2","c3"],"_rules_":[{"_match_route_":["r1","r2"],"allow":["c1","c3"]}]}`), parseGlobal, parseRule)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Match("", "r2", "")
	if got == nil || !reflect.DeepEqual(got.consumers, []string{"c1", "c2", "c3"}) || !reflect.DeepEqual(got.allow, []string{"c1", "c3"}) {
		t.Errorf("rule config = %+v", got)
	}
	if g := m.Match("", "x", ""); g == nil || g.allow != nil || len(g.consumers) != 3 {
		t.Errorf("global = %+v", g)
	}
	err = m.ParseRuleConfig(nil, []byte(`{"_rules_":[{"_match_route_":["r1"],"consumers":["c1"],"allow":["c1"]}]}`), parseGlobal, parseRule)
	if err == nil || err.Error() != "consumers and allow should not be configured at the same level" {
		t.Errorf("err = %v", err)
	}
}

func TestIsolationFallback(t *testing.T) {
	clear(ruleBackup)
	t.Cleanup(func() { clear(ruleBackup) })
	on := isolation(true)

	var m RuleMatcher[testConfig]
	good := `{"_rules_":[{"_match_route_":["r1"],"name":"v1"},{"_match_domain_":["*.x.com"],"name":"d1"}]}`
	if err := m.ParseRuleConfig(on, []byte(good), parseName, nil); err != nil {
		t.Fatal(err)
	}
	if len(ruleBackup) != 2 {
		t.Fatalf("backup has %d entries", len(ruleBackup))
	}
	if ruleBackup["cat:0|routes:r1"] != `{"_match_route_":["r1"],"name":"v1"}` {
		t.Errorf("backup = %v", ruleBackup)
	}

	// The route rule breaks, the domain rule changes, a new rule breaks and
	// has no backup: the broken rule keeps its last good config, the new one
	// is dropped.
	update := `{"_rules_":[
		{"_match_route_":["r1"],"name":"v2","fail":"broken"},
		{"_match_domain_":["*.x.com"],"name":"d2"},
		{"_match_route_":["new"],"fail":"broken too"}]}`
	if err := m.ParseRuleConfig(on, []byte(update), parseName, nil); err != nil {
		t.Fatal(err)
	}
	if m.Rules() != 2 {
		t.Fatalf("rules = %d", m.Rules())
	}
	expectMatches(t, m, map[req]string{
		{"", "r1", ""}:      "v1",
		{"a.x.com", "", ""}: "d2",
		{"", "new", ""}:     "<nil>",
	})

	// Without isolation the same update fails.
	if err := m.ParseRuleConfig(isolation(false), []byte(update), parseName, nil); err == nil || err.Error() != "broken" {
		t.Errorf("no isolation: err = %v", err)
	}
	if err := m.ParseRuleConfig(nil, []byte(update), parseName, nil); err == nil || err.Error() != "broken" {
		t.Errorf("nil ctx: err = %v", err)
	}

	// All rules failing without any backup is an error.
	allBad := `{"_rules_":[{"_match_route_":["zz"],"fail":"x"}]}`
	err := m.ParseRuleConfig(on, []byte(allBad), parseName, nil)
	if err == nil || err.Error() != "all rules failed to parse and no previous successful config available" {
		t.Errorf("all bad: err = %v", err)
	}

	// A backup that no longer parses is skipped too.
	ruleBackup["cat:0|routes:yy"] = `{"fail":"still bad"}`
	err = m.ParseRuleConfig(on, []byte(`{"_rules_":[{"_match_route_":["yy"],"fail":"x"}]}`), parseName, nil)
	if err == nil {
		t.Error("bad backup accepted")
	}

	// A global config plus a failed rule: the global still applies.
	err = m.ParseRuleConfig(on, []byte(`{"name":"g","_rules_":[{"_match_route_":["zz"],"fail":"x"}]}`), parseName, nil)
	if err == nil {
		t.Error("expected all-rules-failed error even with global config")
	}
}

func TestGenerateHashKey(t *testing.T) {
	m := mustParse(t, `{"_rules_":[
		{"_match_route_":["b","a"],"_match_service_":["s2","s1:80"]},
		{"_match_domain_":["www.*","*.B.com","a.com"]},
		{"_match_route_prefix_":["p2","p1"]},
		{"_match_route_prefix_":["p"],"_match_consumer_":["c"]}]}`)
	want := []string{
		"cat:4|routes:a,b|services:s1:80,s2",
		"cat:1|hosts:0:www.,1:a.com,2:.B.com",
		"cat:3|prefixes:p1,p2",
		"cat:5|prefixes:p",
	}
	for i, w := range want {
		if got := m.ruleConfig[i].GenerateHashKey(); got != w {
			t.Errorf("rule %d: %q, want %q", i, got, w)
		}
	}
	var empty RuleConfig[testConfig]
	if empty.GenerateHashKey() != "cat:0" {
		t.Error("empty hash key")
	}
}

func TestConsumerRules(t *testing.T) {
	m := mustParse(t, `{"name":"g","_rules_":[{"_match_route_prefix_":["api"],"_match_consumer_":["alice"],"name":"alice-api"}]}`)
	if name(m.MatchWithConsumer("", "api-1", "", "alice")) != "alice-api" {
		t.Error("consumer match")
	}
	if name(m.MatchWithConsumer("", "api-1", "", "bob")) != "g" {
		t.Error("other consumer")
	}
	if name(m.MatchWithConsumer("", "web", "", "alice")) != "g" {
		t.Error("other route")
	}
	if name(m.Match("", "api-1", "")) != "g" {
		t.Error("Match without consumer")
	}
}

func TestMatchReturnsCopy(t *testing.T) {
	m := mustParse(t, `{"name":"g","_rules_":[{"_match_route_":["r"],"name":"rule"}]}`)
	c := m.Match("", "r", "")
	c.Name = "changed"
	g := m.Match("", "x", "")
	g.Name = "changed"
	if name(m.Match("", "r", "")) != "rule" || name(m.Match("", "x", "")) != "g" {
		t.Error("Match result aliases the matcher")
	}
}

func TestReparseReplaces(t *testing.T) {
	var m RuleMatcher[testConfig]
	if err := m.ParseRuleConfig(nil, []byte(`{"name":"g","_rules_":[{"_match_route_":["r"]}]}`), parseName, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.ParseRuleConfig(nil, []byte(`{"_rules_":[{"_match_route_":["s"],"name":"s"}]}`), parseName, nil); err != nil {
		t.Fatal(err)
	}
	if m.HasGlobalConfig() || m.Rules() != 1 || m.Match("", "r", "") != nil {
		t.Error("state from the previous parse survived")
	}
}

func TestNilParser(t *testing.T) {
	var m RuleMatcher[testConfig]
	if err := m.ParseRuleConfig(nil, []byte(`{"a":1,"_rules_":[{"_match_route_":["r"]}]}`), nil, nil); err != nil {
		t.Fatal(err)
	}
	if !m.HasGlobalConfig() || m.Rules() != 1 {
		t.Error("nil parser")
	}
}

func TestZeroMatcher(t *testing.T) {
	var m RuleMatcher[testConfig]
	if m.Match("h", "r", "c") != nil || m.HasGlobalConfig() || m.Rules() != 0 {
		t.Error("zero matcher")
	}
}

func BenchmarkMatch(b *testing.B) {
	var m RuleMatcher[testConfig]
	if err := m.ParseRuleConfig(nil, []byte(controllerJSON), parseName, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if m.Match("a.com:80", "x", "outbound|8080||foo.default.svc.cluster.local") == nil {
			b.Fatal("nil")
		}
	}
}

func TestMatchIntoCopies(t *testing.T) {
	m := mustParse(t, `{"name":"global","_rules_":[{"_match_domain_":["a.example"],"name":"rule"}]}`)
	var dst testConfig
	if !m.MatchWithConsumerInto(&dst, "a.example", "", "", "") || dst.Name != "rule" {
		t.Fatalf("rule match: %v %+v", m.MatchWithConsumerInto(&dst, "a.example", "", "", ""), dst)
	}
	dst.Name = "changed"
	if got := name(m.Match("a.example", "", "")); got != "rule" {
		t.Fatalf("changing the copy changed the matcher: %s", got)
	}
	var none RuleMatcher[testConfig]
	dst = testConfig{Name: "kept"}
	if none.MatchInto(&dst, "a.example", "", "") || dst.Name != "kept" {
		t.Fatalf("no match must leave dst alone: %+v", dst)
	}
	if n := testing.AllocsPerRun(100, func() { m.MatchInto(&dst, "b.example", "", "") }); n != 0 {
		t.Fatalf("MatchInto allocates %.1f times", n)
	}
}
