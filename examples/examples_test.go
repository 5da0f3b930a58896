// Package examples holds the example plugins; this test builds each one the
// way Higress documents it and checks the module's ABI surface.
package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/internal/wasmbin"
)

var examples = []string{"hello-world", "my-plugin", "http-call", "redis-demo", "redis-dns"}

// abiImports are the host functions of proxy-wasm ABI 0.2.1 (module env).
var abiImports = map[string]bool{}

// higressImports exist only in Higress's Envoy.
var higressImports = map[string]bool{
	"proxy_redis_init": true, "proxy_redis_call": true, "proxy_inject_encoded_data_to_filter_chain": true,
	"proxy_get_upstream_hosts": true, "proxy_set_upstream_override_host": true,
}

func init() {
	for _, n := range strings.Fields(`proxy_log proxy_get_log_level proxy_set_tick_period_milliseconds
		proxy_get_current_time_nanoseconds proxy_get_status proxy_set_property proxy_get_property
		proxy_continue_stream proxy_close_stream proxy_send_local_response proxy_get_shared_data
		proxy_set_shared_data proxy_register_shared_queue proxy_resolve_shared_queue
		proxy_enqueue_shared_queue proxy_dequeue_shared_queue proxy_get_header_map_value
		proxy_add_header_map_value proxy_replace_header_map_value proxy_remove_header_map_value
		proxy_get_header_map_pairs proxy_set_header_map_pairs proxy_get_header_map_size
		proxy_get_buffer_bytes proxy_get_buffer_status proxy_set_buffer_bytes proxy_http_call
		proxy_grpc_call proxy_grpc_stream proxy_grpc_send proxy_grpc_cancel proxy_grpc_close
		proxy_define_metric proxy_increment_metric proxy_record_metric proxy_get_metric
		proxy_set_effective_context proxy_done proxy_call_foreign_function`) {
		abiImports[n] = true
	}
}

// callbacks every module built with the SDK exports.
var callbacks = strings.Fields(`proxy_on_memory_allocate proxy_on_vm_start proxy_on_configure
	proxy_on_context_create proxy_on_request_headers proxy_on_request_body proxy_on_request_trailers
	proxy_on_response_headers proxy_on_response_body proxy_on_response_trailers proxy_on_new_connection
	proxy_on_downstream_data proxy_on_downstream_connection_close proxy_on_upstream_data
	proxy_on_upstream_connection_close proxy_on_http_call_response proxy_on_queue_ready proxy_on_tick
	proxy_on_log proxy_on_done proxy_on_delete`)

// build compiles a plugin package for wasip1 as a c-shared reactor.
func build(t *testing.T, pkg string, tags ...string) (string, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg)+".wasm")
	args := []string{"build", "-buildmode=c-shared", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command(goTool(), append(args, pkg)...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, b
}

func goTool() string {
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func parse(t *testing.T, b []byte) *wasmbin.Module {
	t.Helper()
	m, err := wasmbin.Parse(b)
	if err != nil {
		t.Fatalf("parse module: %v", err)
	}
	return m
}

func TestExamplesBuildForHigress(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			_, b := build(t, "./"+name)
			m := parse(t, b)
			t.Logf("%s: %d bytes", name, len(b))
			for _, e := range append([]string{"_initialize", "memory", "proxy_abi_version_0_2_100", "proxy_on_redis_call_response"}, callbacks...) {
				if !m.HasExport(e) {
					t.Errorf("missing export %s", e)
				}
			}
			if m.HasExport("proxy_abi_version_0_2_1") || m.HasExport("_start") || m.HasExport("malloc") {
				t.Errorf("unexpected export among %v", m.Exports)
			}
			for _, imp := range m.Imports {
				switch imp.Module {
				case "wasi_snapshot_preview1":
				case "env":
					if !abiImports[imp.Name] && !higressImports[imp.Name] {
						t.Errorf("import env.%s is not a documented ABI function", imp.Name)
					}
				default:
					t.Errorf("import from unexpected module %s.%s", imp.Module, imp.Name)
				}
			}
		})
	}
}

func TestExamplesBuildForUpstreamEnvoy(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			_, b := build(t, "./"+name, "proxywasm_abi_0_2_1")
			m := parse(t, b)
			if !m.HasExport("proxy_abi_version_0_2_1") || m.HasExport("proxy_abi_version_0_2_100") {
				t.Errorf("want only the 0_2_1 marker, exports %v", m.Exports)
			}
			for _, imp := range m.Imports {
				if imp.Module == "env" && (higressImports[imp.Name] || !abiImports[imp.Name]) {
					t.Errorf("upstream build imports env.%s", imp.Name)
				}
			}
		})
	}
}

// TestHelloWorldSize keeps the smallest plugin small: the SDK must not link
// fmt, net/http, time or gjson into a plugin that does not use them.
func TestHelloWorldSize(t *testing.T) {
	const limit = 2_500_000
	_, b := build(t, "./hello-world")
	t.Logf("hello-world: %d bytes (limit %d)", len(b), limit)
	if len(b) > limit {
		t.Fatalf("hello-world is %d bytes, over %d", len(b), limit)
	}
}

// TestSeedStyleCodeCompiles builds plugins written like the seed documents'
// examples, with only the import paths changed, for wasip1 and natively.
func TestSeedStyleCodeCompiles(t *testing.T) {
	dirs, err := filepath.Glob("testdata/compat/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no compat sources: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			build(t, "./"+dir)
			cmd := exec.Command(goTool(), "vet", "./"+dir)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go vet (native) %s: %v\n%s", dir, err, msg)
			}
		})
	}
}
