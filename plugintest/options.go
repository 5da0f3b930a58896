package plugintest

import (
	"fmt"
	"net/url"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// Defaults of the options.
const (
	// DefaultDomain is the :authority of requests that set no host.
	DefaultDomain = "example.com"
	// DefaultPauseTimeout is how long a request may make no progress (paused
	// by the plugin, nothing arriving) before it fails the test.
	DefaultPauseTimeout = 10 * time.Second
	// DefaultCallTimeout is the CPU deadline of one callback into the
	// module. It is longer than the engine's production default (1 s) so a
	// busy test machine does not fail plugins; set CallTimeout to test the
	// deadline itself.
	DefaultCallTimeout = 5 * time.Second
)

// Option configures a Plugin (Load, Start, LoadWasm, StartWasm).
type Option func(*settings)

type settings struct {
	err error

	name, rootID, vmID string
	config             []byte
	vmConfig           []byte
	env                map[string]string
	failOpen           bool
	poolSize           int
	bufferLimit        int
	logLevel           *types.LogLevel
	callTimeout        time.Duration
	reloadBackoff      time.Duration
	pauseTimeout       time.Duration
	start              time.Time
	buildTags          []string

	route, cluster, domain string
	properties             host.PropertyMap

	upstream UpstreamHandler

	httpScripted  map[string]HTTPHandler
	httpReal      map[string]*url.URL
	redisScripted map[string]RedisHandler
	redisReal     map[string]string
	grpcReal      map[string]string
}

func defaults() *settings {
	return &settings{
		rootID:        "",
		domain:        DefaultDomain,
		poolSize:      1,
		callTimeout:   DefaultCallTimeout,
		pauseTimeout:  DefaultPauseTimeout,
		start:         DefaultStartTime,
		properties:    host.PropertyMap{},
		httpScripted:  map[string]HTTPHandler{},
		httpReal:      map[string]*url.URL{},
		redisScripted: map[string]RedisHandler{},
		redisReal:     map[string]string{},
		grpcReal:      map[string]string{},
	}
}

func (s *settings) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// Config sets the plugin configuration as JSON, exactly as Higress passes
// it to the plugin: the global settings plus "_rules_", each rule with its
// "_match_route_", "_match_domain_" or "_match_service_" list.
func Config(json string) Option {
	return func(s *settings) { s.config = []byte(json) }
}

// ConfigYAML sets the plugin configuration from YAML (a WasmPlugin's
// defaultConfig, for example), converted to the JSON the plugin receives.
func ConfigYAML(doc string) Option {
	return func(s *settings) {
		b, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			s.fail(fmt.Errorf("plugintest: ConfigYAML: %w", err))
			return
		}
		s.config = b
	}
}

// VMConfig sets the VM configuration (vm_config.configuration).
func VMConfig(config string) Option {
	return func(s *settings) { s.vmConfig = []byte(config) }
}

// Name sets the plugin name (the plugin_name property); the default is the
// package directory's or the module file's base name.
func Name(name string) Option { return func(s *settings) { s.name = name } }

// RootID sets Envoy's root_id of the plugin (default empty).
func RootID(id string) Option { return func(s *settings) { s.rootID = id } }

// VMID sets Envoy's vm_id (default empty).
func VMID(id string) Option { return func(s *settings) { s.vmID = id } }

// Env sets an environment variable of the VM (vm_config's
// environment_variables); the module sees no other variable.
func Env(key, value string) Option {
	return func(s *settings) {
		if s.env == nil {
			s.env = map[string]string{}
		}
		s.env[key] = value
	}
}

// FailOpen makes a failed VM let requests through (fail_strategy
// FAIL_OPEN). By default a failed VM answers 503 (FAIL_CLOSED).
func FailOpen() Option { return func(s *settings) { s.failOpen = true } }

// PoolSize sets the number of VMs (default 1). Each VM runs one callback at
// a time; concurrent requests spread over the VMs.
func PoolSize(n int) Option { return func(s *settings) { s.poolSize = n } }

// BufferLimit sets the per-direction body buffer limit (default 1 MiB, as
// Envoy's): a request body over it is answered 413, a response body 500.
func BufferLimit(n int) Option { return func(s *settings) { s.bufferLimit = n } }

// LogLevel sets the plugin log level (default info).
func LogLevel(l types.LogLevel) Option { return func(s *settings) { s.logLevel = &l } }

// CallTimeout sets the CPU deadline of one callback (default
// DefaultCallTimeout); a callback running longer fails the VM.
func CallTimeout(d time.Duration) Option { return func(s *settings) { s.callTimeout = d } }

// ReloadBackoff sets how long after a failure the engine replaces a failed
// VM (default 1 s of the simulated clock: call Advance to heal the pool).
func ReloadBackoff(d time.Duration) Option { return func(s *settings) { s.reloadBackoff = d } }

// PauseTimeout sets how long (real time) a request may make no progress
// before Do fails the test (default DefaultPauseTimeout).
func PauseTimeout(d time.Duration) Option { return func(s *settings) { s.pauseTimeout = d } }

// StartTime sets the simulated wall-clock time the plugin starts at
// (default DefaultStartTime).
func StartTime(t time.Time) Option { return func(s *settings) { s.start = t } }

// BuildTags adds build tags to the module build (Load and Start only).
func BuildTags(tags ...string) Option {
	return func(s *settings) { s.buildTags = append(s.buildTags, tags...) }
}

// Route sets the route name of the simulated requests (the route_name
// property, matched by "_match_route_"); Request.Route overrides it.
func Route(name string) Option { return func(s *settings) { s.route = name } }

// Cluster sets the upstream cluster name of the simulated requests (the
// cluster_name property, matched by "_match_service_", e.g.
// "outbound|8080||foo.default.svc.cluster.local"); Request.Cluster
// overrides it.
func Cluster(name string) Option { return func(s *settings) { s.cluster = name } }

// Domain sets the :authority of requests that set no host (default
// DefaultDomain); "_match_domain_" rules match it.
func Domain(host string) Option { return func(s *settings) { s.domain = host } }

// Property sets a property the plugin can read, for every request and in
// the root context (node metadata, xds attributes, …). path is dot-joined
// ("xds.cluster_metadata"); values are encoded as Envoy does (see
// host.EncodeValue). Request.Property sets one for a single request.
func Property(path string, value any) Option {
	return func(s *settings) { s.properties[path] = value }
}

// Upstream sets how the simulated upstream answers requests that reach it
// (default: 200 with no body). Request.Upstream overrides it per request.
func Upstream(h UpstreamHandler) Option { return func(s *settings) { s.upstream = h } }

// HTTPCluster scripts the answers of the cluster to HTTP callouts
// (proxy_http_call). Callouts to a cluster no option names fail with
// BadArgument, as Envoy's do for an unknown cluster.
func HTTPCluster(name string, h HTTPHandler) Option {
	return func(s *settings) {
		if h == nil {
			s.fail(fmt.Errorf("plugintest: HTTPCluster %q: nil handler", name))
			return
		}
		delete(s.httpReal, name)
		s.httpScripted[name] = h
	}
}

// RealHTTPCluster sends the cluster's callouts to a real HTTP server at
// baseURL (see HTTPServer): the callout's :path is requested from it with
// the callout's headers and body, and its :authority as Host.
func RealHTTPCluster(name, baseURL string) Option {
	return func(s *settings) {
		u, err := url.Parse(baseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			s.fail(fmt.Errorf("plugintest: RealHTTPCluster %q: %q is not an http(s) URL", name, baseURL))
			return
		}
		delete(s.httpScripted, name)
		s.httpReal[name] = u
	}
}

// RedisCluster scripts the answers of the cluster to Redis calls
// (proxy_redis_init, proxy_redis_call). Calls to a cluster no option names
// fail with BadArgument.
func RedisCluster(name string, h RedisHandler) Option {
	return func(s *settings) {
		if h == nil {
			s.fail(fmt.Errorf("plugintest: RedisCluster %q: nil handler", name))
			return
		}
		delete(s.redisReal, name)
		s.redisScripted[name] = h
	}
}

// RealRedisCluster sends the cluster's Redis calls to a real Redis server
// at addr ("127.0.0.1:6379"), with the credentials and database the plugin
// gives to proxy_redis_init.
func RealRedisCluster(name, addr string) Option {
	return func(s *settings) {
		delete(s.redisScripted, name)
		s.redisReal[name] = addr
	}
}
