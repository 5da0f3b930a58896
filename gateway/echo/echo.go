// Package echo is the gateway's built-in upstream: an http.Handler shaped like httpbin, so the
// quickstart and the tests need no other server. Responses echo the request as JSON — method,
// headers (canonical case, several values joined with ","), query args, url, origin and body
// (`data`, `json` for JSON bodies, `form` and `files` for forms) — with the same field names as
// httpbin.
//
// Endpoints:
//
//	/get /post /put /patch /delete   the request, for that method only (405 otherwise)
//	/anything, /anything/...         the request, any method, with "method"
//	/headers /ip /user-agent         one part of the request
//	/status/{code}                   an empty response with that status
//	/delay/{seconds}                 /anything after a delay (at most MaxDelay; stops when the client goes away)
//	/stream/{n}                      n JSON lines (at most 100), flushed one by one
//	/sse/{n}?interval=ms             n server-sent events, flushed one by one, spaced by interval (default 100 ms)
package echo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults of Handler's limits.
const (
	DefaultMaxDelay    = 10 * time.Second
	DefaultSSEInterval = 100 * time.Millisecond
	DefaultMaxBody     = 64 << 20
	maxStreamLines     = 100
)

// Handler is the echo upstream. The zero value is ready to use.
type Handler struct {
	// MaxDelay bounds /delay and the total time of /sse; 0 means DefaultMaxDelay.
	MaxDelay time.Duration
	// MaxBody bounds the request body read; 0 means DefaultMaxBody. Larger bodies get 413.
	MaxBody int64
}

// New returns an echo handler with the default limits.
func New() *Handler { return &Handler{} }

func (h *Handler) maxDelay() time.Duration {
	if h.MaxDelay > 0 {
		return h.MaxDelay
	}
	return DefaultMaxDelay
}

// ServeHTTP routes the request to an endpoint.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "wasmgate echo upstream: /get /post /put /patch /delete /anything /headers /ip /user-agent /status/{code} /delay/{s} /stream/{n} /sse/{n}")
	case path == "/get":
		h.method(w, r, http.MethodGet, false)
	case path == "/post":
		h.method(w, r, http.MethodPost, true)
	case path == "/put":
		h.method(w, r, http.MethodPut, true)
	case path == "/patch":
		h.method(w, r, http.MethodPatch, true)
	case path == "/delete":
		h.method(w, r, http.MethodDelete, true)
	case path == "/anything" || strings.HasPrefix(path, "/anything/"):
		h.anything(w, r)
	case path == "/headers":
		writeJSON(w, http.StatusOK, map[string]any{"headers": headers(r)})
	case path == "/ip":
		writeJSON(w, http.StatusOK, map[string]any{"origin": origin(r)})
	case path == "/user-agent":
		writeJSON(w, http.StatusOK, map[string]any{"user-agent": r.UserAgent()})
	case strings.HasPrefix(path, "/status/"):
		status(w, strings.TrimPrefix(path, "/status/"))
	case strings.HasPrefix(path, "/delay/"):
		h.delay(w, r, strings.TrimPrefix(path, "/delay/"))
	case strings.HasPrefix(path, "/stream/"):
		stream(w, r, strings.TrimPrefix(path, "/stream/"))
	case strings.HasPrefix(path, "/sse/"):
		h.sse(w, r, strings.TrimPrefix(path, "/sse/"))
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) method(w http.ResponseWriter, r *http.Request, method string, withBody bool) {
	if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", method)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	resp := base(r)
	if withBody {
		if !h.addBody(w, r, resp) {
			return
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) anything(w http.ResponseWriter, r *http.Request) {
	resp := base(r)
	resp["method"] = r.Method
	if !h.addBody(w, r, resp) {
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// base is the part of every echo: args, headers, origin, url.
func base(r *http.Request) map[string]any {
	return map[string]any{
		"args":    values(r.URL.Query()),
		"headers": headers(r),
		"origin":  origin(r),
		"url":     fullURL(r),
	}
}

// addBody reads the body into data/json/form/files; it answers 413 or 400 itself and returns
// false when the body cannot be read.
func (h *Handler) addBody(w http.ResponseWriter, r *http.Request, resp map[string]any) bool {
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
		}
		return false
	}
	resp["data"] = ""
	resp["form"] = map[string]any{}
	resp["files"] = map[string]any{}
	resp["json"] = nil
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mediaType == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			resp["data"] = dataString(body)
		} else {
			resp["form"] = values(form)
		}
	case strings.HasPrefix(mediaType, "multipart/"):
		form, files, err := multipartBody(body, params["boundary"])
		if err != nil {
			resp["data"] = dataString(body)
		} else {
			resp["form"], resp["files"] = form, files
		}
	default:
		resp["data"] = dataString(body)
		var v any
		if len(body) > 0 && json.Unmarshal(body, &v) == nil {
			resp["json"] = v
		}
	}
	return true
}

// dataString renders a body as httpbin does: the text itself, or a base64 data URL when it is
// not UTF-8.
func dataString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(b)
}

// values flattens query or form values: one value as a string, several as a list.
func values(v url.Values) map[string]any {
	out := make(map[string]any, len(v))
	for k, vs := range v {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out
}

// headers returns the request headers in canonical case with several values joined by ",",
// including Host (which net/http keeps outside Header).
func headers(r *http.Request) map[string]string {
	out := make(map[string]string, len(r.Header)+1)
	for k, vs := range r.Header {
		out[http.CanonicalHeaderKey(k)] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		out["Host"] = r.Host
	}
	if r.ContentLength > 0 && out["Content-Length"] == "" {
		out["Content-Length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	if len(r.TransferEncoding) > 0 {
		out["Transfer-Encoding"] = strings.Join(r.TransferEncoding, ",")
	}
	return out
}

// origin is the client address: X-Forwarded-For when a proxy set it, else the peer IP.
func origin(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		return xff
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// fullURL rebuilds the URL the client asked for, honouring X-Forwarded-Proto.
func fullURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func status(w http.ResponseWriter, s string) {
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		http.Error(w, "invalid status code", http.StatusBadRequest)
		return
	}
	w.WriteHeader(code)
}

func (h *Handler) delay(w http.ResponseWriter, r *http.Request, s string) {
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || secs < 0 {
		http.Error(w, "invalid delay", http.StatusBadRequest)
		return
	}
	d := min(time.Duration(secs*float64(time.Second)), h.maxDelay())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return
	case <-t.C:
	}
	h.anything(w, r)
}

func count(w http.ResponseWriter, s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		http.Error(w, "invalid count", http.StatusBadRequest)
		return 0, false
	}
	return min(n, maxStreamLines), true
}

func stream(w http.ResponseWriter, r *http.Request, s string) {
	n, ok := count(w, s)
	if !ok {
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range n {
		if r.Context().Err() != nil {
			return
		}
		line := base(r)
		line["id"] = i
		if err := enc.Encode(line); err != nil {
			return
		}
		_ = rc.Flush()
	}
}

func (h *Handler) sse(w http.ResponseWriter, r *http.Request, s string) {
	n, ok := count(w, s)
	if !ok {
		return
	}
	interval := DefaultSSEInterval
	if v := r.URL.Query().Get("interval"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			http.Error(w, "invalid interval", http.StatusBadRequest)
			return
		}
		interval = time.Duration(ms) * time.Millisecond
	}
	if n > 1 && interval*time.Duration(n-1) > h.maxDelay() {
		interval = h.maxDelay() / time.Duration(n-1)
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	t := time.NewTicker(max(interval, time.Nanosecond))
	defer t.Stop()
	for i := range n {
		if i > 0 && interval > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
		}
		data, _ := json.Marshal(map[string]any{"id": i, "time": time.Now().UTC().Format(time.RFC3339Nano)})
		if _, err := fmt.Fprintf(w, "id: %d\nevent: message\ndata: %s\n\n", i, data); err != nil {
			return
		}
		_ = rc.Flush()
	}
}

// multipartBody splits a multipart/form-data body into form fields and files (file contents
// as text, or a data URL when binary), as httpbin does.
func multipartBody(body []byte, boundary string) (form, files map[string]any, err error) {
	if boundary == "" {
		return nil, nil, errors.New("no multipart boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	fv, ff := url.Values{}, url.Values{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, nil, err
		}
		if part.FileName() != "" {
			ff.Add(part.FormName(), dataString(b))
		} else {
			fv.Add(part.FormName(), string(b))
		}
	}
	return values(fv), values(ff), nil
}
