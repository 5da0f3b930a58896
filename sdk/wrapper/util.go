package wrapper

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"

	fmtx "github.com/wasmgate/wasmgate/sdk/internal/format"
	"github.com/wasmgate/wasmgate/sdk/internal/jsonx"
	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
)

// UnmarshalStr decodes a JSON string literal (with its quotes) to the raw
// string; invalid input gives "".
func UnmarshalStr(marshalledJsonStr string) string {
	s, err := jsonx.Unquote([]byte(marshalledJsonStr))
	if err != nil {
		return ""
	}
	return s
}

// MarshalStr encodes raw as the body of a JSON string literal (escaped, without quotes).
func MarshalStr(raw string) string {
	q := jsonx.Quote(raw)
	return q[1 : len(q)-1]
}

// UnifySSEChunk turns "\r\n" and "\r" line ends into "\n".
func UnifySSEChunk(data []byte) []byte {
	data = []byte(strings.ReplaceAll(string(data), "\r\n", "\n"))
	return []byte(strings.ReplaceAll(string(data), "\r", "\n"))
}

// IsResponseFromUpstream reports whether the response came from the upstream
// (response.code_details is "via_upstream") rather than a local reply.
func IsResponseFromUpstream() bool {
	b, err := proxywasm.GetProperty([]string{"response", "code_details"})
	return err == nil && string(b) == "via_upstream"
}

// GetRequestScheme returns the :scheme header (request-header phase only).
//
// Deprecated: use HttpContext.Scheme.
func GetRequestScheme() string { v, _ := proxywasm.GetHttpRequestHeader(":scheme"); return v }

// GetRequestHost returns the :authority header (request-header phase only).
//
// Deprecated: use HttpContext.Host.
func GetRequestHost() string { v, _ := proxywasm.GetHttpRequestHeader(":authority"); return v }

// GetRequestPath returns the :path header (request-header phase only).
//
// Deprecated: use HttpContext.Path.
func GetRequestPath() string { v, _ := proxywasm.GetHttpRequestHeader(":path"); return v }

// GetRequestPathWithoutQuery returns :path without its query string.
//
// Deprecated: use HttpContext.Path.
func GetRequestPathWithoutQuery() string {
	p := GetRequestPath()
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// GetRequestMethod returns the :method header (request-header phase only).
//
// Deprecated: use HttpContext.Method.
func GetRequestMethod() string { v, _ := proxywasm.GetHttpRequestHeader(":method"); return v }

// IsWebsocket reports a websocket upgrade request (request-header phase only).
//
// Deprecated: use HttpContext.IsWebsocket.
func IsWebsocket() bool {
	c, _ := proxywasm.GetHttpRequestHeader("connection")
	u, _ := proxywasm.GetHttpRequestHeader("upgrade")
	return strings.Contains(asciiLower(c), "upgrade") && asciiLower(u) == "websocket"
}

// IsBinaryRequestBody reports a binary request body (request-header phase only).
//
// Deprecated: use HttpContext.IsBinaryRequestBody.
func IsBinaryRequestBody() bool {
	ct, _ := proxywasm.GetHttpRequestHeader("content-type")
	ce, _ := proxywasm.GetHttpRequestHeader("content-encoding")
	return isBinaryContentType(ct) || ce != ""
}

// IsBinaryResponseBody reports a binary response body (response-header phase only).
//
// Deprecated: use HttpContext.IsBinaryResponseBody.
func IsBinaryResponseBody() bool {
	ct, _ := proxywasm.GetHttpResponseHeader("content-type")
	ce, _ := proxywasm.GetHttpResponseHeader("content-encoding")
	return isBinaryContentType(ct) || ce != ""
}

// HasRequestBody guesses from the request headers whether a body follows.
func HasRequestBody() bool {
	if cl, err := proxywasm.GetHttpRequestHeader("content-length"); err == nil && cl != "" && cl != "0" {
		return true
	}
	te, _ := proxywasm.GetHttpRequestHeader("transfer-encoding")
	return strings.Contains(asciiLower(te), "chunked")
}

// HasResponseBody guesses from the response headers whether a body follows.
func HasResponseBody() bool {
	if cl, err := proxywasm.GetHttpResponseHeader("content-length"); err == nil && cl != "" && cl != "0" {
		return true
	}
	te, _ := proxywasm.GetHttpResponseHeader("transfer-encoding")
	if strings.Contains(asciiLower(te), "chunked") {
		return true
	}
	ct, _ := proxywasm.GetHttpResponseHeader("content-type")
	return ct != ""
}

// IsApplicationJson reports a JSON response (response-header phase only).
func IsApplicationJson() bool {
	ct, _ := proxywasm.GetHttpResponseHeader("content-type")
	return strings.Contains(asciiLower(ct), "application/json")
}

// ---- user attributes ----

// writeAttributesToLog merges attrs into the JSON object held (as an escaped
// JSON string body) in the property key, for the access log.
func writeAttributesToLog(key string, attrs map[string]interface{}, l log.Log) error {
	var members []jsonx.Member
	if cur, err := proxywasm.GetProperty([]string{key}); err == nil && len(cur) > 0 {
		obj, err := jsonx.Unquote([]byte(`"` + string(cur) + `"`))
		if err == nil {
			members, err = jsonx.Members([]byte(obj))
		}
		if err != nil {
			l.Warn("existing " + key + " is not a JSON object: " + err.Error())
			return err
		}
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := encodeJSON(nil, attrs[k])
		replaced := false
		for i := range members {
			if members[i].Key == k {
				members[i].Value, replaced = v, true
			}
		}
		if !replaced {
			members = append(members, jsonx.Member{Key: k, Value: v})
		}
	}
	b := []byte{'{'}
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, jsonx.Quote(m.Key)...)
		b = append(b, ':')
		b = append(b, m.Value...)
	}
	b = append(b, '}')
	return proxywasm.SetProperty([]string{key}, []byte(MarshalStr(string(b))))
}

func writeAttributesToTrace(attrs map[string]interface{}, l log.Log) error {
	for k, v := range attrs {
		s := attributeString(v)
		if s == "" {
			l.Warn("trace attribute " + k + " is empty")
			continue
		}
		if err := proxywasm.SetProperty([]string{TraceSpanTagPrefix + k}, []byte(s)); err != nil {
			return err
		}
	}
	return nil
}

func attributeString(v interface{}) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmtx.Sprint(v)
}

// encodeJSON appends v as JSON.
func encodeJSON(b []byte, v interface{}) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return append(b, jsonx.Quote(x)...)
	case []byte:
		return append(b, jsonx.Quote(string(x))...)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float32:
		return appendJSONFloat(b, float64(x), 32)
	case float64:
		return appendJSONFloat(b, x, 64)
	case []string:
		return encodeJSONArray(b, x)
	case []interface{}:
		return encodeJSONArray(b, x)
	case map[string]string:
		return encodeJSONObject(b, x)
	case map[string]interface{}:
		return encodeJSONObject(b, x)
	}
	return append(b, jsonx.Quote(fmtx.Sprint(v))...)
}

// encodeJSONArray appends a as a JSON array.
func encodeJSONArray[V any](b []byte, a []V) []byte {
	b = append(b, '[')
	for i, e := range a {
		if i > 0 {
			b = append(b, ',')
		}
		b = encodeJSON(b, e)
	}
	return append(b, ']')
}

// encodeJSONObject appends m as a JSON object with its keys sorted.
func encodeJSONObject[V any](b []byte, m map[string]V) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, jsonx.Quote(k)...)
		b = append(b, ':')
		b = encodeJSON(b, m[k])
	}
	return append(b, '}')
}

func appendJSONFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, bits)
}

// ---- URLs ----

type callURL struct {
	host, path, rawQuery string
}

// pathWithQuery is the :path of a callout: "/" + path (escaped as needed) + "?query".
func (u callURL) pathWithQuery() string {
	p := "/" + strings.TrimPrefix(u.path, "/")
	if u.rawQuery != "" {
		p += "?" + u.rawQuery
	}
	return p
}

var errBadURL = errors.New("invalid URL")

// parseURL splits an absolute URL or an absolute path into host, escaped path
// and query; the fragment is dropped. Control characters are rejected; other
// bytes outside the URL character set in the path are percent-encoded.
func parseURL(raw string) (callURL, error) {
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 || raw[i] == 0x7f {
			return callURL{}, errors.New("parse " + strconv.Quote(raw) + ": " + errBadURL.Error() + " (control character)")
		}
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	var u callURL
	if i := strings.Index(raw, "://"); i > 0 && !strings.ContainsAny(raw[:i], "/?") {
		rest := raw[i+3:]
		end := strings.IndexAny(rest, "/?")
		if end < 0 {
			end = len(rest)
		}
		u.host = rest[:end]
		if at := strings.LastIndexByte(u.host, '@'); at >= 0 {
			u.host = u.host[at+1:]
		}
		raw = rest[end:]
	} else if strings.HasPrefix(raw, "//") {
		rest := raw[2:]
		end := strings.IndexAny(rest, "/?")
		if end < 0 {
			end = len(rest)
		}
		u.host = rest[:end]
		raw = rest[end:]
	}
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		u.rawQuery = raw[i+1:]
		raw = raw[:i]
	}
	u.path = escapePath(raw)
	return u, nil
}

func escapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c > ' ' && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' && c != '`' && c != '{' && c != '|' && c != '}' {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(p)+8), p[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&0xf])
	}
	if b == nil {
		return p
	}
	return string(b)
}
