package migrate

import (
	"math/rand"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	b := "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n"
	want := `--- a/f.go
+++ b/f.go
@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -11,3 +11,4 @@
 k
 l
 m
+n
`
	if got := unifiedDiff("f.go", []byte(a), []byte(b)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := unifiedDiff("f.go", []byte(a), []byte(a)); got != "" {
		t.Errorf("equal files: %q", got)
	}
	if got := unifiedDiff("f", []byte("x"), []byte("x\n")); !strings.Contains(got, "-x\n\\ No newline at end of file\n+x\n") {
		t.Errorf("newline at end: %q", got)
	}
	if got := unifiedDiff("f", nil, []byte("x\n")); got != "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x\n" {
		t.Errorf("new file: %q", got)
	}
}

// The edit script applied to a gives b, for random inputs.
func TestDiffLinesApplies(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	words := []string{"a\n", "b\n", "c\n", "d\n"}
	gen := func() []string {
		s := make([]string, r.Intn(30))
		for i := range s {
			s[i] = words[r.Intn(len(words))]
		}
		return s
	}
	for i := 0; i < 500; i++ {
		a, b := gen(), gen()
		var gotA, gotB []string
		for _, e := range diffLines(a, b) {
			if e.kind != '+' {
				gotA = append(gotA, e.line)
			}
			if e.kind != '-' {
				gotB = append(gotB, e.line)
			}
		}
		if strings.Join(gotA, "") != strings.Join(a, "") || strings.Join(gotB, "") != strings.Join(b, "") {
			t.Fatalf("script does not reproduce inputs:\na=%q\nb=%q", a, b)
		}
	}
}
