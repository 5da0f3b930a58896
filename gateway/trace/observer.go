package trace

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Bounds of what one event copies from the request.
const (
	maxValue   = 256 // header values, property values, log messages
	maxPreview = 256 // body prefixes
)

// PluginObserver records one plugin's stream of a request; it implements
// host.Observer.
type PluginObserver struct {
	r      *Request
	plugin string

	// the callback running (callbacks of one stream never overlap)
	cur       *host.CallbackInfo
	curIdx    int // its event, -1 when not kept
	before    []host.HeaderField
	bodyLen   int
	bodyHash  uint64
	bodyStart string
}

// Observer returns p as a host.Observer, nil when p is nil (so a request
// that is not traced gives the engine no observer at all).
func Observer(p *PluginObserver) host.Observer {
	if p == nil {
		return nil
	}
	return p
}

var _ host.Observer = (*PluginObserver)(nil)

// CallbackStart implements host.Observer: the callback's event is placed
// now, so what happens during it (logs, callouts) follows it.
func (p *PluginObserver) CallbackStart(c *host.CallbackInfo) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	p.cur = c
	p.curIdx = r.add(Event{Kind: KindCallback, AtUS: r.now(), Plugin: p.plugin, Name: c.Name, Dir: c.Dir.String()})
	p.before = p.before[:0]
	if c.Headers != nil {
		p.before = append(p.before, c.Headers.Fields...)
	}
	p.bodyLen, p.bodyHash, p.bodyStart = len(c.Body), hashBytes(c.Body), preview(c.Body)
}

// CallbackEnd implements host.Observer.
func (p *PluginObserver) CallbackEnd(c *host.CallbackInfo) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.Err != nil {
		r.Errors++
	}
	if p.cur != c || p.curIdx < 0 || r.done {
		p.cur = nil
		return
	}
	p.cur = nil
	e := Event{Kind: KindCallback, AtUS: r.Events[p.curIdx].AtUS, Plugin: p.plugin, Name: c.Name, Dir: c.Dir.String()}
	e.DurUS = r.now() - e.AtUS
	if c.Err == nil {
		e.Action = actionName(c.Name, c.Raw)
	} else {
		e.Error = truncate(c.Err.Error())
	}
	if c.Headers != nil {
		e.Headers = r.store.diff(p.before, c.Headers.Fields)
	}
	if strings.HasSuffix(c.Name, "_body") {
		b := &BodyChange{Seen: p.bodyLen, After: len(c.Body)}
		b.Changed = b.After != b.Seen || hashBytes(c.Body) != p.bodyHash
		if b.Changed {
			b.Before, b.Now = p.bodyStart, preview(c.Body)
		}
		if c.Err == nil && (c.Raw == uint32(types.DataStopIterationAndBuffer) || c.Raw == uint32(types.DataStopIterationAndWatermark)) {
			b.Buffered = len(c.Body)
		}
		e.Body = b
	}
	if c.Token != 0 {
		e.Message = "token " + strconv.FormatUint(uint64(c.Token), 10)
	}
	r.set(p.curIdx, e)
}

// Callout implements host.Observer: a call is one event, from its start to
// its answer.
func (p *PluginObserver) Callout(c *host.CalloutInfo) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.Answered {
		if r.done {
			return
		}
		for i := len(r.Events) - 1; i >= 0; i-- {
			e := &r.Events[i]
			if e.Kind == KindCallout && e.Plugin == p.plugin && e.Callout.Token == c.Token && !e.Callout.Answered {
				e.DurUS = c.Elapsed.Microseconds()
				e.Callout.Answered = true
				if c.Response != nil {
					if c.Response.Reset {
						e.Callout.Error = "reset"
					} else if s, ok := c.Response.Headers.Get(":status"); ok {
						e.Callout.Status, _ = strconv.Atoi(s)
					}
				}
				if c.Kind == "redis" {
					if c.Err != nil {
						e.Callout.Error = truncate(c.Err.Error())
					} else {
						e.Callout.Reply = truncate(respSummary(c.Reply))
					}
				}
				return
			}
		}
		return
	}
	co := &Callout{Type: c.Kind, Token: c.Token, Cluster: c.Cluster}
	if c.Request != nil {
		m, _ := c.Request.Headers.Get(":method")
		a, _ := c.Request.Headers.Get(":authority")
		path, _ := c.Request.Headers.Get(":path")
		co.Target = truncate(m + " " + a + path)
	} else {
		co.Target = truncate(respSummary(c.Query))
	}
	r.add(Event{Kind: KindCallout, AtUS: r.now(), Plugin: p.plugin, Callout: co})
}

// Log implements host.Observer.
func (p *PluginObserver) Log(level types.LogLevel, msg []byte) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(Event{Kind: KindLog, AtUS: r.now(), Plugin: p.plugin, Level: host.LevelName(host.SlogLevel(level)), Message: truncate(string(msg))})
}

// PropertySet implements host.Observer.
func (p *PluginObserver) PropertySet(key string, value []byte) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(Event{Kind: KindProperty, AtUS: r.now(), Plugin: p.plugin, Key: truncate(strings.ReplaceAll(key, "\x00", ".")), Message: truncate(string(value))})
}

// Async implements host.Observer.
func (p *PluginObserver) Async(a *host.AsyncInfo) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case a.Cause == "vm_failed":
		r.Errors++
		r.add(Event{Kind: KindVMFailed, AtUS: r.now(), Plugin: p.plugin, Dir: a.Dir.String(), Message: "the plugin's VM failed while the stream waited"})
	case a.Kind == host.EventResume:
		if ps := r.pauses[pauseKey{p.plugin, a.Dir.String()}]; ps != nil {
			ps.cause = a.Cause
		}
	case a.Kind == host.EventLocalReply:
		p.closePauses(a.Cause)
		r.add(Event{Kind: KindLocalReply, AtUS: r.now(), Plugin: p.plugin, Dir: a.Dir.String(), Reply: reply(a.Reply, a.Cause)})
	case a.Kind == host.EventReset:
		p.closePauses(a.Cause)
		r.add(Event{Kind: KindReset, AtUS: r.now(), Plugin: p.plugin, Message: "closed by " + a.Cause})
	}
}

// Result implements host.Observer: a stop opens a pause of the direction,
// the next call that lets it go on closes it.
func (p *PluginObserver) Result(call string, dir host.Direction, res *host.Result) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	key := pauseKey{p.plugin, dir.String()}
	switch res.Action {
	case host.ActionStop:
		if r.done || r.pauses[key] != nil || call == "resume" {
			return
		}
		if r.pauses == nil {
			r.pauses = map[pauseKey]*pauseState{}
		}
		if idx := r.add(Event{Kind: KindPause, AtUS: r.now(), Plugin: p.plugin, Name: call, Dir: key.dir}); idx >= 0 {
			r.pauses[key] = &pauseState{idx: idx}
		}
	case host.ActionContinue:
		if ps := r.pauses[key]; ps != nil {
			by := ps.cause
			if by == "" {
				by = call
			}
			p.closePause(key, by)
		}
	case host.ActionLocalReply:
		p.closePauses(call)
		r.add(Event{Kind: KindLocalReply, AtUS: r.now(), Plugin: p.plugin, Name: call, Dir: key.dir, Reply: reply(res.LocalReply, "")})
	case host.ActionReset:
		p.closePauses(call)
		r.add(Event{Kind: KindReset, AtUS: r.now(), Plugin: p.plugin, Name: call, Message: "the plugin closed the stream"})
	}
}

func (p *PluginObserver) closePause(key pauseKey, by string) {
	r := p.r
	ps := r.pauses[key]
	delete(r.pauses, key)
	if ps == nil || r.done {
		return
	}
	e := &r.Events[ps.idx]
	e.DurUS, e.ResumedBy = r.now()-e.AtUS, by
}

func (p *PluginObserver) closePauses(by string) {
	for k := range p.r.pauses {
		if k.plugin == p.plugin {
			p.closePause(k, by)
		}
	}
}

func reply(l *host.LocalReply, cause string) *Reply {
	if l == nil {
		return &Reply{Cause: cause}
	}
	return &Reply{Status: l.StatusCode, Details: l.Details, Body: preview(l.Body), Cause: cause}
}

// diff lists the headers added, removed and replaced from before to
// after, redacting the store's names.
func (s *Store) diff(before, after []host.HeaderField) []HeaderChange {
	var out []HeaderChange
	old := map[string][]string{}
	for _, f := range before {
		old[f.Key] = append(old[f.Key], f.Value)
	}
	now := map[string][]string{}
	var order []string
	for _, f := range after {
		if _, seen := now[f.Key]; !seen {
			order = append(order, f.Key)
		}
		now[f.Key] = append(now[f.Key], f.Value)
	}
	show := func(name, v string) string {
		if s.redact[name] {
			return "[redacted]"
		}
		return truncate(v)
	}
	for _, k := range order {
		o, had := old[k]
		n := now[k]
		switch {
		case !had:
			for _, v := range n {
				out = append(out, HeaderChange{Op: "added", Name: k, Value: show(k, v)})
			}
		case !equal(o, n):
			out = append(out, HeaderChange{Op: "replaced", Name: k, Old: show(k, strings.Join(o, ", ")), Value: show(k, strings.Join(n, ", "))})
		}
	}
	for _, f := range before {
		if _, ok := now[f.Key]; !ok {
			out = append(out, HeaderChange{Op: "removed", Name: f.Key, Old: show(f.Key, f.Value)})
			now[f.Key] = nil // once per name
		}
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func hashBytes(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}

func truncate(s string) string {
	if len(s) <= maxValue {
		return s
	}
	return s[:maxValue] + "…"
}

func preview(b []byte) string {
	if len(b) > maxPreview {
		return string(b[:maxPreview]) + "…"
	}
	return string(b)
}

// actionName names what a callback returned.
func actionName(cb string, raw uint32) string {
	switch cb {
	case "proxy_on_request_headers", "proxy_on_response_headers":
		switch types.Action(raw) {
		case types.HeaderContinue:
			return "HeaderContinue"
		case types.HeaderStopIteration:
			return "HeaderStopIteration"
		case types.HeaderContinueAndEndStream:
			return "HeaderContinueAndEndStream"
		case types.HeaderStopAllIterationAndBuffer:
			return "HeaderStopAllIterationAndBuffer"
		case types.HeaderStopAllIterationAndWatermark:
			return "HeaderStopAllIterationAndWatermark"
		}
	case "proxy_on_request_body", "proxy_on_response_body":
		switch types.Action(raw) {
		case types.DataContinue:
			return "DataContinue"
		case types.DataStopIterationAndBuffer:
			return "DataStopIterationAndBuffer"
		case types.DataStopIterationAndWatermark:
			return "DataStopIterationAndWatermark"
		case types.DataStopIterationNoBuffer:
			return "DataStopIterationNoBuffer"
		}
	case "proxy_on_request_trailers", "proxy_on_response_trailers":
		switch types.Action(raw) {
		case types.TrailerContinue:
			return "TrailerContinue"
		case types.TrailerStopIteration:
			return "TrailerStopIteration"
		}
	default:
		return ""
	}
	return strconv.FormatUint(uint64(raw), 10)
}

// respSummary renders a RESP value shallowly: an array of bulk strings as
// its words ("GET key"), a simple value as itself.
func respSummary(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	line, rest, _ := strings.Cut(string(b), "\r\n")
	switch line[0] {
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return line
		}
		var words []string
		for i := 0; i < n && rest != ""; i++ {
			var l string
			l, rest, _ = strings.Cut(rest, "\r\n")
			if l == "" {
				break
			}
			switch l[0] {
			case '$':
				size, err := strconv.Atoi(l[1:])
				if err != nil || size < 0 || size > len(rest) {
					words = append(words, "nil")
					continue
				}
				words = append(words, rest[:size])
				rest = strings.TrimPrefix(rest[size:], "\r\n")
			default:
				words = append(words, l[1:])
			}
			if len(words) >= 8 {
				words = append(words, "…")
				break
			}
		}
		return strings.Join(words, " ")
	case '$':
		size, err := strconv.Atoi(line[1:])
		if err != nil || size < 0 {
			return "nil"
		}
		if size > len(rest) {
			size = len(rest)
		}
		return strconv.Quote(rest[:size])
	default:
		return line
	}
}
