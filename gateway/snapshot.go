package gateway

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/host"
)

// snapshot is one applied configuration: clusters, listeners with their
// routes and plugin chains. Requests hold the snapshot they started with;
// a retired snapshot's plugins close when its last request ends.
type snapshot struct {
	version   int
	cfg       *config.Config
	clusters  map[string]*upstream
	listeners map[string]*listenerRuntime
	plugins   []*pluginRuntime
	// services are the plugins that serve no listener (bootstrap WasmServices).
	services []*pluginRuntime

	mu       sync.Mutex
	inflight int
	retired  bool
	drained  chan struct{}
	// abort closes when the snapshot's drain time is over: requests still
	// running then are reset, so none pins a retired snapshot longer.
	abort     chan struct{}
	abortOnce sync.Once
	drainEnd  *time.Timer
}

func newSnapshot(version int, cfg *config.Config) *snapshot {
	return &snapshot{version: version, cfg: cfg, clusters: map[string]*upstream{}, listeners: map[string]*listenerRuntime{},
		drained: make(chan struct{}), abort: make(chan struct{})}
}

// acquire registers a request; it fails once the snapshot is retired.
func (s *snapshot) acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return false
	}
	s.inflight++
	return true
}

func (s *snapshot) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.retired && s.inflight == 0 {
		close(s.drained)
		if s.drainEnd != nil {
			s.drainEnd.Stop()
		}
	}
}

// retire stops new requests and returns a channel closed when the last
// in-flight request is done; requests still running after drain are reset.
func (s *snapshot) retire(drain time.Duration) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return s.drained
	}
	s.retired = true
	if s.inflight == 0 {
		close(s.drained)
		return s.drained
	}
	s.drainEnd = time.AfterFunc(drain, s.abortRequests)
	return s.drained
}

// abortRequests resets the snapshot's requests still running.
func (s *snapshot) abortRequests() {
	s.abortOnce.Do(func() { close(s.abort) })
}

type listenerRuntime struct {
	cfg       config.Listener
	vhostCfgs []config.VirtualHost
	vhosts    []vhostRuntime
	plugins   []*pluginRuntime
}

type vhostRuntime struct {
	cfg    config.VirtualHost
	routes []*routeRuntime
}

type routeRuntime struct {
	cfg   config.Route
	match config.RouteMatcher
	// vhost is the virtual host the route belongs to (its metadata and header mutations).
	vhost *config.VirtualHost
}

// selectRoute picks the route for the request's :authority and :path, and its cluster.
func (l *listenerRuntime) selectRoute(snap *snapshot, h *host.HeaderMap) (*routeRuntime, *upstream) {
	authority, _ := h.Get(":authority")
	path, _ := h.Get(":path")
	vi := config.SelectVirtualHost(l.vhostCfgs, authority)
	if vi < 0 {
		return nil, nil
	}
	header := matchHeader(h)
	for _, r := range l.vhosts[vi].routes {
		if r.match(path, header) {
			return r, snap.clusters[r.clusterFor()]
		}
	}
	return nil, nil
}

var weightSeq atomic.Uint64

// clusterFor picks the route's cluster (weighted clusters by weight).
func (r *routeRuntime) clusterFor() string {
	if r.cfg.Cluster != "" || len(r.cfg.WeightedClusters) == 0 {
		return r.cfg.Cluster
	}
	var total uint64
	for _, w := range r.cfg.WeightedClusters {
		total += uint64(w.Weight)
	}
	if total == 0 {
		return r.cfg.WeightedClusters[0].Name
	}
	n := weightSeq.Add(1) % total
	for _, w := range r.cfg.WeightedClusters {
		if n < uint64(w.Weight) {
			return w.Name
		}
		n -= uint64(w.Weight)
	}
	return r.cfg.WeightedClusters[0].Name
}
