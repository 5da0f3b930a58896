package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// The plugin log level is the plugin's own: at debug, a plugin's debug
// record prints while the gateway logs at info, with Envoy's level names.
func TestRunPluginLogLevelIndependent(t *testing.T) {
	bin := authBuildWasmgate(t)
	wasm := testwasm.Build(t, "host/testdata/goplugin/scripted")
	script := `{"request_headers":[{"op":"log","level":1,"msg":"plugin-debug-line"},{"op":"log","level":5,"msg":"plugin-critical-line"}]}`
	_, logs, url, _ := startRun(t, bin, nil, "--plugin", wasm, "--plugin-config", script,
		"--log-level", "info", "--plugin-log-level", "debug", "--no-watch")
	if code, _ := body(t, url+"/get"); code != 200 {
		t.Fatalf("status %d\n%s", code, logs)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "level=critical msg=plugin-critical-line") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	if !strings.Contains(out, "level=debug msg=plugin-debug-line") || !strings.Contains(out, "level=critical msg=plugin-critical-line") {
		t.Fatalf("log:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "level=DEBUG") {
			t.Fatalf("a gateway debug record at --log-level info: %s", l)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{"512MiB": 512 << 20, "2GB": 2e9, "1.5 GiB": 3 << 29, "4096": 4096, "10kb": 10000} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("%s: %d, %v", in, got, err)
		}
	}
	if _, err := parseBytes("lots"); err == nil {
		t.Error("no error for lots")
	}
	if machineMemory() == 0 {
		t.Error("no machine memory read")
	}
}
