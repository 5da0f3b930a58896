package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSortChain(t *testing.T) {
	mk := func(name string, phase Phase, p int32, has bool) Plugin {
		return Plugin{Name: name, Namespace: "higress-system", Phase: phase, Priority: p, HasPriority: has}
	}
	chain := []Plugin{
		mk("default-low", PhaseUnspecified, 1, true),
		mk("stats", PhaseStats, 0, false),
		mk("authz", PhaseAuthz, 10, true),
		mk("authn-b", PhaseAuthn, 100, true),
		mk("authn-unset", PhaseAuthn, 0, false),
		mk("authn-neg", PhaseAuthn, -5, true),
		mk("authn-a", PhaseAuthn, 100, true),
		mk("authn-high", PhaseAuthn, 200, true),
		mk("default-high", PhaseUnspecified, 500, true),
	}
	SortChain(chain)
	var got []string
	for _, p := range chain {
		got = append(got, p.Name)
	}
	want := []string{
		"authn-high", "authn-a", "authn-b", "authn-neg", "authn-unset", // priority desc, ties by name, unset last
		"authz", "stats", "default-high", "default-low",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("chain:\n got %q\nwant %q", got, want)
	}
	if !ChainLess(&chain[0], &chain[1]) || ChainLess(&chain[1], &chain[0]) {
		t.Fatal("ChainLess disagrees with SortChain")
	}
}

func TestSortChainNamespaceTieBreak(t *testing.T) {
	chain := []Plugin{{Name: "a", Namespace: "z"}, {Name: "b", Namespace: "a"}, {Name: "a", Namespace: "a"}}
	SortChain(chain)
	var got []string
	for _, p := range chain {
		got = append(got, p.Key())
	}
	if want := []string{"a/a", "a/b", "z/a"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPathMatcher(t *testing.T) {
	tests := []struct {
		m    PathMatch
		yes  []string
		no   []string
		fail bool
	}{
		{m: PathMatch{Kind: PathPrefix, Value: "/api"}, yes: []string{"/api", "/api/x", "/apix"}, no: []string{"/ap", "/API"}},
		{m: PathMatch{Kind: PathPrefix, Value: "/api", IgnoreCase: true}, yes: []string{"/API/x"}, no: []string{"/ap"}},
		{m: PathMatch{Kind: PathExact, Value: "/a"}, yes: []string{"/a"}, no: []string{"/a/", "/A"}},
		{m: PathMatch{Kind: PathExact, Value: "/a", IgnoreCase: true}, yes: []string{"/A"}, no: []string{"/ab"}},
		{m: PathMatch{Kind: PathSeparatedPrefix, Value: "/api"}, yes: []string{"/api", "/api/", "/api/x"}, no: []string{"/apix", "/ap"}},
		{m: PathMatch{Kind: PathSeparatedPrefix, Value: "/api/"}, yes: []string{"/api", "/api/x"}, no: []string{"/apix"}},
		{m: PathMatch{Kind: PathSeparatedPrefix, Value: "/API", IgnoreCase: true}, yes: []string{"/api/x"}, no: []string{"/apix"}},
		{m: PathMatch{Kind: PathSeparatedPrefix, Value: "/"}, yes: []string{"/", "/x"}},
		{m: PathMatch{Kind: PathRegex, Value: "/users/[0-9]+"}, yes: []string{"/users/12"}, no: []string{"/users/12/x", "/x/users/1"}},
		{m: PathMatch{Kind: PathRegex, Value: "/a|/b"}, yes: []string{"/a", "/b"}, no: []string{"/ab"}},
		{m: PathMatch{Kind: PathRegex, Value: "/(unclosed"}, fail: true},
		{m: PathMatch{Kind: PathMatchKind(99)}, fail: true},
	}
	for _, tc := range tests {
		match, err := tc.m.Matcher()
		if tc.fail {
			if err == nil {
				t.Errorf("%+v: no error", tc.m)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", tc.m, err)
		}
		for _, p := range tc.yes {
			if !match(p) {
				t.Errorf("%+v should match %q", tc.m, p)
			}
		}
		for _, p := range tc.no {
			if match(p) {
				t.Errorf("%+v should not match %q", tc.m, p)
			}
		}
	}
}

func TestSelectVirtualHost(t *testing.T) {
	vhosts := []VirtualHost{
		{Name: "any", Domains: []string{"*"}},
		{Name: "suffix", Domains: []string{"*.example.com"}},
		{Name: "longer-suffix", Domains: []string{"*.api.example.com"}},
		{Name: "prefix", Domains: []string{"foo.*"}},
		{Name: "exact", Domains: []string{"api.example.com", "api.example.com:*"}},
		{Name: "exact-port", Domains: []string{"www.example.com:8080"}},
	}
	tests := map[string]string{
		"api.example.com":      "exact",
		"API.Example.com":      "exact",
		"api.example.com:8000": "exact",
		"v1.api.example.com":   "longer-suffix",
		"x.example.com":        "suffix",
		"example.com":          "any",
		"foo.bar":              "prefix",
		"www.example.com:8080": "exact-port",
		"www.example.com":      "suffix",
		"other":                "any",
	}
	for host, want := range tests {
		i := SelectVirtualHost(vhosts, host)
		if i < 0 || vhosts[i].Name != want {
			t.Errorf("SelectVirtualHost(%q) = %d, want %s", host, i, want)
		}
	}
	if i := SelectVirtualHost(vhosts[1:2], "example.com"); i != -1 {
		t.Errorf("no match = %d, want -1", i)
	}
}

func TestClusterNames(t *testing.T) {
	tests := map[string]string{
		DNSClusterName("redis-svc", 6379):                             "outbound|6379||redis-svc.dns",
		StaticClusterName("token", 80):                                "outbound|80||token.static",
		K8sClusterName("foo", "bar", 8080):                            "outbound|8080||foo.bar.svc.cluster.local",
		OutboundClusterName(8080, "1.0", "foo.bar.svc.cluster.local"): "outbound|8080|1.0|foo.bar.svc.cluster.local",
		OutboundClusterName(80, "", "httpbin.org"):                    "outbound|80||httpbin.org",
	}
	for got, want := range tests {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	n, err := ParseOutboundClusterName("outbound|8080|v1|foo.bar.svc.cluster.local")
	if err != nil || n != (OutboundName{Port: 8080, Subset: "v1", FQDN: "foo.bar.svc.cluster.local"}) {
		t.Errorf("parse = %+v, %v", n, err)
	}
	for _, bad := range []string{"httpbin", "outbound|x||a", "outbound|80|a", "inbound|80||a", "outbound|80||", "outbound|0||a"} {
		if _, err := ParseOutboundClusterName(bad); err == nil {
			t.Errorf("ParseOutboundClusterName(%q) accepted", bad)
		}
	}
}

func TestEffectivePullPolicy(t *testing.T) {
	tests := []struct {
		kind   SourceKind
		ref    string
		policy PullPolicy
		want   PullPolicy
	}{
		{SourceOCI, "r.io/p:latest", PullUnspecified, PullAlways},
		{SourceOCI, "r.io/p", PullUnspecified, PullAlways},
		{SourceOCI, "localhost:5000/p", PullUnspecified, PullAlways},
		{SourceOCI, "r.io/p:1.0", PullUnspecified, PullIfNotPresent},
		{SourceOCI, "localhost:5000/p:1.0", PullUnspecified, PullIfNotPresent},
		{SourceOCI, "r.io/p@sha256:abc", PullUnspecified, PullIfNotPresent},
		{SourceOCI, "r.io/p:latest", PullIfNotPresent, PullIfNotPresent},
		{SourceHTTP, "https://h/latest", PullUnspecified, PullIfNotPresent},
	}
	for _, tc := range tests {
		p := Plugin{Source: PluginSource{Kind: tc.kind, URL: tc.ref}, ImagePullPolicy: tc.policy}
		if got := p.EffectivePullPolicy(); got != tc.want {
			t.Errorf("%s %v: got %v, want %v", tc.ref, tc.policy, got, tc.want)
		}
	}
}

func TestParsePhaseAndNames(t *testing.T) {
	for _, s := range []string{"AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"} {
		p, ok := ParsePhase(s)
		if !ok || p.String() != s {
			t.Errorf("ParsePhase(%q) = %v, %v", s, p, ok)
		}
	}
	if p, ok := ParsePhase(""); !ok || p != PhaseUnspecified {
		t.Error("empty phase")
	}
	if _, ok := ParsePhase("authn"); ok {
		t.Error("lower-case phase accepted")
	}
	if FailReload.String() != "FAIL_RELOAD" || PullIfNotPresent.String() != "IfNotPresent" || DiscoveryStrictDNS.String() != "STRICT_DNS" {
		t.Error("enum names")
	}
	p := Plugin{Name: "key-auth", Namespace: "higress-system"}
	if p.Key() != "higress-system/key-auth" || p.LogName() != "higress-system.key-auth" {
		t.Errorf("key %q log %q", p.Key(), p.LogName())
	}
}

func TestProblemFormatting(t *testing.T) {
	var ps Problems
	ps.Errorf("wasmplugins/foo.yaml", "spec.matchRules[1]", "WasmPlugin higress-system/foo", "invalid match rule has no match condition")
	ps.Warnf("mcpbridges/default.yaml", "", "", "something %d", 1)
	ps.Errorf("", "listeners[0]", "", "bad")
	if got := ps[0].Error(); got != "wasmplugins/foo.yaml: spec.matchRules[1]: invalid match rule has no match condition" {
		t.Errorf("got %q", got)
	}
	if got := ps[1].Error(); got != "mcpbridges/default.yaml: something 1" {
		t.Errorf("got %q", got)
	}
	if got := ps[2].Error(); got != "listeners[0]: bad" {
		t.Errorf("got %q", got)
	}
	if len(ps.Errors()) != 2 || len(ps.Warnings()) != 1 {
		t.Error("filtering")
	}
	err := ps.Err()
	if err == nil || !strings.Contains(err.Error(), "spec.matchRules[1]") || strings.Contains(err.Error(), "something") {
		t.Errorf("Err() = %v", err)
	}
	var p Problem
	if !errors.As(err, &p) {
		t.Error("errors.As(Problem) failed")
	}
	if (Problems{}).Err() != nil || ps.Warnings().Err() != nil {
		t.Error("Err() of no errors must be nil")
	}
}

func validConfig() *Config {
	return &Config{
		Clusters: []Cluster{
			{Name: "a", Discovery: DiscoveryStatic, Endpoints: []Endpoint{{Host: "127.0.0.1", Port: 80}}, Origin: Origin{File: "f", Field: "clusters[0]"}},
			{Name: EchoClusterName, Discovery: DiscoveryBuiltin, Builtin: BuiltinEcho},
		},
		Listeners: []Listener{{
			Name: "l", Address: "127.0.0.1:10000",
			VirtualHosts: []VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []Route{
				{Name: "r", Match: PathMatch{Kind: PathPrefix, Value: "/"}, Cluster: "a", Origin: Origin{File: "f", Field: "routes[0]"}},
			}}},
			Plugins: []Plugin{{Name: "p", Source: PluginSource{Kind: SourceFile, Path: "/p.wasm"}, Origin: Origin{File: "f", Field: "plugins[0]"}}},
		}},
	}
}

func TestValidate(t *testing.T) {
	if ps := validConfig().Validate(); len(ps) != 0 {
		t.Fatalf("valid config: %v", ps)
	}
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"unknown cluster", func(c *Config) { c.Listeners[0].VirtualHosts[0].Routes[0].Cluster = "nope" },
			`f: routes[0]: route "r" targets unknown cluster "nope"`},
		{"two actions", func(c *Config) {
			c.Listeners[0].VirtualHosts[0].Routes[0].DirectResponse = &DirectResponse{Status: 200}
		}, `f: routes[0]: route "r" must have exactly one of a cluster, weighted clusters or a direct response (has 2)`},
		{"bad regex", func(c *Config) {
			c.Listeners[0].VirtualHosts[0].Routes[0].Match = PathMatch{Kind: PathRegex, Value: "("}
		}, "f: routes[0]: invalid path regex"},
		{"static needs IP", func(c *Config) { c.Clusters[0].Endpoints[0].Host = "localhost" },
			`f: clusters[0].endpoints[0]: a STATIC cluster needs an IP address, not "localhost"`},
		{"bad port", func(c *Config) { c.Clusters[0].Endpoints[0].Port = 70000 },
			"f: clusters[0].endpoints[0]: port 70000 is out of range 1-65535"},
		{"no endpoints", func(c *Config) { c.Clusters[0].Endpoints = nil }, `f: clusters[0]: cluster "a" has no endpoints`},
		{"duplicate cluster", func(c *Config) { c.Clusters = append(c.Clusters, c.Clusters[0]) }, `f: clusters[0]: duplicate cluster name "a"`},
		{"bad listen address", func(c *Config) { c.Listeners[0].Address = "127.0.0.1" }, `address "127.0.0.1" is not host:port`},
		{"bad listen port", func(c *Config) { c.Listeners[0].Address = "127.0.0.1:99999" }, `address "127.0.0.1:99999" has an invalid port "99999"`},
		{"duplicate plugin", func(c *Config) { c.Listeners[0].Plugins = append(c.Listeners[0].Plugins, c.Listeners[0].Plugins[0]) },
			`f: plugins[0]: duplicate plugin "p" in the chain of listener "l"`},
		{"bad sha", func(c *Config) { c.Listeners[0].Plugins[0].SHA256 = "ABC" }, `f: plugins[0]: sha256 "ABC" is not 64 lowercase hex digits`},
		{"bad phase", func(c *Config) { c.Listeners[0].Plugins[0].Phase = 9 }, "f: plugins[0]: unknown phase Phase(9)"},
		{"no module", func(c *Config) { c.Listeners[0].Plugins[0].Source = PluginSource{Kind: SourceOCI} }, `f: plugins[0]: plugin "p" has no module URL`},
		{"unknown builtin", func(c *Config) { c.Clusters[1].Builtin = "nope" }, `unknown built-in upstream "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(c)
			ps := c.Validate()
			if len(ps) == 0 {
				t.Fatal("no problem found")
			}
			if !strings.Contains(ps[0].Error(), tc.want) {
				t.Fatalf("got %q, want it to contain %q", ps[0].Error(), tc.want)
			}
		})
	}
}

func TestEffectiveTimeouts(t *testing.T) {
	if (&Route{}).EffectiveTimeout() != DefaultRouteTimeout || (&Route{Timeout: NoTimeout}).EffectiveTimeout() != 0 ||
		(&Route{Timeout: 3}).EffectiveTimeout() != 3 {
		t.Error("route timeouts")
	}
	if (&Cluster{}).EffectiveConnectTimeout() != DefaultConnectTimeout || (&Cluster{ConnectTimeout: 7}).EffectiveConnectTimeout() != 7 {
		t.Error("connect timeouts")
	}
	if (Origin{File: "a", Field: "b"}).String() != "a: b" || (Origin{File: "a"}).String() != "a" || (Origin{Field: "b"}).String() != "b" {
		t.Error("origin")
	}
}
