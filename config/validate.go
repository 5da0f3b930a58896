package config

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Validate checks the configuration as a whole and returns every problem found, each naming
// the file and field it came from (through the objects' Origin). It checks listener addresses,
// unique listener, cluster and plugin names, cluster endpoints, that every route has exactly
// one action and that the clusters it names exist, route regexes, and plugin enums. It does not
// modify the configuration.
func (c *Config) Validate() Problems {
	var ps Problems
	add := func(o Origin, sub, format string, args ...any) {
		field := o.Field
		if sub != "" {
			if field != "" {
				field += "."
			}
			field += sub
		}
		ps.Errorf(o.File, field, "", format, args...)
	}

	clusters := make(map[string]bool, len(c.Clusters))
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		if cl.Name == "" {
			add(cl.Origin, "", "cluster has no name")
		} else if clusters[cl.Name] {
			add(cl.Origin, "", "duplicate cluster name %q", cl.Name)
		}
		clusters[cl.Name] = true
		validateCluster(cl, add)
	}

	listeners := map[string]bool{}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		if listeners[l.Name] {
			add(l.Origin, "", "duplicate listener name %q", l.Name)
		}
		listeners[l.Name] = true
		if err := CheckHostPort(l.Address); err != nil {
			add(l.Origin, "address", "%v", err)
		}
		for j := range l.VirtualHosts {
			vh := &l.VirtualHosts[j]
			if len(vh.Domains) == 0 {
				add(vh.Origin, "domains", "virtual host %q has no domains", vh.Name)
			}
			for k := range vh.Routes {
				validateRoute(&vh.Routes[k], clusters, add)
			}
		}
		plugins := map[string]bool{}
		for j := range l.Plugins {
			p := &l.Plugins[j]
			if p.Name == "" {
				add(p.Origin, "", "plugin has no name")
			} else if plugins[p.Key()] {
				add(p.Origin, "", "duplicate plugin %q in the chain of listener %q", p.Key(), l.Name)
			}
			plugins[p.Key()] = true
			validatePlugin(p, add)
		}
	}
	for i := range c.Services {
		validatePlugin(&c.Services[i], add)
	}
	return ps
}

type addFunc func(o Origin, sub, format string, args ...any)

func validateCluster(cl *Cluster, add addFunc) {
	if cl.Discovery == DiscoveryBuiltin {
		if cl.Builtin != BuiltinEcho {
			add(cl.Origin, "", "unknown built-in upstream %q", cl.Builtin)
		}
		return
	}
	if cl.Discovery < DiscoveryStatic || cl.Discovery > DiscoveryBuiltin {
		add(cl.Origin, "", "unknown discovery type %v", cl.Discovery)
	}
	if len(cl.Endpoints) == 0 {
		add(cl.Origin, "", "cluster %q has no endpoints", cl.Name)
	}
	for i, ep := range cl.Endpoints {
		sub := fmt.Sprintf("endpoints[%d]", i)
		if ep.Host == "" {
			add(cl.Origin, sub, "endpoint has no host")
		} else if cl.Discovery == DiscoveryStatic && net.ParseIP(ep.Host) == nil {
			add(cl.Origin, sub, "a STATIC cluster needs an IP address, not %q", ep.Host)
		}
		if ep.Port < 1 || ep.Port > 65535 {
			add(cl.Origin, sub, "port %d is out of range 1-65535", ep.Port)
		}
	}
}

func validateRoute(r *Route, clusters map[string]bool, add addFunc) {
	actions := 0
	if r.Cluster != "" {
		actions++
		if !clusters[r.Cluster] {
			add(r.Origin, "", "%s targets unknown cluster %q", routeLabel(r), r.Cluster)
		}
	}
	if len(r.WeightedClusters) > 0 {
		actions++
		total := uint64(0)
		for _, wc := range r.WeightedClusters {
			if !clusters[wc.Name] {
				add(r.Origin, "", "%s targets unknown cluster %q", routeLabel(r), wc.Name)
			}
			total += uint64(wc.Weight)
		}
		if total == 0 {
			add(r.Origin, "", "%s: weighted clusters have a total weight of 0", routeLabel(r))
		}
	}
	if r.DirectResponse != nil {
		actions++
		if s := r.DirectResponse.Status; s < 100 || s > 599 {
			add(r.Origin, "", "%s: direct response status %d is out of range 100-599", routeLabel(r), s)
		}
	}
	if actions != 1 {
		add(r.Origin, "", "%s must have exactly one of a cluster, weighted clusters or a direct response (has %d)", routeLabel(r), actions)
	}
	if _, err := r.Matcher(); err != nil {
		add(r.Origin, "", "%v", err)
	}
	if rw := r.RegexRewrite; rw != nil {
		if _, err := regexp.Compile(rw.Pattern); err != nil {
			add(r.Origin, "", "%s: regex_rewrite pattern %q: %v", routeLabel(r), rw.Pattern, err)
		}
	}
}

// routeLabel names a route in messages: `route "name"`, or just "route" when it has no name.
func routeLabel(r *Route) string {
	if r.Name == "" {
		return "route"
	}
	return fmt.Sprintf("route %q", r.Name)
}

func validatePlugin(p *Plugin, add addFunc) {
	if _, ok := phaseNames[p.Phase]; !ok {
		add(p.Origin, "", "unknown phase %v", p.Phase)
	}
	if _, ok := failNames[p.FailStrategy]; !ok {
		add(p.Origin, "", "unknown fail strategy %v", p.FailStrategy)
	}
	if _, ok := pullNames[p.ImagePullPolicy]; !ok {
		add(p.Origin, "", "unknown image pull policy %v", p.ImagePullPolicy)
	}
	switch p.Source.Kind {
	case SourceFile:
		if p.Source.Path == "" {
			add(p.Origin, "", "plugin %q has no module path", p.Key())
		}
	case SourceHTTP, SourceOCI:
		if p.Source.URL == "" {
			add(p.Origin, "", "plugin %q has no module URL", p.Key())
		}
	case SourceInline:
		if len(p.Source.Inline) == 0 {
			add(p.Origin, "", "plugin %q has an empty inline module", p.Key())
		}
	default:
		add(p.Origin, "", "plugin %q has an unknown source kind %v", p.Key(), p.Source.Kind)
	}
	if p.SHA256 != "" && !IsSHA256Hex(p.SHA256) {
		add(p.Origin, "", "sha256 %q is not 64 lowercase hex digits", p.SHA256)
	}
}

// IsSHA256Hex reports whether s is 64 lowercase hexadecimal digits.
func IsSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckHostPort checks a listen address of the form host:port (host may be empty, an IP or a
// name; port 0-65535, 0 meaning any free port).
func CheckHostPort(addr string) error {
	if addr == "" {
		return fmt.Errorf("address is empty")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q is not host:port: %w", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || strings.TrimSpace(port) != port {
		return fmt.Errorf("address %q has an invalid port %q", addr, port)
	}
	return nil
}
