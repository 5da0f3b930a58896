package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

// exampleBootstrap is an envoy.yaml as the proxy-wasm SDK examples write it (lower-case enums,
// 0.0.0.0, an untyped router); the test rewrites 0.0.0.0 to loopback and picks the ports.
const exampleBootstrap = `
static_resources:
  listeners:
    - name: main
      address:
        socket_address: {address: 0.0.0.0, port_value: LISTEN}
      filter_chains:
        - filters:
            - name: envoy.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress_http
                codec_type: auto
                route_config:
                  name: local_route
                  virtual_hosts:
                    - name: local_service
                      domains: ["*"]
                      routes:
                        - match: {prefix: "/"}
                          direct_response:
                            status: 200
                            body: {inline_string: "NAME\n"}
                http_filters:
                  - name: envoy.filters.http.router
admin:
  access_log_path: "/dev/null"
  address:
    socket_address: {address: 0.0.0.0, port_value: ADMIN}
`

// TestTwoGatewaysFromBootstraps starts two gateways from two such files without --admin: each
// serves its admin API on its bootstrap's admin.address, so they run side by side.
func TestTwoGatewaysFromBootstraps(t *testing.T) {
	bin := authBuildWasmgate(t)
	type gw struct{ listen, admin string }
	var gws []gw
	for _, name := range []string{"first", "second"} {
		g := gw{listen: freeAddr(t), admin: freeAddr(t)}
		text := strings.NewReplacer("0.0.0.0", "127.0.0.1", "LISTEN", portPart(g.listen), "ADMIN", portPart(g.admin), "NAME", name).Replace(exampleBootstrap)
		path := filepath.Join(t.TempDir(), "envoy.yaml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		startGatewayProcess(t, exec.Command(bin, "run", "--envoy-config", path, "--no-watch"), "http://"+g.admin)
		gws = append(gws, g)
	}
	for i, name := range []string{"first", "second"} {
		if code, b := body(t, "http://"+gws[i].listen+"/"); code != 200 || b != name+"\n" {
			t.Errorf("%s gateway: %d %q", name, code, b)
		}
		resp, err := http.Get("http://" + gws[i].admin + "/config_dump")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"source": "envoy"`) {
			t.Errorf("%s admin config_dump: %s", name, b)
		}
	}
}

// startGatewayProcess starts a `wasmgate run` command, waits until its admin
// API at admin is ready, and stops it (SIGTERM, then kill) when the test
// ends. It returns the command's output.
func startGatewayProcess(t *testing.T, cmd *exec.Cmd, admin string) *syncBuffer {
	t.Helper()
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	waitReady(t, admin, logs)
	return logs
}

func waitReady(t *testing.T, admin string, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(admin + "/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready at %s:\n%s", admin, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func portPart(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

func TestAdminAddressChoice(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	boot := &config.Result{Config: &config.Config{AdminAddress: "0.0.0.0:8001"}}
	if got := adminAddress("127.0.0.1:9", boot, log); got != "127.0.0.1:9" || logs.String() != "" {
		t.Errorf("--admin wins: %q, logs %q", got, logs)
	}
	if got := adminAddress("", boot, log); got != "0.0.0.0:8001" || !strings.Contains(logs.String(), "admin.address") || strings.Contains(logs.String(), "WARN") {
		// The warning for a non-loopback address is the gateway's, which
		// knows the address it bound and whether a token guards it.
		t.Errorf("the bootstrap's address, and where it came from: %q, logs %q", got, logs)
	}
	if got := adminAddress("", &config.Result{Config: &config.Config{}}, log); got != "" {
		t.Errorf("no address: %q (the gateway's default)", got)
	}
}
