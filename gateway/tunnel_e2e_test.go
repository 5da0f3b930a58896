package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/config/envoy"
	"github.com/wasmgate/wasmgate/config/flags"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// TestWebSocketThroughPlugin: a WebSocket upgrade passes a plugin (which
// adds a request header the upstream reports), the 101 reaches the client
// and messages echo both ways through the tunnel.
func TestWebSocketThroughPlugin(t *testing.T) {
	wasm := testwasm.Build(t, "gateway/testdata/plugins/trap")
	up := httptest.NewServer(websocket.Handler(func(ws *websocket.Conn) {
		_ = websocket.Message.Send(ws, "plugin:"+ws.Request().Header.Get("X-Trap-Plugin"))
		for {
			var msg string
			if websocket.Message.Receive(ws, &msg) != nil || websocket.Message.Send(ws, msg) != nil {
				return
			}
		}
	}))
	t.Cleanup(up.Close)
	tg := startGateway(t, flagsSource(flags.Options{Plugins: []flags.Plugin{{Path: wasm}}, Upstream: up.URL}))
	cfg, err := websocket.NewConfig(strings.Replace(tg.url, "http://", "ws://", 1)+"/echo", "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("dial through the gateway: %v\n%s", err, tg.logs)
	}
	defer ws.Close()
	_ = ws.SetDeadline(time.Now().Add(30 * time.Second))
	var first string
	if err := websocket.Message.Receive(ws, &first); err != nil || first != "plugin:ok" {
		t.Fatalf("first message %q, %v (want the header the plugin added)", first, err)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("hello %d %s", i, strings.Repeat("x", i*40000))
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := websocket.Message.Receive(ws, &got); err != nil || got != msg {
			t.Fatalf("echo %d: %d bytes, %v", i, len(got), err)
		}
	}
}

// TestUpgradeNotConfiguredIsRefused: with no upgrade_configs (Envoy's
// default) a WebSocket upgrade gets 403 upgrade_failed and the connection
// closes; with upgrade_type websocket it passes.
func TestUpgradeNotConfiguredIsRefused(t *testing.T) {
	up := httptest.NewServer(websocket.Handler(func(ws *websocket.Conn) { _, _ = io.Copy(ws, ws) }))
	t.Cleanup(up.Close)
	const boot = `
static_resources:
  listeners:
    - name: l
      address: {socket_address: {address: 127.0.0.1, port_value: 0}}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: s
                UPGRADES
                route_config: {virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: up}}]}]}
                http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
  clusters:
    - name: up
      type: STATIC
      load_assignment: {cluster_name: up, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: UP_PORT}}}}]}]}
`
	for name, upgrades := range map[string]string{"none": "", "websocket": "upgrade_configs: [{upgrade_type: websocket}]"} {
		t.Run(name, func(t *testing.T) {
			path := envoyFile(t, boot, "UPGRADES", upgrades, "UP_PORT", testPort(t, up.Listener.Addr().String()))
			if res := envoy.LoadFile(path); len(res.Problems) != 0 {
				t.Fatalf("problems: %v", res.Problems)
			}
			tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }))
			conn, err := net.Dial("tcp", strings.TrimPrefix(tg.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			switch name {
			case "none":
				if resp.StatusCode != 403 || !resp.Close {
					t.Errorf("unconfigured upgrade: %d, close %v", resp.StatusCode, resp.Close)
				}
			default:
				if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
					t.Errorf("configured upgrade: %d %v", resp.StatusCode, resp.Header)
				}
			}
		})
	}
}

// TestConnectTunnel: with upgrade_type CONNECT and a connect_matcher route,
// a CONNECT request goes to the cluster as a CONNECT (Envoy's default, the
// upstream terminates it); its 200 reaches the client and bytes echo
// through the tunnel. A prefix route does not take CONNECT requests.
func TestConnectTunnel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	seen := make(chan string, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				seen <- req.Method + " " + req.RequestURI
				fmt.Fprintf(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				_, _ = io.Copy(c, br)
			}()
		}
	}()
	const boot = `
static_resources:
  listeners:
    - name: l
      address: {socket_address: {address: 127.0.0.1, port_value: 0}}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: s
                upgrade_configs: [{upgrade_type: CONNECT}]
                route_config: {virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {connect_matcher: {}}, route: {cluster: up}}]}]}
                http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
  clusters:
    - name: up
      type: STATIC
      load_assignment: {cluster_name: up, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: UP_PORT}}}}]}]}
`
	path := envoyFile(t, boot, "UP_PORT", testPort(t, ln.Addr().String()))
	if res := envoy.LoadFile(path); len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	tg := startGateway(t, SourceFunc(func() *config.Result { return envoy.LoadFile(path) }))
	conn, err := net.Dial("tcp", strings.TrimPrefix(tg.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	if got := <-seen; got != "CONNECT example.test:443" {
		t.Errorf("the upstream got %q", got)
	}
	fmt.Fprintf(conn, "ping through the tunnel\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "ping through the tunnel\n" {
		t.Fatalf("echo: %q %v", line, err)
	}
	// A GET on the same listener matches no route: connect_matcher takes CONNECT only.
	if code, _, _ := get(t, tg.url+"/"); code != 404 {
		t.Errorf("GET with only a connect_matcher route: %d", code)
	}
}
