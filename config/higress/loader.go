// Package higress adapts a Higress standalone data directory into the native configuration
// (package config).
//
// The directory holds Kubernetes resources as YAML files, one or more documents each:
//
//	DIR/wasmplugins/*.yaml  WasmPlugin (extensions.higress.io/v1alpha1, and the Istio
//	                        extensions.istio.io/v1alpha1 kind)
//	DIR/mcpbridges/*.yaml   McpBridge (networking.higress.io/v1): dns and static registries
//	DIR/ingresses/*.yaml    Ingress (networking.k8s.io/v1)
//
// WasmPlugins are translated into the plugin configuration exactly as the Higress controller
// does (see PluginConfig), McpBridge registries become the clusters Higress names
// `outbound|PORT||NAME.dns` and `outbound|PORT||NAME.static`, and Ingress paths become named
// routes (`name` in higress-system, `namespace/name` elsewhere) to
// `outbound|PORT||SVC.NS.svc.cluster.local` clusters or to the McpBridge service named by the
// `higress.io/destination` annotation. The plugin chain is ordered by config.SortChain.
//
// Errors never stop the rest of the directory from loading: a broken file or resource is left
// out and reported with its file and field. A Loader additionally remembers the last good
// version of every file and WasmPlugin, and keeps serving it while the new version is broken.
package higress

import (
	"crypto/tls"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/config"
)

// Options tune the loader.
type Options struct {
	// Listen is the listener address; "" means config.DefaultListen.
	Listen string
	// TLSListen is the address of the HTTPS listener that serves the hosts of Ingress `tls`
	// entries (Higress's port 443); "" means config.DefaultTLSListen. It is opened only when an
	// Ingress has TLS.
	TLSListen string
	// Namespace is the controller's namespace; "" means config.HigressNamespace. Only
	// WasmPlugins and the McpBridge in it take effect.
	Namespace string
	// DataMount is where the Higress container mounts the data directory ("" means
	// DefaultDataMount, "-" disables the remapping of file:// URLs).
	DataMount string
	// DefaultCluster, when set, is added to the clusters and receives every request no Ingress
	// route matches (a catch-all route on the "*" host, after the Ingress routes, with an empty
	// route name). Higress itself answers 404 there; the gateway uses this for its --upstream.
	DefaultCluster *config.Cluster
}

// Subdirs are the subdirectories of a data directory that are read.
var Subdirs = []string{"wasmplugins", "mcpbridges", "ingresses", "secrets", "services"}

var subdirs = Subdirs

// Loader loads a data directory repeatedly, keeping the last good version of each broken file
// and WasmPlugin. It is safe for concurrent use.
type Loader struct {
	dir  string
	opts Options

	mu          sync.Mutex
	goodFiles   map[string][]document // last parse of each file that parsed, by relative path
	goodPlugins map[string]goodPlugin // last good plugin of each WasmPlugin, by identity
}

type goodPlugin struct {
	file   string
	plugin config.Plugin
	// secrets are the values its configuration took from Secrets.
	secrets []string
}

// NewLoader returns a loader of the data directory dir.
func NewLoader(dir string, opts Options) *Loader {
	return &Loader{dir: dir, opts: opts, goodFiles: map[string][]document{}, goodPlugins: map[string]goodPlugin{}}
}

// Load reads the data directory once, with no memory of earlier versions.
func Load(dir string, opts Options) *config.Result {
	return NewLoader(dir, opts).Load()
}

// load is the state of one Load call.
type load struct {
	l        *Loader
	dir      string
	ns       string
	ps       *config.Problems
	resolver *sourceResolver

	plugins    []config.Plugin
	pluginKeys map[string]string // identity → file
	// values are the Secrets and ConfigMaps of every file, read before the other resources:
	// a WasmPlugin's references may point to any file.
	values *valueStore
	// checked receives the same objects again in the main pass, which reports their problems.
	checked *valueStore
	// secretValues are the values plugin configurations took from Secrets.
	secretValues []string
	// endpoints are the clusters of the Endpoints resources, by name.
	endpoints map[string]config.Cluster
	// serviceRefs are the services plugin configurations name.
	serviceRefs []serviceRef
	bridges     []bridgeDoc
	ingresses   []*Ingress

	goodFiles   map[string][]document
	goodPlugins map[string]goodPlugin
}

type bridgeDoc struct {
	name, namespace string
	registries      []Registry
	origin          config.Origin
}

// Load reads the data directory. The result always has a Config (possibly without routes or
// plugins); Problems lists every error and warning, each naming its file and field. A file or
// WasmPlugin that fails keeps its last good version from an earlier Load of this Loader, with a
// warning saying so.
func (l *Loader) Load() *config.Result {
	l.mu.Lock()
	defer l.mu.Unlock()

	res := &config.Result{}
	dir, err := filepath.Abs(l.dir)
	if err != nil {
		dir = l.dir
	}
	ns := l.opts.Namespace
	if ns == "" {
		ns = config.HigressNamespace
	}
	mount := l.opts.DataMount
	switch mount {
	case "":
		mount = DefaultDataMount
	case "-":
		mount = ""
	}
	ld := &load{
		l: l, dir: dir, ns: ns, ps: &res.Problems,
		resolver:    &sourceResolver{dataDir: dir, dataMount: mount, stat: statFile},
		pluginKeys:  map[string]string{},
		values:      newValueStore(),
		checked:     newValueStore(),
		endpoints:   map[string]config.Cluster{},
		goodFiles:   map[string][]document{},
		goodPlugins: map[string]goodPlugin{},
	}

	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = fmt.Errorf("not a directory")
		}
		res.Problems.Errorf(l.dir, "", "", "cannot read the data directory: %v", err)
	}
	ld.readValues(dir)
	for _, sub := range subdirs {
		for _, path := range yamlFiles(filepath.Join(dir, sub), ld.ps, sub) {
			res.Files = append(res.Files, path)
			ld.file(sub+"/"+filepath.Base(path), path)
		}
	}
	res.Config = ld.build()
	l.goodFiles, l.goodPlugins = ld.goodFiles, ld.goodPlugins
	return res
}

// yamlFiles lists *.yaml and *.yml in dir, sorted; a missing directory is not an error.
func yamlFiles(dir string, ps *config.Problems, rel string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			ps.Errorf(rel, "", "", "cannot read directory: %v", err)
		}
		return nil
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	slices.Sort(out)
	return out
}

// readValues reads the Secrets and ConfigMaps of every file first, quietly (the main pass
// reports their problems): a file that does not parse contributes its last good version.
func (ld *load) readValues(dir string) {
	quiet := new(config.Problems)
	for _, sub := range subdirs {
		for _, path := range yamlFiles(filepath.Join(dir, sub), quiet, sub) {
			rel := sub + "/" + filepath.Base(path)
			data, err := os.ReadFile(path)
			var docs []document
			if err == nil {
				docs, err = parseDocuments(data)
			}
			if err != nil {
				docs = ld.l.goodFiles[rel]
			}
			for _, doc := range docs {
				m, _ := doc.value.(map[string]any)
				kind, _ := m["kind"].(string)
				apiVersion, _ := m["apiVersion"].(string)
				meta, _ := m["metadata"].(map[string]any)
				name, _ := meta["name"].(string)
				namespace, _ := meta["namespace"].(string)
				if namespace == "" {
					namespace = "default"
				}
				d := &decoder{file: rel, ps: quiet}
				switch {
				case apiVersion != "v1" || name == "":
				case kind == "Secret":
					ld.values.decodeSecret(d, m, name, namespace)
				case kind == "ConfigMap":
					ld.values.decodeConfigMap(d, m, name, namespace)
				}
			}
		}
	}
}

// file loads one YAML file; rel is its path relative to the data directory.
func (ld *load) file(rel, path string) {
	data, err := os.ReadFile(path)
	var docs []document
	if err == nil {
		docs, err = parseDocuments(data)
	}
	if err != nil {
		ld.ps.Errorf(rel, "", "", "%v", err)
		prev, ok := ld.l.goodFiles[rel]
		if !ok {
			return
		}
		ld.ps.Warnf(rel, "", "", "keeping the last good version of this file")
		// The old documents' own problems were reported when they were current.
		saved := ld.ps
		ld.ps = new(config.Problems)
		defer func() { ld.ps = saved }()
		docs = prev
	}
	ld.goodFiles[rel] = docs
	if err == nil {
		for _, k := range yaml11BoolKeys(data) {
			ld.ps.Warnf(rel, fmt.Sprintf("line %d", k.line), "", "the unquoted key %q is read as %q (YAML 1.1, as kubectl reads it); quote it to keep it a string", k.key, k.as)
		}
	}
	for _, doc := range docs {
		prefix := ""
		if len(docs) > 1 || doc.index > 0 {
			prefix = fmt.Sprintf("document %d: ", doc.index+1)
		}
		ld.document(rel, path, prefix, doc)
	}
}

// document dispatches one YAML document on its apiVersion and kind.
func (ld *load) document(rel, path, prefix string, doc document) {
	d := &decoder{file: rel, prefix: prefix, ps: ld.ps}
	m, ok := doc.value.(map[string]any)
	if !ok {
		d.errorf("", "a resource must be an object, not %s", typeName(doc.value))
		return
	}
	apiVersion, kind := d.str(m, "apiVersion", ""), d.str(m, "kind", "")
	meta, _ := d.obj(m, "metadata", "")
	name := d.str(meta, "name", "metadata")
	namespace := d.str(meta, "namespace", "metadata")
	annotations := map[string]string{}
	if ann, ok := d.obj(meta, "annotations", "metadata"); ok {
		for k, v := range ann {
			s, ok := v.(string)
			if !ok {
				d.errorf("metadata.annotations."+k, "must be a string, not %s", typeName(v))
				continue
			}
			annotations[k] = s
		}
	}
	if d.failed {
		return
	}
	if kind == "" || apiVersion == "" {
		d.errorf("", "not a Kubernetes resource: apiVersion and kind are required")
		return
	}
	if name == "" {
		d.errorf("metadata.name", "required")
		return
	}
	effectiveNS := namespace
	if effectiveNS == "" {
		effectiveNS = "default" // what Kubernetes would give it
	}
	d.object = kind + " " + effectiveNS + "/" + name
	origin := config.Origin{File: rel, Field: strings.TrimSuffix(prefix, ": ")}

	switch {
	case kind == "WasmPlugin" && apiVersion == HigressWasmPluginAPI, kind == "Ingress" && apiVersion == IngressAPI,
		kind == "McpBridge" && apiVersion == McpBridgeAPI, kind == "Secret" && apiVersion == "v1", kind == "ConfigMap" && apiVersion == "v1",
		kind == "Endpoints" && apiVersion == "v1":
		walkResource(d, kind, m)
	case kind == "WasmPlugin" && apiVersion == IstioWasmPluginAPI:
		walkResource(d, "IstioWasmPlugin", m)
	}
	switch {
	case kind == "WasmPlugin" && (apiVersion == HigressWasmPluginAPI || apiVersion == IstioWasmPluginAPI):
		ld.wasmPlugin(d, m, apiVersion, name, namespace, effectiveNS, path, origin)
	case kind == "Secret" && apiVersion == "v1":
		ld.checked.decodeSecret(d, m, name, effectiveNS)
	case kind == "ConfigMap" && apiVersion == "v1":
		ld.checked.decodeConfigMap(d, m, name, effectiveNS)
	case kind == "Endpoints" && apiVersion == "v1":
		for _, c := range decodeEndpoints(d, m, name, effectiveNS) {
			if prev, dup := ld.endpoints[c.Name]; dup {
				d.errorf("metadata.name", "duplicate Endpoints %s/%s (also defined in %s)", effectiveNS, name, prev.Origin.File)
				break
			}
			ld.endpoints[c.Name] = c
		}
	case kind == "McpBridge" && apiVersion == McpBridgeAPI:
		regs := decodeMcpBridge(d, m)
		ld.bridges = append(ld.bridges, bridgeDoc{name: name, namespace: effectiveNS, registries: regs, origin: origin})
	case kind == "Ingress" && apiVersion == IngressAPI:
		if in := decodeIngress(d, m, name, effectiveNS, annotations); in != nil && !d.failed {
			in.Origin = origin
			if ts := d.str(meta, "creationTimestamp", "metadata"); ts != "" {
				t, err := time.Parse(time.RFC3339, ts)
				if err != nil {
					d.warnf("metadata.creationTimestamp", "not an RFC 3339 time (%v); the Ingress is ordered as the oldest", err)
				}
				in.Created = t
			}
			ld.ingresses = append(ld.ingresses, in)
		}
	case kind == "Ingress":
		d.errorf("apiVersion", "unsupported Ingress apiVersion %q (want %s)", apiVersion, IngressAPI)
	case kind == "WasmPlugin" || kind == "McpBridge":
		d.errorf("apiVersion", "unsupported %s apiVersion %q", kind, apiVersion)
	default:
		d.warnf("kind", "%s (%s) is not used by wasmgate, ignored", kind, apiVersion)
	}
}

func (ld *load) wasmPlugin(d *decoder, m map[string]any, apiVersion, name, namespace, effectiveNS, path string, origin config.Origin) {
	identity := apiVersion + " " + effectiveNS + "/" + name
	istio := apiVersion == IstioWasmPluginAPI
	switch {
	case !istio && effectiveNS != ld.ns:
		d.warnf("metadata.namespace", "not applied: only WasmPlugins in namespace %q take effect (this one is in %q)", ld.ns, effectiveNS)
		return
	case istio && effectiveNS != ld.ns && effectiveNS != IstioRootNamespace:
		d.warnf("metadata.namespace", "not applied: only Istio WasmPlugins in %q or %q take effect (this one is in %q)", ld.ns, IstioRootNamespace, effectiveNS)
		return
	}
	if prev, dup := ld.pluginKeys[identity]; dup {
		d.errorf("metadata.name", "duplicate WasmPlugin %s/%s (also defined in %s)", effectiveNS, name, prev)
		return
	}
	ld.pluginKeys[identity] = d.file

	// ${secret.…} and ${configmap.…} references are resolved in the whole spec first, as the
	// Higress controller does before translating it.
	var secrets []string
	if spec, ok := m["spec"].(map[string]any); ok {
		resolved, values, ref, err := ld.values.substituteTemplates(spec, ld.ns)
		if err != nil {
			field := "spec"
			if ref != nil {
				field = ref.field
			}
			d.errorf(field, "%v", err)
			ld.keepLastGood(d, identity)
			return
		}
		secrets = values
		m = maps.Clone(m)
		m["spec"] = resolved
	}
	w := decodeWasmPlugin(d, apiVersion, m, name, effectiveNS)
	if w == nil || d.failed {
		ld.keepLastGood(d, identity)
		return
	}
	w.Origin = origin
	if istio && w.Spec.Type == "NETWORK" {
		d.warnf("spec.type", "NETWORK plugins are not supported (only HTTP plugins), ignored")
		return
	}
	src, note, err := ld.resolver.resolve(w.Spec.URL, filepath.Dir(path))
	if err != nil {
		d.errorf("spec.url", "%v", err)
		ld.keepLastGood(d, identity)
		return
	}
	if note != "" {
		d.warnf("spec.url", "%s", note)
	}
	if err := checkDigest(w.Spec.URL, w.Spec.SHA256); err != nil {
		d.errorf("spec.sha256", "%v", err)
		ld.keepLastGood(d, identity)
		return
	}
	if src.Kind == config.SourceFile {
		if err := statFile(src.Path); err != nil {
			d.warnf("spec.url", "module %s is not readable yet: %v", src.Path, err)
		}
	}
	for i, r := range w.Spec.MatchRules {
		if r.RouteType == "GRPC" && len(r.Ingress) > 0 && !r.ConfigDisable {
			d.warnf(index("spec.matchRules", i)+".routeType", "the Higress controller replaces the ingress names of a GRPC rule with the literal \"GRPC\"; this rule only matches a route named \"GRPC\"")
		}
	}
	data, enabled, err := PluginConfigJSON(&w.Spec)
	if err != nil {
		var re *RuleError
		if asRuleError(err, &re) {
			d.errorf(index("spec.matchRules", re.Index), "%v", re.Err)
		} else {
			d.errorf("spec", "%v", err)
		}
		ld.keepLastGood(d, identity)
		return
	}
	if !enabled {
		d.warnf("spec.defaultConfigDisable", "the plugin is not loaded: the default config is disabled and no match rule is enabled (as in Higress)")
		return
	}
	base := serviceRef{file: d.file, object: d.object, plugin: name}
	findServiceRefs(w.Spec.DefaultConfig, d.field("spec.defaultConfig"), base, &ld.serviceRefs)
	findServiceRefs(w.Spec.PluginConfig, d.field("spec.pluginConfig"), base, &ld.serviceRefs)
	for i, r := range w.Spec.MatchRules {
		findServiceRefs(r.Config, d.field(index("spec.matchRules", i)+".config"), base, &ld.serviceRefs)
	}
	p := toPlugin(w, src, data)
	ld.plugins = append(ld.plugins, p)
	ld.secretValues = append(ld.secretValues, secrets...)
	ld.goodPlugins[identity] = goodPlugin{file: d.file, plugin: clonePlugin(p), secrets: secrets}
}

// keepLastGood replaces a failed WasmPlugin with its last good version, if there is one.
func (ld *load) keepLastGood(d *decoder, identity string) {
	prev, ok := ld.l.goodPlugins[identity]
	if !ok {
		return
	}
	d.ps.Warnf(d.file, d.field(""), d.object, "keeping the last good version of %s", d.object)
	ld.plugins = append(ld.plugins, clonePlugin(prev.plugin))
	ld.secretValues = append(ld.secretValues, prev.secrets...)
	ld.goodPlugins[identity] = prev
}

func asRuleError(err error, target **RuleError) bool {
	re, ok := err.(*RuleError)
	if ok {
		*target = re
	}
	return ok
}

// build assembles the configuration from everything loaded.
func (ld *load) build() *config.Config {
	cfg := &config.Config{Source: "higress", StatsTags: config.HigressStatsTags()}

	registries := map[string]*Registry{}
	var clusters []config.Cluster
	usedBridge := false
	for _, b := range ld.bridges {
		field := prefixField(b.origin.Field, "metadata")
		switch {
		case b.name != DefaultMcpBridgeName || b.namespace != ld.ns:
			ld.ps.Warnf(b.origin.File, field, "McpBridge "+b.namespace+"/"+b.name,
				"not applied: Higress only reads the McpBridge named %q in namespace %q", DefaultMcpBridgeName, ld.ns)
			continue
		case usedBridge:
			ld.ps.Errorf(b.origin.File, field, "McpBridge "+b.namespace+"/"+b.name,
				"duplicate McpBridge %s/%s, ignored", b.namespace, b.name)
			continue
		}
		usedBridge = true
		for i := range b.registries {
			r := &b.registries[i]
			registries[r.ServiceHost()] = r
			clusters = append(clusters, registryCluster(r))
		}
	}

	rb := &routeBuilder{
		systemNamespace: ld.ns, registries: registries, ps: ld.ps,
		hosts: map[string][]*hroute{}, clusters: map[string]config.Cluster{}, seen: map[string]string{},
	}
	// Services with Endpoints resources are reachable at their addresses, from Ingress
	// backends and plugins alike.
	for name, c := range ld.endpoints {
		rb.clusters[name] = c
	}
	// Istio orders resources by creation time, then (of equal age) by name, then namespace.
	slices.SortStableFunc(ld.ingresses, func(a, b *Ingress) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace, b.Namespace)
	})
	for _, in := range ld.ingresses {
		rb.add(in)
	}
	k8s := make([]string, 0, len(rb.clusters))
	for name := range rb.clusters {
		k8s = append(k8s, name)
	}
	slices.Sort(k8s)
	for _, name := range k8s {
		clusters = append(clusters, rb.clusters[name])
	}
	vhosts := rb.virtualHosts()

	if dc := ld.l.opts.DefaultCluster; dc != nil {
		if !slices.ContainsFunc(clusters, func(c config.Cluster) bool { return c.Name == dc.Name }) {
			clusters = append(clusters, *dc)
		}
		catchAll := config.Route{Match: config.PathMatch{Kind: config.PathPrefix, Value: "/"}, Cluster: dc.Name, Timeout: config.NoTimeout}
		i := slices.IndexFunc(vhosts, func(v config.VirtualHost) bool { return v.Name == "*" })
		if i < 0 {
			vhosts = append(vhosts, config.VirtualHost{Name: "*", Domains: []string{"*"}})
			i = len(vhosts) - 1
		}
		vhosts[i].Routes = append(vhosts[i].Routes, catchAll)
	}

	config.SortChain(ld.plugins)
	listen := ld.l.opts.Listen
	if listen == "" {
		listen = config.DefaultListen
	}
	cfg.Listeners = []config.Listener{{
		Name:         "higress",
		Address:      listen,
		VirtualHosts: vhosts,
		Plugins:      ld.plugins,
		ChainOrder:   config.ChainByPhase,
		// Higress's connection manager passes WebSocket upgrades (Istio's default).
		HTTP: config.HTTPSettings{ServerName: config.HigressServerName, Upgrades: []string{"websocket"}},
	}}
	if certs := ld.certificates(); len(certs) > 0 {
		tlsListen := ld.l.opts.TLSListen
		if tlsListen == "" {
			tlsListen = config.DefaultTLSListen
		}
		https := cfg.Listeners[0]
		https.Name, https.Address = "higress-https", tlsListen
		https.Plugins = slices.Clone(ld.plugins)
		https.TLS = &config.DownstreamTLS{Certificates: certs, ALPN: []string{"h2", "http/1.1"}}
		cfg.Listeners = append(cfg.Listeners, https)
	}
	cfg.Clusters = clusters
	checkServiceRefs(ld.ps, ld.serviceRefs, clusters)
	slices.Sort(ld.secretValues)
	cfg.Secrets = slices.Compact(ld.secretValues)
	*ld.ps = append(*ld.ps, cfg.Validate()...)
	return cfg
}

// certificates are the certificates of the Ingresses' tls entries, in Ingress order, each
// served for its entry's hosts (any host when it names none). An entry whose Secret is
// missing or holds no valid tls.crt and tls.key is an error naming the field, and its hosts
// are not served over TLS.
func (ld *load) certificates() []config.Certificate {
	var out []config.Certificate
	for _, in := range ld.ingresses {
		object := "Ingress " + in.Namespace + "/" + in.Name
		for _, t := range in.TLS {
			field := t.Field + ".secretName"
			vals, ok := ld.values.secrets[in.Namespace+"/"+t.SecretName]
			crt, key := vals["tls.crt"], vals["tls.key"]
			switch {
			case !ok:
				ld.ps.Errorf(in.Origin.File, field, object, "Secret %s/%s is not in the data directory; hosts %v are not served over TLS", in.Namespace, t.SecretName, t.Hosts)
				continue
			case crt == "" || key == "":
				ld.ps.Errorf(in.Origin.File, field, object, "Secret %s/%s has no tls.crt and tls.key (a kubernetes.io/tls Secret); hosts %v are not served over TLS", in.Namespace, t.SecretName, t.Hosts)
				continue
			}
			if _, err := tls.X509KeyPair([]byte(crt), []byte(key)); err != nil {
				ld.ps.Errorf(in.Origin.File, field, object, "Secret %s/%s: %v; hosts %v are not served over TLS", in.Namespace, t.SecretName, err, t.Hosts)
				continue
			}
			out = append(out, config.Certificate{Chain: config.DataSource{Inline: []byte(crt)}, Key: config.DataSource{Inline: []byte(key)}, Hosts: t.Hosts})
		}
	}
	return out
}
