package http1

import (
	"bufio"
	"errors"
	"strconv"
)

// Framing is how a response body is delimited.
type Framing uint8

const (
	// NoBody: the response has no body (HEAD, 1xx, 204, 304, or empty).
	NoBody Framing = iota
	// Length: Content-Length bytes follow.
	Length
	// Chunked: the chunked coding, with trailers.
	Chunked
	// UntilClose: the body ends when the connection closes (HTTP/1.0
	// clients of a response of unknown length).
	UntilClose
)

// ErrBodyLength is a response body longer than its Content-Length, or
// ended before it.
var ErrBodyLength = errors.New("http1: response body does not match its content-length")

// Writer writes one connection's responses.
type Writer struct {
	bw      *bufio.Writer
	framing Framing
	left    int64
	scratch []byte
}

// NewWriter returns a Writer on bw.
func NewWriter(bw *bufio.Writer) *Writer { return &Writer{bw: bw} }

// Reset points w at bw for a new connection.
func (w *Writer) Reset(bw *bufio.Writer) { *w = Writer{bw: bw, scratch: w.scratch[:0]} }

// Head is a response head being built: status line and fields.
type Head struct {
	w   *Writer
	buf []byte
}

// StartHead begins a response head with the status line.
func (w *Writer) StartHead(status int) *Head {
	b := append(w.scratch[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, reason(status)...)
	b = append(b, "\r\n"...)
	return &Head{w: w, buf: b}
}

// Field adds a header field. Characters that would end the field (CR, LF,
// NUL) are replaced by spaces: nothing a plugin sets can split the head.
func (h *Head) Field(name, value string) {
	h.buf = appendClean(h.buf, name)
	h.buf = append(h.buf, ": "...)
	h.buf = appendClean(h.buf, value)
	h.buf = append(h.buf, "\r\n"...)
}

func appendClean(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// End finishes the head with the body's framing (Length adds the
// Content-Length field, Chunked the Transfer-Encoding field) and buffers
// it; flush says to send it at once.
func (h *Head) End(f Framing, length int64, flush bool) error {
	w := h.w
	switch f {
	case Length:
		h.buf = append(h.buf, "content-length: "...)
		h.buf = strconv.AppendInt(h.buf, length, 10)
		h.buf = append(h.buf, "\r\n"...)
	case Chunked:
		h.buf = append(h.buf, "transfer-encoding: chunked\r\n"...)
	}
	h.buf = append(h.buf, "\r\n"...)
	w.scratch = h.buf[:0]
	w.framing, w.left = f, length
	if _, err := w.bw.Write(h.buf); err != nil {
		return err
	}
	if flush {
		return w.bw.Flush()
	}
	return nil
}

// WriteInterim writes a 1xx response (100 Continue) and flushes it.
func (w *Writer) WriteInterim(status int) error {
	b := append(w.scratch[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, reason(status)...)
	b = append(b, "\r\n\r\n"...)
	w.scratch = b[:0]
	if _, err := w.bw.Write(b); err != nil {
		return err
	}
	return w.bw.Flush()
}

// Body writes body data in the head's framing; flush sends it at once.
func (w *Writer) Body(p []byte, flush bool) error {
	if len(p) > 0 {
		var err error
		switch w.framing {
		case NoBody:
			// HEAD and bodiless statuses: the data is dropped.
		case Length:
			if int64(len(p)) > w.left {
				return ErrBodyLength
			}
			w.left -= int64(len(p))
			_, err = w.bw.Write(p)
		case Chunked:
			var hdr [20]byte
			b := strconv.AppendInt(hdr[:0], int64(len(p)), 16)
			b = append(b, '\r', '\n')
			if _, err = w.bw.Write(b); err == nil {
				if _, err = w.bw.Write(p); err == nil {
					_, err = w.bw.WriteString("\r\n")
				}
			}
		case UntilClose:
			_, err = w.bw.Write(p)
		}
		if err != nil {
			return err
		}
	}
	if flush {
		return w.bw.Flush()
	}
	return nil
}

// End ends the body (with trailers for a chunked one) and flushes.
func (w *Writer) End(trailers []Field) error {
	switch w.framing {
	case Length:
		if w.left != 0 {
			return ErrBodyLength
		}
	case Chunked:
		b := append(w.scratch[:0], "0\r\n"...)
		for _, f := range trailers {
			b = appendClean(b, f.Name)
			b = append(b, ": "...)
			b = appendClean(b, f.Value)
			b = append(b, "\r\n"...)
		}
		b = append(b, "\r\n"...)
		w.scratch = b[:0]
		if _, err := w.bw.Write(b); err != nil {
			return err
		}
	}
	w.framing = NoBody
	return w.bw.Flush()
}

// reason is the reason phrase of a status (Envoy writes the standard
// phrases, and "Unknown" for codes without one).
func reason(status int) string {
	if r, ok := reasons[status]; ok {
		return r
	}
	return "Unknown"
}

var reasons = map[int]string{
	100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
	200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
	205: "Reset Content", 206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
	305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout",
	409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large",
	414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed",
	421: "Misdirected Request", 422: "Unprocessable Entity", 423: "Locked", 424: "Failed Dependency",
	425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
	431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
	507: "Insufficient Storage", 508: "Loop Detected", 510: "Not Extended", 511: "Network Authentication Required",
}
