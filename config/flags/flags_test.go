package flags

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/config"
)

func TestPluginsFromArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    []Plugin
		wantErr string
	}{
		{
			args: []string{"run", "--plugin", "a.wasm", "--plugin-config", `{"x":1}`, "--listen", ":1", "--plugin=b.wasm", "--plugin", "c.wasm", "--plugin-config=@c.json"},
			want: []Plugin{{Path: "a.wasm", Config: `{"x":1}`}, {Path: "b.wasm"}, {Path: "c.wasm", Config: "@c.json"}},
		},
		{args: []string{"--plugin-config", "{}", "--plugin", "a.wasm"}, wantErr: `--plugin-config "{}" comes before any --plugin`},
		{args: []string{"--plugin", "a.wasm", "--plugin-config", "{}", "--plugin-config", "{}"}, wantErr: "--plugin a.wasm has more than one --plugin-config"},
		{args: []string{"--plugin"}, wantErr: "--plugin needs a value"},
		{args: []string{"--", "--plugin", "a.wasm"}, want: nil},
	}
	for _, tc := range tests {
		got, err := PluginsFromArgs(tc.args)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: err = %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
}

func TestBuildDefaults(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "conf.json")
	if err := os.WriteFile(cfgFile, []byte("{\"mockEnable\": true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := Build(Options{Plugins: []Plugin{
		{Path: filepath.Join(dir, "main.wasm"), Config: `{"mockEnable":false}`},
		{Path: filepath.Join(dir, "other", "main.wasm"), Config: "@" + cfgFile},
		{Path: "hello.wasm"},
	}})
	if err := res.Problems.Err(); err != nil {
		t.Fatal(err)
	}
	cfg := res.Config
	if cfg.Source != "flags" || len(cfg.Listeners) != 1 {
		t.Fatalf("config = %+v", cfg)
	}
	l := cfg.Listeners[0]
	if l.Address != config.DefaultListen || l.ChainOrder != config.ChainAsWritten {
		t.Errorf("listener = %+v", l)
	}
	var names []string
	for _, p := range l.Plugins {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"main", "main-2", "hello"}) {
		t.Errorf("plugin names = %q", names)
	}
	if string(l.Plugins[0].Configuration) != `{"mockEnable":false}` || string(l.Plugins[1].Configuration) != "{\"mockEnable\": true}\n" ||
		l.Plugins[2].Configuration != nil {
		t.Errorf("configurations = %q %q %q", l.Plugins[0].Configuration, l.Plugins[1].Configuration, l.Plugins[2].Configuration)
	}
	abs, _ := filepath.Abs("hello.wasm")
	if !reflect.DeepEqual(l.Plugins[2].Source, config.PluginSource{Kind: config.SourceFile, Path: abs}) {
		t.Errorf("source = %+v", l.Plugins[2].Source)
	}
	if !slices.Equal(res.Files, []string{cfgFile}) {
		t.Errorf("files = %q", res.Files)
	}
	r := l.VirtualHosts[0].Routes[0]
	if r.Name != RouteName || r.Cluster != config.EchoClusterName || r.Match.Value != "/" {
		t.Errorf("route = %+v", r)
	}
	if c := cfg.Cluster(config.EchoClusterName); c == nil || c.Discovery != config.DiscoveryBuiltin || c.Builtin != config.BuiltinEcho {
		t.Errorf("echo cluster = %+v", c)
	}
}

func TestUpstream(t *testing.T) {
	tests := []struct {
		in          string
		wantCluster config.Cluster
		wantRewrite string
		wantErr     string
	}{
		{in: "http://127.0.0.1:8080", wantCluster: config.Cluster{Name: "outbound|8080||127.0.0.1", Discovery: config.DiscoveryStatic,
			Endpoints: []config.Endpoint{{Host: "127.0.0.1", Port: 8080}}}},
		{in: "localhost:9000", wantCluster: config.Cluster{Name: "outbound|9000||localhost", Discovery: config.DiscoveryStrictDNS,
			Endpoints: []config.Endpoint{{Host: "localhost", Port: 9000}}}},
		{in: "https://api.example.com/base/", wantRewrite: "/base/", wantCluster: config.Cluster{Name: "outbound|443||api.example.com",
			Discovery: config.DiscoveryStrictDNS, Endpoints: []config.Endpoint{{Host: "api.example.com", Port: 443}},
			TLS: &config.TLS{SNI: "api.example.com"}}},
		{in: "http://[::1]/v1", wantRewrite: "/v1/", wantCluster: config.Cluster{Name: "outbound|80||::1", Discovery: config.DiscoveryStatic,
			Endpoints: []config.Endpoint{{Host: "::1", Port: 80}}}},
		{in: "ftp://h", wantErr: `unsupported scheme "ftp" (want http or https)`},
		{in: "http://h:99999", wantErr: `invalid port`},
		{in: "http://h/?q=1", wantErr: "cannot have credentials, a query or a fragment"},
		{in: "http://", wantErr: "has no host"},
	}
	for _, tc := range tests {
		cl, route, err := Upstream(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		tc.wantCluster.ConnectTimeout = config.DefaultConnectTimeout
		tc.wantCluster.Origin = config.Origin{Field: "--upstream"}
		if !reflect.DeepEqual(cl, tc.wantCluster) {
			t.Errorf("%q: cluster\n got %+v\nwant %+v", tc.in, cl, tc.wantCluster)
		}
		if route.Cluster != cl.Name || route.PrefixRewrite != tc.wantRewrite {
			t.Errorf("%q: route = %+v", tc.in, route)
		}
	}
}

func TestBuildErrorsNameTheFlag(t *testing.T) {
	res := Build(Options{
		Plugins:  []Plugin{{Path: "a.wasm", Config: `{"x":`}, {Path: "b.wasm", Config: "@/nonexistent/conf.json"}},
		Upstream: "ftp://x",
		Listen:   "nope",
	})
	if res.Config != nil {
		t.Fatal("config built despite errors")
	}
	want := []string{
		`--listen: address "nope" is not host:port`,
		`--upstream: unsupported scheme "ftp" (want http or https)`,
		"--plugin a.wasm --plugin-config: the value is not valid JSON: unexpected end of JSON input",
		"--plugin b.wasm --plugin-config: reading /nonexistent/conf.json:",
	}
	errs := res.Problems.Errors()
	if len(errs) != len(want) {
		t.Fatalf("errors = %v", errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i].Error(), w)
		}
	}
}
