// Package testservers starts real servers (redis-server) on loopback ports
// for tests and stops them at the end of the test.
package testservers

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Redis is a redis-server started for a test.
type Redis struct {
	Addr string
	Port int
	cmd  *exec.Cmd
	dir  string
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartRedis starts redis-server on a free loopback port (no persistence).
// args are extra configuration directives ("--requirepass", "secret"). The
// test fails when redis-server is not installed: the project's test script
// installs it.
func StartRedis(t testing.TB, args ...string) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (install it: apt-get install -y redis-server): %v", err)
	}
	r := &Redis{Port: FreePort(t), dir: t.TempDir()}
	r.Addr = "127.0.0.1:" + strconv.Itoa(r.Port)
	all := append([]string{"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log")}, args...)
	r.cmd = exec.Command(bin, all...)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(r.Stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := r.ping(); err == nil {
			return r
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			t.Fatalf("redis-server on %s did not answer PING:\n%s", r.Addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *Redis) ping() error {
	c, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" && line[0] != '-' {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// Do sends one inline command and returns the first reply line.
func (r *Redis) Do(t testing.TB, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", r.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if line[0] == '$' && line != "$-1\r\n" {
		v, _ := rd.ReadString('\n')
		return v[:len(v)-2]
	}
	return line[:len(line)-2]
}

// Stop stops the server (it is stopped at the end of the test anyway).
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}
