package trace

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxRequests     = 1000
	DefaultMaxBytes        = 32 << 20
	DefaultMaxEvents       = 2000
	DefaultMaxRequestBytes = 512 << 10
)

// DefaultRedact are the headers whose values a trace never shows.
var DefaultRedact = []string{"authorization", "proxy-authorization", "cookie", "set-cookie"}

// Options bound a Store.
type Options struct {
	// MaxRequests and MaxBytes bound the finished traces kept; the oldest
	// go first (0: the defaults).
	MaxRequests int
	MaxBytes    int64
	// MaxEvents and MaxRequestBytes bound one request's trace; events past
	// them are counted, not kept.
	MaxEvents       int
	MaxRequestBytes int64
	// Redact names headers (besides DefaultRedact) whose values are shown
	// as "[redacted]".
	Redact []string
	// Export, when set, receives every finished trace (OTLP).
	Export func(*Request)
}

func (o Options) withDefaults() Options {
	if o.MaxRequests <= 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return o
}

// Store decides which requests are traced and keeps the finished traces.
// It is safe for concurrent use.
type Store struct {
	opts   Options
	redact map[string]bool

	rate    atomic.Uint64 // float64 bits of the sampling rate
	sampled atomic.Uint64 // requests considered, for deterministic sampling
	nextID  atomic.Uint64

	mu    sync.Mutex
	ring  []*Request // oldest first
	head  int
	bytes int64
	subs  map[chan Summary]struct{}
	// Evicted counts traces dropped to stay within the bounds.
	evicted uint64
}

// NewStore returns a store that samples nothing until SetSampleRate.
func NewStore(o Options) *Store {
	o = o.withDefaults()
	s := &Store{opts: o, redact: map[string]bool{}, subs: map[chan Summary]struct{}{}}
	for _, n := range DefaultRedact {
		s.redact[n] = true
	}
	for _, n := range o.Redact {
		s.redact[strings.ToLower(n)] = true
	}
	return s
}

// SetSampleRate sets the share of requests traced: 0 none, 1 all, in
// between every n-th so that the share holds exactly over any run.
func (s *Store) SetSampleRate(r float64) {
	if math.IsNaN(r) || r < 0 {
		r = 0
	}
	if r > 1 {
		r = 1
	}
	s.rate.Store(math.Float64bits(r))
}

// SampleRate returns the share of requests traced.
func (s *Store) SampleRate() float64 { return math.Float64frombits(s.rate.Load()) }

// Sample reports whether the next request is traced (forced: the request
// asked for it in a way the gateway honours).
func (s *Store) Sample(forced bool) bool {
	if forced {
		return true
	}
	bits := s.rate.Load()
	if bits == 0 {
		return false
	}
	r := math.Float64frombits(bits)
	if r >= 1 {
		return true
	}
	n := s.sampled.Add(1)
	return math.Floor(float64(n)*r) > math.Floor(float64(n-1)*r)
}

// Start begins the trace of a request.
func (s *Store) Start(b Begin) *Request {
	now := time.Now()
	r := &Request{
		ID: s.nextID.Add(1), RequestID: b.RequestID, Start: now, begin: now,
		Method: b.Method, Authority: b.Authority, Path: b.Path, Listener: b.Listener,
		Plugins: []string{}, store: s, upstream: -1,
	}
	r.size = int64(512 + len(b.RequestID) + len(b.Method) + len(b.Authority) + len(b.Path) + len(b.Listener))
	return r
}

// add keeps a finished request, evicting the oldest beyond the bounds.
func (s *Store) add(r *Request) {
	s.mu.Lock()
	s.ring = append(s.ring, r)
	s.bytes += r.size
	for len(s.ring)-s.head > s.opts.MaxRequests || (s.bytes > s.opts.MaxBytes && len(s.ring)-s.head > 1) {
		old := s.ring[s.head]
		s.ring[s.head] = nil
		s.head++
		s.bytes -= old.size
		s.evicted++
	}
	// compact once the dead prefix is as long as the live part
	if s.head > 0 && s.head >= len(s.ring)-s.head {
		n := copy(s.ring, s.ring[s.head:])
		clear(s.ring[n:])
		s.ring = s.ring[:n]
		s.head = 0
	}
	sum := r.Summary()
	for ch := range s.subs {
		select {
		case ch <- sum:
		default: // a slow subscriber misses updates, it never blocks requests
		}
	}
	s.mu.Unlock()
	if s.opts.Export != nil {
		s.opts.Export(r)
	}
}

// Stats describes what the store holds.
type Stats struct {
	Requests int     `json:"requests"`
	Bytes    int64   `json:"bytes"`
	Evicted  uint64  `json:"evicted"`
	Rate     float64 `json:"sampleRate"`
	MaxReqs  int     `json:"maxRequests"`
	MaxBytes int64   `json:"maxBytes"`
	// Subscribers counts open event streams (Subscribe).
	Subscribers int `json:"subscribers"`
}

// Stats returns the store's counts.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Requests: len(s.ring) - s.head, Bytes: s.bytes, Evicted: s.evicted, Rate: s.SampleRate(),
		MaxReqs: s.opts.MaxRequests, MaxBytes: s.opts.MaxBytes, Subscribers: len(s.subs)}
}

// List returns the newest finished requests passing f, newest first, at
// most limit (0: all).
func (s *Store) List(f Filter, limit int) []Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Summary{}
	for i := len(s.ring) - 1; i >= s.head; i-- {
		sum := s.ring[i].Summary()
		if !f.Matches(&sum) {
			continue
		}
		out = append(out, sum)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}

// Get returns a finished request by id, or nil.
func (s *Store) Get(id uint64) *Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.ring) - 1; i >= s.head; i-- {
		if s.ring[i].ID == id {
			return s.ring[i]
		}
	}
	return nil
}

// Subscribe returns a channel receiving the summary of every request
// finished from now on (dropped when the reader lags) and a function that
// ends the subscription.
func (s *Store) Subscribe() (<-chan Summary, func()) {
	ch := make(chan Summary, 64)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.subs, ch)
			s.mu.Unlock()
		})
	}
}
