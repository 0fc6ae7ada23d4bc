package schemats

import (
	"maps"
	"slices"
)

// objectType builds an object type: required properties first in the order of "required",
// then the optional ones sorted by name, then an index signature for additionalProperties and
// patternProperties.
func (b *builder) objectType(m map[string]any, depth int) (*node, bool) {
	props, _ := norm(m["properties"]).(map[string]any)
	patterns, _ := norm(m["patternProperties"]).(map[string]any)
	required := b.required(m)
	b.steps -= len(props)

	o := &node{kind: kObject}
	isRequired := make(map[string]bool, len(required))
	for _, name := range required {
		isRequired[name] = true
		if !b.property(o, name, props, false, depth) {
			return o, false
		}
	}
	optional := make([]string, 0, len(props))
	for name := range props {
		if !isRequired[name] {
			optional = append(optional, name)
		}
	}
	slices.Sort(optional)
	for _, name := range optional {
		if !b.property(o, name, props, true, depth) {
			return o, false
		}
	}

	var index []*node
	ap, hasAP := m["additionalProperties"]
	if hasAP && !isFalse(ap) {
		index = append(index, b.schema(ap, depth+1))
	}
	for _, k := range slices.Sorted(maps.Keys(patterns)) {
		index = append(index, b.schema(patterns[k], depth+1))
	}
	if !hasAP && len(props) == 0 && len(patterns) == 0 {
		index = append(index, anyNode)
	}
	if len(index) > 0 {
		if n := union(index); n.kind != kNever {
			o.index = n
		}
	}
	if len(o.props) == 0 {
		switch {
		case o.index == nil:
			b.est += 2
			return emptyObject, false
		case o.index.kind == kAny:
			b.est += 22
			return anyObject, true
		}
	}
	return o, false
}

// property adds one property to o. It reports false, after marking o as cut short, when the
// budget is spent.
func (b *builder) property(o *node, name string, props map[string]any, optional bool, depth int) bool {
	if b.spent() {
		o.index = moreNode
		return false
	}
	key := propertyKey(name)
	b.est += len(key) + 4
	s, ok := props[name]
	if !ok {
		o.props = append(o.props, prop{key: key, optional: optional, typ: anyNode})
		return true
	}
	o.props = append(o.props, prop{
		key:      key,
		optional: optional,
		comment:  b.comment(s),
		typ:      b.schema(s, depth+1),
	})
	return true
}

// required returns the names in the schema's "required", without repeats.
func (b *builder) required(m map[string]any) []string {
	list, _ := norm(m["required"]).([]any)
	b.steps -= len(list)
	out := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
