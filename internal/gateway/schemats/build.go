package schemats

import (
	"slices"
)

// builder turns one decoded schema into a node tree, within the step and size budgets.
type builder struct {
	root   any
	steps  int             // work left; at zero everything further is any
	est    int             // a lower bound of the printed length of what was built so far
	active map[string]bool // canonical pointers of the $refs being expanded
}

func newBuilder(root any) *builder {
	return &builder{root: root, steps: maxSteps}
}

// spent reports whether the budgets are used up: no more work, or already more than the
// printer will show.
func (b *builder) spent() bool {
	return b.steps <= 0 || b.est > maxLen
}

// schema builds the type of the schema v found at nesting level depth.
func (b *builder) schema(v any, depth int) *node {
	if depth > maxDepth {
		return anyNode
	}
	if b.spent() {
		return moreNode
	}
	b.steps--
	switch s := v.(type) {
	case bool:
		if s {
			return anyNode
		}
		return neverNode
	case map[string]any:
		return b.object(s, depth)
	}
	// Another Go type inside a hand-built tree: convert it; only an object or a boolean is a
	// schema.
	switch n := norm(v).(type) {
	case map[string]any, bool:
		return b.schema(n, depth)
	}
	return anyNode
}

// object builds the type of a schema object: the intersection of what its own keywords say,
// its $ref and its allOf members, its anyOf and its oneOf.
func (b *builder) object(m map[string]any, depth int) *node {
	if not, ok := m["not"]; ok && isTrivial(not) {
		return neverNode
	}
	parts := make([]*node, 0, 4)
	combined := false
	if ref, ok := m["$ref"].(string); ok {
		parts = append(parts, b.ref(ref, depth))
		combined = true
	}
	all, _ := norm(m["allOf"]).([]any)
	anyOf, _ := norm(m["anyOf"]).([]any)
	oneOf, _ := norm(m["oneOf"]).([]any)
	combined = combined || len(all) > 0 || len(anyOf) > 0 || len(oneOf) > 0

	own, generic := b.own(m, depth)
	if own != nil && !(generic && combined) {
		parts = append(parts, own)
	}
	for _, s := range all {
		if b.spent() {
			break
		}
		parts = append(parts, b.schema(s, depth+1))
	}
	for _, alts := range [][]any{anyOf, oneOf} {
		if len(alts) > 0 {
			parts = append(parts, b.alternatives(alts, depth))
		}
	}
	n := intersection(parts)
	if n.kind == kAny && own != nil {
		n = own // the bare object or array said more than the rest
	}
	if nullable, _ := m["nullable"].(bool); nullable {
		n = union([]*node{n, nullNode})
	}
	return n
}

// alternatives builds the union of anyOf or oneOf members.
func (b *builder) alternatives(alts []any, depth int) *node {
	members := make([]*node, 0, min(len(alts), 64))
	for _, s := range alts {
		if b.spent() {
			members = append(members, moreNode) // the rest, as any
			break
		}
		b.est += 3
		members = append(members, b.schema(s, depth+1))
	}
	return union(members)
}

// own builds the type from the schema's own keywords: const, enum, type, or the type implied
// by properties or items. It returns nil when there are none, and generic true for a bare
// "object" or "array" that adds nothing next to a $ref or a combinator.
func (b *builder) own(m map[string]any, depth int) (n *node, generic bool) {
	if c, ok := m["const"]; ok {
		return b.literal(c, depth), false
	}
	if e, ok := norm(m["enum"]).([]any); ok {
		return b.enum(e, depth), false
	}
	var types []string
	switch t := norm(m["type"]).(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			switch {
			case !ok || slices.Contains(types, s):
			case !knownType[s]:
				return anyNode, false // a union with an unknown type is any
			default:
				types = append(types, s) // at most len(knownType)
			}
		}
		if len(types) == 0 {
			return nil, false
		}
	default:
		types = implied(m)
	}
	if len(types) == 0 {
		return nil, false
	}
	if len(types) == 1 {
		return b.typed(m, types[0], depth)
	}
	// null last: `string | null`, also for ["null", "array"] as jsonschema-go writes it.
	slices.SortStableFunc(types, func(a, c string) int {
		switch {
		case a == "null" && c != "null":
			return 1
		case a != "null" && c == "null":
			return -1
		}
		return 0
	})
	members := make([]*node, 0, len(types))
	for _, t := range types {
		n, _ := b.typed(m, t, depth)
		members = append(members, n)
	}
	return union(members), false
}

// knownType holds the JSON Schema type names.
var knownType = map[string]bool{
	"string": true, "number": true, "integer": true, "boolean": true,
	"null": true, "array": true, "object": true,
}

// implied returns the type a schema without "type" has by its keywords, if any.
func implied(m map[string]any) []string {
	for _, k := range []string{"properties", "additionalProperties", "patternProperties"} {
		if _, ok := m[k]; ok {
			return []string{"object"}
		}
	}
	for _, k := range []string{"items", "prefixItems"} {
		if _, ok := m[k]; ok {
			return []string{"array"}
		}
	}
	return nil
}

// typed builds the type for one JSON Schema type name.
func (b *builder) typed(m map[string]any, t string, depth int) (*node, bool) {
	switch t {
	case "string":
		b.est += 6
		return stringNode, false
	case "number", "integer":
		b.est += 6
		return numberNode, false
	case "boolean":
		b.est += 7
		return booleanNode, false
	case "null":
		b.est += 4
		return nullNode, false
	case "array":
		return b.array(m, depth)
	case "object":
		return b.objectType(m, depth)
	}
	return anyNode, false
}

// array builds an array or tuple type from items, prefixItems and the draft-07 forms
// (items as a list, additionalItems).
func (b *builder) array(m map[string]any, depth int) (*node, bool) {
	items, hasItems := m["items"]
	prefix, _ := norm(m["prefixItems"]).([]any)
	restKey := "items"
	if list, ok := norm(items).([]any); ok {
		prefix, restKey = list, "additionalItems"
	}
	if len(prefix) > 0 {
		t := &node{kind: kTuple, elems: make([]*node, 0, min(len(prefix), 64))}
		for _, s := range prefix {
			if b.spent() {
				t.rest = moreNode
				return t, false
			}
			b.est += 2
			t.elems = append(t.elems, b.schema(s, depth+1))
		}
		if r, ok := m[restKey]; ok && !isFalse(r) {
			t.rest = b.schema(r, depth+1)
		}
		return t, false
	}
	if !hasItems {
		b.est += 5
		return anyArray, true
	}
	if isFalse(items) {
		return emptyTuple, false
	}
	b.est += 2
	return &node{kind: kArray, elems: []*node{b.schema(items, depth+1)}}, false
}
