package pluginbuild

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// TestOptions configures Test.
type TestOptions struct {
	// Dir is the plugin directory (default ".").
	Dir string
	// Args are extra `go test` arguments (flags and packages); the default
	// package pattern is ./... .
	Args []string
	// GoTool is the go command (default "go" from PATH).
	GoTool string
	// Env is the environment (default os.Environ()).
	Env []string
	// Stdout and Stderr receive go test's output (nil: os.Stdout/os.Stderr).
	Stdout, Stderr io.Writer
}

// Test runs the plugin's Go tests natively (`go test ./...` in the plugin
// directory). Tests that use plugintest build the wasm module themselves.
func Test(ctx context.Context, o TestOptions) error {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.GoTool == "" {
		o.GoTool = "go"
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	version, err := GoVersion(ctx, o.GoTool, o.Dir, o.Env)
	if err != nil {
		return err
	}
	if err := CheckGoVersion(version); err != nil {
		return err
	}
	args := append([]string{"test"}, o.Args...)
	if !hasPackageArg(o.Args) {
		args = append(args, "./...")
	}
	cmd := exec.CommandContext(ctx, o.GoTool, args...)
	cmd.Dir = o.Dir
	cmd.Env = o.Env
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s (in %s): %w", o.GoTool, strings.Join(args, " "), o.Dir, err)
	}
	return nil
}

// hasPackageArg reports whether args name packages: an argument that is
// not a flag and does not follow a flag that takes a value.
func hasPackageArg(args []string) bool {
	valueFlags := map[string]bool{"-run": true, "-bench": true, "-count": true, "-timeout": true, "-tags": true,
		"-cpu": true, "-parallel": true, "-coverprofile": true, "-skip": true, "-benchtime": true, "-o": true, "-exec": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			name := strings.SplitN(a, "=", 2)[0]
			name = "-" + strings.TrimLeft(name, "-")
			if valueFlags[name] && !strings.Contains(a, "=") {
				i++
			}
			continue
		}
		return true
	}
	return false
}
