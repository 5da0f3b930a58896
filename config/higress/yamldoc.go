package higress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a file, converted to generic JSON values (objects are
// map[string]any, numbers json.Number).
type document struct {
	index int // 0-based position in the file
	line  int // 1-based line where the document starts
	value any
}

// splitDocuments cuts a multi-document YAML stream at "---" separator lines, as kubectl does,
// and returns each non-empty document with its starting line.
func splitDocuments(data []byte) (docs [][]byte, lines []int) {
	var cur bytes.Buffer
	start, lineNo := 1, 0
	flush := func(next int) {
		if len(bytes.TrimSpace(stripComments(cur.Bytes()))) > 0 {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			lines = append(lines, start)
		}
		cur.Reset()
		start = next
	}
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		lineNo++
		trimmed := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("--- ")) {
			flush(lineNo + 1)
			if rest := bytes.TrimSpace(trimmed[3:]); len(rest) > 0 && rest[0] != '#' {
				// "--- value" starts the next document on the separator line itself.
				cur.Write(rest)
				cur.WriteByte('\n')
				start = lineNo
			}
			continue
		}
		cur.Write(line)
	}
	flush(lineNo + 1)
	return docs, lines
}

// stripComments removes full-line comments, to tell an empty document from a real one.
func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// parseDocuments parses every document of a YAML file into generic JSON values. A syntax
// error is returned with the line number counted from the start of the file.
func parseDocuments(data []byte) ([]document, error) {
	raw, lines := splitDocuments(data)
	docs := make([]document, 0, len(raw))
	for i, r := range raw {
		js, err := yaml.YAMLToJSON(r)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
			msg = strings.TrimPrefix(msg, "yaml: ")
			offset := lines[i] - 1
			msg = yamlLineRE.ReplaceAllStringFunc(msg, func(s string) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(s, "line "))
				return "line " + strconv.Itoa(n+offset)
			})
			return nil, fmt.Errorf("invalid YAML: %s", msg)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid YAML document starting at line %d: %w", lines[i], err)
		}
		if v == nil {
			continue
		}
		docs = append(docs, document{index: i, line: lines[i], value: v})
	}
	return docs, nil
}

// encodeJSON renders a generic value as compact JSON without HTML escaping. Object keys come
// out sorted; numbers keep the digits they were written with.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// deepCopy copies a generic JSON value so the translation never aliases the parsed document.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

// yaml11Bools are the plain scalars YAML 1.1 (and so kubectl and Higress) reads as booleans.
var yaml11Bools = map[string]string{
	"y": "true", "Y": "true", "yes": "true", "Yes": "true", "YES": "true", "on": "true", "On": "true", "ON": "true",
	"n": "false", "N": "false", "no": "false", "No": "false", "NO": "false", "off": "false", "Off": "false", "OFF": "false",
}

// boolKey is an unquoted mapping key that YAML 1.1 turns into a boolean.
type boolKey struct {
	line int
	key  string
	as   string
}

// yaml11BoolKeys finds unquoted mapping keys such as `y:` or `on:` that the Kubernetes YAML
// reader turns into "true"/"false" — a silent surprise in plugin configurations.
func yaml11BoolKeys(data []byte) []boolKey {
	var out []boolKey
	var walk func(n *yamlv3.Node)
	walk = func(n *yamlv3.Node) {
		if n.Kind == yamlv3.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if as, ok := yaml11Bools[k.Value]; ok && k.Kind == yamlv3.ScalarNode && k.Style == 0 {
					out = append(out, boolKey{line: k.Line, key: k.Value, as: as})
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var n yamlv3.Node
		if err := dec.Decode(&n); err != nil {
			break
		}
		walk(&n)
	}
	return out
}
