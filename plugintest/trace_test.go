package plugintest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wasmgate/wasmgate/plugintest"
)

// failingTB is a test that records its failure and logs instead of
// failing the real test, to see what a failing plugin test prints.
type failingTB struct {
	testing.TB
	failed   bool
	logs     []string
	cleanups []func()
}

func (f *failingTB) Helper()                 {}
func (f *failingTB) Failed() bool            { return f.failed }
func (f *failingTB) Cleanup(fn func())       { f.cleanups = append(f.cleanups, fn) }
func (f *failingTB) Logf(s string, a ...any) { f.logs = append(f.logs, fmt.Sprintf(s, a...)) }
func (f *failingTB) Errorf(s string, a ...any) {
	f.failed = true
	f.Logf(s, a...)
}

func (f *failingTB) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// A failing test prints the trace of its requests: the callbacks with the
// actions they returned and the headers the plugin changed.
func TestFailingTestPrintsTrace(t *testing.T) {
	p := plugintest.Load(t, "../examples/my-plugin", plugintest.Config(`{"mockEnable":false}`))
	ft := &failingTB{TB: t}
	res := p.Do(ft, plugintest.Get("/traced"))
	if res.Trace == nil || len(res.Trace.Events) == 0 {
		t.Fatal("no trace in the result")
	}
	ft.end()
	if len(ft.logs) != 0 {
		t.Fatalf("a passing test printed: %v", ft.logs)
	}

	ft = &failingTB{TB: t}
	res = p.Do(ft, plugintest.Get("/traced"))
	ft.Errorf("the test's own check failed")
	ft.end()
	out := strings.Join(ft.logs, "\n")
	for _, want := range []string{"trace of GET /traced", "on_request_headers → HeaderContinue", "+hello=world", "on_response_headers"} {
		if !strings.Contains(out, want) {
			t.Fatalf("failure output lacks %q:\n%s", want, out)
		}
	}
	if res.TraceText() == "" {
		t.Fatal("empty TraceText")
	}
}
