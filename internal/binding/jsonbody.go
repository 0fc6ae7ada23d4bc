package binding

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
)

// A JSON body template is compiled into a tree of jnodes and rendered straight to bytes.

// maxJSONDepth bounds the nesting of a JSON body template.
const maxJSONDepth = 32

type jkind uint8

const (
	jLiteral jkind = iota // raw: encoded JSON
	jWhole                // ref: the typed value of a parameter, or a credential value
	jText                 // text: a string template
	jObject
	jArray
)

// jnode is a compiled JSON body template.
type jnode struct {
	kind jkind
	raw  []byte
	ref  part
	text tmpl
	keys []string // sorted
	vals []*jnode
}

func (c *checker) compileJSON(v any, path string, depth int) *jnode {
	if depth > maxJSONDepth {
		c.ps.add(path, "nested deeper than %d levels; flatten it", maxJSONDepth)
		return nil
	}
	switch t := v.(type) {
	case map[string]any:
		n := &jnode{kind: jObject, keys: slices.Sorted(maps.Keys(t))}
		for _, k := range n.keys {
			if strings.Contains(k, "{{") {
				c.ps.add(join(path, k), "a key cannot be a template; only values can hold {{...}}")
			}
			n.vals = append(n.vals, c.compileJSON(t[k], join(path, k), depth+1))
		}
		return n
	case []any:
		n := &jnode{kind: jArray}
		for i, x := range t {
			n.vals = append(n.vals, c.compileJSON(x, index(path, i), depth+1))
		}
		return n
	case string:
		tp, err := parseTemplate(t)
		if err != nil {
			c.ps.add(path, "%v", err)
			return nil
		}
		if p, ok := tp.whole(); ok {
			c.ref(p, siteJSONWhole, path, true)
			return &jnode{kind: jWhole, ref: p}
		}
		if tp.literalOnly() {
			raw, _ := json.Marshal(t)
			return &jnode{kind: jLiteral, raw: raw}
		}
		for _, p := range tp {
			if p.kind != literal {
				c.ref(p, siteJSONText, path, false)
			}
		}
		return &jnode{kind: jText, text: tp}
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			c.ps.add(path, "%v is not a JSON number; write a finite number", t)
			return nil
		}
	case nil, bool, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
	default:
		c.ps.add(path, "a %T is not a JSON value; use objects, lists, strings, numbers, booleans and null", v)
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		c.ps.add(path, "not a JSON value: %v", err)
		return nil
	}
	return &jnode{kind: jLiteral, raw: raw}
}

// renderJSON writes n and reports whether it wrote anything (a whole placeholder of an
// optional parameter that was not given writes nothing).
func (r *renderer) renderJSON(buf *bytes.Buffer, n *jnode) bool {
	switch n.kind {
	case jLiteral:
		buf.Write(n.raw)
	case jWhole:
		if n.ref.kind == credRef {
			writeJSONString(buf, r.cred[n.ref.text])
			return true
		}
		v, ok := r.vals[n.ref.text]
		if !ok {
			return false
		}
		switch t := v.(type) {
		case string:
			writeJSONString(buf, t)
		case json.RawMessage:
			buf.Write(t)
		case float64:
			raw, _ := json.Marshal(t)
			buf.Write(raw)
		default:
			buf.WriteString(textOf(v))
		}
	case jText:
		writeJSONString(buf, r.renderText(n.text))
	case jObject:
		buf.WriteByte('{')
		first := true
		for i, k := range n.keys {
			mark := buf.Len()
			if !first {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k)
			buf.WriteByte(':')
			if !r.renderJSON(buf, n.vals[i]) {
				buf.Truncate(mark)
				continue
			}
			first = false
		}
		buf.WriteByte('}')
	case jArray:
		buf.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				buf.WriteByte(',')
			}
			if !r.renderJSON(buf, v) {
				buf.WriteString("null")
			}
		}
		buf.WriteByte(']')
	}
	return true
}

func writeJSONString(buf *bytes.Buffer, s string) {
	raw, _ := json.Marshal(s)
	buf.Write(raw)
}
