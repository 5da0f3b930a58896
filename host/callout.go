package host

import (
	"errors"
	"time"

	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// ErrUnknownCluster is returned by HTTPCaller and RedisCaller for a cluster
// they do not know; the plugin sees BadArgument.
var ErrUnknownCluster = errors.New("unknown cluster")

// CalloutRequest is an HTTP request a plugin sends with proxy_http_call.
type CalloutRequest struct {
	// Cluster is the upstream cluster name (Envoy/Higress naming).
	Cluster string
	// Headers include ":method", ":path" and ":authority"; keys are
	// lower-case; "content-length" is set when Body is not empty.
	Headers  *HeaderMap
	Body     []byte
	Trailers *HeaderMap
	// Timeout is the plugin's timeout (0: none). The engine also enforces
	// it: without an answer in time the plugin gets a 504 response.
	Timeout time.Duration
}

// CalloutResponse is the answer to a CalloutRequest.
type CalloutResponse struct {
	// Headers include ":status".
	Headers  *HeaderMap
	Body     []byte
	Trailers *HeaderMap
	// Reset reports a reset stream or a response over the buffer limit:
	// the plugin is called with (0, 0, 0) and proxy_get_status returns
	// BrokenConnection.
	Reset bool
}

// HTTPCaller performs plugin HTTP callouts. HTTPCall returns
// ErrUnknownCluster for an unknown cluster and another error when the call
// cannot be started; otherwise it must call done exactly once, from any
// goroutine (synchronously too). done never blocks on the VM.
type HTTPCaller interface {
	HTTPCall(req *CalloutRequest, done func(*CalloutResponse)) error
}

// RedisCaller performs the Higress Redis extension calls.
//
// RedisInit receives the cluster string as the plugin sends it, with its
// "?db=…&buffer_flush_timeout=…" parameters. RedisCall receives the bare
// cluster name and a RESP-encoded query and must call done exactly once
// with the RESP-encoded reply or an error (the plugin then sees a non-zero
// status and no data).
type RedisCaller interface {
	RedisInit(cluster, username, password string, timeout time.Duration) error
	RedisCall(cluster string, query []byte, done func(reply []byte, err error)) error
}

type callKind uint8

const (
	callHTTP callKind = iota
	callRedis
)

type pendingCall struct {
	kind  callKind
	timer Timer
	root  *rootCtx // the caller's root context, which hears the answer
	// obs is set when the stream that started the call is observed.
	obs *observedCall
}

type observedCall struct {
	s     *Stream
	info  *CalloutInfo
	start time.Time
}

type redisResult struct {
	reply []byte
	err   error
}

// startCall registers a callout on the root context and starts it. Tokens
// are 4, 8, 12, … (Envoy's http call numbering). Responses are delivered on
// the VM's mailbox, after any call in progress returns.
func (v *vm) startCall(kind callKind, timeout time.Duration, start func(done func(any)) error) (uint32, types.Status) {
	v.nextToken += 4
	if v.nextToken == 0 {
		v.nextToken = 4
	}
	if v.rc == nil {
		return 0, types.StatusBadArgument // no root context yet (start functions)
	}
	tok := v.nextToken
	c := &pendingCall{kind: kind, root: v.rc}
	v.calls[tok] = c
	done := func(r any) { v.post(func() { v.deliverCall(tok, r) }) }
	if err := start(done); err != nil {
		delete(v.calls, tok)
		return 0, calloutErrStatus(err)
	}
	if timeout > 0 && kind == callHTTP {
		if _, still := v.calls[tok]; still {
			c.timer = v.e.clock.AfterFunc(timeout, func() { done(timeoutResponse()) })
		}
	}
	return tok, types.StatusOK
}

func timeoutResponse() *CalloutResponse {
	body := []byte("upstream request timeout")
	return &CalloutResponse{
		Headers: NewHeaderMap(":status", "504", "content-length", itoa(len(body)), "content-type", "text/plain"),
		Body:    body,
	}
}

// deliverCall runs with the VM lock held.
func (v *vm) deliverCall(tok uint32, r any) {
	c, ok := v.calls[tok]
	if !ok {
		return // already answered (timeout) or the VM closed
	}
	delete(v.calls, tok)
	if c.timer != nil {
		c.timer.Stop()
	}
	if v.closed || v.failed.Load() || v.root(c.root.id) == nil {
		return
	}
	root := c.root.id
	switch c.kind {
	case callHTTP:
		resp, _ := r.(*CalloutResponse)
		f := v.f.onHTTPCallResponse
		if f == nil || resp == nil {
			return
		}
		if c.obs != nil {
			c.obs.answered(resp, nil, nil)
		}
		v.stack[0], v.stack[1] = uint64(root), uint64(tok)
		if resp.Reset {
			v.status.code, v.status.msg = uint32(types.StatusBrokenConnection), "reset"
			v.stack[2], v.stack[3], v.stack[4] = 0, 0, 0
			v.callResp = &CalloutResponse{}
		} else {
			v.status.code, v.status.msg = uint32(types.StatusOK), ""
			v.stack[2], v.stack[3], v.stack[4] = uint64(resp.Headers.Len()), uint64(len(resp.Body)), uint64(resp.Trailers.Len())
			v.callResp = resp
		}
		oc := c.obs.callbackStart(cbHTTPResponse, tok)
		_, err := v.callTop(cbHTTPResponse, root, f, 5, v.e.cfg.CallTimeout)
		c.obs.callbackEnd(oc, err)
		v.callResp = nil
	case callRedis:
		res, _ := r.(redisResult)
		if c.obs != nil {
			c.obs.answered(nil, res.reply, res.err)
		}
		f := v.f.onRedisCallResponse
		if f == nil {
			return
		}
		status := uint64(0)
		if res.err != nil {
			status = 1
			res.reply = nil
		}
		v.stack[0], v.stack[1], v.stack[2], v.stack[3] = uint64(root), uint64(tok), status, uint64(len(res.reply))
		v.redisResp = res.reply
		oc := c.obs.callbackStart(cbRedisResponse, tok)
		_, err := v.callTop(cbRedisResponse, root, f, 4, v.e.cfg.CallTimeout)
		c.obs.callbackEnd(oc, err)
		v.redisResp = nil
	}
}
