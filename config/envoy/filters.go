package envoy

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	udpatypev1 "github.com/cncf/xds/go/udpa/type/v1"
	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	rawbufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/raw_buffer/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	// Extension types that commonly appear in bootstrap files and are accepted (and ignored) so
	// that they do not produce "unknown type" warnings.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"

	"github.com/wasmgate/wasmgate/config"
)

// routerNames are the names Envoy knows the router filter by.
var routerNames = map[string]bool{"envoy.filters.http.router": true, "envoy.router": true}

// unpacked is a typed_config decoded into its message.
type unpacked struct {
	msg     proto.Message
	typeURL string
	// body is the path of the message's fields: typed_config itself, or typed_config.value
	// for a TypedStruct.
	body fieldPath
}

// unpack decodes a typed_config Any, unwrapping udpa.type.v1.TypedStruct and
// xds.type.v3.TypedStruct. msg is nil for a type wasmgate does not know (already reported by the
// decoder as a placeholder) and for an empty Any. ok is false after an error was reported.
func (p *parser) unpack(a *anypb.Any, path fieldPath) (u unpacked, ok bool) {
	defer func() {
		if ok {
			p.unpacked[path.String()] = u
		}
	}()
	u.body = path
	if a == nil || a.GetTypeUrl() == "" {
		return u, true
	}
	u.typeURL = a.GetTypeUrl()
	m, err := a.UnmarshalNew()
	if err != nil {
		p.errorf(path, "%v", err)
		return u, false
	}
	var inner string
	var value *structpb.Struct
	switch ts := m.(type) {
	case *udpatypev1.TypedStruct:
		inner, value = ts.GetTypeUrl(), ts.GetValue()
	case *xdstypev3.TypedStruct:
		inner, value = ts.GetTypeUrl(), ts.GetValue()
	case *structpb.Struct:
		// The placeholder of an unknown type.
		return u, true
	default:
		u.msg = m
		return u, p.validate(m, path)
	}
	u.typeURL, u.body = inner, path.key("value")
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(inner)
	if err != nil {
		p.warnf(path.key("type_url"), "type %s is not known to wasmgate; this extension is ignored", strings.TrimPrefix(inner, "type.googleapis.com/"))
		return u, true
	}
	msg := mt.New().Interface()
	var doc any = map[string]any{}
	if value != nil {
		doc = value.AsMap()
	}
	unresolved, loc := decodeProto(doc, msg, u.body)
	for _, r := range unresolved {
		p.warnf(r.path, "type %s is not known to wasmgate; this extension is ignored", strings.TrimPrefix(r.typeURL, "type.googleapis.com/"))
	}
	if loc != nil {
		p.errorf(loc.path, "%s", loc.msg)
		return u, false
	}
	u.msg = msg
	return u, p.validate(msg, u.body)
}

// validate runs the proto's validation rules (Envoy's own constraints) on an unpacked message.
func (p *parser) validate(m proto.Message, path fieldPath) bool {
	v, ok := m.(interface{ ValidateAll() error })
	if !ok {
		return true
	}
	err := v.ValidateAll()
	if err == nil {
		return true
	}
	for _, l := range validationErrors(err, path) {
		p.errorf(l.path, "%s", l.msg)
	}
	return false
}

func (p *parser) hcm(h *hcmv3.HttpConnectionManager, path fieldPath, ln *config.Listener) bool {
	rc, ok := h.GetRouteSpecifier().(*hcmv3.HttpConnectionManager_RouteConfig)
	if !ok {
		p.errorf(path, "listener %q: only an inline route_config is supported (not RDS or scoped routes)", ln.Name)
		return false
	}
	if !p.routeConfig(rc.RouteConfig, path.key("route_config"), ln) {
		return false
	}
	settings := p.httpSettings(h)
	settings.Headers, settings.MostSpecificHeaderMutationsWins = ln.HTTP.Headers, ln.HTTP.MostSpecificHeaderMutationsWins
	settings.HTTPOptions = ln.HTTP.HTTPOptions
	ln.HTTP = settings
	p.hcmOptions(h, ln)
	router := false
	names := map[string]int{} // plugins by name, which Envoy lets repeat
	for i, f := range h.GetHttpFilters() {
		fpath := path.key("http_filters").idx(i)
		if router {
			p.errorf(fpath, "HTTP filter %q comes after the router filter, which must be the last one", f.GetName())
			return false
		}
		if f.GetConfigDiscovery() != nil {
			p.errorf(fpath.key("config_discovery"), "HTTP filter %q: extension config discovery (ECDS) is not supported", f.GetName())
			return false
		}
		if f.GetDisabled() {
			p.warnf(fpath.key("disabled"), "HTTP filter %q is disabled (per-route enabling is not supported), skipped", f.GetName())
			continue
		}
		if f.GetTypedConfig() == nil && routerNames[f.GetName()] {
			// Envoy finds a filter without typed_config by its name; the router needs no config.
			router = true
			continue
		}
		u, ok := p.unpack(f.GetTypedConfig(), fpath.key("typed_config"))
		if !ok {
			return false
		}
		switch m := u.msg.(type) {
		case *wasmfilterv3.Wasm:
			if pl, ok := p.wasmPlugin(f.GetName(), m, fpath, u.body); ok {
				if names[pl.Name]++; names[pl.Name] > 1 {
					pl.Instance = names[pl.Name]
				}
				ln.Plugins = append(ln.Plugins, pl)
			}
		case *routerv3.Router:
			router = true
		case nil:
			if u.typeURL == "" {
				p.errorf(fpath, "HTTP filter %q has no typed_config", f.GetName())
				return false
			}
		default:
			p.warnf(fpath, "HTTP filter %q (%s) is not supported, ignored", f.GetName(), strings.TrimPrefix(u.typeURL, "type.googleapis.com/"))
		}
	}
	if !router {
		p.errorf(path.key("http_filters"), "listener %q: the HTTP filters must end with the router filter (envoy.filters.http.router)", ln.Name)
		return false
	}
	return true
}

// wasmPlugin extracts one wasm HTTP filter; body is the path of the Wasm message's fields.
// bootstrapExtension adapts one of the bootstrap's extensions: a WasmService
// (envoy.bootstrap.wasm) becomes a service plugin; any other is warned about.
func (p *parser) bootstrapExtension(ext *corev3.TypedExtensionConfig, path fieldPath) (config.Plugin, bool) {
	u, ok := p.unpack(ext.GetTypedConfig(), path.key("typed_config"))
	if !ok {
		return config.Plugin{}, false
	}
	svc, isWasm := u.msg.(*wasmv3.WasmService)
	if !isWasm {
		if u.msg != nil { // an unknown type was warned about when decoded
			p.warnf(path, "bootstrap extension %q (%s) is not supported, ignored", ext.GetName(), strings.TrimPrefix(u.typeURL, "type.googleapis.com/"))
		}
		return config.Plugin{}, false
	}
	pl, ok := p.pluginConfig(ext.GetName(), svc.GetConfig(), path, u.body.key("config"))
	pl.Singleton = svc.GetSingleton()
	return pl, ok
}

func (p *parser) wasmPlugin(filterName string, w *wasmfilterv3.Wasm, path, body fieldPath) (config.Plugin, bool) {
	return p.pluginConfig(filterName, w.GetConfig(), path, body.key("config"))
}

// pluginConfig adapts a wasm PluginConfig (of an HTTP filter or a WasmService) found at cpath;
// path is the filter's or extension's.
func (p *parser) pluginConfig(filterName string, pc *wasmv3.PluginConfig, path, cpath fieldPath) (config.Plugin, bool) {
	pl := config.Plugin{FilterName: filterName, Origin: p.origin(path)}
	if pc == nil {
		p.errorf(cpath, "wasm filter %q: config is required", filterName)
		return pl, false
	}
	pl.Name, pl.RootID = pc.GetName(), pc.GetRootId()
	if pl.Name == "" {
		pl.Name, pl.Unnamed = filterName, true
	}
	vm := pc.GetVmConfig()
	vpath := cpath.key("vm_config")
	if vm == nil {
		p.errorf(vpath, "wasm filter %q: vm_config is required", filterName)
		return pl, false
	}
	pl.VMID, pl.Runtime = vm.GetVmId(), vm.GetRuntime()
	if pl.Runtime == "envoy.wasm.runtime.null" {
		p.errorf(vpath.key("runtime"), "wasm filter %q: the null runtime (native plugins compiled into Envoy) is not supported", filterName)
		return pl, false
	}
	code := vpath.key("code")
	switch s := vm.GetCode().GetSpecifier().(type) {
	case *corev3.AsyncDataSource_Local:
		switch ls := s.Local.GetSpecifier().(type) {
		case *corev3.DataSource_Filename:
			pl.URL = ls.Filename
			pl.Source = config.PluginSource{Kind: config.SourceFile, Path: filepath.Clean(absPath(p.path(ls.Filename)))}
		case *corev3.DataSource_InlineBytes:
			pl.Source = config.PluginSource{Kind: config.SourceInline, Inline: ls.InlineBytes}
		case *corev3.DataSource_InlineString:
			pl.Source = config.PluginSource{Kind: config.SourceInline, Inline: []byte(ls.InlineString)}
		case *corev3.DataSource_EnvironmentVariable:
			v, ok := os.LookupEnv(ls.EnvironmentVariable)
			if !ok {
				p.errorf(code.key("local").key("environment_variable"), "wasm filter %q: environment variable %s is not set", filterName, ls.EnvironmentVariable)
				return pl, false
			}
			pl.Source = config.PluginSource{Kind: config.SourceInline, Inline: []byte(v)}
		default:
			p.errorf(code.key("local"), "wasm filter %q: a local code source needs filename, inline_bytes or inline_string", filterName)
			return pl, false
		}
	case *corev3.AsyncDataSource_Remote:
		pl.URL = s.Remote.GetHttpUri().GetUri()
		pl.Source = config.PluginSource{Kind: config.SourceHTTP, URL: pl.URL}
		pl.SHA256 = strings.ToLower(s.Remote.GetSha256())
	default:
		p.errorf(code, "wasm filter %q: vm_config.code is required", filterName)
		return pl, false
	}
	if env := vm.GetEnvironmentVariables(); env != nil {
		if kv := env.GetKeyValues(); len(kv) > 0 {
			pl.Env = maps.Clone(kv)
		}
		pl.HostEnvKeys = slices.Clone(env.GetHostEnvKeys())
	}
	var err error
	if pl.Configuration, err = anyBytes(pc.GetConfiguration()); err != nil {
		p.errorf(cpath.key("configuration"), "wasm filter %q: %v", filterName, err)
		return pl, false
	}
	if pl.VMConfiguration, err = anyBytes(vm.GetConfiguration()); err != nil {
		p.errorf(vpath.key("configuration"), "wasm filter %q: %v", filterName, err)
		return pl, false
	}
	switch pc.GetFailurePolicy() {
	case wasmv3.FailurePolicy_FAIL_RELOAD:
		pl.FailStrategy = config.FailReload
	case wasmv3.FailurePolicy_FAIL_OPEN:
		pl.FailStrategy = config.FailOpen
	case wasmv3.FailurePolicy_FAIL_CLOSED:
		pl.FailStrategy = config.FailClose
	default:
		if pc.GetFailOpen() {
			pl.FailStrategy = config.FailOpen
		}
	}
	return pl, true
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// upstreamTLS reads a cluster's transport socket.
func (p *parser) upstreamTLS(ts *corev3.TransportSocket, path fieldPath) (*config.TLS, bool) {
	u, ok := p.unpack(ts.GetTypedConfig(), path.key("typed_config"))
	if !ok {
		return nil, false
	}
	switch m := u.msg.(type) {
	case nil, *rawbufferv3.RawBuffer:
		return nil, true
	case *tlsv3.UpstreamTlsContext:
		tls := &config.TLS{SNI: m.GetSni(), ALPN: m.GetCommonTlsContext().GetAlpnProtocols()}
		certs, ok := p.certificates(m.GetCommonTlsContext(), u.body.key("common_tls_context"))
		if !ok {
			return nil, false
		}
		switch len(certs) {
		case 0:
		case 1:
			tls.ClientCert = &certs[0]
		default:
			p.errorf(u.body.key("common_tls_context").key("tls_certificates"), "an upstream TLS context takes one client certificate, not %d", len(certs))
			return nil, false
		}
		vc := m.GetCommonTlsContext().GetValidationContext()
		if vc == nil {
			if m.GetCommonTlsContext().GetValidationContextType() != nil {
				p.errorf(u.body.key("common_tls_context"), "only an inline validation_context is supported")
				return nil, false
			}
			// Envoy does not verify upstream certificates without a validation context.
			tls.InsecureSkipVerify = true
			return tls, true
		}
		switch ca := vc.GetTrustedCa().GetSpecifier().(type) {
		case nil:
			tls.InsecureSkipVerify = true
		case *corev3.DataSource_Filename:
			tls.CAFile = absPath(p.path(ca.Filename))
		default:
			d, ok := p.tlsData(vc.GetTrustedCa(), u.body.key("common_tls_context").key("validation_context").key("trusted_ca"))
			if !ok {
				return nil, false
			}
			tls.CA = d.Inline
		}
		return tls, true
	}
	p.errorf(path, "transport socket %s is not supported (only TLS)", strings.TrimPrefix(u.typeURL, "type.googleapis.com/"))
	return nil, false
}

// protocolOptions unpacks the cluster's typed_extension_protocol_options (so the field walk
// looks inside them) and reads whether the cluster speaks HTTP/2 upstream.
func (p *parser) protocolOptions(c *clusterv3.Cluster, path fieldPath, cl *config.Cluster) {
	opts := c.GetTypedExtensionProtocolOptions()
	keys := slices.Sorted(maps.Keys(opts))
	for _, k := range keys {
		kpath := path.key("typed_extension_protocol_options").key(k)
		u, ok := p.unpack(opts[k], kpath)
		if !ok {
			continue
		}
		o, ok := u.msg.(*upstreamhttpv3.HttpProtocolOptions)
		if !ok {
			continue
		}
		if o.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil {
			cl.HTTP2 = true
		}
		if o.GetUseDownstreamProtocolConfig() != nil || o.GetAutoConfig() != nil {
			// Handled by the field walk's warning; HTTP/1.1 is used.
			continue
		}
	}
	if c.GetHttp2ProtocolOptions() != nil { //nolint:staticcheck // deprecated field, still accepted by Envoy
		cl.HTTP2 = true
	}
}
