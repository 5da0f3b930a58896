package gateway

import (
	"io"
	"net"
	"os"
	"strconv"
	"sync"
)

// bodyPipe carries a request body from the exchange to the goroutine that
// writes it upstream. Writes never block the exchange; it watches
// buffered() against its watermark and stops reading the client instead.
// The body ends with finish: cleanly (the reader sees io.EOF) or with an
// error, which the upstream connection turns into a reset so that a failed
// upload never reaches the upstream as a complete one.
type bodyPipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks [][]byte
	cur    []byte
	queued int
	done   bool
	err    error // io.EOF for a clean end

	// drained is signalled when queued falls to below (once armed by
	// notifyBelow).
	drained chan struct{}
	below   int
	armed   bool
}

func newBodyPipe() *bodyPipe {
	p := &bodyPipe{drained: make(chan struct{}, 1)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// write queues b (the pipe keeps it; the caller must not reuse it).
func (p *bodyPipe) write(b []byte) {
	if len(b) == 0 {
		return
	}
	p.mu.Lock()
	if !p.done {
		p.chunks = append(p.chunks, b)
		p.queued += len(b)
		p.cond.Signal()
	}
	p.mu.Unlock()
}

// finish ends the body: err nil is the end of a complete body (the reader
// sees io.EOF after the queued chunks), anything else aborts it at once.
// Later calls do nothing.
func (p *bodyPipe) finish(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	if err == nil {
		p.err = io.EOF
	} else {
		p.err = err
		p.chunks, p.cur, p.queued = nil, nil, 0
	}
	p.cond.Broadcast()
}

// buffered returns the bytes queued and not yet read.
func (p *bodyPipe) buffered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued
}

// notifyBelow arms one signal on drained when the queue falls to n bytes.
func (p *bodyPipe) notifyBelow(n int) {
	p.mu.Lock()
	p.below, p.armed = n, true
	p.mu.Unlock()
}

// Read implements io.Reader for the upstream writer.
func (p *bodyPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.cur) == 0 {
		if p.err != nil && p.err != io.EOF {
			return 0, p.err
		}
		if len(p.chunks) > 0 {
			p.cur = p.chunks[0]
			p.chunks[0] = nil
			p.chunks = p.chunks[1:]
			break
		}
		if p.done {
			return 0, p.err
		}
		p.cond.Wait()
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	p.queued -= n
	if p.armed && p.queued <= p.below {
		p.armed = false
		select {
		case p.drained <- struct{}{}:
		default:
		}
	}
	return n, nil
}

// Close implements io.Closer; the transport calls it when it is done.
func (p *bodyPipe) Close() error {
	p.finish(errRequestAborted)
	return nil
}

func splitAddr(a string) (string, int) {
	h, port, err := net.SplitHostPort(a)
	if err != nil {
		return a, 0
	}
	n, _ := strconv.Atoi(port)
	return h, n
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
