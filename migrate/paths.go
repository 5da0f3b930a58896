package migrate

import "strings"

const sdk = "github.com/wasmgate/wasmgate/sdk"

// importMap rewrites import paths of the Higress SDKs (both generations)
// and proxy-wasm-go-sdk to wasmgate's SDK.
var importMap = map[string]string{
	"github.com/alibaba/higress/plugins/wasm-go/pkg/wrapper": sdk + "/wrapper",
	"github.com/alibaba/higress/plugins/wasm-go/pkg/log":     sdk + "/log",
	"github.com/alibaba/higress/plugins/wasm-go/pkg/matcher": sdk + "/matcher",
	"github.com/higress-group/wasm-go/pkg/wrapper":           sdk + "/wrapper",
	"github.com/higress-group/wasm-go/pkg/log":               sdk + "/log",
	"github.com/higress-group/wasm-go/pkg/matcher":           sdk + "/matcher",
	"github.com/higress-group/wasm-go/pkg/tokenusage":        sdk + "/tokenusage",
	"github.com/tidwall/resp":                                sdk + "/resp",
}

// aliasedImports are rewritten to an SDK package of another name: the
// import gets the old name so that the code stays as it is.
var aliasedImports = map[string]struct{ path, name string }{
	"github.com/higress-group/wasm-go/pkg/iface": {sdk + "/wrapper", "iface"},
}

// keptImports have no counterpart under the SDK's paths but are served by
// wasmgate's compatibility modules: the import stays, and so does the
// module's requirement.
var keptImports = map[string]string{
	"github.com/higress-group/wasm-go/pkg/test": "Higress's test framework runs on wasmgate through the compatibility modules (wasmgate test wires them; for plain go test run wasmgate compat)",
}

// proxyWasmGoSDKs are the module paths of proxy-wasm-go-sdk: upstream
// (Tetrate, later proxy-wasm) and Higress's fork.
var proxyWasmGoSDKs = []string{
	"github.com/higress-group/proxy-wasm-go-sdk",
	"github.com/tetratelabs/proxy-wasm-go-sdk",
	"github.com/proxy-wasm/proxy-wasm-go-sdk",
}

func init() {
	for _, m := range proxyWasmGoSDKs {
		importMap[m+"/proxywasm"] = sdk + "/proxywasm"
		importMap[m+"/proxywasm/types"] = sdk + "/proxywasm/types"
		importMap[m+"/proxywasm/proxytest"] = sdk + "/proxytest"
	}
}

const (
	re2Path    = "github.com/wasilibs/go-re2"
	higressOld = "github.com/alibaba/higress/plugins/wasm-go"
	higressNew = "github.com/higress-group/wasm-go"
)

// unsupported explains packages of the Higress and proxy-wasm Go SDKs
// that neither wasmgate's SDK nor its compatibility modules provide. Only
// the SDKs' own packages are considered (pkg/... of the Higress modules,
// proxywasm/... of proxy-wasm-go-sdk): a plugin's packages under
// github.com/alibaba/higress/plugins/wasm-go/extensions/... are its own.
func unsupported(path string) (string, bool) {
	for _, root := range []string{higressOld, higressNew} {
		if !strings.HasPrefix(path, root+"/pkg/") {
			continue
		}
		if strings.HasPrefix(strings.TrimPrefix(path, root+"/"), "pkg/mcp") {
			return "the MCP server framework (pkg/mcp) has no counterpart in wasmgate's SDK or its compatibility modules", true
		}
		return "no counterpart in wasmgate's SDK", true
	}
	for _, root := range proxyWasmGoSDKs {
		if path == root+"/proxywasm" || strings.HasPrefix(path, root+"/proxywasm/") {
			return "no counterpart in wasmgate's SDK", true
		}
	}
	if strings.HasPrefix(path, re2Path+"/") {
		return "go-re2's subpackages have no standard library counterpart", true
	}
	return "", false
}

// isGCImport reports a TinyGo garbage collector package, imported for its
// side effects only.
func isGCImport(path string) bool {
	return strings.HasSuffix(path, "/nottinygc") || path == "github.com/wasilibs/nottinygc" || path == "github.com/higress-group/nottinygc"
}

// droppedModules are the go.mod requirements (and replacements) the
// migration removes: the SDKs it replaces and the TinyGo-era helpers.
var droppedModules = map[string]bool{
	higressOld: true,
	higressNew: true,
	"github.com/higress-group/proxy-wasm-go-sdk": true,
	"github.com/tetratelabs/proxy-wasm-go-sdk":   true,
	"github.com/proxy-wasm/proxy-wasm-go-sdk":    true,
	"github.com/higress-group/nottinygc":         true,
	"github.com/wasilibs/nottinygc":              true,
	re2Path:                                      true,
	"github.com/tidwall/resp":                    true,
}

// droppedIndirect are modules that only the dropped ones need; they are
// removed when marked // indirect.
var droppedIndirect = map[string]bool{
	"github.com/magefile/mage":           true, // go-re2
	"github.com/tetratelabs/wazero":      true, // go-re2
	"github.com/wasilibs/wazero-helpers": true, // go-re2
	"github.com/google/uuid":             true, // wasm-go
}

// httpMethods are HttpClient's methods; redisMethods RedisClient's.
var (
	httpMethods  = setOf("Get Head Options Post Put Patch Delete Connect Trace Call")
	redisMethods = setOf(`Command Eval Del Exists Expire Persist Get Set SetEx SetNX MGet MSet Incr Decr IncrBy DecrBy
		LLen RPush RPop LPush LPop LIndex LRange LRem LInsertBefore LInsertAfter HExists HDel HLen HGet HSet
		HMGet HMSet HKeys HVals HGetAll HIncrBy HIncrByFloat SCard SAdd SRem SIsMember SMembers SDiff
		SDiffStore SInter SInterStore SUnion SUnionStore ZCard ZAdd ZCount ZIncrBy ZScore ZRank ZRevRank
		ZRem ZRange ZRevRange`)
	headerOptions = setOf("ProcessRequestHeadersBy ProcessRequestHeaders ProcessResponseHeadersBy ProcessResponseHeaders")
	// clientTypes are the type names whose values make callouts.
	clientTypes = []string{"HttpClient", "RedisClient", "ClusterClient", "RedisClusterClient"}
)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
