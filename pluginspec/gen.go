package pluginspec

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// GenOptions tunes FromSource.
type GenOptions struct {
	// Type names the config struct. Empty means the struct whose doc
	// comment has an @Name line, else the struct a parse function takes
	// (func(gjson.Result, *T, …)).
	Type string
}

// FromSource derives a spec from the Go source of the plugin in dir, so
// the schema is written once, in the code.
//
// The config struct's doc comment carries the plugin's identity, one
// annotation per line:
//
//	// Config configures request blocking.
//	//
//	// @Name request-block
//	// @Category security
//	// @Phase AUTHZ
//	// @Priority 320
//	// @Title Request Block
//	// @Title[zh-CN] 请求屏蔽
//	// @Description Blocks requests by URL, header or body.
//	// @Description[zh-CN] 按 URL、请求头或请求体屏蔽请求。
//	// @Version 1.0.0
//	// @IconUrl https://example.com/icon.png
//	// @Contact.name Team
//	// @Contact.url https://example.com
//	// @Contact.email team@example.com
//	// @Example
//	// blocked_code: 403
//	// block_urls: [swagger.html]
//	// @End
//	type Config struct { … }
//
// Each field becomes a property named by its json tag (else yaml tag, else
// the Go name for exported fields; unexported fields without a tag and
// fields tagged "-" are left out). Its doc comment (or line comment) is the
// description; lines in it starting with @Title, @Title[lang],
// @Description[lang], @Scope (GLOBAL, INSTANCE, ALL), @Example (a YAML
// value) and @Required annotate it. Struct tags add constraints:
// required:"true", minimum, maximum, exclusiveMinimum:"true",
// exclusiveMaximum:"true", minLength, maxLength, minItems, maxItems,
// pattern, enum:"a,b,c", default, example (values are YAML), title,
// scope. Go types map to JSON Schema types: strings, booleans, integers
// (unsigned ones get minimum 0), numbers, slices and arrays (items), maps
// (additionalProperties), structs of the package (nested objects; embedded
// structs without a tag are flattened, as encoding/json does), pointers
// (their element). A named string or number type with constants of that
// type gets an enum. Interfaces and types from other packages accept any
// value (time.Duration is an integer, as encoding/json writes it).
//
// Without an @Example block, the example is assembled from the fields'
// example (else default) values. The example is validated against the
// generated schema; an example that does not conform is an error.
func FromSource(dir string, opts GenOptions) (*Spec, []string, error) {
	pkg, err := loadPackage(dir)
	if err != nil {
		return nil, nil, err
	}
	name, ts, err := pkg.configType(opts.Type)
	if err != nil {
		return nil, nil, err
	}
	st, ok := ts.Type.(*ast.StructType)
	if !ok {
		return nil, nil, fmt.Errorf("config type %s is not a struct", name)
	}
	doc := pkg.typeDoc(ts)
	ann, free := parseAnnotations(doc)
	var warnings []string

	s := &Spec{APIVersion: APIVersion}
	info := &s.Info
	info.Name = ann.get("Name")
	if info.Name == "" {
		info.Name = filepath.Base(mustAbs(dir))
		warnings = append(warnings, fmt.Sprintf("no @Name on %s; using the folder name %q", name, info.Name))
	}
	info.Category = ann.get("Category")
	if info.Category == "" {
		info.Category = "custom"
	}
	info.Title, info.XTitleI18n = ann.i18n("Title")
	if info.Title == "" {
		info.Title = info.Name
	}
	info.Description, info.XDescriptionI18n = ann.i18n("Description")
	if info.Description == "" {
		info.Description = firstParagraph(free)
	}
	info.IconURL = ann.get("IconUrl")
	info.Version = ann.get("Version")
	if info.Version == "" {
		info.Version = "1.0.0"
		warnings = append(warnings, fmt.Sprintf("no @Version on %s; using 1.0.0", name))
	}
	if c := (Contact{Name: ann.get("Contact.name"), URL: ann.get("Contact.url"), Email: ann.get("Contact.email")}); c != (Contact{}) {
		info.Contact = &c
	}
	if s.Spec.Phase, err = NormalizePhase(ann.get("Phase")); err != nil {
		return nil, nil, fmt.Errorf("%s: @Phase: %w", name, err)
	}
	if p := ann.get("Priority"); p != "" {
		if s.Spec.Priority, err = strconv.Atoi(p); err != nil {
			return nil, nil, fmt.Errorf("%s: @Priority %q is not an integer", name, p)
		}
	}

	g := &generator{pkg: pkg, expanding: map[string]bool{name: true}}
	schema, err := g.structSchema(st)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if ex, ok := ann.block("Example"); ok {
		var v any
		if err := yaml.Unmarshal([]byte(ex), &v); err != nil {
			return nil, nil, fmt.Errorf("%s: @Example is not YAML: %w", name, err)
		}
		schema.Example = v
	} else if ex := exampleFrom(schema); len(ex) > 0 {
		schema.Example = ex
	}
	s.Spec.ConfigSchema = &ConfigSchema{OpenAPIV3Schema: schema}

	if schema.Example != nil {
		if err := s.ValidateConfig("example", schema.Example); err != nil {
			return nil, nil, fmt.Errorf("%s: the example does not satisfy the schema: %w", name, err)
		}
	}
	return s, warnings, nil
}

func mustAbs(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// exampleFrom assembles an example object from property examples and
// defaults.
func exampleFrom(s *Schema) map[string]any {
	out := map[string]any{}
	for _, p := range s.Properties {
		switch {
		case p.Schema.Example != nil:
			out[p.Name] = p.Schema.Example
		case p.Schema.Default != nil:
			out[p.Name] = p.Schema.Default
		case p.Schema.Type == "object" && len(p.Schema.Properties) > 0:
			if sub := exampleFrom(p.Schema); len(sub) > 0 {
				out[p.Name] = sub
			}
		}
	}
	return out
}

func firstParagraph(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i]
	}
	return strings.Join(strings.Fields(s), " ")
}

// --- source loading

type goPackage struct {
	fset   *token.FileSet
	files  []*ast.File
	types  map[string]*ast.TypeSpec
	decls  map[*ast.TypeSpec]*ast.GenDecl
	consts map[string][]any // named type -> literal constant values
	broken map[string]bool  // named types with non-literal constants
}

func loadPackage(dir string) (*goPackage, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read plugin source: %w", err)
	}
	p := &goPackage{
		fset:   token.NewFileSet(),
		types:  map[string]*ast.TypeSpec{},
		decls:  map[*ast.TypeSpec]*ast.GenDecl{},
		consts: map[string][]any{},
		broken: map[string]bool{},
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	for _, n := range names {
		f, err := parser.ParseFile(p.fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse plugin source: %w", err)
		}
		p.files = append(p.files, f)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			switch gd.Tok {
			case token.TYPE:
				for _, sp := range gd.Specs {
					ts := sp.(*ast.TypeSpec)
					p.types[ts.Name.Name] = ts
					p.decls[ts] = gd
				}
			case token.CONST:
				p.collectConsts(gd)
			}
		}
	}
	return p, nil
}

func (p *goPackage) collectConsts(gd *ast.GenDecl) {
	var lastType string
	for _, sp := range gd.Specs {
		vs := sp.(*ast.ValueSpec)
		typ := ""
		if id, ok := vs.Type.(*ast.Ident); ok {
			typ = id.Name
		} else if vs.Type == nil && len(vs.Values) == 0 {
			typ = lastType // implicit repetition (iota): not literal
			if typ != "" {
				p.broken[typ] = true
			}
			continue
		}
		lastType = typ
		if typ == "" {
			continue
		}
		for _, v := range vs.Values {
			lit, ok := v.(*ast.BasicLit)
			if !ok {
				p.broken[typ] = true
				continue
			}
			val, err := literal(lit)
			if err != nil {
				p.broken[typ] = true
				continue
			}
			p.consts[typ] = append(p.consts[typ], val)
		}
	}
}

func literal(lit *ast.BasicLit) (any, error) {
	switch lit.Kind {
	case token.STRING:
		return strconv.Unquote(lit.Value)
	case token.INT:
		return strconv.ParseInt(lit.Value, 0, 64)
	case token.FLOAT:
		return strconv.ParseFloat(lit.Value, 64)
	}
	return nil, fmt.Errorf("unsupported literal %s", lit.Value)
}

func (p *goPackage) typeDoc(ts *ast.TypeSpec) string {
	if ts.Doc != nil {
		return ts.Doc.Text()
	}
	if gd := p.decls[ts]; gd != nil && len(gd.Specs) == 1 && gd.Doc != nil {
		return gd.Doc.Text()
	}
	return ""
}

var nameAnnotation = regexp.MustCompile(`(?m)^@Name\s+\S`)

func (p *goPackage) configType(want string) (string, *ast.TypeSpec, error) {
	if want != "" {
		ts, ok := p.types[want]
		if !ok {
			return "", nil, fmt.Errorf("no type %s in the plugin source", want)
		}
		return want, ts, nil
	}
	var annotated []string
	for name, ts := range p.types {
		if _, ok := ts.Type.(*ast.StructType); ok && nameAnnotation.MatchString(p.typeDoc(ts)) {
			annotated = append(annotated, name)
		}
	}
	sort.Strings(annotated)
	switch len(annotated) {
	case 1:
		return annotated[0], p.types[annotated[0]], nil
	case 0:
	default:
		return "", nil, fmt.Errorf("several structs carry @Name (%s); choose one", strings.Join(annotated, ", "))
	}
	// A parse function: func(json gjson.Result, config *T, …) error.
	var found []string
	for _, f := range p.files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Type.Params == nil {
				continue
			}
			var params []ast.Expr
			for _, fld := range fd.Type.Params.List {
				n := len(fld.Names)
				if n == 0 {
					n = 1
				}
				for i := 0; i < n; i++ {
					params = append(params, fld.Type)
				}
			}
			if len(params) < 2 {
				continue
			}
			sel, ok := params[0].(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Result" {
				continue
			}
			star, ok := params[1].(*ast.StarExpr)
			if !ok {
				continue
			}
			if id, ok := star.X.(*ast.Ident); ok {
				if ts, ok := p.types[id.Name]; ok {
					if _, ok := ts.Type.(*ast.StructType); ok {
						found = append(found, id.Name)
					}
				}
			}
		}
	}
	sort.Strings(found)
	if len(found) >= 1 && allSame(found) {
		return found[0], p.types[found[0]], nil
	}
	return "", nil, fmt.Errorf("cannot tell which struct is the plugin's configuration: put an @Name line in its doc comment (or name it with --type)")
}

func allSame(s []string) bool {
	for _, x := range s {
		if x != s[0] {
			return false
		}
	}
	return true
}

// --- annotations

type annotations struct {
	lines  map[string][]string // key (with [lang] or " lang" folded in) -> values
	blocks map[string]string
}

var (
	annLine  = regexp.MustCompile(`^@([A-Za-z][A-Za-z0-9.]*)(\[([A-Za-z0-9-]+)\])?(?:\s+(.*))?$`)
	langWord = regexp.MustCompile(`^[a-z]{2}-[A-Z]{2}$`)
)

// parseAnnotations splits a doc comment into @-annotations and free text.
// "@Key[lang] value" and "@Key xx-YY value" are translations, stored under
// "Key[lang]". "@Example" alone on a line opens a block closed by "@End".
func parseAnnotations(doc string) (annotations, string) {
	a := annotations{lines: map[string][]string{}, blocks: map[string]string{}}
	var free []string
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		m := annLine.FindStringSubmatch(line)
		if m == nil {
			free = append(free, lines[i])
			continue
		}
		key, lang, val := m[1], m[3], strings.TrimSpace(m[4])
		if key == "Example" && val == "" {
			var block []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "@End"; i++ {
				block = append(block, lines[i])
			}
			a.blocks[key] = strings.Join(block, "\n")
			continue
		}
		if lang == "" && (key == "Title" || key == "Description") {
			if f := strings.SplitN(val, " ", 2); len(f) == 2 && langWord.MatchString(f[0]) {
				lang, val = f[0], strings.TrimSpace(f[1])
			}
		}
		if lang != "" {
			key += "[" + lang + "]"
		}
		a.lines[key] = append(a.lines[key], val)
	}
	return a, strings.Join(free, "\n")
}

func (a annotations) get(key string) string {
	v := a.lines[key]
	if len(v) == 0 {
		return ""
	}
	return strings.Join(v, " ")
}

func (a annotations) has(key string) bool { _, ok := a.lines[key]; return ok }

func (a annotations) block(key string) (string, bool) {
	b, ok := a.blocks[key]
	return b, ok
}

// i18n returns @Key and the @Key[lang] translations.
func (a annotations) i18n(key string) (string, map[string]string) {
	var tr map[string]string
	for k := range a.lines {
		if strings.HasPrefix(k, key+"[") && strings.HasSuffix(k, "]") {
			if tr == nil {
				tr = map[string]string{}
			}
			tr[k[len(key)+1:len(k)-1]] = a.get(k)
		}
	}
	return a.get(key), tr
}

// --- schema generation

type generator struct {
	pkg       *goPackage
	expanding map[string]bool
}

func (g *generator) structSchema(st *ast.StructType) (*Schema, error) {
	s := &Schema{Type: "object"}
	if err := g.addFields(s, st); err != nil {
		return nil, err
	}
	return s, nil
}

func (g *generator) addFields(s *Schema, st *ast.StructType) error {
	for _, f := range st.Fields.List {
		tag := reflect.StructTag("")
		if f.Tag != nil {
			if t, err := strconv.Unquote(f.Tag.Value); err == nil {
				tag = reflect.StructTag(t)
			}
		}
		key, hasTag, skip := fieldKey(tag)
		if skip {
			continue
		}
		if len(f.Names) == 0 {
			// Embedded: flatten a local struct unless it is tagged.
			if !hasTag {
				if ts := g.localStruct(f.Type); ts != nil {
					if g.expanding[ts.Name.Name] {
						continue
					}
					g.expanding[ts.Name.Name] = true
					err := g.addFields(s, ts.Type.(*ast.StructType))
					delete(g.expanding, ts.Name.Name)
					if err != nil {
						return err
					}
					continue
				}
			}
			if key == "" {
				key = typeName(f.Type)
			}
			if err := g.addField(s, key, f, tag); err != nil {
				return err
			}
			continue
		}
		for _, n := range f.Names {
			k := key
			if k == "" {
				if !n.IsExported() {
					continue
				}
				k = n.Name
			}
			if err := g.addField(s, k, f, tag); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldKey reads the json (else yaml) tag: the property name, whether a
// tag named it, and whether the field is excluded.
func fieldKey(tag reflect.StructTag) (string, bool, bool) {
	for _, k := range []string{"json", "yaml"} {
		v, ok := tag.Lookup(k)
		if !ok {
			continue
		}
		name := strings.Split(v, ",")[0]
		if name == "-" {
			return "", false, true
		}
		if name != "" {
			return name, true, false
		}
	}
	return "", false, false
}

func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.StarExpr:
		return typeName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}

func (g *generator) localStruct(e ast.Expr) *ast.TypeSpec {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	id, ok := e.(*ast.Ident)
	if !ok {
		return nil
	}
	ts := g.pkg.types[id.Name]
	if ts == nil {
		return nil
	}
	if _, ok := ts.Type.(*ast.StructType); !ok {
		return nil
	}
	return ts
}

func (g *generator) addField(s *Schema, key string, f *ast.Field, tag reflect.StructTag) error {
	if _, dup := s.Properties.Get(key); dup {
		return fmt.Errorf("property %q declared twice", key)
	}
	ps, err := g.typeSchema(f.Type)
	if err != nil {
		return fmt.Errorf("field %s: %w", key, err)
	}
	doc := ""
	if f.Doc != nil {
		doc = f.Doc.Text()
	} else if f.Comment != nil {
		doc = f.Comment.Text()
	}
	ann, free := parseAnnotations(doc)
	if d := strings.Join(strings.Fields(free), " "); d != "" {
		ps.Description = d
	}
	if t, tr := ann.i18n("Title"); t != "" || tr != nil {
		ps.Title, ps.XTitleI18n = t, tr
	}
	if _, tr := ann.i18n("Description"); tr != nil {
		ps.XDescriptionI18n = tr
	}
	if d := ann.get("Description"); d != "" {
		ps.Description = d
	}
	if t := tag.Get("title"); t != "" {
		ps.Title = t
	}
	scope := ann.get("Scope")
	if t := tag.Get("scope"); t != "" {
		scope = t
	}
	if scope != "" {
		switch strings.ToUpper(scope) {
		case "GLOBAL", "INSTANCE", "ALL":
			ps.Scope = strings.ToUpper(scope)
		default:
			return fmt.Errorf("field %s: scope %q (want GLOBAL, INSTANCE or ALL)", key, scope)
		}
	}
	if err := applyTags(ps, tag); err != nil {
		return fmt.Errorf("field %s: %w", key, err)
	}
	ex := ann.get("Example")
	if b, ok := ann.block("Example"); ok {
		ex = b
	}
	if ex != "" {
		v, err := tagValue(ps, ex)
		if err != nil {
			return fmt.Errorf("field %s: @Example: %w", key, err)
		}
		ps.Example = v
	}
	s.Properties = append(s.Properties, Property{Name: key, Schema: ps})
	if tag.Get("required") == "true" || ann.has("Required") {
		s.Required = append(s.Required, key)
	}
	return nil
}

// applyTags reads constraint tags. On a slice or map field the
// constraints that cannot apply to it (minimum, maximum, exclusive bounds,
// minLength, maxLength, pattern, enum) apply to its elements.
func applyTags(field *Schema, tag reflect.StructTag) error {
	s := field
	if elem := elementSchema(field); elem != nil {
		s = elem
	}
	if v, ok := tag.Lookup("minItems"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("minItems:%q is not a count", v)
		}
		field.MinItems = &n
	}
	if v, ok := tag.Lookup("maxItems"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("maxItems:%q is not a count", v)
		}
		field.MaxItems = &n
	}
	num := func(name string, dst **float64) error {
		if v, ok := tag.Lookup(name); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s:%q is not a number", name, v)
			}
			*dst = &f
		}
		return nil
	}
	count := func(name string, dst **int) error {
		if v, ok := tag.Lookup(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("%s:%q is not a count", name, v)
			}
			*dst = &n
		}
		return nil
	}
	for _, err := range []error{
		num("minimum", &s.Minimum), num("maximum", &s.Maximum),
		count("minLength", &s.MinLength), count("maxLength", &s.MaxLength),
	} {
		if err != nil {
			return err
		}
	}
	s.ExclusiveMinimum = tag.Get("exclusiveMinimum") == "true"
	s.ExclusiveMaximum = tag.Get("exclusiveMaximum") == "true"
	if p, ok := tag.Lookup("pattern"); ok {
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("pattern: %w", err)
		}
		s.Pattern = p
	}
	if e, ok := tag.Lookup("enum"); ok {
		s.Enum = nil
		for _, part := range strings.Split(e, ",") {
			v, err := tagValue(s, strings.TrimSpace(part))
			if err != nil {
				return fmt.Errorf("enum: %w", err)
			}
			s.Enum = append(s.Enum, v)
		}
	}
	for _, k := range []struct {
		name string
		dst  *any
	}{{"default", &field.Default}, {"example", &field.Example}} {
		if v, ok := tag.Lookup(k.name); ok {
			val, err := tagValue(field, v)
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			*k.dst = val
		}
	}
	return nil
}

// elementSchema returns the element schema of an array or map of scalars.
func elementSchema(s *Schema) *Schema {
	var elem *Schema
	switch s.Type {
	case "array":
		elem = s.Items
	case "object":
		elem = s.AdditionalProperties
	}
	if elem == nil {
		return nil
	}
	switch elem.Type {
	case "string", "integer", "number":
		return elem
	}
	return nil
}

// tagValue reads a YAML value written in a tag or annotation; for string
// properties a plain scalar stays the string it is.
func tagValue(s *Schema, raw string) (any, error) {
	if s.Type == "string" {
		var v any
		if err := yaml.Unmarshal([]byte(raw), &v); err == nil {
			if str, ok := v.(string); ok {
				return str, nil
			}
		}
		return raw, nil
	}
	var v any
	if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fmt.Errorf("%q is not YAML: %w", raw, err)
	}
	return v, nil
}

func (g *generator) typeSchema(e ast.Expr) (*Schema, error) {
	switch t := e.(type) {
	case *ast.StarExpr:
		return g.typeSchema(t.X)
	case *ast.ParenExpr:
		return g.typeSchema(t.X)
	case *ast.Ident:
		if s := basicSchema(t.Name); s != nil {
			return s, nil
		}
		ts, ok := g.pkg.types[t.Name]
		if !ok {
			return &Schema{}, nil
		}
		if g.expanding[t.Name] {
			return &Schema{Type: "object"}, nil // recursive type
		}
		g.expanding[t.Name] = true
		defer delete(g.expanding, t.Name)
		s, err := g.typeSchema(ts.Type)
		if err != nil {
			return nil, err
		}
		if s.Description == "" {
			if d := firstParagraph(stripAnnotations(g.pkg.typeDoc(ts))); d != "" {
				s.Description = d
			}
		}
		if vals := g.pkg.consts[t.Name]; len(vals) > 0 && !g.pkg.broken[t.Name] && (s.Type == "string" || s.Type == "integer" || s.Type == "number") {
			s.Enum = append([]any(nil), vals...)
		}
		return s, nil
	case *ast.StructType:
		return g.structSchema(t)
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && (id.Name == "byte" || id.Name == "uint8") && t.Len == nil {
			return &Schema{Type: "string", Format: "byte"}, nil
		}
		items, err := g.typeSchema(t.Elt)
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "array", Items: items}, nil
	case *ast.MapType:
		val, err := g.typeSchema(t.Value)
		if err != nil {
			return nil, err
		}
		s := &Schema{Type: "object"}
		if val.Type != "" || len(val.Properties) > 0 {
			s.AdditionalProperties = val
		}
		return s, nil
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok && x.Name == "time" && t.Sel.Name == "Duration" {
			return &Schema{Type: "integer", Format: "int64"}, nil
		}
		return &Schema{}, nil
	case *ast.InterfaceType, *ast.IndexExpr, *ast.IndexListExpr:
		return &Schema{}, nil
	case *ast.FuncType, *ast.ChanType:
		return nil, fmt.Errorf("a %T cannot be configured", t)
	}
	return &Schema{}, nil
}

func stripAnnotations(doc string) string {
	_, free := parseAnnotations(doc)
	return free
}

func basicSchema(name string) *Schema {
	zero := 0.0
	switch name {
	case "string":
		return &Schema{Type: "string"}
	case "bool":
		return &Schema{Type: "boolean"}
	case "int", "int8", "int16", "rune":
		return &Schema{Type: "integer"}
	case "int32":
		return &Schema{Type: "integer", Format: "int32"}
	case "int64":
		return &Schema{Type: "integer", Format: "int64"}
	case "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte":
		return &Schema{Type: "integer", Minimum: &zero}
	case "float32":
		return &Schema{Type: "number", Format: "float"}
	case "float64":
		return &Schema{Type: "number", Format: "double"}
	case "any":
		return &Schema{}
	}
	return nil
}
