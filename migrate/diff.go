package migrate

import (
	"fmt"
	"strings"
)

// edit is one line of an edit script: ' ' kept, '-' deleted, '+' inserted.
type edit struct {
	kind byte
	line string
}

// unifiedDiff returns a unified diff (3 lines of context) turning a into
// b, headed --- a/name and +++ b/name; "" when they are equal.
func unifiedDiff(name string, a, b []byte) string {
	edits := diffLines(splitLines(string(a)), splitLines(string(b)))
	changed := false
	for _, e := range edits {
		changed = changed || e.kind != ' '
	}
	if !changed {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- a/%s\n+++ b/%s\n", name, name)
	const ctx = 3
	// oldAt and newAt are the line numbers (0-based) before edits[i].
	oldAt, newAt := make([]int, len(edits)+1), make([]int, len(edits)+1)
	for i, e := range edits {
		oldAt[i+1], newAt[i+1] = oldAt[i], newAt[i]
		if e.kind != '+' {
			oldAt[i+1]++
		}
		if e.kind != '-' {
			newAt[i+1]++
		}
	}
	for i := 0; i < len(edits); {
		if edits[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: from ctx lines before this change to ctx lines after
		// the last change that is within 2*ctx kept lines of the previous.
		start := max(0, i-ctx)
		end, equal := i, 0
		for j := i; j < len(edits); j++ {
			if edits[j].kind != ' ' {
				end, equal = j+1, 0
				continue
			}
			if equal++; equal > 2*ctx {
				break
			}
		}
		stop := min(len(edits), end+ctx)
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(oldAt[start], oldAt[stop]-oldAt[start]), hunkRange(newAt[start], newAt[stop]-newAt[start]))
		for _, e := range edits[start:stop] {
			out.WriteByte(e.kind)
			out.WriteString(e.line)
		}
		i = stop
	}
	return out.String()
}

func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// splitLines splits s after each newline; a last line without one gets
// diff's "\ No newline at end of file" marker.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	return lines
}

// maxEditDistance bounds the work of diffLines; beyond it the whole file
// is shown as replaced.
const maxEditDistance = 4000

// diffLines computes a shortest edit script with Myers' algorithm.
func diffLines(a, b []string) []edit {
	n, m := len(a), len(b)
	limit := min(n+m, maxEditDistance)
	off := limit + 1
	v := make([]int, 2*limit+3)
	var trace [][]int
	found := false
	for d := 0; d <= limit && !found; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				found = true
				break
			}
		}
	}
	if !found {
		out := make([]edit, 0, n+m)
		for _, l := range a {
			out = append(out, edit{'-', l})
		}
		for _, l := range b {
			out = append(out, edit{'+', l})
		}
		return out
	}
	var rev []edit
	x, y := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		v := trace[d]
		k := x - y
		prevK := k - 1
		if k == -d || k != d && v[off+k-1] < v[off+k+1] {
			prevK = k + 1
		}
		prevX := v[off+prevK]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			rev = append(rev, edit{' ', a[x-1]})
			x--
			y--
		}
		if d > 0 {
			if x == prevX {
				rev = append(rev, edit{'+', b[y-1]})
			} else {
				rev = append(rev, edit{'-', a[x-1]})
			}
		}
		x, y = prevX, prevY
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}
