// Package trace records what every plugin did to a request: the route and
// cluster chosen, each plugin callback with its action, header and body
// changes, pauses and what resumed them (HTTP and Redis callouts, ticks),
// local replies, logs, properties, traps, the upstream attempt and the
// response. A Store keeps the finished traces in a ring bounded in count
// and bytes and decides which requests are traced.
//
// Tracing costs a nil check when a request is not traced: every method of
// *Request is a no-op on a nil receiver, and the gateway passes no
// host.Observer to the engine for such a request.
package trace

import (
	"strings"
	"sync"
	"time"
)

// Kinds of Event.
const (
	KindRoute      = "route"
	KindCallback   = "callback"
	KindCallout    = "callout"
	KindPause      = "pause"
	KindLocalReply = "local_reply"
	KindReset      = "reset"
	KindLog        = "log"
	KindProperty   = "property"
	KindUpstream   = "upstream"
	KindResponse   = "response"
	KindVMFailed   = "vm_failed"
)

// Request is the trace of one request. Its exported fields are its JSON
// form; after Finish it no longer changes.
type Request struct {
	ID        uint64    `json:"id"`
	RequestID string    `json:"requestId,omitempty"`
	Start     time.Time `json:"start"`
	// DurationUS is the time from the request headers to the end of the
	// exchange, in microseconds.
	DurationUS int64  `json:"durationUs"`
	Method     string `json:"method"`
	Authority  string `json:"authority,omitempty"`
	Path       string `json:"path"`
	Listener   string `json:"listener,omitempty"`
	Route      string `json:"route,omitempty"`
	Cluster    string `json:"cluster,omitempty"`
	Status     int    `json:"status"`
	// Details is Envoy's response code details; Flags its response flags.
	Details string   `json:"details,omitempty"`
	Flags   string   `json:"flags,omitempty"`
	Reset   bool     `json:"reset,omitempty"`
	Plugins []string `json:"plugins"`
	// Errors counts traps, VM failures and callbacks that failed.
	Errors int     `json:"errors,omitempty"`
	Events []Event `json:"events"`
	// Dropped counts events not kept because the request reached its
	// event or byte limit.
	Dropped int `json:"droppedEvents,omitempty"`

	store *Store
	begin time.Time // monotonic start
	mu    sync.Mutex
	done  bool
	size  int64
	// open pauses per plugin and direction, and the cause of a resume
	// reported before the call that releases the direction
	pauses map[pauseKey]*pauseState
	// upstream is the index of the open upstream attempt (-1: none)
	upstream int
}

type pauseKey struct {
	plugin string
	dir    string
}

type pauseState struct {
	idx   int // index of the pause event
	cause string
}

// Event is one step of a request's trace. At and DurUS are microseconds
// from the start of the request.
type Event struct {
	Kind   string `json:"kind"`
	AtUS   int64  `json:"atUs"`
	DurUS  int64  `json:"durUs,omitempty"`
	Plugin string `json:"plugin,omitempty"`
	// Name is the callback ("proxy_on_request_headers"), the Stream call a
	// pause began in, or the route name.
	Name string `json:"name,omitempty"`
	Dir  string `json:"dir,omitempty"`
	// Action is what the callback returned (HeaderContinue, …) or the
	// filter-manager outcome (continue, stop, local_reply, reset).
	Action  string         `json:"action,omitempty"`
	Headers []HeaderChange `json:"headers,omitempty"`
	Body    *BodyChange    `json:"body,omitempty"`
	Callout *Callout       `json:"callout,omitempty"`
	Reply   *Reply         `json:"reply,omitempty"`
	// ResumedBy is what ended a pause (the callback that resumed it, or the
	// data that let it go on).
	ResumedBy string `json:"resumedBy,omitempty"`
	Cluster   string `json:"cluster,omitempty"`
	Status    int    `json:"status,omitempty"`
	Level     string `json:"level,omitempty"`
	Key       string `json:"key,omitempty"`
	Message   string `json:"message,omitempty"`
	Error     string `json:"error,omitempty"`
}

// HeaderChange is one header the callback added, removed or replaced.
// Values of redacted names are shown as "[redacted]".
type HeaderChange struct {
	Op    string `json:"op"` // added, removed, replaced
	Name  string `json:"name"`
	Old   string `json:"old,omitempty"`
	Value string `json:"value,omitempty"`
}

// BodyChange is what a body callback saw and did.
type BodyChange struct {
	Seen    int  `json:"seen"`
	After   int  `json:"after"`
	Changed bool `json:"changed"`
	// Buffered is the body the plugin asked the engine to hold.
	Buffered int    `json:"buffered,omitempty"`
	Before   string `json:"before,omitempty"` // prefix, when changed
	Now      string `json:"now,omitempty"`    // prefix, when changed
}

// Callout is an HTTP or Redis call of a plugin.
type Callout struct {
	Type    string `json:"type"` // http, redis
	Token   uint32 `json:"token"`
	Cluster string `json:"cluster"`
	// Target is "METHOD authority path" (HTTP) or the command (Redis).
	Target string `json:"target"`
	// Status is the HTTP status (0: none yet, or reset).
	Status int `json:"status,omitempty"`
	// Reply summarises the Redis reply.
	Reply    string `json:"reply,omitempty"`
	Error    string `json:"error,omitempty"`
	Answered bool   `json:"answered"`
}

// Reply is a local reply.
type Reply struct {
	Status  int    `json:"status"`
	Details string `json:"details,omitempty"`
	Body    string `json:"body,omitempty"`
	// Cause is the callback that sent it, when not the one being traced.
	Cause string `json:"cause,omitempty"`
}

// Summary is the list form of a Request.
type Summary struct {
	ID         uint64    `json:"id"`
	Start      time.Time `json:"start"`
	DurationUS int64     `json:"durationUs"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	Route      string    `json:"route,omitempty"`
	Plugins    []string  `json:"plugins"`
	Errors     int       `json:"errors,omitempty"`
	Details    string    `json:"details,omitempty"`
}

// Summary returns the list form of a finished request.
func (r *Request) Summary() Summary {
	return Summary{ID: r.ID, Start: r.Start, DurationUS: r.DurationUS, Method: r.Method, Path: r.Path,
		Status: r.Status, Route: r.Route, Plugins: r.Plugins, Errors: r.Errors, Details: r.Details}
}

// Begin describes a request whose trace starts.
type Begin struct {
	RequestID, Method, Authority, Path, Listener string
}

func (r *Request) now() int64 { return time.Since(r.begin).Microseconds() }

// add appends an event within the request's limits; it returns the
// event's index or -1. Call with r.mu held.
func (r *Request) add(e Event) int {
	if r.done {
		return -1
	}
	n := eventSize(&e)
	lim := r.store.opts
	if len(r.Events) >= lim.MaxEvents || r.size+n > lim.MaxRequestBytes {
		r.Dropped++
		return -1
	}
	r.size += n
	r.Events = append(r.Events, e)
	return len(r.Events) - 1
}

// set replaces event i (a callback completed), within the byte limit.
// Call with r.mu held.
func (r *Request) set(i int, e Event) {
	grow := eventSize(&e) - eventSize(&r.Events[i])
	if r.size+grow > r.store.opts.MaxRequestBytes {
		e.Headers, e.Body = nil, nil
		r.Dropped++
		grow = eventSize(&e) - eventSize(&r.Events[i])
	}
	r.size += grow
	r.Events[i] = e
}

// eventSize estimates the memory an event holds.
func eventSize(e *Event) int64 {
	n := int64(200 + len(e.Kind) + len(e.Plugin) + len(e.Name) + len(e.Action) + len(e.ResumedBy) +
		len(e.Cluster) + len(e.Message) + len(e.Error) + len(e.Key))
	for _, h := range e.Headers {
		n += int64(64 + len(h.Name) + len(h.Old) + len(h.Value))
	}
	if b := e.Body; b != nil {
		n += int64(64 + len(b.Before) + len(b.Now))
	}
	if c := e.Callout; c != nil {
		n += int64(96 + len(c.Cluster) + len(c.Target) + len(c.Reply) + len(c.Error))
	}
	if p := e.Reply; p != nil {
		n += int64(64 + len(p.Details) + len(p.Body) + len(p.Cause))
	}
	return n
}

// Routed records the route and cluster chosen; again: chosen again after a
// plugin cleared the route cache.
func (r *Request) Routed(route, cluster string, again bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done || (again && route == r.Route && cluster == r.Cluster) {
		return
	}
	msg := "selected"
	if again {
		msg = "selected again: a plugin cleared the route cache"
	}
	r.Route, r.Cluster = route, cluster
	r.add(Event{Kind: KindRoute, AtUS: r.now(), Name: route, Cluster: cluster, Message: msg})
}

// UpstreamStart records the start of an upstream attempt to cluster.
func (r *Request) UpstreamStart(cluster string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upstream = r.add(Event{Kind: KindUpstream, AtUS: r.now(), Cluster: cluster})
}

// UpstreamEnd records the answer of the attempt (its status, the address
// it reached) or its failure.
func (r *Request) UpstreamEnd(status int, address string, err error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.upstream < 0 || r.done {
		return
	}
	e := &r.Events[r.upstream]
	r.upstream = -1
	e.DurUS, e.Status, e.Key = r.now()-e.AtUS, status, address
	if err != nil {
		e.Error = truncate(err.Error())
	}
}

// Response records the response headers leaving for the client.
func (r *Request) Response(status int, details string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(Event{Kind: KindResponse, AtUS: r.now(), Status: status, Message: details})
}

// Finish ends the trace and hands it to the store.
func (r *Request) Finish(status int, details, flags string, reset bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return
	}
	now := r.now()
	for _, p := range r.pauses {
		if e := &r.Events[p.idx]; e.DurUS == 0 {
			e.DurUS = now - e.AtUS
			e.ResumedBy = "end of the request"
		}
	}
	r.pauses = nil
	r.Status, r.Details, r.Flags, r.Reset = status, details, flags, reset
	r.DurationUS = now
	r.done = true
	r.mu.Unlock()
	r.store.add(r)
}

// Plugin returns the observer of one plugin's stream for this request
// (nil on a nil Request: pass the result through Observer to get a nil
// host.Observer).
func (r *Request) Plugin(name string) *PluginObserver {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	r.Plugins = append(r.Plugins, name)
	r.mu.Unlock()
	return &PluginObserver{r: r, plugin: name}
}

// Matches reports whether a finished request passes the filter.
func (f Filter) Matches(s *Summary) bool {
	if f.Status != "" && !statusMatches(f.Status, s.Status) {
		return false
	}
	if f.Path != "" && !strings.Contains(s.Path, f.Path) {
		return false
	}
	if f.Method != "" && !strings.EqualFold(f.Method, s.Method) {
		return false
	}
	if f.Plugin != "" {
		found := false
		for _, p := range s.Plugins {
			if p == f.Plugin || strings.Contains(p, f.Plugin) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if f.Errors && s.Errors == 0 {
		return false
	}
	return true
}

// Filter selects requests: Status is a code ("404") or a class ("5xx"),
// Path a substring, Plugin a plugin name (or part of one), Errors only
// requests with a trap or failed callback.
type Filter struct {
	Status, Path, Method, Plugin string
	Errors                       bool
}

func statusMatches(want string, got int) bool {
	want = strings.ToLower(strings.TrimSpace(want))
	if len(want) == 3 && strings.HasSuffix(want, "xx") {
		return got/100 == int(want[0]-'0')
	}
	return want == itoa(got)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
