// Package gen writes the forwarding declarations of the compatibility
// packages: for every exported name of an SDK package, a declaration under
// the same name that is the SDK's (type and constant aliases, variables
// initialised to the SDK's, functions that call the SDK's). Names a
// compatibility package declares itself, with Higress's signature, are
// skipped.
package gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Package describes one generated file.
type Package struct {
	// Dir is the compatibility package's directory, relative to compat/.
	Dir string
	// Name is its package name.
	Name string
	// SDK is the SDK package's import path; SDKDir its directory relative
	// to the SDK module root.
	SDK, SDKDir string
	// Skip lists names the compatibility package declares itself.
	Skip []string
}

// SDKModule is the SDK's module path.
const SDKModule = "github.com/wasmgate/wasmgate/sdk"

// Packages are the generated forwarding files.
var Packages = []Package{
	{Dir: "wasm-go/pkg/log", Name: "log", SDKDir: "log"},
	{Dir: "wasm-go/pkg/matcher", Name: "matcher", SDKDir: "matcher", Skip: []string{"RuleMatcher"}},
	{Dir: "wasm-go/pkg/wrapper", Name: "wrapper", SDKDir: "wrapper", Skip: wrapperOwn},
	{Dir: "wasm-go/pkg/tokenusage", Name: "tokenusage", SDKDir: "tokenusage"},
	{Dir: "higress-plugins/pkg/log", Name: "log", SDKDir: "log"},
	{Dir: "higress-plugins/pkg/matcher", Name: "matcher", SDKDir: "matcher", Skip: []string{"RuleMatcher"}},
	{Dir: "higress-plugins/pkg/wrapper", Name: "wrapper", SDKDir: "wrapper", Skip: wrapperOwn},
	{Dir: "proxy-wasm-go-sdk/proxywasm", Name: "proxywasm", SDKDir: "proxywasm"},
	{Dir: "proxy-wasm-go-sdk/proxywasm/types", Name: "types", SDKDir: "proxywasm/types"},
	{Dir: "proxy-wasm-go-sdk/proxywasm/proxytest", Name: "proxytest", SDKDir: "proxytest"},
	{Dir: "resp", Name: "resp", SDKDir: "resp"},
}

// wrapperOwn are the wrapper names declared with Higress's signatures.
var wrapperOwn = []string{
	"ParseConfig", "ParseConfigBy", "ParseConfigWithContext", "ParseOverrideConfig", "ParseOverrideConfigBy",
	"ParseOverrideRawConfig", "ParseRawConfig", "ResponseCallback", "RedisResponseCallback",
	"WithBufferFlushTimeout", "HttpCall", "HttpClient", "ClusterClient", "NewClusterClient",
	"RedisCall", "RedisClient", "RedisClusterClient", "NewRedisClusterClient",
}

// FileName is the generated file in each package directory.
const FileName = "zz_sdk.go"

// Generate returns the generated file of p, reading the SDK from sdkRoot.
func Generate(sdkRoot string, p Package) ([]byte, error) {
	dir := filepath.Join(sdkRoot, filepath.FromSlash(p.SDKDir))
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool {
		n := fi.Name()
		return !strings.HasSuffix(n, "_test.go") && !strings.Contains(n, "_wasm") && !strings.Contains(n, "_native")
	}, 0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", dir, err)
	}
	var files []*ast.File
	for name, pkg := range pkgs {
		if strings.HasSuffix(name, "_test") {
			continue
		}
		for _, f := range pkg.Files {
			files = append(files, f)
		}
	}
	sdkPath := SDKModule + "/" + p.SDKDir
	alias := "sdk" + p.Name
	skip := map[string]bool{}
	for _, n := range p.Skip {
		skip[n] = true
	}
	localTypes := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					localTypes[s.(*ast.TypeSpec).Name.Name] = true
				}
			}
		}
	}
	imports := map[string]string{} // name → path, for qualifiers used
	var decls []string
	seen := map[string]bool{} // a name declared in several build-tagged files
	once := func(name string) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		return true
	}
	for _, f := range files {
		fileImports := map[string]string{}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			name := filepath.Base(path)
			if im.Name != nil {
				name = im.Name.Name
			}
			fileImports[name] = path
		}
		g := &gen{fset: fset, alias: alias, local: localTypes, fileImports: fileImports, used: imports}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil || !d.Name.IsExported() || skip[d.Name.Name] || !once(d.Name.Name) {
					continue
				}
				decls = append(decls, g.funcDecl(d))
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() && !skip[s.Name.Name] && once(s.Name.Name) {
							decls = append(decls, g.typeDecl(s))
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if !n.IsExported() || skip[n.Name] || !once(n.Name) {
								continue
							}
							kw := "var"
							if d.Tok == token.CONST {
								kw = "const"
							}
							decls = append(decls, fmt.Sprintf("%s %s = %s.%s", kw, n.Name, alias, n.Name))
						}
					}
				}
			}
		}
	}
	sort.Strings(decls)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by compat/internal/gen from %s. DO NOT EDIT.\n\n", sdkPath)
	fmt.Fprintf(&b, "package %s\n\nimport (\n\t%s %q\n", p.Name, alias, sdkPath)
	for _, name := range sortedKeys(imports) {
		fmt.Fprintf(&b, "\t%s %q\n", name, imports[name])
	}
	b.WriteString(")\n\n")
	for _, d := range decls {
		b.WriteString(d + "\n\n")
	}
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format %s: %w\n%s", p.Dir, err, b.Bytes())
	}
	return out, nil
}

type gen struct {
	fset        *token.FileSet
	alias       string
	local       map[string]bool
	fileImports map[string]string
	used        map[string]string
}

// expr prints a type expression of the SDK package as seen from outside:
// local type names qualified, imported packages recorded.
func (g *gen) expr(e ast.Expr, typeParams map[string]bool) string {
	e = g.qualify(e, typeParams)
	var b bytes.Buffer
	_ = printer.Fprint(&b, token.NewFileSet(), e)
	return b.String()
}

func (g *gen) qualify(e ast.Expr, tp map[string]bool) ast.Expr {
	var walk func(n ast.Expr) ast.Expr
	walk = func(n ast.Expr) ast.Expr {
		switch n := n.(type) {
		case *ast.Ident:
			if g.local[n.Name] && !tp[n.Name] {
				return &ast.SelectorExpr{X: ast.NewIdent(g.alias), Sel: ast.NewIdent(n.Name)}
			}
			return ast.NewIdent(n.Name)
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				if path, ok := g.fileImports[x.Name]; ok {
					g.used[x.Name] = path
				}
			}
			return &ast.SelectorExpr{X: n.X, Sel: n.Sel}
		case *ast.StarExpr:
			return &ast.StarExpr{X: walk(n.X)}
		case *ast.ArrayType:
			return &ast.ArrayType{Len: n.Len, Elt: walk(n.Elt)}
		case *ast.MapType:
			return &ast.MapType{Key: walk(n.Key), Value: walk(n.Value)}
		case *ast.Ellipsis:
			return &ast.Ellipsis{Elt: walk(n.Elt)}
		case *ast.ChanType:
			return &ast.ChanType{Dir: n.Dir, Value: walk(n.Value)}
		case *ast.IndexExpr:
			return &ast.IndexExpr{X: walk(n.X), Index: walk(n.Index)}
		case *ast.IndexListExpr:
			idx := make([]ast.Expr, len(n.Indices))
			for i, x := range n.Indices {
				idx[i] = walk(x)
			}
			return &ast.IndexListExpr{X: walk(n.X), Indices: idx}
		case *ast.FuncType:
			return &ast.FuncType{Params: g.fields(n.Params, tp), Results: g.fields(n.Results, tp)}
		case *ast.InterfaceType:
			return &ast.InterfaceType{Methods: g.fields(n.Methods, tp)}
		case *ast.UnaryExpr: // ~T in constraints
			return &ast.UnaryExpr{Op: n.Op, X: walk(n.X)}
		case *ast.BinaryExpr: // A | B in constraints
			return &ast.BinaryExpr{X: walk(n.X), Op: n.Op, Y: walk(n.Y)}
		case *ast.ParenExpr:
			return &ast.ParenExpr{X: walk(n.X)}
		}
		return n
	}
	return walk(e)
}

func (g *gen) fields(fl *ast.FieldList, tp map[string]bool) *ast.FieldList {
	if fl == nil {
		return nil
	}
	out := &ast.FieldList{}
	for _, f := range fl.List {
		out.List = append(out.List, &ast.Field{Names: f.Names, Type: g.qualify(f.Type, tp)})
	}
	return out
}

// typeParams returns "[A any, B ~int64]" and "[A, B]".
func (g *gen) typeParams(fl *ast.FieldList) (decl, use string, names map[string]bool) {
	names = map[string]bool{}
	if fl == nil || len(fl.List) == 0 {
		return "", "", names
	}
	for _, f := range fl.List {
		for _, n := range f.Names {
			names[n.Name] = true
		}
	}
	var d, u []string
	for _, f := range fl.List {
		var ns []string
		for _, n := range f.Names {
			ns = append(ns, n.Name)
			u = append(u, n.Name)
		}
		d = append(d, strings.Join(ns, ", ")+" "+g.expr(f.Type, names))
	}
	return "[" + strings.Join(d, ", ") + "]", "[" + strings.Join(u, ", ") + "]", names
}

func (g *gen) typeDecl(s *ast.TypeSpec) string {
	decl, use, _ := g.typeParams(s.TypeParams)
	return fmt.Sprintf("// %s is %s.%s.\ntype %s%s = %s.%s%s", s.Name.Name, g.alias, s.Name.Name, s.Name.Name, decl, g.alias, s.Name.Name, use)
}

func (g *gen) funcDecl(d *ast.FuncDecl) string {
	decl, use, tp := g.typeParams(d.Type.TypeParams)
	var params, args []string
	i := 0
	for _, f := range d.Type.Params.List {
		typ := g.expr(f.Type, tp)
		_, variadic := f.Type.(*ast.Ellipsis)
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		for j := 0; j < n; j++ {
			name := fmt.Sprintf("a%d", i)
			if j < len(f.Names) && f.Names[j].Name != "_" {
				name = f.Names[j].Name
			}
			i++
			params = append(params, name+" "+typ)
			if variadic {
				name += "..."
			}
			args = append(args, name)
		}
	}
	results := ""
	if d.Type.Results != nil && len(d.Type.Results.List) > 0 {
		var rs []string
		for _, f := range d.Type.Results.List {
			typ := g.expr(f.Type, tp)
			n := len(f.Names)
			if n == 0 {
				n = 1
			}
			for j := 0; j < n; j++ {
				rs = append(rs, typ)
			}
		}
		results = "(" + strings.Join(rs, ", ") + ")"
	}
	ret := ""
	if results != "" {
		ret = "return "
	}
	return fmt.Sprintf("// %s calls %s.%s.\nfunc %s%s(%s) %s {\n\t%s%s.%s%s(%s)\n}",
		d.Name.Name, g.alias, d.Name.Name, d.Name.Name, decl, strings.Join(params, ", "), results,
		ret, g.alias, d.Name.Name, use, strings.Join(args, ", "))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
