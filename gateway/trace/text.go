package trace

import (
	"fmt"
	"strconv"
	"strings"
)

// FormatUS formats microseconds for people: "85 µs", "12.3 ms", "1.20 s".
func FormatUS(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " µs"
	case n < 1000000:
		return strconv.FormatFloat(float64(n)/1000, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + " s"
}

// Describe is a one-line account of an event, without its time.
func Describe(e *Event) string {
	var b strings.Builder
	switch e.Kind {
	case KindCallback:
		b.WriteString(strings.TrimPrefix(e.Name, "proxy_"))
		if e.Action != "" {
			b.WriteString(" → " + e.Action)
		}
		if e.Error != "" {
			b.WriteString(" ✗ " + e.Error)
		}
		if e.Message != "" {
			b.WriteString(" (" + e.Message + ")")
		}
	case KindCallout:
		c := e.Callout
		fmt.Fprintf(&b, "%s %s → %s", c.Type, c.Target, c.Cluster)
		switch {
		case c.Error != "":
			b.WriteString(" ✗ " + c.Error)
		case c.Status != 0:
			fmt.Fprintf(&b, " = %d", c.Status)
		case c.Reply != "":
			b.WriteString(" = " + c.Reply)
		case !c.Answered:
			b.WriteString(" (no answer)")
		}
	case KindPause:
		fmt.Fprintf(&b, "paused in %s", e.Name)
		if e.ResumedBy != "" {
			b.WriteString(", resumed by " + strings.TrimPrefix(e.ResumedBy, "proxy_"))
		}
	case KindLocalReply:
		fmt.Fprintf(&b, "local reply %d %s", e.Reply.Status, e.Reply.Details)
		if e.Reply.Cause != "" {
			b.WriteString(" from " + strings.TrimPrefix(e.Reply.Cause, "proxy_"))
		}
	case KindRoute:
		fmt.Fprintf(&b, "route %s → %s (%s)", e.Name, e.Cluster, e.Message)
	case KindUpstream:
		fmt.Fprintf(&b, "upstream %s %s", e.Cluster, e.Key)
		if e.Status != 0 {
			fmt.Fprintf(&b, " = %d", e.Status)
		}
		if e.Error != "" {
			b.WriteString(" ✗ " + e.Error)
		}
	case KindResponse:
		fmt.Fprintf(&b, "response %d %s", e.Status, e.Message)
	case KindLog:
		fmt.Fprintf(&b, "log %s: %s", e.Level, e.Message)
	case KindProperty:
		fmt.Fprintf(&b, "property %s = %s", e.Key, e.Message)
	default:
		b.WriteString(e.Kind)
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	}
	return b.String()
}

// Changes is a short account of an event's header and body changes
// ("+x-a ~authorization −x-b body 11→11 changed"), "" when none.
func Changes(e *Event) string {
	var parts []string
	for _, h := range e.Headers {
		switch h.Op {
		case "added":
			parts = append(parts, "+"+h.Name+"="+h.Value)
		case "removed":
			parts = append(parts, "−"+h.Name)
		default:
			parts = append(parts, "~"+h.Name+"="+h.Value)
		}
	}
	if b := e.Body; b != nil && (b.Changed || b.Buffered > 0) {
		s := fmt.Sprintf("body %d→%d", b.Seen, b.After)
		if b.Changed {
			s += " changed"
		}
		if b.Buffered > 0 {
			s += fmt.Sprintf(" buffered %d", b.Buffered)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// Line is the one-line summary of a request.
func Line(s *Summary) string {
	line := fmt.Sprintf("%s #%-5d %-6s %-40s %3d %9s  %s", s.Start.Format("15:04:05.000"), s.ID, s.Method, s.Path,
		s.Status, FormatUS(s.DurationUS), strings.Join(s.Plugins, ","))
	if s.Errors > 0 {
		line += fmt.Sprintf("  [%d errors]", s.Errors)
	}
	if s.Details != "" && s.Details != "via_upstream" {
		line += "  " + s.Details
	}
	return line
}

// Timeline renders a request's events, one per line: the offset from the
// start, the duration, who and what, and the changes.
func Timeline(r *Request) string {
	var b strings.Builder
	for i := range r.Events {
		e := &r.Events[i]
		who := e.Plugin
		if who == "" {
			who = "gateway"
		}
		dur := ""
		if e.DurUS > 0 {
			dur = FormatUS(e.DurUS)
		}
		fmt.Fprintf(&b, "  %10s %9s  %-16s %s", "+"+FormatUS(e.AtUS), dur, who, Describe(e))
		if c := Changes(e); c != "" {
			b.WriteString("  " + c)
		}
		b.WriteByte('\n')
	}
	if r.Dropped > 0 {
		fmt.Fprintf(&b, "  (%d events over the trace's limit not kept)\n", r.Dropped)
	}
	return b.String()
}
