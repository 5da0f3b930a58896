package plugintest

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int
		want []string
	}{
		{"", 3, nil},
		{"abc", 0, []string{"abc"}},
		{"abc", 1, []string{"abc"}},
		{"abcdefg", 3, []string{"abc", "de", "fg"}},
		{"ab", 5, []string{"a", "b"}},
	} {
		var got []string
		for _, c := range split([]byte(tc.body), tc.n) {
			got = append(got, string(c))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("split(%q, %d) = %q, want %q", tc.body, tc.n, got, tc.want)
		}
	}
}

func TestManualClock(t *testing.T) {
	c := newManualClock(DefaultStartTime)
	var order []string
	c.AfterFunc(20*time.Millisecond, func() { order = append(order, "b") })
	c.AfterFunc(10*time.Millisecond, func() {
		order = append(order, "a")
		// armed while firing, due inside the window: it runs too
		c.AfterFunc(5*time.Millisecond, func() { order = append(order, "a2") })
	})
	stopped := c.AfterFunc(15*time.Millisecond, func() { order = append(order, "stopped") })
	c.AfterFunc(20*time.Millisecond, func() { order = append(order, "c") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop reports wrongly")
	}
	n0 := c.Nanotime()
	end := c.Now().Add(30 * time.Millisecond)
	for tm := c.popDue(end); tm != nil; tm = c.popDue(end) {
		tm.f()
	}
	c.moveTo(end)
	if got := strings.Join(order, " "); got != "a a2 b c" {
		t.Fatalf("fired %q", got)
	}
	if c.Now() != DefaultStartTime.Add(30*time.Millisecond) || c.Nanotime()-n0 != int64(30*time.Millisecond) || n0 == 0 {
		t.Fatalf("now %v nanotime %d", c.Now(), c.Nanotime())
	}
	if _, ok := c.nextDue(); ok {
		t.Fatal("timers left")
	}
}

func TestGoAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"go1.24.0": true, "go1.26.8": true, "go1.25rc1": true, "go1.23.4": false, "go1.9": false,
		"devel go1.27-abc": true, "": false,
	} {
		if got := goAtLeast(v, 24); got != want {
			t.Errorf("goAtLeast(%q) = %v", v, got)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The cache key follows the sources the build reads, and only them.
func TestSourceKey(t *testing.T) {
	env, err := loadGoEnv()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/tiny\n\ngo 1.24\n")
	write(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() {}\n")
	write(t, filepath.Join(dir, "main_test.go"), "package main\n")
	key := func() string {
		t.Helper()
		k, name, err := sourceKey(env, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if name != filepath.Base(dir) {
			t.Fatalf("name %q", name)
		}
		return k
	}
	k1 := key()
	write(t, filepath.Join(dir, "main_test.go"), "package main\n\n// a test change\n")
	if key() != k1 {
		t.Fatal("a test file changed the key")
	}
	write(t, filepath.Join(dir, "README.md"), "docs")
	if key() != k1 {
		t.Fatal("a non-Go file changed the key")
	}
	write(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() { println() }\n")
	k2 := key()
	if k2 == k1 {
		t.Fatal("a source change kept the key")
	}
	write(t, filepath.Join(dir, "go.mod"), "module example.com/tiny\n\ngo 1.25\n")
	if key() == k2 {
		t.Fatal("a go.mod change kept the key")
	}
	if k, _, err := sourceKey(env, dir, []string{"extra"}); err != nil || k == key() {
		t.Fatalf("build tags kept the key (%v)", err)
	}
	os.Remove(filepath.Join(dir, "main_test.go"))
	write(t, filepath.Join(dir, "main.go"), "package tiny\n")
	if _, _, err := sourceKey(env, dir, nil); err == nil || !strings.Contains(err.Error(), "not a main package") {
		t.Fatalf("err = %v", err)
	}
}

// Concurrent loads of one package share one build.
func TestBuildShared(t *testing.T) {
	var wg sync.WaitGroup
	paths := make([]string, 4)
	errs := make([]error, 4)
	for i := range paths {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			paths[i], errs[i] = buildPackage("testdata/probe", nil)
		}(i)
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if paths[i] != paths[0] {
			t.Fatalf("paths differ: %q", paths)
		}
	}
	if !strings.HasPrefix(paths[0], cacheDir()) || !strings.HasSuffix(paths[0], ".wasm") {
		t.Fatalf("module at %s, not in %s", paths[0], cacheDir())
	}
	fi, err := os.Stat(paths[0])
	if err != nil || fi.Size() < 1000 {
		t.Fatalf("module file: %v %v", fi, err)
	}
}
