package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/internal/testwasm"
)

// liveHeap is the Go heap's live bytes after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// countingReader produces n bytes without holding them, counting what was read.
type countingReader struct {
	n, read int64
	sent    *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n-r.read {
		p = p[:r.n-r.read]
	}
	for i := range p {
		p[i] = 'x'
	}
	r.read += int64(len(p))
	r.sent.Add(int64(len(p)))
	return len(p), nil
}

// stalled waits until none of the counters moves for a second: every
// sender is blocked (or done).
func stalled(t *testing.T, counters []*atomic.Int64) {
	t.Helper()
	last := make([]int64, len(counters))
	still := 0
	deadline := time.Now().Add(60 * time.Second)
	for still < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("the uploads never stalled")
		}
		time.Sleep(100 * time.Millisecond)
		moved := false
		for i, c := range counters {
			if v := c.Load(); v != last[i] {
				last[i], moved = v, true
			}
		}
		if moved || last[0] == 0 {
			still = 0
		} else {
			still++
		}
	}
}

// uploadsHeld sends three 100 MiB uploads through g and checks that the
// gateway stops reading them: the clients stall well before the end and
// the heap grows by less than 64 MiB.
func uploadsHeld(t *testing.T, g *testGateway) {
	const size, uploads = 100 << 20, 3
	base := liveHeap()
	counters := make([]*atomic.Int64, uploads)
	for i := range counters {
		counters[i] = &atomic.Int64{}
		req, err := http.NewRequest("POST", fmt.Sprintf("%s/upload/%d", g.url, i), &countingReader{n: size, sent: counters[i]})
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		go func() {
			if resp, err := http.DefaultTransport.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	stalled(t, counters)
	grown := int64(liveHeap()) - int64(base)
	var total int64
	for _, c := range counters {
		total += c.Load()
	}
	t.Logf("clients sent %d MiB of %d MiB; live heap grew %.1f MiB", total>>20, uploads*size>>20, float64(grown)/(1<<20))
	if total >= uploads*size/2 {
		t.Errorf("the gateway read %d MiB of the uploads: it did not stop reading", total>>20)
	}
	if grown >= 64<<20 {
		t.Errorf("the live heap grew by %d MiB holding the uploads, want less than 64 MiB", grown>>20)
	}
}

func TestUploadsHeldByAPausingPluginAreBounded(t *testing.T) {
	g := startGateway(t, pathConfig{cluster: holdUpstream(t), plugins: []config.Plugin{pausePlugin(t)}}.source(), shortDrain)
	uploadsHeld(t, g)
}

func TestUploadsToAnUpstreamThatDoesNotReadAreBounded(t *testing.T) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	up := rawServer(t, "sink", func(c net.Conn) {
		<-done // read nothing: the gateway's writes back up
	})
	g := startGateway(t, pathConfig{cluster: up}.source(), shortDrain)
	uploadsHeld(t, g)
}

// shortDrain resets what is still running a second into the shutdown.
func shortDrain(o *Options) { o.DrainTime = time.Second }

func TestDownloadHeldInResponseHeadersIsBounded(t *testing.T) {
	const size = 100 << 20
	var sent atomic.Int64
	up := rawServer(t, "big", func(c net.Conn) {
		if _, err := readRequestHead(bufio.NewReader(c)); err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
		_, _ = io.Copy(c, &countingReader{n: size, sent: &sent})
	})
	wasm := testwasm.Build(t, "host/testdata/goplugin/scripted")
	p := filePlugin("holdresp", wasm, `{"response_headers":[{"op":"return","value":4}]}`)
	g := startGateway(t, pathConfig{cluster: up, plugins: []config.Plugin{p}}.source(), shortDrain)
	base := liveHeap()
	go func() {
		if resp, err := http.Get(g.url + "/download"); err == nil {
			resp.Body.Close()
		}
	}()
	stalled(t, []*atomic.Int64{&sent})
	grown := int64(liveHeap()) - int64(base)
	t.Logf("the upstream sent %d MiB of %d MiB; live heap grew %.1f MiB", sent.Load()>>20, size>>20, float64(grown)/(1<<20))
	if sent.Load() >= size/2 {
		t.Errorf("the gateway read %d MiB of a response a plugin holds", sent.Load()>>20)
	}
	if grown >= 64<<20 {
		t.Errorf("the live heap grew by %d MiB, want less than 64 MiB", grown>>20)
	}
}
