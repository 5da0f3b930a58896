package gateway

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/oci/fetch"
)

// reloadFetchWait is how long a reload waits for module fetches still in
// progress before it goes ahead: a plugin whose module has not arrived keeps
// its running version (or, new, is reported as fetching), and the reload is
// redone when the fetch ends. The first load waits for every fetch.
const reloadFetchWait = 250 * time.Millisecond

// moduleSpec identifies one remote module fetch: its url and everything else
// that changes what the fetch may return.
type moduleSpec struct {
	url    string
	sha256 string
	policy fetch.PullPolicy
	secret string
}

// remoteSpec returns the fetch a plugin needs, false for file and inline
// modules (read directly when the snapshot is built).
func remoteSpec(pc config.Plugin) (moduleSpec, bool) {
	switch pc.Source.Kind {
	case config.SourceFile, config.SourceInline:
		return moduleSpec{}, false
	}
	url := pc.Source.URL
	if pc.Source.Kind == config.SourceOCI {
		url = "oci://" + url
	}
	return moduleSpec{url: url, sha256: pc.SHA256, policy: fetchPolicy(pc.EffectivePullPolicy()), secret: pc.ImagePullSecret}, true
}

// moduleResult is what a fetch gave: the module (possibly an earlier copy),
// the error, or both.
type moduleResult struct {
	wasm   []byte
	digest string
	source string
	err    error
}

// moduleResults are the remote modules resolved for one snapshot.
type moduleResults map[moduleSpec]moduleResult

// FetchPendingError reports a module whose fetch was still running when the
// snapshot was built.
type FetchPendingError struct {
	URL   string
	Since time.Time
	// Last is the error of the previous fetch of the url, if it failed.
	Last error
}

func (e *FetchPendingError) Error() string {
	s := fmt.Sprintf("module %s is still being fetched (started %s ago)", e.URL, time.Since(e.Since).Round(100*time.Millisecond))
	if e.Last != nil {
		s += "; the previous fetch failed: " + e.Last.Error()
	}
	return s
}

// moduleFetch is one fetch in progress.
type moduleFetch struct {
	spec    moduleSpec
	started time.Time
	done    chan struct{}
	res     moduleResult
	// finished and waitedOut are guarded by moduleSet.mu: a fetch that
	// finishes after a reload stopped waiting for it triggers a new reload.
	finished  bool
	waitedOut bool
}

// moduleSet runs the gateway's remote module fetches: outside every lock
// requests or the admin API use, one at a time per module, bounded by the
// fetch timeouts, remembering each module's last result and last good copy.
type moduleSet struct {
	gw       *Server
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	last     map[moduleSpec]moduleResult
	good     map[moduleSpec]moduleResult
	inflight map[moduleSpec]*moduleFetch
}

func newModuleSet(gw *Server) *moduleSet {
	ctx, cancel := context.WithCancel(context.Background())
	return &moduleSet{gw: gw, ctx: ctx, cancel: cancel, last: map[moduleSpec]moduleResult{}, good: map[moduleSpec]moduleResult{}, inflight: map[moduleSpec]*moduleFetch{}}
}

// close cancels the fetches in progress and waits for them.
func (s *moduleSet) close() {
	s.cancel()
	s.wg.Wait()
}

// resolve returns the remote modules cfg's plugins need. refetch starts a
// fetch for every module whose last fetch failed or whose pull policy is
// Always; otherwise only modules never fetched are. It waits for the fetches
// up to wait (a negative wait: until they end); a module still on its way is
// given as its last good copy, if any, with a *FetchPendingError.
func (s *moduleSet) resolve(ctx context.Context, cfg *config.Config, wait time.Duration, refetch bool) moduleResults {
	want := map[moduleSpec]bool{}
	cfg.EachPlugin(func(pc *config.Plugin) {
		if spec, ok := remoteSpec(*pc); ok {
			want[spec] = true
		}
	})
	out := moduleResults{}
	var waits []*moduleFetch
	s.mu.Lock()
	for spec := range want {
		if f := s.inflight[spec]; f != nil {
			waits = append(waits, f)
			continue
		}
		if r, ok := s.last[spec]; ok && (!refetch || (r.err == nil && spec.policy != fetch.PullAlways)) {
			out[spec] = r
			continue
		}
		waits = append(waits, s.start(spec))
	}
	// Forget modules no configuration names any more.
	for spec := range s.last {
		if !want[spec] {
			delete(s.last, spec)
			delete(s.good, spec)
		}
	}
	s.mu.Unlock()

	var timeout <-chan time.Time
	if wait >= 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	expired := false
	for _, f := range waits {
		if !expired {
			select {
			case <-f.done:
				out[f.spec] = f.res
				continue
			case <-timeout:
				expired = true
			case <-ctx.Done():
				expired = true
			}
		}
		out[f.spec] = s.pending(f)
	}
	return out
}

// start begins a fetch; s.mu is held.
func (s *moduleSet) start(spec moduleSpec) *moduleFetch {
	f := &moduleFetch{spec: spec, started: time.Now(), done: make(chan struct{})}
	s.inflight[spec] = f
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r := s.fetch(spec)
		s.mu.Lock()
		if prev, ok := s.good[spec]; ok && r.wasm == nil && r.err != nil {
			// Nothing cached on disk (or no cache): the copy this gateway
			// fetched earlier keeps serving.
			r.wasm, r.digest, r.source = prev.wasm, prev.digest, prev.source
			r.err = fmt.Errorf("%w (serving the module fetched earlier, sha256:%s)", r.err, prev.digest)
		}
		s.last[spec] = r
		if r.wasm != nil {
			s.good[spec] = r
		}
		delete(s.inflight, spec)
		f.res = r
		f.finished = true
		again := f.waitedOut
		s.mu.Unlock()
		close(f.done)
		log := s.gw.log.With("url", spec.url, "took", time.Since(f.started).Round(time.Millisecond).String())
		if r.err != nil {
			log.Error("plugin module fetch failed", "error", r.err)
		} else if again {
			log.Info("plugin module fetched after the reload went ahead; reloading", "digest", "sha256:"+r.digest)
		}
		if again && s.ctx.Err() == nil {
			s.gw.reloadAfterFetch()
		}
	}()
	return f
}

// pending is the result for a fetch a reload stops waiting for.
func (s *moduleSet) pending(f *moduleFetch) moduleResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.finished {
		return f.res
	}
	f.waitedOut = true
	r := moduleResult{}
	perr := &FetchPendingError{URL: f.spec.url, Since: f.started}
	if last, ok := s.last[f.spec]; ok && last.err != nil {
		perr.Last = last.err
	}
	if g, ok := s.good[f.spec]; ok {
		r.wasm, r.digest, r.source = g.wasm, g.digest, g.source
	}
	r.err = perr
	return r
}

func (s *moduleSet) fetch(spec moduleSpec) moduleResult {
	opts := s.gw.opts
	m, err := fetch.Fetch(s.ctx, spec.url, fetch.Options{
		CacheDir:   opts.ModuleCacheDir,
		PullPolicy: spec.policy,
		SHA256:     spec.sha256,
		PullSecret: spec.secret,
		Timeouts:   opts.FetchTimeouts,
		Limits:     opts.ImageLimits,
		Logger:     s.gw.log,
	})
	if len(m.Bytes) == 0 {
		if err == nil {
			err = fmt.Errorf("fetch %s: empty module", spec.url)
		}
		return moduleResult{err: err}
	}
	return moduleResult{wasm: m.Bytes, digest: sha(m.Bytes), source: spec.url, err: err}
}

// FetchStatus is a module fetch in progress, as the admin API shows it.
type FetchStatus struct {
	URL   string `json:"url"`
	Since string `json:"since"`
}

// fetching lists the fetches in progress.
func (s *moduleSet) fetching() []FetchStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FetchStatus, 0, len(s.inflight))
	for _, f := range s.inflight {
		out = append(out, FetchStatus{URL: f.spec.url, Since: f.started.UTC().Format(time.RFC3339Nano)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}
