package config

import (
	"strconv"
	"strings"
	"time"
)

// Phase is a WasmPlugin's filter-chain insertion point. The values are those of the
// `extensions.higress.io/v1alpha1` and `extensions.istio.io/v1alpha1` PluginPhase enums.
type Phase int

const (
	// PhaseUnspecified is the default phase (UNSPECIFIED_PHASE): after STATS, just before the
	// router.
	PhaseUnspecified Phase = 0
	// PhaseAuthn runs first (AUTHN).
	PhaseAuthn Phase = 1
	// PhaseAuthz runs after authentication (AUTHZ).
	PhaseAuthz Phase = 2
	// PhaseStats runs after authorization (STATS).
	PhaseStats Phase = 3
)

var phaseNames = map[Phase]string{
	PhaseUnspecified: "UNSPECIFIED_PHASE",
	PhaseAuthn:       "AUTHN",
	PhaseAuthz:       "AUTHZ",
	PhaseStats:       "STATS",
}

// String returns the CRD name of the phase.
func (p Phase) String() string {
	if s, ok := phaseNames[p]; ok {
		return s
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// ParsePhase parses a CRD phase name ("AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"; "" is
// UNSPECIFIED_PHASE).
func ParsePhase(s string) (Phase, bool) {
	if s == "" {
		return PhaseUnspecified, true
	}
	for p, name := range phaseNames {
		if name == s {
			return p, true
		}
	}
	return 0, false
}

// rank is the position of the phase in the chain: AUTHN, AUTHZ, STATS, UNSPECIFIED.
func (p Phase) rank() int {
	switch p {
	case PhaseAuthn:
		return 0
	case PhaseAuthz:
		return 1
	case PhaseStats:
		return 2
	}
	return 3
}

// FailStrategy is what happens when a plugin fails (a trap, or a failed start).
type FailStrategy int

const (
	// FailClose answers 503 (`wasm_fail_stream`) while the plugin is failed (FAIL_CLOSE; the
	// default).
	FailClose FailStrategy = 0
	// FailOpen bypasses the failed plugin (FAIL_OPEN).
	FailOpen FailStrategy = 1
	// FailReload fails the request and reloads the plugin's VM (Istio FAIL_RELOAD, Envoy
	// `failure_policy: FAIL_RELOAD`).
	FailReload FailStrategy = 2
)

var failNames = map[FailStrategy]string{
	FailClose:  "FAIL_CLOSE",
	FailOpen:   "FAIL_OPEN",
	FailReload: "FAIL_RELOAD",
}

// String returns the CRD name of the strategy.
func (f FailStrategy) String() string {
	if s, ok := failNames[f]; ok {
		return s
	}
	return "FailStrategy(" + strconv.Itoa(int(f)) + ")"
}

// PullPolicy is a WasmPlugin's imagePullPolicy.
type PullPolicy int

const (
	// PullUnspecified means IfNotPresent, except Always for the `latest` tag.
	PullUnspecified PullPolicy = 0
	// PullIfNotPresent uses a cached module when there is one.
	PullIfNotPresent PullPolicy = 1
	// PullAlways fetches the module on every load.
	PullAlways PullPolicy = 2
)

var pullNames = map[PullPolicy]string{
	PullUnspecified:  "UNSPECIFIED_POLICY",
	PullIfNotPresent: "IfNotPresent",
	PullAlways:       "Always",
}

// String returns the CRD name of the policy.
func (p PullPolicy) String() string {
	if s, ok := pullNames[p]; ok {
		return s
	}
	return "PullPolicy(" + strconv.Itoa(int(p)) + ")"
}

// SourceKind says where a plugin's module comes from.
type SourceKind int

const (
	// SourceFile is a module on the local disk (PluginSource.Path).
	SourceFile SourceKind = iota
	// SourceHTTP is fetched from an http(s) URL (PluginSource.URL), checked against SHA256.
	SourceHTTP
	// SourceOCI is an OCI image reference (PluginSource.URL, without the oci:// scheme).
	SourceOCI
	// SourceInline is module bytes embedded in the configuration (PluginSource.Inline).
	SourceInline
)

// String returns a short name of the kind.
func (k SourceKind) String() string {
	switch k {
	case SourceFile:
		return "file"
	case SourceHTTP:
		return "http"
	case SourceOCI:
		return "oci"
	case SourceInline:
		return "inline"
	}
	return "SourceKind(" + strconv.Itoa(int(k)) + ")"
}

// PluginSource is the resolved location of a plugin's module.
type PluginSource struct {
	Kind SourceKind
	// Path is the module's path on disk for SourceFile, made absolute by the adapter.
	Path string
	// URL is the http(s) URL for SourceHTTP, or the image reference without the oci:// scheme
	// for SourceOCI (e.g. "registry.example.com/plugins/key-auth:1.0.0").
	URL string
	// Inline holds the module for SourceInline.
	Inline []byte
}

// Plugin is one proxy-wasm HTTP plugin instance in a chain: a module plus its configuration.
type Plugin struct {
	// Name is the plugin's name: the WasmPlugin's metadata.name, the Envoy `config.name`, or
	// the module's base name for --plugin.
	Name string
	// Namespace is the WasmPlugin's metadata.namespace ("" for other sources).
	Namespace string
	// FilterName is the Envoy HTTP filter's `name` ("" for other sources).
	FilterName string
	// Unnamed: the Envoy PluginConfig has no `name`; Name is then the filter's name, and
	// the plugin_name property is empty, as in Envoy.
	Unnamed bool
	// Instance tells apart plugins of the same name in one Envoy chain, which Envoy accepts
	// (HTTP filter and wasm plugin names need not be unique): 0 for the first, 2, 3, … for
	// the later ones, which Key marks with "#2", "#3", ….
	Instance int
	// URL is the module location exactly as written (WasmPlugin `url`, Envoy filename or URI,
	// --plugin path), for messages.
	URL    string
	Source PluginSource
	// SHA256 is the expected hex digest of the module ("" if not given).
	SHA256          string
	ImagePullPolicy PullPolicy
	// ImagePullSecret names a docker-registry secret (WasmPlugin `imagePullSecret`).
	ImagePullSecret string
	Phase           Phase
	// Priority orders plugins within a phase, higher first; it only counts when HasPriority.
	Priority    int32
	HasPriority bool
	// FailStrategy is what happens when the plugin fails.
	FailStrategy FailStrategy
	// RootID is the root context id (Envoy `root_id`, WasmPlugin `pluginName`).
	RootID string
	// VMID is the Envoy `vm_config.vm_id`.
	VMID string
	// Runtime is the Envoy `vm_config.runtime` as written ("" for other sources).
	Runtime string
	// Env holds the VM's environment variables with inline values (WasmPlugin
	// `vmConfig.env` INLINE, Envoy `environment_variables.key_values`).
	Env map[string]string
	// HostEnvKeys names variables copied from the gateway's own environment (WasmPlugin
	// `vmConfig.env` HOST, Envoy `environment_variables.host_env_keys`).
	HostEnvKeys []string
	// Configuration is exactly what the plugin reads in proxy_on_configure. For Higress it is
	// the JSON the controller builds from defaultConfig and matchRules (empty when there is no
	// config); for Envoy the StringValue/BytesValue bytes, or a Struct as JSON.
	Configuration []byte
	// VMConfiguration is what proxy_on_vm_start reads (Envoy `vm_config.configuration`).
	VMConfiguration []byte
	// StartTimeout, when set, is the CPU deadline of each of the plugin's start-up calls
	// (start functions, proxy_on_vm_start, proxy_on_configure) instead of the gateway's
	// --start-timeout; negative means none.
	StartTimeout time.Duration
	// MemoryLimit, when set, is the linear memory in bytes one of the plugin's VMs may use
	// before it is replaced, instead of the gateway's --vm-memory-limit.
	MemoryLimit uint64
	// Singleton is a WasmService's `singleton`: one VM for the process (Envoy's main thread),
	// not shared with HTTP filters, instead of one VM per worker.
	Singleton bool
	Origin    Origin
}

// Key identifies the plugin within a chain: "namespace/name", or just the name without a
// namespace, with "#N" for the Nth plugin of a name repeated in an Envoy chain.
func (p *Plugin) Key() string {
	k := p.Name
	if p.Namespace != "" {
		k = p.Namespace + "/" + p.Name
	}
	if p.Instance > 1 {
		k += "#" + strconv.Itoa(p.Instance)
	}
	return k
}

// LogName is the plugin name Envoy uses in log lines and stats, "namespace.name" for a
// WasmPlugin (the name Istio gives the Envoy PluginConfig) and Name otherwise.
func (p *Plugin) LogName() string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "." + p.Name
}

// EffectivePullPolicy resolves PullUnspecified: Always for an OCI image tagged `latest` (or
// untagged, which means latest), IfNotPresent otherwise.
func (p *Plugin) EffectivePullPolicy() PullPolicy {
	if p.ImagePullPolicy != PullUnspecified {
		return p.ImagePullPolicy
	}
	if p.Source.Kind == SourceOCI && ociTag(p.Source.URL) == "latest" {
		return PullAlways
	}
	return PullIfNotPresent
}

// ociTag returns the tag of an image reference: "" when pinned by digest, "latest" when absent.
func ociTag(ref string) string {
	if strings.Contains(ref, "@") {
		return ""
	}
	last := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		last = ref[i+1:]
	}
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[i+1:]
	}
	return "latest"
}
