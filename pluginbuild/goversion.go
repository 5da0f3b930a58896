package pluginbuild

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// MinGo is the oldest Go release that builds proxy-wasm plugins: Go 1.24
// added go:wasmexport and -buildmode=c-shared for wasip1.
const MinGo = "go1.24"

// GoVersion runs `go env GOVERSION` in dir (so a go.mod toolchain line
// applies) and returns the version ("go1.24.3").
func GoVersion(ctx context.Context, goTool, dir string, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, goTool, "env", "GOVERSION")
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s env GOVERSION: %w: %s", goTool, err, strings.TrimSpace(errb.String()))
	}
	v := strings.TrimSpace(out.String())
	if v == "" {
		return "", fmt.Errorf("%s env GOVERSION printed nothing: Go older than 1.16", goTool)
	}
	return v, nil
}

var goRelease = regexp.MustCompile(`go(\d+)\.(\d+)`)

// CheckGoVersion returns an error when version (as GOVERSION prints it:
// "go1.24.3", "go1.25rc1", "devel go1.26-abcdef ...") is older than Go 1.24.
func CheckGoVersion(version string) error {
	m := goRelease.FindStringSubmatch(version)
	if m == nil {
		return fmt.Errorf("cannot read the Go version from %q", version)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major < 1 || major == 1 && minor < 24 {
		return fmt.Errorf("%s is too old: plugins need Go 1.24 or newer (go:wasmexport and -buildmode=c-shared for wasip1); install a newer Go from https://go.dev/dl", version)
	}
	return nil
}
