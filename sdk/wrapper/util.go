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

// callURL is what the callouts take from a URL, split as net/url's
// url.Parse splits it (the SDK does not link net/url; see RATIONALE.md).
type callURL struct {
	host     string
	path     string // unescaped, as url.URL.Path
	rawPath  string // as url.URL.RawPath
	rawQuery string
	fragment string // unescaped, as url.URL.Fragment
}

// httpCallPath is the :path of an HttpCall, as Higress builds it:
// "/" + the unescaped path + "?" + the raw query; no fragment.
func (u callURL) httpCallPath() string {
	p := "/" + strings.TrimPrefix(u.path, "/")
	if u.rawQuery != "" {
		p += "?" + u.rawQuery
	}
	return p
}

// routeCallPath is the :path of a RouteCall, as Higress builds it:
// "/" + the escaped path + "?" + the raw query + "#" + the fragment.
func (u callURL) routeCallPath() string {
	p := "/" + strings.TrimPrefix(u.escapedPath(), "/")
	if u.rawQuery != "" {
		p += "?" + u.rawQuery
	}
	if u.fragment != "" {
		p += "#" + u.fragment
	}
	return p
}

// escapedPath is url.URL.EscapedPath.
func (u callURL) escapedPath() string {
	if u.rawPath != "" && validEncodedPath(u.rawPath) {
		if p, err := unescapeURL(u.rawPath, false); err == nil && p == u.path {
			return u.rawPath
		}
	}
	if u.path == "*" {
		return "*"
	}
	return escapeURLPath(u.path)
}

func urlError(raw, msg string) error {
	return errors.New("parse " + strconv.Quote(raw) + ": " + msg)
}

// parseURL splits raw as url.Parse does and fails where it fails: control
// characters, a malformed scheme, a colon in the first segment of a
// relative path, a bad host or an invalid percent escape.
func parseURL(raw string) (callURL, error) {
	var u callURL
	rest, frag, _ := strings.Cut(raw, "#")
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 || raw[i] == 0x7f {
			return u, urlError(rest, "net/url: invalid control character in URL")
		}
	}
	if rest == "*" {
		u.path = "*"
	} else {
		scheme, r, err := splitScheme(rest)
		if err != nil {
			return u, urlError(rest, err.Error())
		}
		rest = r
		if strings.HasSuffix(rest, "?") && strings.Count(rest, "?") == 1 {
			rest = rest[:len(rest)-1]
		} else {
			rest, u.rawQuery, _ = strings.Cut(rest, "?")
		}
		if !strings.HasPrefix(rest, "/") {
			if scheme != "" {
				rest = "" // opaque: no path
			} else if seg, _, _ := strings.Cut(rest, "/"); strings.Contains(seg, ":") {
				return u, urlError(raw, "first path segment in URL cannot contain colon")
			}
		}
		if (scheme != "" || !strings.HasPrefix(rest, "///")) && strings.HasPrefix(rest, "//") {
			authority, r := rest[2:], ""
			if i := strings.IndexByte(authority, '/'); i >= 0 {
				authority, r = authority[:i], authority[i:]
			}
			host, err := parseAuthority(authority)
			if err != nil {
				return u, urlError(raw, err.Error())
			}
			u.host, rest = host, r
		}
		path, err := unescapeURL(rest, false)
		if err != nil {
			return u, urlError(raw, err.Error())
		}
		u.path = path
		if escapeURLPath(path) != rest {
			u.rawPath = rest
		}
	}
	if frag != "" {
		f, err := unescapeURL(frag, true)
		if err != nil {
			return u, urlError(raw, err.Error())
		}
		u.fragment = f
	}
	return u, nil
}

// splitScheme splits "scheme:rest" as url.Parse does; no scheme is not an
// error.
func splitScheme(raw string) (scheme, rest string, err error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", raw, nil
			}
		case c == ':':
			if i == 0 {
				return "", "", errors.New("missing protocol scheme")
			}
			return asciiLower(raw[:i]), raw[i+1:], nil
		default:
			return "", raw, nil
		}
	}
	return "", raw, nil
}

// parseAuthority returns the host of "userinfo@host", checking both as
// url.Parse does.
func parseAuthority(authority string) (string, error) {
	host := authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		for j := 0; j < i; j++ {
			c := authority[j]
			if !(isUnreserved(c) || strings.IndexByte("-._:~!$&'()*+,;=%@", c) >= 0) {
				return "", errors.New("net/url: invalid userinfo")
			}
		}
		host = authority[i+1:]
	}
	return checkHost(host)
}

// checkHost validates and unescapes a host (with optional port) as
// url.Parse does.
func checkHost(host string) (string, error) {
	if strings.HasPrefix(host, "[") {
		i := strings.LastIndexByte(host, ']')
		if i < 0 {
			return "", errors.New("missing ']' in host")
		}
		if port := host[i+1:]; !validPort(port) {
			return "", errors.New("invalid port " + strconv.Quote(port) + " after host")
		}
		// IPv6 literal with an optional zone: unescaped as a host.
		return unescapeHost(host)
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		if port := host[i:]; !validPort(port) {
			return "", errors.New("invalid port " + strconv.Quote(port) + " after host")
		}
	}
	return unescapeHost(host)
}

func validPort(port string) bool {
	if port == "" {
		return true
	}
	if port[0] != ':' {
		return false
	}
	for i := 1; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

func unescapeHost(host string) (string, error) {
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c == '%' {
			continue
		}
		if c < 0x80 && !isUnreserved(c) && strings.IndexByte("!$&'()*+,;=:[]<>\"", c) < 0 {
			return "", errors.New("invalid character " + strconv.Quote(string(c)) + " in host name")
		}
	}
	return unescapeURL(host, false)
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescapeURL decodes %XX escapes; an invalid one is an error, as in
// net/url ("invalid URL escape").
func unescapeURL(s string, fragment bool) (string, error) {
	n := strings.Count(s, "%")
	if n == 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s)-2*n)
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("invalid URL escape " + strconv.Quote(s[i:]))
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", errors.New("invalid URL escape " + strconv.Quote(s[i:i+3]))
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

// pathByteOK reports the bytes url.PathEscape-style path encoding keeps.
func pathByteOK(c byte) bool {
	return isUnreserved(c) || strings.IndexByte("$&+,/:;=@!'()*", c) >= 0
}

// escapeURLPath is net/url's escaping of a path (encodePath).
func escapeURLPath(p string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathByteOK(c) {
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

// validEncodedPath is net/url's validEncoded(s, encodePath).
func validEncodedPath(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte("!$&'()*+,;=:@[]", c) >= 0:
		case c == '%':
		case !pathByteOK(c):
			return false
		}
	}
	return true
}
