package main

import (
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunRouteTimeoutFlag: --route-timeout replaces the route timeout of
// the configuration (here the --upstream route's 15 s).
func TestRunRouteTimeoutFlag(t *testing.T) {
	bin := authBuildWasmgate(t)
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	go func() {
		for {
			c, err := hold.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	cmd, logs, url, _ := startRun(t, bin, nil, "--upstream", "http://"+hold.Addr().String(), "--route-timeout", "1s")
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM) }()
	start := time.Now()
	code, b := body(t, url+"/slow")
	if d := time.Since(start); code != 504 || b != "upstream request timeout" || d < 900*time.Millisecond || d > 3*time.Second {
		t.Fatalf("%d %q after %v\n%s", code, b, d, logs)
	}
}

func TestRunRejectsBadLimitFlags(t *testing.T) {
	bin := authBuildWasmgate(t)
	for flag, want := range map[string]string{
		"--max-request-headers-kb=0": "--max-request-headers-kb: 0 is outside 1..8192",
		"--route-timeout=-1s":        "--route-timeout: -1s is negative",
		"--buffer-limit=10":          "--buffer-limit: 10 is outside",
	} {
		out, err := exec.Command(bin, "run", "--admin", "off", "--no-watch", flag).CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("%s: err %v, output %q; want %q", flag, err, out, want)
		}
	}
}
