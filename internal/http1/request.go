// Package http1 reads HTTP/1.1 requests and writes responses on one
// connection, with the framing rules of RFC 9112 that a proxy must enforce
// so that it and the servers behind it agree on where each message ends:
// Content-Length together with Transfer-Encoding, differing lengths,
// unknown transfer codings, malformed chunks, obsolete line folding and
// header limits are errors that name the status to answer and Envoy's
// response code details.
package http1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits bound what ReadRequest accepts.
type Limits struct {
	// MaxHeaderBytes bounds the request line and the header lines
	// together (and, separately, the trailers).
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields (and of trailer fields).
	MaxHeaders int
	// AllowChunkedLength accepts Content-Length with chunked
	// Transfer-Encoding and drops the Content-Length (Envoy's
	// allow_chunked_length); otherwise such a request is rejected.
	AllowChunkedLength bool
}

// Field is one header field; Name is lower-case.
type Field struct {
	Name, Value string
}

// Request is a request's head as read from the connection.
type Request struct {
	Method string
	// Target is the request-target as sent (origin-form, absolute-form,
	// authority-form for CONNECT, or "*").
	Target string
	// Minor is the minor HTTP version (HTTP/1.Minor).
	Minor int
	// Fields are the header fields in the order they arrived, with
	// lower-case names; Host, Content-Length and Transfer-Encoding are
	// among them as sent.
	Fields []Field
	// Host is the Host header's value ("" when absent).
	Host string
	// ContentLength is the body's length; -1 when the body is chunked.
	ContentLength int64
	// KeepAlive says the client lets the connection stay open after
	// this exchange.
	KeepAlive bool
	// Expect100 says the client waits for 100 Continue before the body.
	Expect100 bool
}

// Chunked reports whether the body uses the chunked coding.
func (r *Request) Chunked() bool { return r.ContentLength < 0 }

// HasBody reports whether a body follows the head.
func (r *Request) HasBody() bool { return r.ContentLength != 0 }

// Error is a request the connection rejects: the status to answer and
// Envoy's response code details. The connection closes after the answer.
type Error struct {
	Status  int
	Details string
	Msg     string
}

func (e *Error) Error() string { return fmt.Sprintf("http1: %s (%d %s)", e.Msg, e.Status, e.Details) }

// Envoy's response code details for the codec's rejections.
const (
	DetailsCodecError         = "http1.codec_error"
	DetailsTooManyHeaders     = "http1.too_many_headers"
	DetailsHeadersTooLarge    = "http1.headers_too_large"
	DetailsInvalidCharacters  = "http1.invalid_characters"
	DetailsInvalidTE          = "http1.invalid_transfer_encoding"
	DetailsChunkedLength      = "http1.content_length_and_chunked_not_allowed"
	DetailsInvalidURL         = "http1.invalid_url"
	DetailsMissingHost        = "missing_host_header"
	statusBadRequest          = 400
	statusNotImplemented      = 501
	statusHeaderFieldsTooLong = 431
)

func badRequest(details, format string, args ...any) *Error {
	return &Error{Status: statusBadRequest, Details: details, Msg: fmt.Sprintf(format, args...)}
}

// ErrIdle is returned by ReadRequest when the connection ended cleanly
// before a request began.
var ErrIdle = errors.New("http1: connection closed between requests")

// lineReader reads CRLF- (or LF-) terminated lines within a byte budget.
type lineReader struct {
	br     *bufio.Reader
	budget int
	buf    []byte // for lines longer than br's buffer
}

// errTooLarge is the budget running out.
var errTooLarge = errors.New("too large")

// line returns the next line without its terminator. The slice is valid
// until the next call.
func (lr *lineReader) line() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		frag, err := lr.br.ReadSlice('\n')
		if len(frag) > lr.budget {
			return nil, errTooLarge
		}
		lr.budget -= len(frag)
		switch err {
		case nil:
			if len(lr.buf) > 0 {
				lr.buf = append(lr.buf, frag...)
				frag = lr.buf
			}
			frag = frag[:len(frag)-1]
			if n := len(frag); n > 0 && frag[n-1] == '\r' {
				frag = frag[:n-1]
			}
			return frag, nil
		case bufio.ErrBufferFull:
			lr.buf = append(lr.buf, frag...)
		default:
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// ReadRequest reads one request head. Errors are *Error for a request to
// answer and reject (with the request as far as it was read, when its
// request line was), ErrIdle for a connection that closed before a
// request, and the connection's own errors otherwise (io.ErrUnexpectedEOF
// for one that closed in the middle).
func ReadRequest(br *bufio.Reader, lim Limits) (*Request, error) {
	lr := &lineReader{br: br, budget: lim.MaxHeaderBytes}
	var line []byte
	var err error
	// A server ignores empty lines before the request line (RFC 9112 §2.2).
	for i := 0; ; i++ {
		if i == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF {
					return nil, ErrIdle
				}
				return nil, err
			}
		}
		line, err = lr.line()
		if err != nil {
			return nil, headErr(err)
		}
		if len(line) > 0 {
			break
		}
		if i >= 4 {
			return nil, badRequest(DetailsCodecError, "empty lines before the request line")
		}
	}
	req := &Request{}
	if err := parseRequestLine(req, line); err != nil {
		return nil, err
	}
	// From here on a rejected request comes back with what was read of it
	// (for the access log).
	if err := readFields(lr, &req.Fields, lim.MaxHeaders); err != nil {
		return req, err
	}
	if err := req.frame(lim); err != nil {
		return req, err
	}
	return req, nil
}

func headErr(err error) error {
	if err == errTooLarge {
		return &Error{Status: statusHeaderFieldsTooLong, Details: DetailsHeadersTooLarge, Msg: "request headers too large"}
	}
	return err
}

func parseRequestLine(req *Request, line []byte) error {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return badRequest(DetailsCodecError, "malformed request line")
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return badRequest(DetailsCodecError, "malformed request line")
	}
	method, target, version := line[:sp1], rest[:sp2], rest[sp2+1:]
	for _, c := range method {
		if !isTokenChar(c) {
			return badRequest(DetailsCodecError, "invalid method")
		}
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return badRequest(DetailsInvalidURL, "invalid request target")
		}
	}
	switch string(version) {
	case "HTTP/1.1":
		req.Minor = 1
	case "HTTP/1.0":
		req.Minor = 0
	default:
		return badRequest(DetailsCodecError, "unsupported HTTP version")
	}
	req.Method, req.Target = string(method), string(target)
	return nil
}

// readFields reads header (or trailer) lines up to the empty line.
func readFields(lr *lineReader, fields *[]Field, max int) error {
	for {
		line, err := lr.line()
		if err != nil {
			return headErr(err)
		}
		if len(line) == 0 {
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return badRequest(DetailsCodecError, "obsolete line folding")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return badRequest(DetailsCodecError, "header line without a name")
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenChar(c) {
				return badRequest(DetailsInvalidCharacters, "invalid character in a header name")
			}
		}
		value := trimOWS(line[colon+1:])
		for _, c := range value {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return badRequest(DetailsInvalidCharacters, "invalid character in a header value")
			}
		}
		if len(*fields) >= max {
			return &Error{Status: statusHeaderFieldsTooLong, Details: DetailsTooManyHeaders, Msg: "too many headers"}
		}
		*fields = append(*fields, Field{Name: lowerName(name), Value: string(value)})
	}
}

// frame decides the body's length from the head, rejecting the
// combinations RFC 9112 §6 makes ambiguous.
func (req *Request) frame(lim Limits) error {
	var lengths, codings int
	var length int64 = -2
	chunked := false
	hosts := 0
	connClose, connKeepAlive := false, false
	// The Connection header's tokens: nominated headers, and whether the
	// request is an upgrade, which Envoy leaves unsanitized.
	connTokens, nominates, connUpgrade, upgradeField := 0, false, false, false
	for _, f := range req.Fields {
		switch f.Name {
		case "host":
			hosts++
			req.Host = f.Value
		case "content-length":
			lengths++
			for _, part := range splitList(f.Value) {
				n, ok := parseLength(part)
				if !ok {
					return badRequest(DetailsCodecError, "invalid content-length")
				}
				if length >= 0 && n != length {
					return badRequest(DetailsCodecError, "differing content-length values")
				}
				length = n
			}
			if length < 0 {
				return badRequest(DetailsCodecError, "empty content-length")
			}
		case "transfer-encoding":
			codings++
			for _, part := range splitList(f.Value) {
				if !equalFold(part, "chunked") || chunked {
					return &Error{Status: statusNotImplemented, Details: DetailsInvalidTE, Msg: "unsupported transfer-encoding"}
				}
				chunked = true
			}
		case "connection":
			for _, part := range splitList(f.Value) {
				connTokens++
				switch {
				case equalFold(part, "close"):
					connClose = true
				case equalFold(part, "keep-alive"):
					connKeepAlive = true
				case equalFold(part, "upgrade"):
					connUpgrade = true
				case !connectionOption(part):
					nominates = true
				}
			}
		case "upgrade":
			upgradeField = true
		case "expect":
			if equalFold(f.Value, "100-continue") {
				req.Expect100 = true
			}
		}
	}
	if (nominates || connTokens >= maxConnectionTokens) && !(connUpgrade && upgradeField) {
		if err := req.sanitizeConnection(); err != nil {
			return err
		}
	}
	if hosts > 1 {
		return badRequest(DetailsCodecError, "more than one host header")
	}
	if hosts == 0 && req.Minor == 1 {
		return badRequest(DetailsMissingHost, "HTTP/1.1 request without a host header")
	}
	if codings > 0 && !chunked {
		return &Error{Status: statusNotImplemented, Details: DetailsInvalidTE, Msg: "empty transfer-encoding"}
	}
	if chunked && req.Minor == 0 {
		return badRequest(DetailsInvalidTE, "transfer-encoding in an HTTP/1.0 request")
	}
	switch {
	case chunked && lengths > 0 && !lim.AllowChunkedLength:
		return badRequest(DetailsChunkedLength, "content-length with transfer-encoding")
	case chunked:
		if lengths > 0 {
			kept := req.Fields[:0]
			for _, f := range req.Fields {
				if f.Name != "content-length" {
					kept = append(kept, f)
				}
			}
			req.Fields = kept
		}
		req.ContentLength = -1
	case length >= 0:
		req.ContentLength = length
	}
	if req.Expect100 && !req.HasBody() {
		req.Expect100 = false
	}
	req.KeepAlive = (req.Minor == 1 && !connClose) || (req.Minor == 0 && connKeepAlive && !connClose)
	return nil
}

// parseLength parses 1*DIGIT into a non-negative int64.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// splitList splits a comma-separated field value, trimming whitespace and
// skipping empty elements.
func splitList(v string) []string {
	var out []string
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		if p := string(trimOWS([]byte(v[:i]))); p != "" {
			out = append(out, p)
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
	return out
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// lowerName returns the lower-case name, using the common names' constants
// so that most requests allocate no name strings.
func lowerName(b []byte) string {
	var tmp [64]byte
	if len(b) <= len(tmp) {
		l := tmp[:len(b)]
		for i, c := range b {
			l[i] = lower(c)
		}
		if s, ok := commonNames[string(l)]; ok {
			return s
		}
		return string(l)
	}
	l := make([]byte, len(b))
	for i, c := range b {
		l[i] = lower(c)
	}
	return string(l)
}

var commonNames = map[string]string{}

func init() {
	for _, n := range []string{"host", "user-agent", "accept", "accept-encoding", "accept-language", "connection",
		"content-length", "content-type", "transfer-encoding", "cookie", "authorization", "referer", "origin",
		"x-forwarded-for", "x-forwarded-proto", "x-request-id", "cache-control", "pragma", "te", "expect",
		"upgrade", "keep-alive", "if-none-match", "if-modified-since", "x-real-ip"} {
		commonNames[n] = n
	}
}

// isTokenChar reports whether c may appear in a token (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	if c >= 0x80 || c <= ' ' || c == 0x7f {
		return false
	}
	switch c {
	case '"', '(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}':
		return false
	}
	return true
}
