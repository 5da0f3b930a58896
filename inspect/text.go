package inspect

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report for people; verbose adds every import,
// export and the toolchain evidence.
func (r *Report) WriteText(w io.Writer, verbose bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	name := r.File
	if name == "" {
		name = "module"
	}
	row(name, groupDigits(r.Size)+" bytes")
	abi := r.ABI
	if abi == "" {
		abi = "none (no proxy_abi_version_* export)"
	} else {
		abi += " (export " + markerPrefix + r.ABI + ")"
	}
	row("ABI", abi)
	start := r.Start.Kind
	if len(r.Start.Functions) > 0 {
		start += ": " + strings.Join(r.Start.Functions, ", then ")
	}
	if r.Start.StartSection != "" {
		start += "; start section runs " + r.Start.StartSection
	}
	row("start", start)
	alloc := strings.Join(r.Allocators, ", ")
	if alloc == "" {
		alloc = "none"
	}
	row("allocator", alloc)
	row("built by", r.Toolchain.summary())
	higress := "none"
	if len(r.HigressOnlyImports) > 0 {
		higress = strings.Join(r.HigressOnlyImports, ", ")
	}
	row("Higress-only imports", higress)
	row("imports", fmt.Sprintf("%d (%s)", len(r.Imports), r.importSummary()))
	row("exports", fmt.Sprintf("%d", len(r.Exports)))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nsections:")
	width := 0
	for _, s := range r.Sections {
		width = max(width, len(s.Name))
	}
	for _, s := range r.Sections {
		fmt.Fprintf(w, "  %-*s %11s %5.1f%%\n", width, s.Name, groupDigits(s.Size), s.Percent)
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, m := range r.Warnings {
			fmt.Fprintln(w, "  - "+m)
		}
	}
	if !verbose {
		return nil
	}
	fmt.Fprintln(w, "\nevidence:")
	for _, e := range r.Toolchain.Evidence {
		fmt.Fprintln(w, "  - "+e)
	}
	if g := r.Toolchain.GoBuild; g != nil {
		fmt.Fprintf(w, "\nGo build: %s (module %s)\n", g.Path, g.Main)
		for _, d := range g.Deps {
			fmt.Fprintln(w, "  dep "+d)
		}
	}
	fmt.Fprintln(w, "\nimports:")
	for _, i := range r.Imports {
		fmt.Fprintf(tw, "  %s.%s\t%s\t%s\n", i.Module, i.Name, i.Kind, i.Class)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nexports:")
	for _, e := range r.Exports {
		fmt.Fprintf(tw, "  %s\t%s\n", e.Name, e.Kind)
	}
	return tw.Flush()
}

func (t Toolchain) summary() string {
	var parts []string
	switch t.Compiler {
	case CompilerGo:
		parts = append(parts, strings.TrimSpace("Go (gc) "+t.CompilerVersion))
	case CompilerTinyGo:
		parts = append(parts, strings.TrimSpace("TinyGo "+t.CompilerVersion))
	case CompilerRust:
		parts = append(parts, strings.TrimSpace("Rust "+t.CompilerVersion))
	case CompilerEmscripten:
		parts = append(parts, "C/C++ (emscripten)")
	case CompilerClang:
		parts = append(parts, strings.TrimSpace("C/C++ (clang "+t.CompilerVersion+")"))
	default:
		parts = append(parts, "unknown toolchain")
	}
	if t.SDK != "" {
		sdk := "SDK " + t.SDK
		if t.SDKModule != "" || t.SDKVersion != "" {
			sdk += " (" + strings.TrimSpace(t.SDKModule+" "+t.SDKVersion) + ")"
		}
		parts = append(parts, sdk)
	}
	return strings.Join(parts, ", ")
}

func (r *Report) importSummary() string {
	counts := map[string]int{}
	var order []string
	for _, i := range r.Imports {
		if counts[i.Class] == 0 {
			order = append(order, i.Class)
		}
		counts[i.Class]++
	}
	var parts []string
	for _, c := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[c], c))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// groupDigits writes n with thousands separators.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
