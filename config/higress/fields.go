package higress

import (
	"slices"
	"strings"
)

// fieldEntry is how the adapter treats one field of a resource. Paths are dot-separated;
// "[]" stands for every element of a list and "*" for every key of a map.
type fieldEntry struct {
	// leaf means the value is consumed whole (a plugin configuration, the annotations, whose
	// own checks are in ingress.go).
	leaf bool
	// note, for a field read without effect, says why that changes nothing locally.
	note string
	// unsupported, when set, is the warning for a known field the gateway does not apply.
	unsupported string
	// check, when set, returns a warning for a value the gateway does not apply ("" when it
	// applies it, or when it has no effect locally); the field is then consumed whole.
	check func(v any) string
}

// resourceFields lists, per resource kind, every field the Higress adapter applies. After a
// document is decoded, its fields are walked against this table (see walkResource): a field
// that is set and not listed is warned about, naming the file and the path, so nothing is
// dropped silently. To support a field, implement it and list it here.
var resourceFields = map[string]map[string]fieldEntry{
	"WasmPlugin":      wasmPluginFields(false),
	"IstioWasmPlugin": wasmPluginFields(true),
	"Ingress": withMetadata(map[string]fieldEntry{
		"metadata.annotations":                                  {leaf: true},
		"metadata.creationTimestamp":                            {},
		"spec":                                                  {},
		"spec.ingressClassName":                                 {},
		"spec.tls":                                              {},
		"spec.tls[].hosts":                                      {},
		"spec.tls[].secretName":                                 {},
		"spec.defaultBackend":                                   {},
		"spec.rules":                                            {},
		"spec.rules[].host":                                     {},
		"spec.rules[].http":                                     {},
		"spec.rules[].http.paths":                               {},
		"spec.rules[].http.paths[].path":                        {},
		"spec.rules[].http.paths[].pathType":                    {},
		"spec.rules[].http.paths[].backend":                     {},
		"spec.rules[].http.paths[].backend.service":             {},
		"spec.rules[].http.paths[].backend.service.name":        {},
		"spec.rules[].http.paths[].backend.service.port":        {},
		"spec.rules[].http.paths[].backend.service.port.number": {},
		"spec.rules[].http.paths[].backend.service.port.name":   {},
		"spec.rules[].http.paths[].backend.resource":            {},
		"spec.rules[].http.paths[].backend.resource.apiGroup":   {},
		"spec.rules[].http.paths[].backend.resource.kind":       {},
		"spec.rules[].http.paths[].backend.resource.name":       {},
		"spec.defaultBackend.service":                           {},
		"spec.defaultBackend.service.name":                      {},
		"spec.defaultBackend.service.port":                      {},
		"spec.defaultBackend.service.port.number":               {},
		"spec.defaultBackend.service.port.name":                 {},
		"spec.defaultBackend.resource":                          {},
		"spec.defaultBackend.resource.apiGroup":                 {},
		"spec.defaultBackend.resource.kind":                     {},
		"spec.defaultBackend.resource.name":                     {},
	}),
	"McpBridge": withMetadata(map[string]fieldEntry{
		"metadata.annotations":             {note: "annotations of a McpBridge configure nothing"},
		"spec":                             {},
		"spec.registries":                  {},
		"spec.registries[].type":           {},
		"spec.registries[].name":           {},
		"spec.registries[].domain":         {},
		"spec.registries[].port":           {},
		"spec.registries[].protocol":       {},
		"spec.registries[].sni":            {},
		"spec.registries[].nacosNamespace": {unsupported: "Nacos registries are not supported locally, ignored"},
	}),
	"Endpoints": withMetadata(map[string]fieldEntry{
		"metadata.annotations":            {note: "annotations of Endpoints configure nothing"},
		"subsets":                         {},
		"subsets[].addresses":             {},
		"subsets[].addresses[].ip":        {},
		"subsets[].addresses[].hostname":  {},
		"subsets[].addresses[].nodeName":  {note: "nodes do not matter locally"},
		"subsets[].addresses[].targetRef": {note: "the pod an address belongs to does not matter locally"},
		"subsets[].notReadyAddresses":     {note: "addresses that are not ready receive no traffic, as in Kubernetes"},
		"subsets[].ports":                 {},
		"subsets[].ports[].port":          {},
		"subsets[].ports[].name":          {note: "ports are addressed by number in cluster names"},
		"subsets[].ports[].protocol":      {note: "TCP; the gateway speaks HTTP/1.1 or RESP over it"},
		"subsets[].ports[].appProtocol":   {note: "the gateway speaks HTTP/1.1 or RESP whatever the application protocol"},
	}),
	"ConfigMap": withMetadata(map[string]fieldEntry{
		"metadata.annotations": {note: "annotations of a ConfigMap configure nothing"},
		"data":                 {leaf: true},
		"binaryData":           {leaf: true},
		"immutable":            {note: "files of a data directory change only when edited"},
	}),
	"Secret": withMetadata(map[string]fieldEntry{
		"metadata.annotations": {note: "annotations of a Secret configure nothing"},
		"data":                 {leaf: true},
		"stringData":           {leaf: true},
		"type":                 {note: "the data is used whatever the Secret's type"},
		"immutable":            {note: "files of a data directory change only when edited"},
	}),
}

func wasmPluginFields(istio bool) map[string]fieldEntry {
	f := map[string]fieldEntry{
		"metadata.annotations":          {note: "annotations of a WasmPlugin (such as the console's title and icon) configure nothing"},
		"spec":                          {},
		"spec.url":                      {},
		"spec.sha256":                   {},
		"spec.imagePullPolicy":          {},
		"spec.imagePullSecret":          {},
		"spec.pluginConfig":             {leaf: true},
		"spec.pluginName":               {},
		"spec.phase":                    {},
		"spec.priority":                 {},
		"spec.failStrategy":             {},
		"spec.vmConfig":                 {},
		"spec.vmConfig.env":             {},
		"spec.vmConfig.env[].name":      {},
		"spec.vmConfig.env[].value":     {},
		"spec.vmConfig.env[].valueFrom": {},
		"spec.verificationKey":          {leaf: true}, // warned by the decoder
	}
	if istio {
		f["spec.type"] = fieldEntry{}
		f["spec.selector"] = fieldEntry{check: gatewaySelector}
		f["spec.match"] = fieldEntry{unsupported: "traffic selectors (mode, ports) are not applied locally: the plugin sees every request"}
		f["spec.targetRef"] = fieldEntry{unsupported: "policy attachment is not applied locally: the plugin runs on the gateway"}
		f["spec.targetRefs"] = fieldEntry{unsupported: "policy attachment is not applied locally: the plugin runs on the gateway"}
	} else {
		f["spec.defaultConfig"] = fieldEntry{leaf: true}
		f["spec.defaultConfigDisable"] = fieldEntry{}
		f["spec.matchRules"] = fieldEntry{}
		f["spec.matchRules[].ingress"] = fieldEntry{}
		f["spec.matchRules[].domain"] = fieldEntry{}
		f["spec.matchRules[].service"] = fieldEntry{}
		f["spec.matchRules[].config"] = fieldEntry{leaf: true}
		f["spec.matchRules[].configDisable"] = fieldEntry{}
		f["spec.matchRules[].routeType"] = fieldEntry{}
	}
	return withMetadata(f)
}

// withMetadata adds the fields every resource has.
func withMetadata(f map[string]fieldEntry) map[string]fieldEntry {
	const bookkeeping = "set by the Kubernetes API server; configures nothing"
	for k, v := range map[string]fieldEntry{
		"apiVersion":                 {},
		"kind":                       {},
		"metadata":                   {},
		"metadata.name":              {},
		"metadata.namespace":         {},
		"metadata.labels":            {note: "labels select nothing locally"},
		"metadata.uid":               {note: bookkeeping},
		"metadata.resourceVersion":   {note: bookkeeping},
		"metadata.generation":        {note: bookkeeping},
		"metadata.creationTimestamp": {note: bookkeeping},
		"metadata.managedFields":     {note: bookkeeping},
		"metadata.selfLink":          {note: bookkeeping},
		"metadata.ownerReferences":   {note: "garbage collection does not apply to files"},
		"metadata.finalizers":        {note: "garbage collection does not apply to files"},
		"status":                     {note: "status is written by controllers, not read"},
	} {
		if _, ok := f[k]; !ok {
			f[k] = v
		}
	}
	return f
}

// walkResource warns about every field of doc (a resource of the table's kind) that the table
// does not list, and about the known fields the gateway does not apply. Paths the decoder
// already reported are skipped.
func walkResource(d *decoder, kind string, doc map[string]any) {
	table, ok := resourceFields[kind]
	if !ok {
		return
	}
	walkFields(d, table, doc, "", "")
}

func walkFields(d *decoder, table map[string]fieldEntry, m map[string]any, path, pattern string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kpath, kpattern := join(path, k), join(pattern, k)
		e, ok := table[kpattern]
		if !ok {
			e, ok = table[join(pattern, "*")]
		}
		switch {
		case !ok:
			d.warnf(kpath, "unknown field, ignored")
			continue
		case e.unsupported != "":
			d.warnf(kpath, "%s", e.unsupported)
			continue
		case e.check != nil:
			if msg := e.check(m[k]); msg != "" {
				d.warnf(kpath, "%s", msg)
			}
			continue
		case e.leaf || e.note != "":
			continue
		}
		walkValue(d, table, m[k], kpath, kpattern)
	}
}

func walkValue(d *decoder, table map[string]fieldEntry, v any, path, pattern string) {
	switch t := v.(type) {
	case map[string]any:
		walkFields(d, table, t, path, pattern)
	case []any:
		for i, el := range t {
			walkValue(d, table, el, index(path, i), pattern+"[]")
		}
	}
}

// documentedFields lists the table for docs/compatibility.md: applied fields and the fields
// accepted without effect, per kind.
func documentedFields() map[string][]string {
	out := map[string][]string{}
	for kind, t := range resourceFields {
		for p, e := range t {
			if e.unsupported == "" && !strings.HasPrefix(p, "metadata.") && p != "apiVersion" && p != "kind" && p != "metadata" && p != "status" {
				out[kind] = append(out[kind], p)
			}
		}
		slices.Sort(out[kind])
	}
	return out
}

// gatewaySelector accepts the selector of Higress's own gateway pods (what Higress's plugin
// manifests use); any other selector may not select the gateway in a cluster, while locally the
// plugin runs anyway.
func gatewaySelector(v any) string {
	m, _ := v.(map[string]any)
	labels, _ := m["matchLabels"].(map[string]any)
	if len(m) == 1 && len(labels) == 1 {
		if l, ok := labels["higress"].(string); ok && strings.HasSuffix(l, "-higress-gateway") {
			return ""
		}
	}
	return "this workload selector is not applied locally (the plugin runs on the gateway); in a cluster it must select the Higress gateway pods (matchLabels higress: NAMESPACE-higress-gateway)"
}
