package wrapper

import (
	"errors"
	"reflect"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
)

// ResponseCallback receives the response of an HTTP call. It is a function
//
//	func(statusCode int, responseHeaders http.Header, responseBody []byte)
//
// (http.Header from net/http, or map[string][]string). The parameter type is
// declared as any so that the SDK does not link net/http (about 3 MB) into
// plugins that never make HTTP calls; the call checks the function's type and
// returns an error for any other.
type ResponseCallback = any

// HttpClient makes HTTP calls to one upstream cluster. The callback runs in
// the request's context; resume the request from it.
type HttpClient interface {
	Get(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Head(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Options(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Post(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Put(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Patch(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Delete(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Connect(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Trace(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Call(method, rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	ClusterName() string
}

// ClusterClient is the HttpClient of one cluster.
type ClusterClient[C Cluster] struct {
	cluster C
}

// NewClusterClient returns an HttpClient for cluster.
func NewClusterClient[C Cluster](cluster C) *ClusterClient[C] {
	return &ClusterClient[C]{cluster: cluster}
}

func (c ClusterClient[C]) ClusterName() string { return c.cluster.ClusterName() }

func (c ClusterClient[C]) Get(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "GET", rawURL, headers, nil, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Head(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "HEAD", rawURL, headers, nil, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Options(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "OPTIONS", rawURL, headers, nil, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Post(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "POST", rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Put(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "PUT", rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Patch(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "PATCH", rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Delete(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "DELETE", rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Connect(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "CONNECT", rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Trace(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, "TRACE", rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Call(method, rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, method, rawURL, headers, body, cb, timeoutMillisecond...)
}

// DefaultHttpCallTimeout is the timeout of an HTTP call without an explicit one, in milliseconds.
const DefaultHttpCallTimeout = 500

// HttpCall sends an HTTP request to cluster. The URL may be a path or an
// absolute URL (whose host becomes :authority); the callback gets status 502
// when the response has no status.
func HttpCall(cluster Cluster, method, rawURL string, headers [][2]string, body []byte,
	cb ResponseCallback, timeoutMillisecond ...uint32) error {
	call, err := responseCaller(cb)
	if err != nil {
		return err
	}
	u, err := parseURL(rawURL)
	if err != nil {
		proxywasm.LogCritical("invalid rawURL:" + rawURL)
		return err
	}
	authority := cluster.HostName()
	if u.host != "" {
		authority = u.host
	}
	if authority == "" {
		authority = "unknownhost"
	}
	hs := make([][2]string, 0, len(headers)+3)
	for _, h := range headers {
		switch h[0] { // as Higress: exact, case-sensitive names
		case ":method", ":path", ":authority":
			continue
		}
		hs = append(hs, h)
	}
	hs = append(hs, [2]string{":method", method}, [2]string{":path", u.httpCallPath()}, [2]string{":authority", authority})
	timeout := uint32(DefaultHttpCallTimeout)
	if len(timeoutMillisecond) > 0 {
		timeout = timeoutMillisecond[0]
	}
	clusterName := cluster.ClusterName()
	_, err = proxywasm.DispatchHttpCall(clusterName, hs, body, nil, timeout, func(numHeaders, bodySize, numTrailers int) {
		respBody, _ := proxywasm.GetHttpCallResponseBody(0, bodySize)
		respHeaders, _ := proxywasm.GetHttpCallResponseHeaders()
		status := 502
		header := make(map[string][]string, len(respHeaders))
		for _, h := range respHeaders {
			if h[0] == ":status" {
				if n, err := strconv.Atoi(h[1]); err == nil {
					status = n
				} else {
					status = 500
				}
			}
			k := canonicalHeaderKey(h[0])
			header[k] = append(header[k], h[1])
		}
		log.Debug("http call end, cluster: " + clusterName + ", status: " + strconv.Itoa(status))
		runGuarded(pluginLogger(), "http call callback", func() { call(status, header, respBody) })
	})
	if err != nil {
		return errors.New("http call to " + clusterName + ": " + err.Error())
	}
	log.Debug("http call start, cluster: " + clusterName + ", " + method + " " + u.httpCallPath())
	return nil
}

func pluginLogger() interface{ Error(string) } {
	if l := log.PluginLog(); l != nil {
		return l
	}
	return proxywasmErrorLogger{}
}

type proxywasmErrorLogger struct{}

func (proxywasmErrorLogger) Error(msg string) { proxywasm.LogError(msg) }

var errResponseCallback = errors.New("http call: the callback must be func(statusCode int, responseHeaders http.Header, responseBody []byte)")

// responseCaller checks cb's type and returns a function that calls it.
func responseCaller(cb ResponseCallback) (func(status int, header map[string][]string, body []byte), error) {
	switch f := cb.(type) {
	case nil:
		return nil, errResponseCallback
	case func(int, map[string][]string, []byte):
		return f, nil
	}
	v := reflect.ValueOf(cb)
	t := v.Type()
	mapType := reflect.TypeFor[map[string][]string]()
	if t.Kind() != reflect.Func || v.IsNil() || t.NumIn() != 3 || t.NumOut() != 0 || t.IsVariadic() ||
		t.In(0).Kind() != reflect.Int || !mapType.ConvertibleTo(t.In(1)) || t.In(1).Kind() != reflect.Map ||
		t.In(2) != reflect.TypeFor[[]byte]() {
		return nil, errResponseCallback
	}
	headerType := t.In(1)
	return func(status int, header map[string][]string, body []byte) {
		v.Call([]reflect.Value{
			reflect.ValueOf(status).Convert(t.In(0)),
			reflect.ValueOf(header).Convert(headerType),
			reflect.ValueOf(body),
		})
	}, nil
}

// canonicalHeaderKey is net/http's canonical form: "content-type" becomes
// "Content-Type"; keys with bytes outside the token set (":status") are kept.
func canonicalHeaderKey(s string) string {
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return s
		}
	}
	b := []byte(s)
	upper := true
	for i, c := range b {
		if upper && c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		} else if !upper && c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	return string(b)
}

func isTokenByte(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
