package main

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// TestTraceFollowInTerminal runs `wasmgate trace --follow -v` in a
// pseudo-terminal against a running gateway: requests sent after it
// started appear as lines with their timelines; then `wasmgate trace
// --filter` lists only the matching ones and `wasmgate trace ID` prints one.
func TestTraceFollowInTerminal(t *testing.T) {
	bin := authBuildWasmgate(t)
	wasm := testwasm.Build(t, "examples/my-plugin")
	_, logs, url, admin := startRun(t, bin, nil, "--plugin", wasm, "--plugin-config", `{"mockEnable":false}`, "--trace-sample", "all")
	addr := strings.TrimPrefix(admin, "http://")

	cmd := exec.Command(bin, "trace", "--admin", addr, "--follow", "-v")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	screen := &syncBuffer{}
	go func() { _, _ = io.Copy(screen, tty) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tty.Close()
	})
	waitScreen := func(what string, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok(screen.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("terminal never showed %s:\n%s\ngateway:\n%s", what, screen, logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The stream is open once the gateway counts a subscriber; until then
	// requests are sent again (each one traced) until one shows up.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(screen.String(), "/followed") {
		if time.Now().After(deadline) {
			t.Fatalf("no request appeared:\n%s", screen)
		}
		resp, err := http.Get(url + "/followed")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := body(t, url+"/status/503"); code != 503 {
		t.Fatalf("status/503 answered %d", code)
	}
	waitScreen("the 503 line and a timeline", func(s string) bool {
		return strings.Contains(s, "/status/503") && strings.Contains(s, "on_request_headers →") &&
			strings.Contains(s, "upstream outbound|80||echo")
	})
	lines := strings.Split(strings.ReplaceAll(screen.String(), "\r", ""), "\n")
	found := false
	for _, l := range lines {
		if strings.Contains(l, "/status/503") && strings.Contains(l, " 503 ") && strings.Contains(l, "my-plugin") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no line for the 503 with its status and plugin:\n%s", screen)
	}

	out, err := exec.Command(bin, "trace", "--admin", addr, "--filter", "status=5xx").CombinedOutput()
	if err != nil {
		t.Fatalf("trace --filter: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "/status/503") || strings.Contains(string(out), "/followed") {
		t.Fatalf("filtered list:\n%s", out)
	}
	id := strings.TrimPrefix(strings.Fields(string(out))[1], "#")
	out, err = exec.Command(bin, "trace", "--admin", addr, id).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "proxy_on_log") && !strings.Contains(string(out), "on_log") {
		t.Fatalf("trace %s: %v\n%s", id, err, out)
	}
	if out, err := exec.Command(bin, "trace", "--admin", addr, "--filter", "colour=red").CombinedOutput(); err == nil || !strings.Contains(string(out), `unknown key "colour"`) {
		t.Fatalf("bad filter accepted: %v\n%s", err, out)
	}
}
