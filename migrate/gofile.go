package migrate

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"
)

// goFile is one parsed source file and the edits planned for it.
type goFile struct {
	path  string // relative to the migrated directory
	src   []byte
	fset  *token.FileSet
	file  *ast.File
	edits []textEdit
	notes []Note
	// needBodyJSON: a rewrite refers to the SDK's bodyjson package.
	needBodyJSON bool
}

// addBodyJSONImport adds the import of the SDK's bodyjson package after the
// wrapper's.
func (g *goFile) addBodyJSONImport() {
	if !g.needBodyJSON {
		return
	}
	for _, s := range g.file.Imports {
		if s.Name != nil && s.Name.Name == "bodyjson" {
			return
		}
		if p, _ := strconv.Unquote(s.Path.Value); p == sdk+"/bodyjson" {
			return
		}
	}
	for _, s := range g.file.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		if strings.HasSuffix(p, "/pkg/wrapper") || p == sdk+"/wrapper" {
			g.edits = append(g.edits, textEdit{g.off(s.End()), g.off(s.End()), "\n\t" + strconv.Quote(sdk+"/bodyjson")})
			return
		}
	}
}

// textEdit replaces src[start:end] with text.
type textEdit struct {
	start, end int
	text       string
}

func parseGoFile(path string, src []byte) (*goFile, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &goFile{path: path, src: src, fset: fset, file: f}, nil
}

func (g *goFile) off(p token.Pos) int { return g.fset.Position(p).Offset }

func (g *goFile) line(p token.Pos) int { return g.fset.Position(p).Line }

func (g *goFile) replace(from, to token.Pos, text string) {
	g.edits = append(g.edits, textEdit{g.off(from), g.off(to), text})
}

func (g *goFile) note(p token.Pos, kind NoteKind, format string, args ...any) {
	g.notes = append(g.notes, Note{File: g.path, Line: g.line(p), Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// importName is the name a file refers to an import by: its alias, or the
// last element of the path (the package names of all paths handled here).
func importName(s *ast.ImportSpec) string {
	if s.Name != nil {
		return s.Name.Name
	}
	p, _ := strconv.Unquote(s.Path.Value)
	if p == re2Path {
		return "re2"
	}
	return p[strings.LastIndex(p, "/")+1:]
}

// names finds the local names of the SDK packages a file imports, under
// their old or new paths.
type names struct {
	wrapper, proxywasm, types string
}

func (g *goFile) sdkNames() names {
	var n names
	for _, s := range g.file.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		if m, ok := importMap[p]; ok {
			p = m
		}
		switch p {
		case sdk + "/wrapper":
			n.wrapper = importName(s)
		case sdk + "/proxywasm":
			n.proxywasm = importName(s)
		case sdk + "/proxywasm/types":
			n.types = importName(s)
		}
	}
	return n
}

// rewriteImports changes import paths, turns go-re2 into regexp and drops
// TinyGo garbage collector imports.
func (g *goFile) rewriteImports(pkgNames map[string]bool) {
	var drop []*ast.ImportSpec
	for _, s := range g.file.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		switch {
		case importMap[p] != "":
			g.replace(s.Path.Pos(), s.Path.End(), strconv.Quote(importMap[p]))
			g.note(s.Pos(), Changed, "import %s → %s", p, importMap[p])
		case aliasedImports[p].path != "":
			a := aliasedImports[p]
			if s.Name == nil {
				g.replace(s.Path.Pos(), s.Path.End(), a.name+" "+strconv.Quote(a.path))
			} else {
				g.replace(s.Path.Pos(), s.Path.End(), strconv.Quote(a.path))
			}
			g.note(s.Pos(), Changed, "import %s → %s (the same names)", p, a.path)
		case keptImports[p] != "":
			g.note(s.Pos(), Info, "kept import %s: %s", p, keptImports[p])
		case p == re2Path:
			if g.rewriteRE2(s, pkgNames) {
				drop = append(drop, s)
			}
		case isGCImport(p):
			if s.Name != nil && s.Name.Name == "_" {
				drop = append(drop, s)
				g.note(s.Pos(), Changed, "removed the TinyGo garbage collector import %s: Go 1.24 uses its own collector", p)
			} else {
				g.note(s.Pos(), Manual, "%s is a TinyGo garbage collector: remove its use, Go 1.24 has its own collector", p)
			}
		default:
			if why, ok := unsupported(p); ok {
				g.note(s.Pos(), Manual, "import %s: %s", p, why)
			}
		}
	}
	g.dropImports(drop)
}

// rewriteRE2 replaces go-re2 with the standard library's regexp, whose API
// go-re2 copies. It returns true when the import is to be dropped because
// the file imports regexp already.
func (g *goFile) rewriteRE2(s *ast.ImportSpec, pkgNames map[string]bool) bool {
	if s.Name != nil && s.Name.Name != "re2" {
		// An alias (or _ / .): only the path changes.
		g.replace(s.Path.Pos(), s.Path.End(), `"regexp"`)
		g.note(s.Pos(), Changed, "import %s → regexp (go-re2 has regexp's API; TinyGo's regexp was the reason for it)", re2Path)
		return false
	}
	hasRegexp := false
	for _, o := range g.file.Imports {
		if p, _ := strconv.Unquote(o.Path.Value); p == "regexp" && (o.Name == nil || o.Name.Name == "regexp") {
			hasRegexp = true
		}
	}
	// "regexp" must not name anything else in the file or package.
	taken := pkgNames["regexp"]
	ast.Inspect(g.file, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "regexp" && id.Obj != nil {
			taken = true
		}
		return !taken
	})
	if taken && !hasRegexp {
		g.replace(s.Path.Pos(), s.Path.End(), `"regexp"`)
		if s.Name == nil {
			g.replace(s.Path.Pos(), s.Path.Pos(), "re2 ")
		}
		g.note(s.Pos(), Changed, "import %s → re2 \"regexp\" (the name regexp is taken in this package)", re2Path)
		return false
	}
	ast.Inspect(g.file, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "re2" && id.Obj == nil {
				g.replace(id.Pos(), id.End(), "regexp")
			}
		}
		return true
	})
	if hasRegexp {
		g.note(s.Pos(), Changed, "removed import %s: re2.X → regexp.X", re2Path)
		return true
	}
	g.replace(s.Path.Pos(), s.Path.End(), `"regexp"`)
	g.note(s.Pos(), Changed, "import %s → regexp, re2.X → regexp.X (go-re2 has regexp's API)", re2Path)
	return false
}

// dropImports deletes import specs, with their lines, and import
// declarations left empty.
func (g *goFile) dropImports(drop []*ast.ImportSpec) {
	if len(drop) == 0 {
		return
	}
	dropped := map[*ast.ImportSpec]bool{}
	for _, s := range drop {
		dropped[s] = true
	}
	for _, d := range g.file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		left := 0
		for _, sp := range gd.Specs {
			if !dropped[sp.(*ast.ImportSpec)] {
				left++
			}
		}
		if left == 0 {
			g.deleteLines(gd.Pos(), gd.End())
			continue
		}
		for _, sp := range gd.Specs {
			if s := sp.(*ast.ImportSpec); dropped[s] {
				from := s.Pos()
				if s.Doc != nil {
					from = s.Doc.Pos()
				}
				to := s.End()
				if s.Comment != nil {
					to = s.Comment.End()
				}
				g.deleteLines(from, to)
			}
		}
	}
}

// deleteLines deletes from..to and, when nothing else is on those lines,
// the lines themselves.
func (g *goFile) deleteLines(from, to token.Pos) {
	start, end := g.off(from), g.off(to)
	ls := bytes.LastIndexByte(g.src[:start], '\n') + 1
	le := bytes.IndexByte(g.src[end:], '\n')
	if le < 0 {
		le = len(g.src) - end
	}
	if len(bytes.TrimSpace(g.src[ls:start])) == 0 && len(bytes.TrimSpace(g.src[end:end+le])) == 0 {
		start, end = ls, min(len(g.src), end+le+1)
	}
	g.edits = append(g.edits, textEdit{start, end, ""})
}

// registrations are the calls that register a plugin.
var registrations = setOf("SetCtx SetCtxWithOptions SetVMContext SetPluginContext SetHttpContext SetTcpContext")

// moveMainToInit renames a non-empty main() to init() and adds an empty
// main(): a c-shared module runs init functions only.
func (g *goFile) moveMainToInit() {
	if g.file.Name.Name != "main" {
		return
	}
	for _, d := range g.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != "main" || fd.Body == nil || len(fd.Body.List) == 0 {
			continue
		}
		registers := false
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok && registrations[calleeName(c)] {
				registers = true
			}
			return !registers
		})
		g.replace(fd.Name.Pos(), fd.Name.End(), "init")
		g.edits = append(g.edits, textEdit{g.off(fd.End()), g.off(fd.End()), "\n\nfunc main() {}"})
		if registers {
			g.note(fd.Pos(), Changed, "moved the body of main() (the plugin registration) into init(): a Go 1.24 c-shared module never runs main")
		} else {
			g.note(fd.Pos(), Changed, "moved the body of main() into init(): a Go 1.24 c-shared module never runs main; check that this code belongs in init")
		}
	}
}

// calleeName is the name of the called function or method.
func calleeName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	case *ast.IndexExpr: // SetCtx[Config](...)
		return calleeName(&ast.CallExpr{Fun: f.X})
	case *ast.IndexListExpr:
		return calleeName(&ast.CallExpr{Fun: f.X})
	}
	return ""
}

// packageInfo is what the rewrite of one file needs to know about the
// other files of its package.
type packageInfo struct {
	// handlers are the top-level functions registered as header handlers.
	handlers map[string]bool
	// clients are names declared with an HTTP or Redis client type.
	clients map[string]bool
	// decls are the package-level declared names.
	decls map[string]bool
}

func collectPackage(files []*goFile) *packageInfo {
	pi := &packageInfo{handlers: map[string]bool{}, clients: map[string]bool{}, decls: map[string]bool{}}
	for _, g := range files {
		n := g.sdkNames()
		for name := range g.file.Scope.Objects {
			pi.decls[name] = true
		}
		ast.Inspect(g.file, func(node ast.Node) bool {
			switch x := node.(type) {
			case *ast.CallExpr:
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok && headerOptions[sel.Sel.Name] && isPkg(sel.X, n.wrapper) {
					for _, a := range x.Args {
						if id, ok := a.(*ast.Ident); ok {
							pi.handlers[id.Name] = true
						}
					}
				}
			case *ast.Field:
				if isClientType(x.Type) {
					for _, id := range x.Names {
						pi.clients[id.Name] = true
					}
				}
			case *ast.ValueSpec:
				if x.Type != nil && isClientType(x.Type) {
					for _, id := range x.Names {
						pi.clients[id.Name] = true
					}
				}
			}
			return true
		})
	}
	return pi
}

func isPkg(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && name != "" && id.Name == name && id.Obj == nil
}

func isClientType(e ast.Expr) bool {
	s := types.ExprString(e)
	for _, t := range clientTypes {
		if strings.Contains(s, t) {
			return true
		}
	}
	return false
}

// fixHeaderPause rewrites `return types.ActionPause` in header-phase
// handlers that made an HTTP or Redis call before it.
func (g *goFile) fixHeaderPause(pi *packageInfo) {
	n := g.sdkNames()
	if n.types == "" {
		return
	}
	check := func(name string, body *ast.BlockStmt) {
		if body == nil {
			return
		}
		var calls []token.Pos
		var pauses []*ast.SelectorExpr
		inspectShallow(body, func(node ast.Node) {
			switch x := node.(type) {
			case *ast.CallExpr:
				if g.isAsyncCall(x, n, pi) {
					calls = append(calls, x.Pos())
				}
			case *ast.ReturnStmt:
				if len(x.Results) == 1 {
					if sel, ok := x.Results[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "ActionPause" && isPkg(sel.X, n.types) {
						pauses = append(pauses, sel)
					}
				}
			}
		})
		for _, sel := range pauses {
			after := false
			for _, c := range calls {
				after = after || c < sel.Pos()
			}
			// Without a callout pending (after a local reply, say) the
			// pause is harmless and stays.
			if after {
				g.replace(sel.Sel.Pos(), sel.Sel.End(), "HeaderStopAllIterationAndWatermark")
				g.note(sel.Pos(), Changed, "%s: ActionPause after an HTTP/Redis call in the header phase → HeaderStopAllIterationAndWatermark (under ABI 0.2.100 ActionPause does not hold the request until the callback)", name)
			}
		}
	}
	for _, d := range g.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		isMethod := fd.Recv != nil && (fd.Name.Name == "OnHttpRequestHeaders" || fd.Name.Name == "OnHttpResponseHeaders")
		if isMethod || fd.Recv == nil && pi.handlers[fd.Name.Name] {
			check(fd.Name.Name, fd.Body)
		}
	}
	// Handlers written inline: wrapper.ProcessRequestHeadersBy(func(...) ...).
	ast.Inspect(g.file, func(node ast.Node) bool {
		if c, ok := node.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok && headerOptions[sel.Sel.Name] && isPkg(sel.X, n.wrapper) {
				for _, a := range c.Args {
					if fl, ok := a.(*ast.FuncLit); ok {
						check("the handler passed to "+sel.Sel.Name, fl.Body)
					}
				}
			}
		}
		return true
	})
}

// inspectShallow visits the nodes of body, not descending into function
// literals (callbacks run later, not before the handler returns).
func inspectShallow(body ast.Node, f func(ast.Node)) {
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		if n != nil {
			f(n)
		}
		return true
	})
}

// isAsyncCall reports a call that starts an HTTP or Redis callout.
func (g *goFile) isAsyncCall(c *ast.CallExpr, n names, pi *packageInfo) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	m := sel.Sel.Name
	switch {
	case isPkg(sel.X, n.proxywasm) && (m == "DispatchHttpCall" || m == "DispatchRedisCall"):
		return true
	case isPkg(sel.X, n.wrapper) && (m == "HttpCall" || m == "RedisCall"):
		return true
	case m == "RouteCall":
		return true
	}
	if !httpMethods[m] && !redisMethods[m] {
		return false
	}
	var recv string
	switch x := sel.X.(type) {
	case *ast.Ident:
		recv = x.Name
	case *ast.SelectorExpr:
		recv = x.Sel.Name
	default:
		return false
	}
	return pi.clients[recv] || strings.Contains(strings.ToLower(recv), "client")
}

// findManual notes what the migration cannot change: APIs wasmgate's SDK
// lacks and TinyGo-only constructs.
func (g *goFile) findManual() {
	n := g.sdkNames()
	ast.Inspect(g.file, func(node ast.Node) bool {
		sel, ok := node.(*ast.SelectorExpr)
		if !ok || !isPkg(sel.X, n.wrapper) {
			return true
		}
		switch sel.Sel.Name {
		case "GetValueFromBody":
			g.replace(sel.X.Pos(), sel.X.End(), "bodyjson")
			g.needBodyJSON = true
			g.note(sel.Pos(), Changed, "wrapper.GetValueFromBody → bodyjson.GetValueFromBody (%s/bodyjson, which keeps gjson out of plugins that do not use it)", sdk)
		case "ParseConfigFunc", "ParseConfigWithContextFunc", "ParseRawConfigFunc", "ParseRuleConfigFunc", "ParseRawRuleConfigFunc", "ParseRawRuleConfigWithContextFunc":
			g.note(sel.Pos(), Manual, "the named type wrapper.%s is not declared in wasmgate's SDK: write the function type out", sel.Sel.Name)
		}
		return true
	})
	for _, cg := range g.file.Comments {
		for _, c := range cg.List {
			switch {
			case strings.HasPrefix(c.Text, "//export "):
				g.note(c.Pos(), Manual, "%q is TinyGo's export directive: Go 1.24 uses //go:wasmexport, and the SDK exports the proxy-wasm callbacks itself; delete it if it was a TinyGo workaround (malloc, sched_yield)", c.Text)
			case strings.HasPrefix(c.Text, "//go:build") && strings.Contains(c.Text, "tinygo"):
				g.note(c.Pos(), Manual, "build constraint %q mentions tinygo: the module is now built by Go", c.Text)
			}
		}
	}
}

// apply performs the edits and formats the result.
func (g *goFile) apply() ([]byte, error) {
	if len(g.edits) == 0 {
		return g.src, nil
	}
	sort.SliceStable(g.edits, func(i, j int) bool {
		a, b := g.edits[i], g.edits[j]
		return a.start < b.start || a.start == b.start && a.end < b.end // insertions first
	})
	var out bytes.Buffer
	at := 0
	for _, e := range g.edits {
		if e.start < at {
			return nil, fmt.Errorf("%s: overlapping edits at offset %d", g.path, e.start)
		}
		out.Write(g.src[at:e.start])
		out.WriteString(e.text)
		at = e.end
	}
	out.Write(g.src[at:])
	b, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: the rewritten file does not parse: %w", g.path, err)
	}
	return b, nil
}
