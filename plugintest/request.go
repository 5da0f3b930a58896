package plugintest

import (
	"net/http"
	"strings"

	"github.com/wasmgate/wasmgate/host"
)

// Request is a request a test sends through the plugin. Build one with
// Get, Post or NewRequest and refine it with its methods, which change the
// request and return it:
//
//	plugintest.Post("/upload", "text/plain", body).InChunks(3).WithHeader("x-user", "ann")
//
// A Request may be sent several times; the plugin's changes never reach it.
type Request struct {
	// Method is the :method (default GET).
	Method string
	// Path is the :path, with the query string.
	Path string
	// Host is the :authority (default: the Domain option).
	Host string
	// Scheme is the :scheme (default http).
	Scheme string
	// Header holds the request headers. Names are sent lower-cased, in
	// sorted order, after the pseudo-headers.
	Header http.Header
	// Body is the request body.
	Body []byte
	// Trailer holds the request trailers (none by default).
	Trailer http.Header

	chunks   int
	frames   [][]byte
	route    *string
	cluster  *string
	source   string
	props    host.PropertyMap
	upstream UpstreamHandler
}

// NewRequest returns a request with the given method, path and body (nil
// for none). A body is announced with a content-length header unless the
// request has trailers or a content-length of its own.
func NewRequest(method, path string, body []byte) *Request {
	return &Request{Method: method, Path: path, Header: http.Header{}, Body: body}
}

// Get returns a GET request for path.
func Get(path string) *Request { return NewRequest(http.MethodGet, path, nil) }

// Post returns a POST request for path with a body of the given content
// type.
func Post(path, contentType string, body []byte) *Request {
	r := NewRequest(http.MethodPost, path, body)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// WithHeader adds a request header.
func (r *Request) WithHeader(key, value string) *Request {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Add(key, value)
	return r
}

// WithHost sets the :authority.
func (r *Request) WithHost(host string) *Request {
	r.Host = host
	return r
}

// WithBody sets the body (sent in one data frame unless InChunks says
// otherwise).
func (r *Request) WithBody(body []byte) *Request {
	r.Body, r.frames = body, nil
	return r
}

// InChunks sends the body in n data frames of nearly equal size, each
// delivered to the plugin as it "arrives" (the plugin sees n body
// callbacks unless it buffers).
func (r *Request) InChunks(n int) *Request {
	r.chunks, r.frames = n, nil
	return r
}

// WithChunks sets the body as the given data frames, sent in order.
func (r *Request) WithChunks(chunks ...[]byte) *Request {
	r.frames = nil
	var body []byte
	for _, c := range chunks {
		r.frames = append(r.frames, append([]byte(nil), c...))
		body = append(body, c...)
	}
	r.Body, r.chunks = body, 0
	return r
}

// WithTrailer adds a request trailer (the body then ends with trailers).
func (r *Request) WithTrailer(key, value string) *Request {
	if r.Trailer == nil {
		r.Trailer = http.Header{}
	}
	r.Trailer.Add(key, value)
	return r
}

// Route sets this request's route name (the route_name property).
func (r *Request) Route(name string) *Request {
	r.route = &name
	return r
}

// Cluster sets this request's upstream cluster name (the cluster_name
// property).
func (r *Request) Cluster(name string) *Request {
	r.cluster = &name
	return r
}

// From sets the client's address, "ip:port" (the source.address and
// source.port properties; default 127.0.0.1:40000).
func (r *Request) From(addr string) *Request {
	r.source = addr
	return r
}

// Property sets a property the plugin reads during this request (see the
// Property option); it takes precedence over the simulated attributes.
func (r *Request) Property(path string, value any) *Request {
	if r.props == nil {
		r.props = host.PropertyMap{}
	}
	r.props[path] = value
	return r
}

// Upstream sets how the simulated upstream answers this request.
func (r *Request) Upstream(h UpstreamHandler) *Request {
	r.upstream = h
	return r
}

// bodyFrames splits the body into the data frames to send.
func (r *Request) bodyFrames() [][]byte {
	if r.frames != nil {
		return r.frames
	}
	return split(r.Body, r.chunks)
}

// split cuts b into n pieces of nearly equal size (at least one byte each).
func split(b []byte, n int) [][]byte {
	if len(b) == 0 {
		return nil
	}
	if n <= 1 {
		return [][]byte{b}
	}
	if n > len(b) {
		n = len(b)
	}
	out := make([][]byte, 0, n)
	size, extra := len(b)/n, len(b)%n
	for i := 0; i < n; i++ {
		k := size
		if i < extra {
			k++
		}
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

func (r *Request) method() string {
	if r.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(r.Method)
}

// Response is an answer of the simulated upstream.
type Response struct {
	// Status is the status code (default 200).
	Status int
	// Header holds the response headers; content-length is added for a
	// body sent in one frame without trailers unless set here.
	Header http.Header
	// Body is the response body.
	Body []byte
	// Trailer holds the response trailers.
	Trailer http.Header

	chunks int
}

// NewResponse returns a response.
func NewResponse(status int, header http.Header, body []byte) *Response {
	return &Response{Status: status, Header: header, Body: body}
}

// InChunks sends the body in n data frames.
func (r *Response) InChunks(n int) *Response {
	r.chunks = n
	return r
}

// WithTrailer adds a response trailer.
func (r *Response) WithTrailer(key, value string) *Response {
	if r.Trailer == nil {
		r.Trailer = http.Header{}
	}
	r.Trailer.Add(key, value)
	return r
}

// UpstreamHandler is the simulated upstream: it receives the request as the
// plugin forwarded it, complete, and returns the response (nil: 200 with no
// body).
type UpstreamHandler func(req *UpstreamRequest) *Response

// Respond is an upstream that answers every request with status, header
// and body.
func Respond(status int, header http.Header, body []byte) UpstreamHandler {
	return RespondWith(NewResponse(status, header, body))
}

// RespondWith is an upstream that answers every request with a copy of r.
func RespondWith(r *Response) UpstreamHandler {
	return func(*UpstreamRequest) *Response {
		c := *r
		c.Header = r.Header.Clone()
		c.Trailer = r.Trailer.Clone()
		return &c
	}
}

// UpstreamRequest is what the upstream received: the request as the plugin
// released it.
type UpstreamRequest struct {
	Method string
	Path   string
	// Host is the :authority.
	Host   string
	Scheme string
	// Header holds the headers without pseudo-headers, with canonical keys.
	Header http.Header
	// Fields are every header, pseudo-headers included, in the order the
	// plugin left them.
	Fields [][2]string
	// Body is the body received, whole.
	Body []byte
	// Frames is the number of data frames the body came in.
	Frames int
	// Trailer holds the trailers received.
	Trailer http.Header
}
