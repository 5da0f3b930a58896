package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// fakeAPIServer is a loopback Kubernetes API endpoint that serves just what
// `kubectl apply --dry-run=client --validate=strict` reads: discovery for
// the two WasmPlugin groups and an OpenAPI v2 document (protobuf, as
// kubectl asks for it) built from the CRD schemas in testdata, so kubectl's
// own client-side validator checks the manifests. Objects are never found,
// so apply reports them as created (dry run).
type fakeAPIServer struct {
	srv        *httptest.Server
	kubeconfig string
}

func loadSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// swaggerDefinition turns a testdata schema into an OpenAPI v2 definition
// tagged with its group, version and kind.
func swaggerDefinition(schema map[string]any, group, version string) map[string]any {
	def := map[string]any{}
	for k, v := range schema {
		if k != "definitions" {
			def[k] = v
		}
	}
	props := def["properties"].(map[string]any)
	props["metadata"] = map[string]any{"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
	def["x-kubernetes-group-version-kind"] = []any{map[string]any{"group": group, "version": version, "kind": Kind}}
	return stripNullable(def).(map[string]any)
}

// stripNullable drops "nullable", which OpenAPI v2 does not have (the API
// server drops it too when publishing v2).
func stripNullable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if k != "nullable" {
				out[k] = stripNullable(x)
			}
		}
		return out
	case []any:
		for i := range t {
			t[i] = stripNullable(t[i])
		}
	}
	return v
}

func startFakeAPIServer(t *testing.T) *fakeAPIServer {
	t.Helper()
	higress := loadSchema(t, "higress-wasmplugin.schema.json")
	istio := loadSchema(t, "istio-wasmplugin.schema.json")
	meta := higress["definitions"].(map[string]any)["ObjectMeta"]
	doc := map[string]any{
		"swagger": "2.0",
		"info":    map[string]any{"title": "wasmgate test API", "version": "v1"},
		"paths":   map[string]any{},
		"definitions": map[string]any{
			"io.higress.extensions.v1alpha1.WasmPlugin":       swaggerDefinition(higress, "extensions.higress.io", "v1alpha1"),
			"io.istio.extensions.v1alpha1.WasmPlugin":         swaggerDefinition(istio, "extensions.istio.io", "v1alpha1"),
			"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": meta,
		},
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := openapiv2.ParseDocument(js)
	if err != nil {
		t.Fatalf("openapi v2 document: %v", err)
	}
	pb, err := proto.Marshal(parsed)
	if err != nil {
		t.Fatal(err)
	}
	group := func(name string) string {
		return fmt.Sprintf(`{"name":%q,"versions":[{"groupVersion":"%s/v1alpha1","version":"v1alpha1"}],"preferredVersion":{"groupVersion":"%s/v1alpha1","version":"v1alpha1"}}`, name, name, name)
	}
	resources := func(name string) string {
		return fmt.Sprintf(`{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"%s/v1alpha1","resources":[{"name":"wasmplugins","singularName":"wasmplugin","namespaced":true,"kind":"WasmPlugin","verbs":["create","delete","get","list","patch","update","watch"]}]}`, name)
	}
	mux := http.NewServeMux()
	jsonReply := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("/version", jsonReply(`{"major":"1","minor":"32","gitVersion":"v1.32.0"}`))
	mux.HandleFunc("/api", jsonReply(`{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}`))
	mux.HandleFunc("/api/v1", jsonReply(`{"kind":"APIResourceList","groupVersion":"v1","resources":[]}`))
	mux.HandleFunc("/apis", jsonReply(`{"kind":"APIGroupList","apiVersion":"v1","groups":[`+group("extensions.higress.io")+`,`+group("extensions.istio.io")+`]}`))
	mux.HandleFunc("/apis/extensions.higress.io/v1alpha1", jsonReply(resources("extensions.higress.io")))
	mux.HandleFunc("/apis/extensions.istio.io/v1alpha1", jsonReply(resources("extensions.istio.io")))
	mux.HandleFunc("/openapi/v2", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
		_, _ = w.Write(pb)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"NotFound","code":404}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := strings.Join([]string{
		"apiVersion: v1",
		"kind: Config",
		"clusters:",
		"- name: fake",
		"  cluster: {server: " + srv.URL + "}",
		"contexts:",
		"- name: fake",
		"  context: {cluster: fake, user: fake}",
		"current-context: fake",
		"users:",
		"- name: fake",
		"  user: {}",
		"",
	}, "\n")
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &fakeAPIServer{srv: srv, kubeconfig: kc}
}
