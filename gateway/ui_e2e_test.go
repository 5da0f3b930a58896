package gateway

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's chromium (scripts/deps.sh installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: run scripts/deps.sh (Debian package chromium)")
	return ""
}

// artifactDir is where UI tests write screenshots: $WASMGATE_ARTIFACTS,
// else <tmp>/wasmgate-artifacts.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("WASMGATE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "wasmgate-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// The web view in a real headless Chromium: the list fills live as
// requests finish (server-sent events), a request's page shows its
// timeline and the header diff of the plugin that changed headers.
func TestUIShowsLiveListTimelineAndHeaderDiff(t *testing.T) {
	g := tracedChain(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.admin+"/ui"),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)), // the event stream is open
	); err != nil {
		t.Fatalf("open /ui: %v", err)
	}
	// Sent after the page loaded: they can only appear through the live updates.
	req, _ := http.NewRequest("POST", g.url+"/anything/ok", strings.NewReader("hello world"))
	req.Header.Set("X-Drop", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _, _ := get(t, g.url+"/anything/reply"); code != 418 {
		t.Fatalf("reply %d", code)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//table[@id="requests"]//td[contains(., "/anything/reply")]`))); err != nil {
		t.Fatalf("live list: %v", err)
	}
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#requests tbody`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/anything/ok", "/anything/reply", "418", "trace-callout"} {
		if !strings.Contains(list, want) {
			t.Fatalf("list lacks %q:\n%s", want, list)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//table[@id="requests"]//a[text()="/anything/ok"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline`)),
	); err != nil {
		t.Fatalf("request page: %v", err)
	}
	timeline, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#timeline`)))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"on_request_headers → HeaderStopAllIterationAndWatermark", "http GET auth.local/auth", "paused in request_headers, resumed by on_http_call_response", "redis INCR trace-hits", "upstream outbound|80||echo"} {
		if !strings.Contains(timeline, want) {
			t.Fatalf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	diffRows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.diff.headers tr.added").length`))
	if err != nil {
		t.Fatal(err)
	}
	if diffRows == 0 || !strings.Contains(changes, "x-traced") || !strings.Contains(changes, "x-drop") || !strings.Contains(changes, "HELLO WORLD") {
		t.Fatalf("header/body diff not shown (%d added rows):\n%s", diffRows, changes)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactDir(t), "ui-request.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	if err := chromedp.Do(ctx, chromedp.Navigate(g.admin+"/ui/plugins")); err != nil {
		t.Fatal(err)
	}
	plugins, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.plugins`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plugins, "trace-redis") || !strings.Contains(plugins, "loaded") {
		t.Fatalf("plugin list:\n%s", plugins)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(g.admin+"/ui/config")); err != nil {
		t.Fatal(err)
	}
	cfg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`pre.config`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg, `"outbound|6379||redis.static"`) || !strings.Contains(cfg, `"default/api-route"`) {
		t.Fatalf("configuration page:\n%s", cfg)
	}
}
