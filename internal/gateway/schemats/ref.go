package schemats

import (
	"strconv"
	"strings"
)

const (
	// maxPointer bounds the length of a $ref this package follows.
	maxPointer = 1024
	// maxRefs bounds how many $refs may be in expansion at once (a chain of definitions that
	// each only point at the next one does not go deeper by itself).
	maxRefs = 64
)

// ref builds the type a local $ref points at. A ref met again while it is being expanded is
// any, carrying the definition's name in a comment; a ref that cannot be resolved is any.
func (b *builder) ref(ref string, depth int) *node {
	target, key, name, ok := b.resolve(ref)
	if !ok {
		return anyNode
	}
	if b.active[key] {
		b.est += 3
		return &node{kind: kRec, text: name}
	}
	if len(b.active) > maxRefs {
		return anyNode
	}
	if b.active == nil {
		b.active = map[string]bool{}
	}
	b.active[key] = true
	n := b.schema(target, depth)
	delete(b.active, key)
	return n
}

// resolve follows a same-document reference ("#", "#/$defs/Name", "#/definitions/Name" or any
// other JSON pointer fragment) from the root. key is the pointer in canonical form, for
// telling refs apart; name is its last token, when it is safe to show in a comment.
func (b *builder) resolve(ref string) (target any, key, name string, ok bool) {
	if len(ref) == 0 || ref[0] != '#' || len(ref) > maxPointer {
		return nil, "", "", false
	}
	frag := unescapePercent(ref[1:])
	if frag == "" {
		return b.root, "", "", true
	}
	if frag[0] != '/' {
		return nil, "", "", false // a named anchor: not supported
	}
	cur := b.root
	var canon strings.Builder
	for tok := range strings.SplitSeq(frag[1:], "/") {
		b.steps--
		if b.steps <= 0 {
			return nil, "", "", false
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := norm(cur).(type) {
		case map[string]any:
			if cur, ok = c[tok]; !ok {
				return nil, "", "", false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, "", "", false
			}
			cur = c[i]
		default:
			return nil, "", "", false
		}
		canon.WriteByte('/')
		canon.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
		name = tok
	}
	if !safeName(name) {
		name = ""
	}
	return cur, canon.String(), name, true
}

// follow returns the schema a root without properties of its own points at through $ref
// (some generators put the whole input schema in $defs), or m itself.
func (b *builder) follow(m map[string]any) map[string]any {
	for range maxDepth {
		ref, ok := m["$ref"].(string)
		if !ok {
			break
		}
		if _, ok := m["properties"]; ok {
			break
		}
		t, _, _, ok := b.resolve(ref)
		if !ok {
			break
		}
		tm, ok := norm(t).(map[string]any)
		if !ok {
			break
		}
		m = tm
	}
	return m
}

// unescapePercent decodes %XX escapes, as a pointer in a URI fragment has them; a malformed
// escape is kept as it is.
func unescapePercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			sb.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// safeName reports whether a definition name can be shown in a comment as it is.
func safeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
