// Package flags builds the native configuration (package config) for the quickest way to run
// plugins: `wasmgate run --plugin FILE.wasm [--plugin-config JSON|@file] [--upstream URL]
// [--listen ADDR]`.
//
// The result is one listener (default config.DefaultListen) with one catch-all route named
// "default" to the upstream, and the plugins in the order given. Without --upstream the route
// goes to the built-in echo upstream (config.EchoClusterName, served by gateway/echo).
package flags

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/config"
)

// RouteName is the name of the single route (the proxy-wasm `route_name` property).
const RouteName = "default"

// Plugin is one --plugin flag with its --plugin-config.
type Plugin struct {
	// Path is the .wasm module.
	Path string
	// Config is the plugin configuration: JSON text, "@FILE" to read it from a file, or ""
	// for none (the plugin then reads an empty configuration).
	Config string
}

// Options are the flag values.
type Options struct {
	Plugins []Plugin
	// Upstream is the upstream URL (http://host:port[/base] or https://…; a bare host:port
	// means http). "" selects the built-in echo upstream.
	Upstream string
	// Listen is the listen address; "" means config.DefaultListen.
	Listen string
}

// PluginsFromArgs pairs repeated --plugin and --plugin-config flags by position in a command
// line: each --plugin-config belongs to the --plugin before it. Both "--flag value" and
// "--flag=value" forms are understood; other arguments are skipped (a "--" ends the scan).
func PluginsFromArgs(args []string) ([]Plugin, error) {
	var out []Plugin
	hasConfig := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, value, inline := strings.Cut(a, "=")
		if name != "--plugin" && name != "--plugin-config" {
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s needs a value", name)
			}
			i++
			value = args[i]
		}
		if name == "--plugin" {
			out = append(out, Plugin{Path: value})
			hasConfig = false
			continue
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("--plugin-config %q comes before any --plugin", value)
		}
		if hasConfig {
			return nil, fmt.Errorf("--plugin %s has more than one --plugin-config", out[len(out)-1].Path)
		}
		out[len(out)-1].Config, hasConfig = value, true
	}
	return out, nil
}

// Build makes the configuration. Result.Config is nil when any flag is invalid; every problem
// names the flag. Result.Files lists the @files read (to watch them).
func Build(opts Options) *config.Result {
	res := &config.Result{}
	ps := &res.Problems
	listen := opts.Listen
	if listen == "" {
		listen = config.DefaultListen
	}
	if err := config.CheckHostPort(listen); err != nil {
		ps.Errorf("", "--listen", "", "%v", err)
	}

	cluster, route, err := Upstream(opts.Upstream)
	if err != nil {
		ps.Errorf("", "--upstream", "", "%v", err)
	}

	ln := config.Listener{
		Name:         "flags",
		Address:      listen,
		ChainOrder:   config.ChainAsWritten,
		VirtualHosts: []config.VirtualHost{{Name: "default", Domains: []string{"*"}, Routes: []config.Route{route}}},
		// WebSocket upgrades pass, as in Higress.
		HTTP: config.HTTPSettings{Upgrades: []string{"websocket"}},
	}
	used := map[string]int{}
	for i, fp := range opts.Plugins {
		field := fmt.Sprintf("--plugin %s", fp.Path)
		if fp.Path == "" {
			ps.Errorf("", fmt.Sprintf("--plugin #%d", i+1), "", "empty path")
			continue
		}
		abs, err := filepath.Abs(fp.Path)
		if err != nil {
			ps.Errorf("", field, "", "%v", err)
			continue
		}
		name := strings.TrimSuffix(filepath.Base(fp.Path), filepath.Ext(fp.Path))
		used[name]++
		if n := used[name]; n > 1 {
			name += "-" + strconv.Itoa(n)
		}
		pl := config.Plugin{
			Name:   name,
			URL:    fp.Path,
			Source: config.PluginSource{Kind: config.SourceFile, Path: abs},
			Origin: config.Origin{Field: field},
		}
		cfg, file, err := pluginConfig(fp.Config)
		if file != "" {
			res.Files = append(res.Files, file)
		}
		if err != nil {
			ps.Errorf("", field+" --plugin-config", "", "%v", err)
			continue
		}
		pl.Configuration = cfg
		ln.Plugins = append(ln.Plugins, pl)
	}
	if ps.Err() != nil {
		return res
	}
	// Plugins run here as Higress runs them, so their metrics get Higress's tags.
	cfg := &config.Config{Source: "flags", Listeners: []config.Listener{ln}, Clusters: []config.Cluster{cluster},
		StatsTags: config.HigressStatsTags()}
	if vps := cfg.Validate(); len(vps) > 0 {
		*ps = append(*ps, vps...)
		return res
	}
	res.Config = cfg
	return res
}

// pluginConfig reads a --plugin-config value: JSON text or @FILE. The bytes are delivered as
// they are; they must be valid JSON.
func pluginConfig(v string) (data []byte, file string, err error) {
	if v == "" {
		return nil, "", nil
	}
	if name, ok := strings.CutPrefix(v, "@"); ok {
		file = name
		data, err = os.ReadFile(name)
		if err != nil {
			return nil, file, fmt.Errorf("reading %s: %w", name, err)
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			return nil, file, nil
		}
	} else {
		data = []byte(v)
	}
	if !json.Valid(data) {
		var x any
		err := json.Unmarshal(data, &x)
		where := "the value"
		if file != "" {
			where = file
		}
		return nil, file, fmt.Errorf("%s is not valid JSON: %v", where, err)
	}
	return data, file, nil
}

// Upstream returns the cluster and the catch-all route for an --upstream URL ("" for the
// built-in echo upstream). The cluster is named like a Higress FQDN cluster,
// "outbound|PORT||HOST", so FQDNCluster{FQDN: HOST, Port: PORT} in a plugin reaches it; a path
// in the URL is prepended to every request path.
func Upstream(raw string) (config.Cluster, config.Route, error) {
	route := config.Route{Name: RouteName, Match: config.PathMatch{Kind: config.PathPrefix, Value: "/"}}
	if raw == "" {
		route.Cluster = config.EchoClusterName
		return config.Cluster{Name: config.EchoClusterName, Discovery: config.DiscoveryBuiltin, Builtin: config.BuiltinEcho}, route, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return config.Cluster{}, route, fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return config.Cluster{}, route, fmt.Errorf("unsupported scheme %q (want http or https)", u.Scheme)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return config.Cluster{}, route, fmt.Errorf("%q: an upstream URL cannot have credentials, a query or a fragment", raw)
	}
	host := u.Hostname()
	if host == "" {
		return config.Cluster{}, route, fmt.Errorf("%q has no host", raw)
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return config.Cluster{}, route, fmt.Errorf("%q has an invalid port %q", raw, p)
		}
	}
	cl := config.Cluster{
		Name:           config.OutboundClusterName(port, "", host),
		Discovery:      config.DiscoveryStrictDNS,
		Endpoints:      []config.Endpoint{{Host: host, Port: port}},
		ConnectTimeout: config.DefaultConnectTimeout,
		Origin:         config.Origin{Field: "--upstream"},
	}
	if net.ParseIP(host) != nil {
		cl.Discovery = config.DiscoveryStatic
	}
	if u.Scheme == "https" {
		cl.TLS = &config.TLS{SNI: host}
	}
	route.Cluster = cl.Name
	if base := strings.TrimSuffix(u.EscapedPath(), "/"); base != "" {
		route.PrefixRewrite = base + "/"
	}
	return cl, route, nil
}
