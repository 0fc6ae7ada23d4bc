package schemats

// kind is the shape of a TypeScript type in the tree the builder makes and the printer prints.
type kind uint8

const (
	kAny    kind = iota // any
	kMore               // any standing for members left out for size; never folded away
	kNever              // never
	kLeaf               // a primitive or a literal, spelled in text
	kRec                // any, for a $ref met inside its own expansion; text names it
	kArray              // elems[0][]
	kTuple              // [elems..., ...rest[]]
	kObject             // { props; [key: string]: index }
	kUnion              // elems joined by |
	kInter              // elems joined by &
)

// node is one TypeScript type. Nodes are never changed after they are built, so the shared
// ones below can be used anywhere.
type node struct {
	kind  kind
	text  string  // kLeaf: the type as written; kRec: the definition's name
	elems []*node // kArray: the element; kTuple: the elements; kUnion, kInter: the members
	rest  *node   // kTuple: the element type of the rest, or nil for a fixed length
	props []prop  // kObject: the properties, in print order
	index *node   // kObject: the type of any other key, or nil
}

// prop is one property of an object type.
type prop struct {
	key      string // the property name as written: an identifier or a quoted string
	optional bool
	comment  string // sanitised text for a /** */ comment before the property, or ""
	typ      *node
}

var (
	anyNode     = &node{kind: kAny}
	moreNode    = &node{kind: kMore}
	neverNode   = &node{kind: kNever}
	stringNode  = &node{kind: kLeaf, text: "string"}
	numberNode  = &node{kind: kLeaf, text: "number"}
	booleanNode = &node{kind: kLeaf, text: "boolean"}
	nullNode    = &node{kind: kLeaf, text: "null"}
	trueNode    = &node{kind: kLeaf, text: "true"}
	falseNode   = &node{kind: kLeaf, text: "false"}
	anyArray    = &node{kind: kArray, elems: []*node{anyNode}}
	anyObject   = &node{kind: kObject, index: anyNode}
	emptyObject = &node{kind: kObject}
	emptyTuple  = &node{kind: kTuple}
)

// union makes the union of members: nested unions are flattened, never is dropped, repeated
// leaves are dropped, and a plain any member makes the whole union any.
func union(members []*node) *node {
	out := make([]*node, 0, len(members))
	seen := map[string]bool{}
	more := false
	var add func(n *node) bool
	add = func(n *node) bool {
		switch n.kind {
		case kAny:
			return false
		case kNever:
			return true
		case kMore:
			more = true // goes last, where it reads as "and more"
			return true
		case kUnion:
			for _, m := range n.elems {
				if !add(m) {
					return false
				}
			}
			return true
		case kLeaf:
			if seen[n.text] {
				return true
			}
			seen[n.text] = true
		}
		out = append(out, n)
		return true
	}
	for _, m := range members {
		if !add(m) {
			return anyNode
		}
	}
	if more {
		out = append(out, moreNode)
	}
	switch len(out) {
	case 0:
		return neverNode
	case 1:
		return out[0]
	}
	return &node{kind: kUnion, elems: out}
}

// intersection makes the intersection of members: nested intersections are flattened, any and
// repeated leaves are dropped (allOf with an unconstrained member adds nothing), and never
// makes it never.
func intersection(members []*node) *node {
	out := make([]*node, 0, len(members))
	seen := map[string]bool{}
	var add func(m *node) bool
	add = func(m *node) bool {
		switch m.kind {
		case kAny, kMore:
			return true
		case kNever:
			return false
		case kInter:
			for _, e := range m.elems {
				if !add(e) {
					return false
				}
			}
			return true
		case kLeaf:
			if seen[m.text] {
				return true
			}
			seen[m.text] = true
		}
		out = append(out, m)
		return true
	}
	for _, m := range members {
		if !add(m) {
			return neverNode
		}
	}
	switch len(out) {
	case 0:
		return anyNode
	case 1:
		return out[0]
	}
	return &node{kind: kInter, elems: out}
}
