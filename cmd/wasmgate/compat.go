package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/migrate"
	"github.com/wasmgate/wasmgate/scaffold"
)

// pluginEnv returns the environment that builds the plugin in dir as a
// Higress user expects, with nothing changed on disk: against the
// compatibility modules when it uses Higress's module paths (a temporary
// go.mod, go -modfile), and with a registration in main() moved to init()
// (go -overlay; a c-shared module never runs main). It returns notes about
// what it did and a cleanup.
func pluginEnv(dir string, env []string) ([]string, []string, func(), error) {
	if dir == "" {
		dir = "."
	}
	if env == nil {
		env = os.Environ()
	}
	var notes []string
	var cleanups []func()
	cleanup := func() {
		for _, c := range cleanups {
			c()
		}
	}
	uses, err := scaffold.UsesHigress(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, nil, nil, err
	}
	if uses {
		c, err := scaffold.InstallCompat("")
		if err != nil {
			return nil, nil, nil, err
		}
		modFile, done, err := c.Overlay(dir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("compatibility modules for %s: %w", dir, err)
		}
		cleanups = append(cleanups, done)
		env = scaffold.GoFlagsWithModfile(env, modFile)
	}
	fixes, err := migrate.RegistrationFixes(dir)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	if len(fixes) > 0 {
		overlay, done, err := migrate.WriteOverlay(fixes)
		if err != nil {
			cleanup()
			return nil, nil, nil, err
		}
		cleanups = append(cleanups, done)
		env = addGoFlag(env, "-overlay="+overlay)
		for _, p := range sortedPaths(fixes) {
			notes = append(notes, filepath.Base(p)+" registers the plugin in main(), which a Go 1.24 c-shared module never runs: built with the registration moved to init() (wasmgate migrate --write makes the change in the source)")
		}
	}
	return env, notes, cleanup, nil
}

// addGoFlag appends a flag to GOFLAGS in env.
func addGoFlag(env []string, flag string) []string {
	out := make([]string, 0, len(env)+1)
	flags := flag
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			if v = strings.TrimSpace(v); v != "" {
				flags = v + " " + flag
			}
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOFLAGS="+flags)
}

func sortedPaths(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func init() {
	var (
		tidy     bool
		cacheDir string
	)
	cmd := &cobra.Command{
		Use:   "compat DIR",
		Short: "Point a Higress plugin's go.mod at wasmgate's compatibility modules (for plain go build/go test)",
		Long: `Compat makes the unmodified Higress plugin module in DIR build and test with
plain go commands against wasmgate's SDK. It writes into DIR/go.mod:

  - replace directives for github.com/higress-group/wasm-go,
    github.com/higress-group/proxy-wasm-go-sdk,
    github.com/alibaba/higress/plugins/wasm-go and github.com/tidwall/resp,
    module-wide, to the compatibility modules in this binary (written to the
    user cache), so dependencies that import Higress's SDK use them too;
  - the SDK and the test harness, required and replaced by their copies;
  - go 1.25 or newer (the test harness needs it);

adds the checksums they need to go.sum, and checks that the go commands
accept the result as written (go list -deps -test ./... with -mod=readonly).
--tidy runs go mod tidy first, which needs the module proxy for anything
not in the module cache.

wasmgate build and wasmgate test do the same on a temporary copy of go.mod
(go -modfile), leaving DIR unchanged.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			c, err := scaffold.InstallCompat(cacheDir)
			if err != nil {
				return err
			}
			gomod, gosum, did, err := c.WireDir(dir)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), gomod, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "go.sum"), gosum, 0o644); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, d := range did {
				fmt.Fprintf(out, "go.mod: %s\n", d)
			}
			if tidy {
				if err := goIn(cmd, dir, nil, "mod", "tidy"); err != nil {
					return fmt.Errorf("%w\nthe replace directives are written; run go mod tidy where the module proxy is reachable", err)
				}
				fmt.Fprintln(out, "go.mod: go mod tidy")
			}
			if err := goIn(cmd, dir, []string{"GOFLAGS=-mod=readonly"}, "list", "-deps", "-test", "./..."); err != nil {
				return fmt.Errorf("%w\nthe replace directives are written; go.mod needs more requirements: run wasmgate compat --tidy (or go mod tidy) where the module proxy is reachable", err)
			}
			fmt.Fprintln(out, "go.mod: the go commands accept it as written")
			return nil
		},
	}
	cmd.Flags().BoolVar(&tidy, "tidy", false, "run go mod tidy (needs the module proxy for what the module cache lacks)")
	cmd.Flags().StringVar(&cacheDir, "cache", "", "where to write the modules (default $XDG_CACHE_HOME/wasmgate)")
	rootCmd.AddCommand(cmd)
}

// goIn runs the go command in dir with extra environment; the error
// carries its output.
func goIn(cmd *cobra.Command, dir string, env []string, args ...string) error {
	c := exec.CommandContext(cmd.Context(), "go", args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	var msg bytes.Buffer
	c.Stdout, c.Stderr = &msg, &msg
	if err := c.Run(); err != nil {
		return fmt.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, strings.TrimSpace(msg.String()))
	}
	return nil
}
