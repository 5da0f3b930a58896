package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRun starts `wasmgate run ARGS` and waits until the admin API is ready.
func startRun(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, *syncBuffer, string, string) {
	t.Helper()
	listen, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, append([]string{"run", "--listen", listen, "--admin", admin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get("http://" + admin + "/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, logs, "http://" + listen, "http://" + admin
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func body(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunDrainsAndExitsZero: Ctrl-C lets an in-flight request finish and
// the process exits 0.
func TestRunDrainsAndExitsZero(t *testing.T) {
	bin := authBuildWasmgate(t)
	cmd, logs, url, _ := startRun(t, bin, nil)
	done := make(chan string, 1)
	go func() {
		code, b := body(t, url+"/delay/1")
		done <- strconv.Itoa(code) + " " + b
	}()
	time.Sleep(300 * time.Millisecond) // let the request reach the upstream
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if !strings.HasPrefix(res, "200 ") {
		t.Fatalf("in-flight request: %s", res)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, logs)
	}
	if !strings.Contains(logs.String(), "draining") {
		t.Fatalf("logs:\n%s", logs)
	}
}

// TestRunWatchRebuildsOnSave: `run --watch DIR` serves the plugin, rebuilds
// on save, and keeps the previous version when the new one does not build.
func TestRunWatchRebuildsOnSave(t *testing.T) {
	bin := authBuildWasmgate(t)
	authBin = bin
	work := t.TempDir()
	env := []string{"XDG_CACHE_HOME=" + filepath.Join(t.TempDir(), "xdg")}
	authMustRun(t, work, env, "init", "demo", "--template", "basic")
	dir := filepath.Join(work, "demo")
	runEnv := append([]string{"GOPROXY=off", "GOFLAGS=-mod=mod -buildvcs=false",
		"PATH=" + filepath.Dir(authGoTool()) + string(os.PathListSeparator) + os.Getenv("PATH")}, env...)
	cmd, logs, url, admin := startRun(t, bin, runEnv, "--watch", dir, "--plugin-config", `{"mockEnable":true}`)
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM) }()
	if code, b := body(t, url+"/"); code != 200 || b != "hello world" {
		t.Fatalf("first version: %d %q", code, b)
	}
	// dev mode traces every request; the trace is stored when the
	// exchange ends, just after the response reached the client
	var code int
	var list string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, list = body(t, admin+"/trace"); code == 200 && strings.Contains(list, `"path": "/"`) {
			break
		}
	}
	if code != 200 || !strings.Contains(list, `"path": "/"`) || !strings.Contains(list, `"sampleRate": 1`) {
		t.Fatalf("dev mode did not trace the request: %d\n%s", code, list)
	}
	main := filepath.Join(dir, "main.go")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	mock := regexp.MustCompile(`\[\]byte\("hello world"\)`)
	if !mock.Match(src) {
		t.Fatalf("template changed: no mock body in\n%s", src)
	}
	write := func(s string) {
		if err := os.WriteFile(main, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	write(mock.ReplaceAllString(string(src), `[]byte("hello again")`))
	wait := func(want string) time.Duration {
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, b := body(t, url+"/"); b == want {
				return time.Since(start)
			}
			if time.Now().After(deadline) {
				t.Fatalf("never served %q:\n%s", want, logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("save → serving the new code: %v", wait("hello again").Round(10*time.Millisecond))

	write(strings.Replace(mock.ReplaceAllString(string(src), `[]byte("hello broken")`), "func main() {}", "func main() { syntax error }", 1))
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), "build failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no build failure reported:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, b := body(t, url+"/"); b != "hello again" {
		t.Fatalf("after a failed build the gateway serves %q", b)
	}
}
