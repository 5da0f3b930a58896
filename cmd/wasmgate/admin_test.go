package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunAdminToken: `run --admin-token-file` makes the admin API want the
// token on everything but /ready; GET /logging is refused with 405.
func TestRunAdminToken(t *testing.T) {
	bin := authBuildWasmgate(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, logs, _, admin := startRun(t, bin, nil, "--admin-token-file", tokenFile, "--fetch-timeout", "5s", "--max-module-size", "64Mi")
	do := func(method, path, token string) int {
		t.Helper()
		req, _ := http.NewRequest(method, admin+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/config_dump", "", 401},
		{"GET", "/config_dump", "t0ken", 200},
		{"GET", "/plugins", "wrong", 401},
		{"POST", "/logging?wasm=debug", "", 401},
		{"POST", "/logging?wasm=debug", "t0ken", 200},
		{"GET", "/logging?wasm=trace", "t0ken", 405},
	} {
		if got := do(c.method, c.path, c.token); got != c.want {
			t.Errorf("%s %s (token %q): %d, want %d\n%s", c.method, c.path, c.token, got, c.want, logs)
		}
	}
	if !strings.Contains(logs.String(), "token=true") {
		t.Fatalf("the log does not say the token is on:\n%s", logs)
	}
}
