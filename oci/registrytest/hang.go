package registrytest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a loopback TCP proxy in front of a registry that can be told to
// hang: it then accepts connections and never answers, the way a registry
// behind a stuck load balancer behaves.
type Proxy struct {
	// Host is "127.0.0.1:PORT", to use in image references instead of the
	// registry's own.
	Host string

	target  string
	ln      net.Listener
	hanging atomic.Bool
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// Hanging starts a loopback server that accepts connections and never
// answers (a Proxy that always hangs). It is closed when the test ends.
func Hanging(t testing.TB) *Proxy {
	p := NewProxy(t, "")
	p.SetHanging(true)
	return p
}

// NewProxy starts a proxy to target (host:port). It is closed when the test
// ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("registrytest: proxy: %v", err)
	}
	p := &Proxy{Host: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// SetHanging switches the proxy between forwarding and hanging. Switching
// to hanging cuts the connections being forwarded, so clients that keep
// connections alive hang on the next one.
func (p *Proxy) SetHanging(h bool) {
	p.hanging.Store(h)
	if h {
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			if p.hanging.Load() || p.target == "" {
				// Read and drop whatever comes until the connection is closed.
				_, _ = io.Copy(io.Discard, c)
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			if !p.track(up) {
				return
			}
			defer p.untrack(up)
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}
