package higress

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wasmgate/wasmgate/config"
)

// DefaultDataMount is where the Higress standalone container mounts its data directory, so
// WasmPlugins written for it say `url: file:///data/wasmplugins/x.wasm`.
const DefaultDataMount = "/data"

// sourceResolver turns a WasmPlugin `url` into a module source.
type sourceResolver struct {
	dataDir   string // the data directory on this machine (absolute)
	dataMount string // where the Higress container mounts it ("" disables remapping)
	stat      func(string) error
}

// resolve interprets url as Higress does — `file://PATH`, `http(s)://`, `oci://REF`, and no
// scheme meaning OCI — with one local convenience: a plain path (starting with "/", "./" or
// "../", or a bare name ending in ".wasm") is a file, relative to the YAML file's directory.
//
// A `file://` path under the container's data mount (/data/...) that does not exist on this
// machine is looked up in the data directory instead, so files written for the Higress
// standalone container work unchanged; note reports that.
func (r *sourceResolver) resolve(url, yamlDir string) (src config.PluginSource, note string, err error) {
	switch {
	case strings.HasPrefix(url, "file://"):
		return r.file(strings.TrimPrefix(url, "file://"), yamlDir)
	case strings.HasPrefix(url, "http://"), strings.HasPrefix(url, "https://"):
		return config.PluginSource{Kind: config.SourceHTTP, URL: url}, "", nil
	case strings.HasPrefix(url, "oci://"):
		ref := strings.TrimPrefix(url, "oci://")
		if ref == "" {
			return src, "", fmt.Errorf("oci:// URL has no image reference")
		}
		return config.PluginSource{Kind: config.SourceOCI, URL: ref}, "", nil
	case strings.Contains(url, "://"):
		scheme := url[:strings.Index(url, "://")]
		return src, "", fmt.Errorf("unsupported URL scheme %q (want file, http, https or oci)", scheme)
	case isPlainPath(url):
		return r.file(url, yamlDir)
	}
	return config.PluginSource{Kind: config.SourceOCI, URL: url}, "", nil
}

func isPlainPath(u string) bool {
	if strings.HasPrefix(u, "/") || strings.HasPrefix(u, "./") || strings.HasPrefix(u, "../") {
		return true
	}
	return strings.HasSuffix(u, ".wasm") && !strings.ContainsAny(u, ":@")
}

func (r *sourceResolver) file(path, yamlDir string) (config.PluginSource, string, error) {
	if path == "" {
		return config.PluginSource{}, "", fmt.Errorf("file URL has no path")
	}
	var note string
	if !filepath.IsAbs(path) {
		path = filepath.Join(yamlDir, path)
	} else if r.dataMount != "" && r.stat(path) != nil {
		mount := strings.TrimSuffix(r.dataMount, "/") + "/"
		if rest, ok := strings.CutPrefix(path, mount); ok {
			local := filepath.Join(r.dataDir, filepath.FromSlash(rest))
			if r.stat(local) == nil {
				note = fmt.Sprintf("%s does not exist here; using %s (the data directory is mounted at %s in the Higress container)", path, local, r.dataMount)
				path = local
			}
		}
	}
	return config.PluginSource{Kind: config.SourceFile, Path: filepath.Clean(path)}, note, nil
}

func statFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

// checkDigest verifies that an `@sha256:` digest in an OCI or HTTP URL agrees with the sha256
// field, as Higress requires.
func checkDigest(url, sha string) error {
	i := strings.Index(url, "@sha256:")
	if i < 0 || sha == "" {
		return nil
	}
	if d := url[i+len("@sha256:"):]; d != sha {
		return fmt.Errorf("sha256 %s does not match the digest %s in the url", sha, d)
	}
	return nil
}
