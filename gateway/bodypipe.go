package gateway

import (
	"io"
	"net"
	"os"
	"strconv"
	"sync"
)

// bodyPipe carries a request body to the upstream transport. Writes never
// block the request's loop: chunks queue until the transport reads them.
type bodyPipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks [][]byte
	closed bool
	cur    []byte
}

func newBodyPipe() *bodyPipe {
	p := &bodyPipe{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *bodyPipe) write(b []byte) {
	if len(b) == 0 {
		return
	}
	p.mu.Lock()
	if !p.closed {
		p.chunks = append(p.chunks, b)
		p.cond.Signal()
	}
	p.mu.Unlock()
}

// close ends the body: the reader sees EOF after the queued chunks.
func (p *bodyPipe) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Read implements io.Reader for the transport.
func (p *bodyPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.cur) == 0 {
		if len(p.chunks) > 0 {
			p.cur, p.chunks = p.chunks[0], p.chunks[1:]
			break
		}
		if p.closed {
			return 0, io.EOF
		}
		p.cond.Wait()
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// Close implements io.Closer; the transport calls it when it is done.
func (p *bodyPipe) Close() error {
	p.close()
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
