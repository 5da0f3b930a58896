package wasmgate

import (
	"io/fs"
	"os/exec"
	"strings"
	"testing"
)

// TestHarnessSourceHoldsPlugintestDeps checks that every package of this
// module plugintest imports is embedded, so a scaffolded plugin's tests
// build offline.
func TestHarnessSourceHoldsPlugintestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./plugintest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/wasmgate/wasmgate/"
	for _, pkg := range strings.Fields(string(out)) {
		dir, ok := strings.CutPrefix(pkg, mod)
		if !ok || strings.HasPrefix(dir, "sdk/") {
			continue
		}
		if _, err := fs.Stat(HarnessSource, dir); err != nil {
			t.Errorf("plugintest imports %s, which HarnessSource does not embed", pkg)
		}
	}
}
