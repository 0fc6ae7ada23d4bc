package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file turns a document (YAML, or JSON) into a tree of *yaml.Node with positions and holds
// the strict walking helpers both the config file and ToolHive profiles are decoded with: every
// unknown key, duplicate key and wrong type becomes an Error at the node's line and column.

// errEmpty is returned by readDocument for a document with no content.
var errEmpty = errors.New("empty document")

// readDocument parses data into the root node of its only document. JSON is read by
// encoding/json (yaml.v3 rejects some valid JSON: tab indentation, "\/" escapes) into the same
// node tree, so positions and duplicate keys are reported the same way for both.
func readDocument(data []byte, l *errorList) (*yaml.Node, error) {
	if json.Valid(data) {
		root, err := jsonToNode(data)
		if err != nil {
			l.add(1, 1, "", "cannot read JSON: %v", err)
			return nil, err
		}
		if isNull(root) {
			return nil, errEmpty
		}
		return root, nil
	}
	doc, extra, err := decodeYAML(data)
	switch {
	case err == io.EOF:
		return nil, errEmpty
	case err != nil:
		addSyntaxError(l, data, err)
		return nil, err
	case extra != nil:
		l.add(extra.Line, extra.Column, "", "a second YAML document (after ---); keep one document per file")
		return nil, errors.New("second document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errEmpty
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, errEmpty
	}
	return root, nil
}

// decodeYAML decodes the first document of data, and the start of a second one if there is one.
// err is io.EOF when data holds no document.
func decodeYAML(data []byte) (doc, extra *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = new(yaml.Node)
	if err := dec.Decode(doc); err != nil {
		return nil, nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
		return doc, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return doc, &next, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError splits a yaml.v3 error into its line (0 when it gives none) and message.
func syntaxError(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, msg[len(m[0]):]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// Bounds of the documents whose syntax errors are located line by line (a config file is a
// few hundred lines; this keeps a hostile one from costing more than a few milliseconds).
const (
	maxSyntaxSearchLines = 500
	maxSyntaxSearchBytes = 32 << 10
)

// addSyntaxError reports a YAML syntax error. yaml.v3 gives no column, and for a parser error
// the line where the enclosing block began rather than the offending one; for a small document
// the line is found as the shortest run of first lines that fails the same way.
func addSyntaxError(l *errorList, data []byte, err error) {
	line, msg := syntaxError(err)
	if lines := bytes.SplitAfter(data, []byte("\n")); len(lines) <= maxSyntaxSearchLines && len(data) <= maxSyntaxSearchBytes {
		// yaml.v3 counts a lone "\r" as a line break too, so its line may lie past the "\n" lines.
		first := min(max(line-1, 0), len(lines))
		prefix := bytes.Join(lines[:first], nil)
		for n := first; n < len(lines); n++ {
			prefix = append(prefix, lines[n]...)
			if _, _, err := decodeYAML(prefix); err != nil && err != io.EOF {
				if _, m := syntaxError(err); m == msg {
					line = n + 1
					break
				}
			}
		}
	}
	l.add(line, 1, "", "invalid YAML: %s; fix the syntax of this line or the one before it (in JSON: commas, quotes, brackets)", msg)
}

// jsonToNode builds a node tree from valid JSON, with 1-based line and column (in characters)
// of every value and key.
func jsonToNode(data []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &jsonPos{data: data, line: 1, col: 1}
	var value func() (*yaml.Node, error)
	value = func() (*yaml.Node, error) {
		start := p.tokenStart(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		line, col := p.at(start)
		n := &yaml.Node{Line: line, Column: col}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' {
				n.Kind, n.Tag, n.Style = yaml.MappingNode, "!!map", yaml.FlowStyle
				for dec.More() {
					k, err := value()
					if err != nil {
						return nil, err
					}
					v, err := value()
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, k, v)
				}
			} else {
				n.Kind, n.Tag, n.Style = yaml.SequenceNode, "!!seq", yaml.FlowStyle
				for dec.More() {
					v, err := value()
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, v)
				}
			}
			if _, err := dec.Token(); err != nil { // the closing delimiter
				return nil, err
			}
		case string:
			n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!str", t, yaml.DoubleQuotedStyle
		case json.Number:
			n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!float", t.String()
			if !strings.ContainsAny(n.Value, ".eE") {
				n.Tag = "!!int"
			}
		case bool:
			n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", strconv.FormatBool(t)
		case nil:
			n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
		}
		return n, nil
	}
	return value()
}

// jsonPos converts byte offsets of a JSON text to lines and columns, moving forward only.
type jsonPos struct {
	data      []byte
	off       int // offset line and col describe
	line, col int
}

// tokenStart returns the offset of the next token after off: json.Decoder's InputOffset is
// the end of the previous token, before the whitespace, ':' and ',' it consumes itself.
func (p *jsonPos) tokenStart(off int64) int {
	i := int(off)
	for i < len(p.data) {
		switch p.data[i] {
		case ' ', '\t', '\r', '\n', ':', ',':
			i++
			continue
		}
		break
	}
	return i
}

func (p *jsonPos) at(off int) (line, col int) {
	for p.off < off && p.off < len(p.data) {
		r, size := utf8.DecodeRune(p.data[p.off:])
		p.off += size
		if r == '\n' {
			p.line++
			p.col = 1
		} else {
			p.col++
		}
	}
	return p.line, p.col
}

// walker decodes a node tree strictly, recording problems in its errorList.
type walker struct {
	errorList
}

func (w *walker) errorf(n *yaml.Node, path, format string, args ...any) {
	w.add(n.Line, n.Column, path, format, args...)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names what a node is, for type errors: "a string", "a list", ...
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int":
		return "the integer " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "empty (null)"
	case "!!timestamp":
		return fmt.Sprintf("the date %q", n.Value)
	}
	return fmt.Sprintf("a value tagged %s", n.Tag)
}

// ok reports whether n can be decoded at all: aliases are refused everywhere, because a policy
// should say what it allows where it says it.
func (w *walker) ok(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode {
		w.errorf(n, path, "aliases (*%s) are not supported; write the value out", n.Value)
		return false
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// field is one key of a mapping, with its path.
type field struct {
	name       string
	key, value *yaml.Node
	path       string
}

// mapping returns the fields of a mapping node, reporting duplicate keys and, when known is not
// nil, unknown keys (which are left out). A null node is an empty mapping.
func (w *walker) mapping(n *yaml.Node, path string, known []string) ([]field, bool) {
	if !w.ok(n, path) {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a mapping (key: value), not %s", describe(n))
		return nil, false
	}
	var fields []field
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !w.ok(k, path) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.errorf(k, path, "a key must be a plain name, not %s", describe(k))
			continue
		}
		name := k.Value
		p := joinPath(path, name)
		if first, dup := seen[name]; dup {
			w.errorf(k, p, "duplicate key %q (first at line %d); remove one of them", name, first.Line)
			continue
		}
		seen[name] = k
		if known != nil && !slices.Contains(known, name) {
			w.errorf(k, p, "unknown key %q; %s", name, suggest(name, known))
			continue
		}
		fields = append(fields, field{name: name, key: k, value: v, path: p})
	}
	return fields, true
}

// suggest says what to write instead of an unknown key.
func suggest(name string, known []string) string {
	if name == "<<" {
		return "merge keys are not supported; write the keys out"
	}
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return "the keys allowed here are " + strings.Join(known, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str decodes a string. Integers, numbers and dates are taken as written (args: [--port, 8080]);
// booleans and null are refused, since "true" is rarely the string someone meant.
func (w *walker) str(n *yaml.Node, path string) (string, bool) {
	if !w.ok(n, path) {
		return "", false
	}
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return n.Value, true
		}
	}
	w.errorf(n, path, "must be a string, not %s; quote it if you meant the text", describe(n))
	return "", false
}

// strList decodes a list of strings; a null node is an empty list. It returns the item nodes
// too, for positions.
func (w *walker) strList(n *yaml.Node, path string) ([]string, []*yaml.Node, bool) {
	if !w.ok(n, path) {
		return nil, nil, false
	}
	if isNull(n) {
		return nil, nil, true
	}
	if n.Kind != yaml.SequenceNode {
		fix := "write a list: [a, b] or one \"- item\" per line"
		if n.Kind == yaml.ScalarNode {
			fix = fmt.Sprintf("write a list: [%q]", n.Value)
		}
		w.errorf(n, path, "must be a list, not %s; %s", describe(n), fix)
		return nil, nil, false
	}
	out := make([]string, 0, len(n.Content))
	nodes := make([]*yaml.Node, 0, len(n.Content))
	good := true
	for i, item := range n.Content {
		s, ok := w.str(item, fmt.Sprintf("%s[%d]", path, i))
		if !ok {
			good = false
			continue
		}
		out = append(out, s)
		nodes = append(nodes, item)
	}
	return out, nodes, good
}

func (w *walker) boolean(n *yaml.Node, path string) (bool, bool) {
	if !w.ok(n, path) {
		return false, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	fix := ""
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		fix = ", without quotes"
	}
	w.errorf(n, path, "must be true or false, not %s; write true or false%s", describe(n), fix)
	return false, false
}

// integer decodes an integer in any YAML spelling (1000, 1_000, 0x3e8).
func (w *walker) integer(n *yaml.Node, path string) (int64, bool) {
	if !w.ok(n, path) {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var v int64
		if err := n.Decode(&v); err == nil {
			return v, true
		}
		w.errorf(n, path, "the integer %s is out of range", n.Value)
		return 0, false
	}
	fix := "write a whole number"
	if _, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 64); err == nil && n.ShortTag() == "!!str" {
		fix = "remove the quotes"
	}
	w.errorf(n, path, "must be an integer, not %s; %s", describe(n), fix)
	return 0, false
}
