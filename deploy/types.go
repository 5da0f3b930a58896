package deploy

// API groups and kinds of the WasmPlugin resources.
const (
	HigressAPIVersion = "extensions.higress.io/v1alpha1"
	IstioAPIVersion   = "extensions.istio.io/v1alpha1"
	Kind              = "WasmPlugin"
)

// ObjectMeta is the part of Kubernetes object metadata a manifest sets.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// VMConfig configures the Wasm VM.
type VMConfig struct {
	Env []EnvVar `json:"env,omitempty"`
}

// EnvVar is an environment variable of the VM: an INLINE value, or a HOST
// variable of the proxy passed through.
type EnvVar struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom,omitempty"`
	Value     string `json:"value,omitempty"`
}

// MatchRule applies a configuration to some routes (ingress), domains or
// services.
type MatchRule struct {
	Ingress       []string       `json:"ingress,omitempty"`
	Domain        []string       `json:"domain,omitempty"`
	Service       []string       `json:"service,omitempty"`
	Config        map[string]any `json:"config,omitzero"`
	ConfigDisable *bool          `json:"configDisable,omitempty"`
}

// HigressWasmPlugin is the extensions.higress.io/v1alpha1 WasmPlugin.
type HigressWasmPlugin struct {
	APIVersion string                `json:"apiVersion"`
	Kind       string                `json:"kind"`
	Metadata   ObjectMeta            `json:"metadata"`
	Spec       HigressWasmPluginSpec `json:"spec"`
}

// HigressWasmPluginSpec is the spec of a Higress WasmPlugin.
type HigressWasmPluginSpec struct {
	URL                  string         `json:"url"`
	SHA256               string         `json:"sha256,omitempty"`
	ImagePullPolicy      string         `json:"imagePullPolicy,omitempty"`
	ImagePullSecret      string         `json:"imagePullSecret,omitempty"`
	PluginName           string         `json:"pluginName,omitempty"`
	Phase                string         `json:"phase,omitempty"`
	Priority             *int32         `json:"priority,omitempty"`
	FailStrategy         string         `json:"failStrategy,omitempty"`
	VMConfig             *VMConfig      `json:"vmConfig,omitempty"`
	PluginConfig         map[string]any `json:"pluginConfig,omitzero"`
	DefaultConfig        map[string]any `json:"defaultConfig,omitzero"`
	DefaultConfigDisable *bool          `json:"defaultConfigDisable,omitempty"`
	MatchRules           []MatchRule    `json:"matchRules,omitempty"`
}

// WorkloadSelector selects the Istio workloads a plugin applies to.
type WorkloadSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// IstioWasmPlugin is the extensions.istio.io/v1alpha1 WasmPlugin.
type IstioWasmPlugin struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Metadata   ObjectMeta          `json:"metadata"`
	Spec       IstioWasmPluginSpec `json:"spec"`
}

// IstioWasmPluginSpec is the spec of an Istio WasmPlugin.
type IstioWasmPluginSpec struct {
	Selector        *WorkloadSelector `json:"selector,omitempty"`
	URL             string            `json:"url"`
	SHA256          string            `json:"sha256,omitempty"`
	ImagePullPolicy string            `json:"imagePullPolicy,omitempty"`
	ImagePullSecret string            `json:"imagePullSecret,omitempty"`
	PluginName      string            `json:"pluginName,omitempty"`
	Phase           string            `json:"phase,omitempty"`
	Priority        *int32            `json:"priority,omitempty"`
	FailStrategy    string            `json:"failStrategy,omitempty"`
	Type            string            `json:"type,omitempty"`
	VMConfig        *VMConfig         `json:"vmConfig,omitempty"`
	PluginConfig    map[string]any    `json:"pluginConfig,omitzero"`
}
