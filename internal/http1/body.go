package http1

import (
	"bufio"
	"io"
)

// Body reads a request body in its framing: Content-Length bytes, or
// chunks up to the last one and its trailers. A malformed chunk is an
// *Error (400, http1.codec_error); a connection that ends early is
// io.ErrUnexpectedEOF. io.EOF ends a complete body.
type Body struct {
	br       *bufio.Reader
	lim      Limits
	chunked  bool
	left     int64 // bytes left of the body (length) or of the current chunk
	done     bool
	err      error
	trailers []Field
	// Before is called once, before the first read (to send 100 Continue).
	Before func()
}

// NewBody returns the body of req, read from br.
func NewBody(br *bufio.Reader, req *Request, lim Limits) *Body {
	b := &Body{br: br, lim: lim, chunked: req.Chunked()}
	if !b.chunked {
		b.left = req.ContentLength
		b.done = b.left == 0
	} else {
		b.left = -1 // no chunk started
	}
	return b
}

// Trailers returns the trailer fields once Read returned io.EOF.
func (b *Body) Trailers() []Field { return b.trailers }

// Done reports whether the whole body was read.
func (b *Body) Done() bool { return b.done && b.err == nil }

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if b.Before != nil {
		b.Before()
		b.Before = nil
	}
	if b.chunked && b.left <= 0 {
		if err := b.nextChunk(); err != nil {
			b.err = err
			return 0, err
		}
		if b.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
		return n, err
	}
	if b.left == 0 {
		if b.chunked {
			if err := b.chunkEnd(); err != nil {
				b.err = err
				return n, err
			}
		} else {
			b.done = true
		}
	}
	return n, nil
}

// nextChunk reads a chunk-size line (RFC 9112 §7.1); the last chunk reads
// the trailers too.
func (b *Body) nextChunk() error {
	lr := &lineReader{br: b.br, budget: 4096}
	line, err := lr.line()
	if err != nil {
		if err == errTooLarge {
			return badRequest(DetailsCodecError, "chunk size line too long")
		}
		return err
	}
	size, ok := parseChunkSize(line)
	if !ok {
		return badRequest(DetailsCodecError, "malformed chunk size")
	}
	if size == 0 {
		lr.budget = b.lim.MaxHeaderBytes
		if err := readFields(lr, &b.trailers, b.lim.MaxHeaders); err != nil {
			if e, ok := err.(*Error); ok {
				e.Status, e.Details = statusBadRequest, DetailsCodecError
			}
			return err
		}
		b.done = true
		return nil
	}
	b.left = size
	return nil
}

// chunkEnd reads the CRLF that ends a chunk's data.
func (b *Body) chunkEnd() error {
	c, err := b.br.ReadByte()
	if err == nil && c == '\r' {
		c, err = b.br.ReadByte()
	}
	switch {
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	case err != nil:
		return err
	case c != '\n':
		return badRequest(DetailsCodecError, "chunk data not followed by CRLF")
	}
	return nil
}

// parseChunkSize parses chunk-size [ chunk-ext ].
func parseChunkSize(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto ext
		}
		if i >= 15 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
ext:
	if i == 0 {
		return 0, false
	}
	rest := trimOWS(line[i:])
	if len(rest) > 0 && rest[0] != ';' {
		return 0, false
	}
	for _, c := range rest {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return 0, false
		}
	}
	return n, true
}
