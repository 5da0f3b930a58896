package gateway

import (
	"context"
	"net"
	"net/http/httptrace"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/host"
)

// This file holds what Envoy's connection manager and router do to headers around the filter
// chain: :scheme overwriting, the route configuration's header mutations (request headers when
// the router forwards, response headers on upstream responses and on local replies), the
// regex path rewrite and the `server` header.

// matchHeader adapts a header map to route matching: several values joined with ",".
func matchHeader(h *host.HeaderMap) config.HeaderFunc {
	return func(name string) (string, bool) {
		vals := h.Values(name)
		if len(vals) == 0 {
			return "", false
		}
		if len(vals) == 1 {
			return vals[0], true
		}
		return strings.Join(vals, ","), true
	}
}

// applyConnectionManager applies the listener's request settings to the request headers before
// the plugins see them (Envoy: scheme_header_transformation.scheme_to_overwrite sets :scheme;
// x-forwarded-proto still follows the connection).
func (x *exchange) applyConnectionManager(h *host.HeaderMap) {
	x.reqHeaders = h
	if s := x.ln.cfg.HTTP.SchemeOverwrite; s != "" {
		h.Set(":scheme", s)
	}
}

// mutationLevels returns the header mutations that apply to the current route, in the order
// Envoy evaluates them: route, virtual host, route configuration (the last one wins), or the
// reverse with most_specific_header_mutations_wins.
func (x *exchange) mutationLevels() []*config.HeaderMutations {
	if x.route == nil {
		return nil
	}
	levels := make([]*config.HeaderMutations, 0, 3)
	levels = append(levels, &x.route.cfg.Headers)
	if x.route.vhost != nil {
		levels = append(levels, &x.route.vhost.Headers)
	}
	levels = append(levels, &x.ln.cfg.HTTP.Headers)
	if x.ln.cfg.HTTP.MostSpecificHeaderMutationsWins {
		for i, j := 0, len(levels)-1; i < j; i, j = i+1, j-1 {
			levels[i], levels[j] = levels[j], levels[i]
		}
	}
	return levels
}

// beforeUpstream is the router's work on the request headers once the route is final: the
// request header mutations (in place, as Envoy's router changes the request's own header map)
// and a trace recording which endpoint the request goes to.
func (x *exchange) beforeUpstream(h *host.HeaderMap) {
	x.reqHeaders = h
	changed := false
	for _, m := range x.mutationLevels() {
		if len(m.RequestRemove) > 0 || len(m.RequestAdd) > 0 {
			applyMutations(h, m.RequestRemove, m.RequestAdd, func(f config.HeaderFormat) string { return x.format(f, h, nil) })
			changed = true
		}
	}
	if changed {
		x.props.SetRequestHeaders(h)
	}
}

// upstreamContext is the context of the upstream request of call c: it
// records the address of the connection the request uses, for the
// upstream.address property and %UPSTREAM_HOST%, and tells c (so that an
// aborted request can reset it).
func (x *exchange) upstreamContext(c *upstreamCall) context.Context {
	props := x.props
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if addr := c.gotConn(info); addr != "" {
			props.SetUpstreamAddress(addr)
		}
	}}
	return httptrace.WithClientTrace(context.Background(), trace)
}

// mutateResponse applies the response header mutations of the route to response headers from
// the upstream or of a local reply, before the plugins' response callbacks see them.
func (x *exchange) mutateResponse(h *host.HeaderMap) {
	if h == nil {
		return
	}
	for _, m := range x.mutationLevels() {
		if len(m.ResponseRemove) > 0 || len(m.ResponseAdd) > 0 {
			applyMutations(h, m.ResponseRemove, m.ResponseAdd, func(f config.HeaderFormat) string { return x.format(f, x.reqHeaders, h) })
		}
	}
}

// finalizeResponse sets the `server` header as Envoy's connection manager does after the
// filters: overwritten by default, set only when absent, or left alone.
func (x *exchange) finalizeResponse(h *host.HeaderMap) {
	s := &x.ln.cfg.HTTP
	switch s.ServerHeader {
	case config.ServerOverwrite:
		h.Set("server", s.EffectiveServerName())
	case config.ServerAppendIfAbsent:
		if v, _ := h.Get("server"); v == "" {
			h.Set("server", s.EffectiveServerName())
		}
	}
}

// applyMutations removes, then adds, one level's headers. A value that expands to "" is not
// added unless keep_empty_value is set.
func applyMutations(h *host.HeaderMap, remove []string, add []config.HeaderValue, format func(config.HeaderFormat) string) {
	for _, n := range remove {
		h.Del(n)
	}
	for i := range add {
		hv := &add[i]
		v := format(hv.Format)
		if v == "" && !hv.KeepEmptyValue {
			continue
		}
		_, present := h.Get(hv.Key)
		switch hv.Action {
		case config.AppendIfExistsOrAdd:
			h.Add(hv.Key, v)
		case config.AddIfAbsent:
			if !present {
				h.Add(hv.Key, v)
			}
		case config.OverwriteIfExistsOrAdd:
			h.Set(hv.Key, v)
		case config.OverwriteIfExists:
			if present {
				h.Set(hv.Key, v)
			}
		}
	}
}

// format expands a header value's substitutions for this request; resp is nil for request
// headers.
func (x *exchange) format(f config.HeaderFormat, req, resp *host.HeaderMap) string {
	if s, ok := f.Literal(); ok {
		return s
	}
	var b strings.Builder
	for _, p := range f {
		if p.Command == "" {
			b.WriteString(p.Literal)
			continue
		}
		v := x.command(p, req, resp)
		if p.MaxLen > 0 && len(v) > p.MaxLen {
			v = v[:p.MaxLen]
		}
		b.WriteString(v)
	}
	return b.String()
}

// command evaluates one substitution command; unsupported ones expand to "".
func (x *exchange) command(p config.FormatPart, req, resp *host.HeaderMap) string {
	switch p.Command {
	case "REQ":
		return headerWithFallback(req, p.Arg)
	case "RESP":
		return headerWithFallback(resp, p.Arg)
	case "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_DIRECT_REMOTE_ADDRESS":
		return x.rq.remote
	case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT":
		return hostOf(x.rq.remote)
	case "DOWNSTREAM_REMOTE_PORT", "DOWNSTREAM_DIRECT_REMOTE_PORT":
		return portOf(x.rq.remote)
	case "DOWNSTREAM_LOCAL_ADDRESS":
		return x.props.Destination
	case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":
		return hostOf(x.props.Destination)
	case "DOWNSTREAM_LOCAL_PORT":
		return portOf(x.props.Destination)
	case "UPSTREAM_HOST", "UPSTREAM_REMOTE_ADDRESS":
		return x.upstreamAddress(resp)
	case "UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
		return hostOf(x.upstreamAddress(resp))
	case "UPSTREAM_REMOTE_PORT":
		return portOf(x.upstreamAddress(resp))
	case "UPSTREAM_CLUSTER":
		if x.cluster != nil {
			return x.cluster.cfg.Name
		}
	case "ROUTE_NAME":
		if x.route != nil {
			return x.route.cfg.Name
		}
	case "PROTOCOL":
		return x.rq.protocol
	case "HOSTNAME":
		return hostname()
	case "START_TIME":
		return x.start.UTC().Format("2006-01-02T15:04:05.000Z")
	case "RESPONSE_CODE":
		if resp != nil {
			if s, ok := resp.Get(":status"); ok {
				return s
			}
		}
		return "0"
	case "RESPONSE_CODE_DETAILS":
		if resp != nil {
			return x.rec.details
		}
	case "REQUESTED_SERVER_NAME":
		return x.rq.serverName
	case "ENVIRONMENT":
		return os.Getenv(p.Arg)
	case "CONNECTION_ID":
		return strconv.FormatUint(x.props.ConnectionID, 10)
	}
	return ""
}

// upstreamAddress is the endpoint the request went to; Envoy evaluates request headers before
// choosing it, so it is empty there, and in local replies sent before the request went out.
func (x *exchange) upstreamAddress(resp *host.HeaderMap) string {
	if resp == nil || x.up == nil {
		return ""
	}
	if v, ok := x.props.Property([]string{"upstream", "address"}); ok {
		s, _ := v.(string)
		return s
	}
	return ""
}

// headerWithFallback reads %REQ(name?fallback)%: the first value of name, else of fallback.
func headerWithFallback(h *host.HeaderMap, arg string) string {
	if h == nil {
		return ""
	}
	name, fallback, _ := strings.Cut(arg, "?")
	if v, ok := h.Get(strings.TrimSpace(name)); ok {
		return v
	}
	if fallback != "" {
		v, _ := h.Get(strings.TrimSpace(fallback))
		return v
	}
	return ""
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func portOf(addr string) string {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return p
	}
	return ""
}

var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// rewritePath applies the route's regex_rewrite to the path (the query string is kept), as
// Envoy's router does before forwarding.
func (x *exchange) rewritePath(path string) string {
	rw := x.route.cfg.RegexRewrite
	if rw == nil {
		return path
	}
	re := compiledRewrite(rw.Pattern)
	if re == nil {
		return path
	}
	p, query, hasQuery := strings.Cut(path, "?")
	p = re.ReplaceAllString(p, envoySubstitution(rw.Substitution))
	if hasQuery {
		return p + "?" + query
	}
	return p
}

var rewriteCache sync.Map // pattern → *regexp.Regexp (nil for an invalid one)

func compiledRewrite(pattern string) *regexp.Regexp {
	if v, ok := rewriteCache.Load(pattern); ok {
		re, _ := v.(*regexp.Regexp)
		return re
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		re = nil
	}
	rewriteCache.Store(pattern, re)
	return re
}

// envoySubstitution turns RE2's \N group references (Envoy's syntax) into Go's ${N}.
func envoySubstitution(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
