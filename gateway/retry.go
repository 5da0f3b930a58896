package gateway

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

// Envoy's retry back-off: fully jittered, from a 25 ms base interval, at most ten times it.
const (
	retryBaseInterval = 25 * time.Millisecond
	retryMaxInterval  = 10 * retryBaseInterval
)

type retryKey struct{}

// withRetry attaches the route's retry policy to an upstream request. Only requests without a
// body are retried: the body of a streamed request is gone once sent.
func withRetry(req *http.Request, p *config.RetryPolicy) *http.Request {
	if p == nil || p.NumRetries <= 0 || (req.Body != nil && req.Body != http.NoBody) {
		return req
	}
	return req.WithContext(context.WithValue(req.Context(), retryKey{}, p))
}

// sendWithRetries sends req, and again while an attempt fails as the route's retry policy says
// and retries remain. The route timeout bounds all attempts (it cancels the request's context).
func sendWithRetries(rt http.RoundTripper, req *http.Request) (*http.Response, error) {
	p, _ := req.Context().Value(retryKey{}).(*config.RetryPolicy)
	if p == nil {
		return rt.RoundTrip(req)
	}
	for attempt := 1; ; attempt++ {
		resp, err := rt.RoundTrip(req)
		if attempt > p.NumRetries || !retriable(p, resp, err) || req.Context().Err() != nil {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		limit := retryBaseInterval << min(attempt-1, 3)
		limit = min(limit, retryMaxInterval)
		t := time.NewTimer(rand.N(limit) + time.Millisecond)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		}
	}
}

// retriable applies Envoy's retry_on conditions to one attempt's outcome.
func retriable(p *config.RetryPolicy, resp *http.Response, err error) bool {
	on := func(c string) bool { return slices.Contains(p.RetryOn, c) }
	if err != nil {
		var op *net.OpError
		connect := errors.As(err, &op) && op.Op == "dial"
		return on("5xx") || on("gateway-error") || (connect && on("connect-failure")) || (!connect && on("reset"))
	}
	code := resp.StatusCode
	switch {
	case code >= 500 && on("5xx"):
		return true
	case (code == 502 || code == 503 || code == 504) && on("gateway-error"):
		return true
	case code == 409 && on("retriable-4xx"):
		return true
	case on("retriable-status-codes") && slices.Contains(p.RetriableStatusCodes, code):
		return true
	}
	return false
}
