package fetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"syscall"
	"time"

	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/wasmgate/wasmgate/oci"
)

// Timeouts bound the network side of a fetch. A zero field takes its value
// from DefaultTimeouts.
type Timeouts struct {
	// Connect bounds opening one connection: the TCP connect and the TLS
	// handshake.
	Connect time.Duration
	// Response bounds the wait for a response's headers once the request
	// is sent.
	Response time.Duration
	// Total bounds the whole fetch, every attempt and the waits between
	// them included.
	Total time.Duration
	// Attempts is how many times a fetch that failed in a way another try
	// may fix (a timeout, a refused or dropped connection, a 5xx or 429
	// answer) is tried; 1 means no retry.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles for each
	// further one, up to 5 s.
	Backoff time.Duration
}

// DefaultTimeouts are the timeouts a zero Timeouts field takes.
func DefaultTimeouts() Timeouts {
	return Timeouts{Connect: 5 * time.Second, Response: 10 * time.Second, Total: 30 * time.Second, Attempts: 3, Backoff: 500 * time.Millisecond}
}

// WithDefaults returns t with its zero fields set from DefaultTimeouts.
func (t Timeouts) WithDefaults() Timeouts {
	d := DefaultTimeouts()
	if t.Connect <= 0 {
		t.Connect = d.Connect
	}
	if t.Response <= 0 {
		t.Response = d.Response
	}
	if t.Total <= 0 {
		t.Total = d.Total
	}
	if t.Attempts <= 0 {
		t.Attempts = d.Attempts
	}
	if t.Backoff <= 0 {
		t.Backoff = d.Backoff
	}
	return t
}

// Timeout phases.
const (
	PhaseConnect  = "connect"
	PhaseResponse = "response"
	PhaseTotal    = "total"
)

// TimeoutError reports a fetch that ran out of time: which timeout, how
// long it was, and what was waited for.
type TimeoutError struct {
	// Op is what timed out: "connect to HOST:PORT", "GET URL", or the url
	// being fetched for the total timeout (left out of the message, which
	// the caller prefixes with it).
	Op string
	// Phase is PhaseConnect, PhaseResponse or PhaseTotal.
	Phase string
	// Duration is the timeout that expired.
	Duration time.Duration
	// Attempts is the number of attempts made (total timeout only).
	Attempts int
	// Last is the error of the last attempt (total timeout only).
	Last error
}

func (e *TimeoutError) Error() string {
	switch e.Phase {
	case PhaseConnect:
		return fmt.Sprintf("%s: no connection within the %s connect timeout", e.Op, e.Duration)
	case PhaseResponse:
		return fmt.Sprintf("%s: no response within the %s response timeout", e.Op, e.Duration)
	}
	s := fmt.Sprintf("gave up after the %s total timeout", e.Duration)
	if e.Attempts > 0 {
		s += fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	if e.Last != nil && !errors.Is(e.Last, context.DeadlineExceeded) && !errors.Is(e.Last, e) {
		s += "; last error: " + e.Last.Error()
	}
	return s
}

// Unwrap returns the last attempt's error.
func (e *TimeoutError) Unwrap() error { return e.Last }

// Timeout reports true, as net.Error does.
func (e *TimeoutError) Timeout() bool { return true }

// StatusError is an HTTP answer other than 200 to a module download.
type StatusError struct {
	URL    string
	Status string
	Code   int
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: %s", e.URL, e.Status) }

var clients sync.Map // Timeouts -> *http.Client

// Client returns an HTTP client whose connections and responses are bound
// by t's connect and response timeouts (Total is the caller's, through its
// context; see Retry). Clients are shared per Timeouts value, so
// connections are reused.
func Client(t Timeouts) *http.Client {
	t = t.WithDefaults()
	key := Timeouts{Connect: t.Connect, Response: t.Response}
	if c, ok := clients.Load(key); ok {
		return c.(*http.Client)
	}
	c := &http.Client{Transport: &responseTimeout{base: newTransport(t.Connect), d: t.Response}}
	actual, _ := clients.LoadOrStore(key, c)
	return actual.(*http.Client)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// newTransport is http.DefaultTransport with connect and TLS handshake
// bound by connect, reporting a *TimeoutError when either runs out.
func newTransport(connect time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil && isTimeout(err) && ctx.Err() == nil {
			return nil, &TimeoutError{Op: "connect to " + addr, Phase: PhaseConnect, Duration: connect}
		}
		return c, err
	}
	tr.DialContext = dial
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		start := time.Now()
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tc := tls.Client(c, &tls.Config{ServerName: host, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12})
		hctx, cancel := context.WithTimeout(ctx, connect-time.Since(start))
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			c.Close()
			if hctx.Err() != nil && ctx.Err() == nil {
				return nil, &TimeoutError{Op: "TLS handshake with " + addr, Phase: PhaseConnect, Duration: connect}
			}
			return nil, err
		}
		return tc, nil
	}
	tr.ForceAttemptHTTP2 = false
	tr.TLSHandshakeTimeout = 0
	tr.ResponseHeaderTimeout = 0
	return tr
}

var errResponseTimeout = errors.New("response timeout")

// responseTimeout bounds the wait for response headers, counted from the
// moment the request is written.
type responseTimeout struct {
	base http.RoundTripper
	d    time.Duration
}

func (rt *responseTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	var mu sync.Mutex
	returned := false
	timer := time.AfterFunc(rt.d, func() { cancel(errResponseTimeout) })
	timer.Stop()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		if !returned {
			timer.Reset(rt.d)
		}
	}})
	resp, err := rt.base.RoundTrip(req.WithContext(ctx))
	mu.Lock()
	returned = true
	timer.Stop()
	mu.Unlock()
	if err != nil {
		if errors.Is(context.Cause(ctx), errResponseTimeout) {
			err = &TimeoutError{Op: req.Method + " " + req.URL.Redacted(), Phase: PhaseResponse, Duration: rt.d}
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// Retryable reports whether another attempt may succeed where err failed:
// connect and response timeouts, refused or dropped connections, and 5xx or
// 429 answers. Checksum, digest, size-limit and format errors are final.
func Retryable(err error) bool {
	var te *TimeoutError
	if errors.As(err, &te) {
		return te.Phase != PhaseTotal
	}
	var (
		de *oci.DigestError
		le *oci.LimitError
		ce *ChecksumError
	)
	if errors.As(err, &de) || errors.As(err, &le) || errors.As(err, &ce) {
		return false
	}
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode >= 500 || er.StatusCode == http.StatusTooManyRequests
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// Retry runs attempt until it succeeds, fails in a way another attempt
// cannot fix (see Retryable), has been tried t.Attempts times, or t.Total
// has passed, waiting t.Backoff (doubling) between attempts. what names the
// operation in errors. The context attempt gets ends with the total
// timeout; running out of it gives a *TimeoutError with the last error.
func Retry(ctx context.Context, t Timeouts, log *slog.Logger, what string, attempt func(context.Context) error) error {
	t = t.WithDefaults()
	if log == nil {
		log = slog.Default()
	}
	total := &TimeoutError{Op: what, Phase: PhaseTotal, Duration: t.Total}
	ctx, cancel := context.WithTimeoutCause(ctx, t.Total, total)
	defer cancel()
	wait := t.Backoff
	// last is the latest error not caused by the total timeout itself: the
	// one worth reporting when the time runs out.
	var last error
	expired := func(n int, err error) error {
		if last == nil || !errors.Is(err, total) {
			last = err
		}
		return &TimeoutError{Op: what, Phase: PhaseTotal, Duration: t.Total, Attempts: n, Last: last}
	}
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if context.Cause(ctx) == total {
			return expired(n, err)
		}
		last = err
		if ctx.Err() != nil || !Retryable(err) {
			return err
		}
		if n >= t.Attempts {
			return fmt.Errorf("%w (%d attempts)", err, n)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w (%d attempts; the %s total timeout leaves no time for another)", err, n, t.Total)
		}
		log.Warn("fetch failed; retrying", "url", what, "attempt", n, "retry_in", wait.String(), "error", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			if context.Cause(ctx) == total {
				return expired(n, err)
			}
			return err
		}
		wait = min(2*wait, 5*time.Second)
	}
}
