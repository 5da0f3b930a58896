package plugintest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The module cache: <user cache dir>/wasmgate/plugintest/<name>-<key>.wasm,
// where key hashes everything the build reads: the Go version and build
// settings, the sources (and embedded files) of every package the plugin
// links from its own module and from modules replaced by local
// directories, their go.mod files, the main module's go.sum, and the
// versions of the other modules. A build is shared by every test process;
// within a process, concurrent Loads of one package wait for one build.

var (
	buildMu  sync.Mutex
	builds   = map[string]*buildEntry{} // by directory and tags
	goEnvMu  sync.Mutex
	goEnvVal *goEnv
)

type buildEntry struct {
	done chan struct{}
	path string
	err  error
}

// buildPackage builds the package in dir for wasip1 as a c-shared module
// (cached) and returns the module file's path.
func buildPackage(dir string, tags []string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("plugintest: build %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("plugintest: build %s: %w", dir, err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("plugintest: build %s: not a directory (use LoadWasm for a module file)", dir)
	}
	id := abs + "\x00" + strings.Join(tags, ",")
	buildMu.Lock()
	if e, ok := builds[id]; ok {
		buildMu.Unlock()
		<-e.done
		return e.path, e.err
	}
	e := &buildEntry{done: make(chan struct{})}
	builds[id] = e
	buildMu.Unlock()

	e.path, e.err = build(abs, tags)
	close(e.done)
	if e.err != nil {
		buildMu.Lock()
		delete(builds, id)
		buildMu.Unlock()
	}
	return e.path, e.err
}

type goEnv struct {
	tool         string
	GOVERSION    string
	GOFLAGS      string
	GOEXPERIMENT string
	GOWASM       string
}

// goTool finds the go command: $GOROOT/bin/go, then go on $PATH, then the
// toolchain that built the test.
func goTool() (string, error) {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the go command was not found (set GOROOT or PATH)")
}

func loadGoEnv() (*goEnv, error) {
	goEnvMu.Lock()
	defer goEnvMu.Unlock()
	if goEnvVal != nil {
		return goEnvVal, nil
	}
	tool, err := goTool()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(tool, "env", "-json", "GOVERSION", "GOFLAGS", "GOEXPERIMENT", "GOWASM")
	cmd.Env = wasmEnv()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w%s", err, stderrOf(err))
	}
	env := &goEnv{tool: tool}
	if err := json.Unmarshal(out, env); err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	if !goAtLeast(env.GOVERSION, 24) {
		return nil, fmt.Errorf("%s cannot build plugins: go1.24 or newer is needed for wasip1 c-shared modules (go:wasmexport)", env.GOVERSION)
	}
	goEnvVal = env
	return env, nil
}

// goAtLeast reports whether version ("go1.26.8", "go1.25rc1", "devel …")
// is go1.<minor> or newer.
func goAtLeast(version string, minor int) bool {
	v, ok := strings.CutPrefix(version, "go1.")
	if !ok {
		return strings.Contains(version, "devel")
	}
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	return err == nil && n >= minor
}

func wasmEnv() []string {
	return append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return "\n" + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

func cacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "wasmgate", "plugintest")
}

func build(dir string, tags []string) (string, error) {
	env, err := loadGoEnv()
	if err != nil {
		return "", fmt.Errorf("plugintest: build %s: %w", dir, err)
	}
	key, name, err := sourceKey(env, dir, tags)
	if err != nil {
		// go list failed: go build says best what is wrong.
		if tmp, terr := os.MkdirTemp("", "plugintest-build-"); terr == nil {
			_, berr := goBuild(env, dir, tags, filepath.Join(tmp, "plugin.wasm"))
			os.RemoveAll(tmp)
			if berr != nil {
				return "", fmt.Errorf("plugintest: build %s: %w", dir, berr)
			}
		}
		return "", fmt.Errorf("plugintest: build %s: %w", dir, err)
	}
	out := filepath.Join(cacheDir(), name+"-"+key+".wasm")
	if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("plugintest: build %s: cache: %w", dir, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), name+"-*.tmp")
	if err != nil {
		return "", fmt.Errorf("plugintest: build %s: cache: %w", dir, err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName)
	if _, err := goBuild(env, dir, tags, tmpName); err != nil {
		return "", fmt.Errorf("plugintest: build %s: %w", dir, err)
	}
	// Another process may have finished the same build: renaming over it
	// is harmless, the content is the same.
	if err := os.Rename(tmpName, out); err != nil {
		return "", fmt.Errorf("plugintest: build %s: cache: %w", dir, err)
	}
	return out, nil
}

func goBuild(env *goEnv, dir string, tags []string, out string) (string, error) {
	args := []string{"build", "-buildmode=c-shared", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, ".")
	cmd := exec.Command(env.tool, args...)
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("GOOS=wasip1 GOARCH=wasm go %s: %w\n%s", strings.Join(args, " "), err, bytes.TrimSpace(msg))
	}
	return out, nil
}

// listedPackage holds the fields of `go list -json` the key needs.
type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	Standard   bool
	GoFiles    []string
	CgoFiles   []string
	SFiles     []string
	EmbedFiles []string
	Module     *listedModule
}

type listedModule struct {
	Path    string
	Version string
	Main    bool
	GoMod   string
	Replace *listedModule
}

// sourceKey hashes what the build of dir reads and returns the key and a
// file name for the module.
func sourceKey(env *goEnv, dir string, tags []string) (key, name string, err error) {
	args := []string{"list", "-deps", "-json=ImportPath,Name,Dir,Standard,GoFiles,CgoFiles,SFiles,EmbedFiles,Module"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, ".")
	cmd := exec.Command(env.tool, args...)
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list: %w%s", err, stderrOf(err))
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return "", "", fmt.Errorf("go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return "", "", errors.New("go list: no package")
	}
	main := pkgs[len(pkgs)-1] // -deps lists the named package last
	if main.Name != "main" {
		return "", "", fmt.Errorf("package %s is not a main package (plugins are package main)", main.ImportPath)
	}
	h := sha256.New()
	fmt.Fprintf(h, "plugintest build 1\n%s\n%s\n%s\n%s\n%s\n%s\n", env.GOVERSION, env.GOFLAGS, env.GOEXPERIMENT, env.GOWASM,
		strings.Join(tags, ","), main.ImportPath)
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].ImportPath < pkgs[j].ImportPath })
	goMods := map[string]bool{}
	var mainMod string
	for _, p := range pkgs {
		if p.Standard {
			continue
		}
		m := p.Module
		local := m == nil || m.Main || (m.Replace != nil && m.Replace.Version == "")
		if !local {
			v := m.Path + "@" + m.Version
			if m.Replace != nil {
				v += "=>" + m.Replace.Path + "@" + m.Replace.Version
			}
			fmt.Fprintf(h, "pkg %s %s\n", p.ImportPath, v)
			continue
		}
		fmt.Fprintf(h, "pkg %s local\n", p.ImportPath)
		if m != nil {
			gomod := m.GoMod
			if m.Replace != nil && m.Replace.GoMod != "" {
				gomod = m.Replace.GoMod
			}
			goMods[gomod] = true
			if m.Main {
				mainMod = gomod
			}
		}
		files := append(append(append(append([]string(nil), p.GoFiles...), p.CgoFiles...), p.SFiles...), p.EmbedFiles...)
		sort.Strings(files)
		for _, f := range files {
			if err := hashFile(h, filepath.Join(p.Dir, f), f); err != nil {
				return "", "", err
			}
		}
	}
	if mainMod != "" {
		goMods[filepath.Join(filepath.Dir(mainMod), "go.sum")] = true
		goMods[filepath.Join(filepath.Dir(mainMod), "go.work")] = true
	}
	mods := make([]string, 0, len(goMods))
	for f := range goMods {
		mods = append(mods, f)
	}
	sort.Strings(mods)
	for _, f := range mods {
		if f == "" {
			continue
		}
		if err := hashFile(h, f, f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", "", err
		}
	}
	name = filepath.Base(dir)
	if name == "." || name == string(filepath.Separator) {
		name = "plugin"
	}
	return hex.EncodeToString(h.Sum(nil))[:24], name, nil
}

func hashFile(h io.Writer, path, label string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("hash %s: %w", path, err)
	}
	fmt.Fprintf(h, "file %s %d\n", label, len(b))
	_, err = h.Write(b)
	return err
}
