package schemats

import (
	"encoding/json"
	"maps"
	"slices"
)

// maxLiteral is the longest string literal written as a literal type; a longer one widens to
// string.
const maxLiteral = 200

// enum builds the union of an enum's values.
func (b *builder) enum(values []any, depth int) *node {
	members := make([]*node, 0, min(len(values), 64))
	for _, v := range values {
		if b.spent() {
			members = append(members, moreNode)
			break
		}
		b.est += 3
		members = append(members, b.literal(v, depth))
	}
	return union(members)
}

// literal builds the literal type of a JSON value: "a", 3, true, null, and for arrays and
// objects the tuple and object types holding exactly that value.
func (b *builder) literal(v any, depth int) *node {
	if depth > maxDepth {
		return anyNode
	}
	if b.spent() {
		return moreNode
	}
	b.steps--
	switch x := v.(type) {
	case nil:
		b.est += 4
		return nullNode
	case bool:
		b.est += 4
		if x {
			return trueNode
		}
		return falseNode
	case string:
		if len(x) > maxLiteral {
			b.est += 6
			return stringNode
		}
		q := quote(x)
		b.est += len(q)
		return &node{kind: kLeaf, text: q}
	case float64, json.Number:
		t, ok := number(x)
		if !ok {
			return numberNode
		}
		b.est += len(t)
		return &node{kind: kLeaf, text: t}
	case []any:
		if len(x) == 0 {
			b.est += 2
			return emptyTuple
		}
		t := &node{kind: kTuple, elems: make([]*node, 0, min(len(x), 64))}
		for _, e := range x {
			if b.spent() {
				t.rest = moreNode
				break
			}
			b.est += 2
			t.elems = append(t.elems, b.literal(e, depth+1))
		}
		return t
	case map[string]any:
		if len(x) == 0 {
			b.est += 2
			return emptyObject
		}
		b.steps -= len(x)
		o := &node{kind: kObject, props: make([]prop, 0, min(len(x), 64))}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if b.spent() {
				o.index = moreNode
				break
			}
			key := propertyKey(k)
			b.est += len(key) + 4
			o.props = append(o.props, prop{key: key, typ: b.literal(x[k], depth+1)})
		}
		return o
	}
	if n, ok := normOK(v); ok {
		return b.literal(n, depth)
	}
	return anyNode
}
