package schemats

// printer writes a node tree within a length limit. Every method is called with room for at
// least "any" (len(buf)+3 <= limit) and leaves len(buf) <= limit; where a construct does not
// fit, it is cut after its last member that does, and the rest is shown as any in a form that
// keeps the type valid.
type printer struct {
	buf []byte
}

const (
	indexAny  = "[key: string]: any"
	indexHead = "[key: string]: "
	restAny   = "...any[]"
)

func (p *printer) put(s string) { p.buf = append(p.buf, s...) }

func (p *printer) room(limit int) int { return limit - len(p.buf) }

func (p *printer) node(n *node, limit int) {
	switch n.kind {
	case kAny, kMore:
		p.put("any")
	case kNever:
		p.atom("never", limit)
	case kLeaf:
		p.atom(n.text, limit)
	case kRec:
		if n.text != "" && p.room(limit) >= len("any /*  */")+len(n.text) {
			p.put("any /* ")
			p.put(n.text)
			p.put(" */")
		} else {
			p.put("any")
		}
	case kArray:
		p.array(n.elems[0], limit)
	case kTuple:
		p.tuple(n, limit)
	case kObject:
		p.object(n, limit)
	case kUnion:
		p.union(n.elems, limit)
	case kInter:
		p.inter(n.elems, limit)
	default:
		p.put("any")
	}
}

// atom writes s, or any when s does not fit.
func (p *printer) atom(s string, limit int) {
	if p.room(limit) >= len(s) {
		p.put(s)
	} else {
		p.put("any")
	}
}

// needsParens reports whether n must be parenthesised as an array element or an
// intersection member.
func needsParens(n *node) bool {
	switch n.kind {
	case kUnion, kInter:
		return true
	case kLeaf:
		return n.text[0] == '-' // a negative number literal
	}
	return false
}

// array writes elem[]. With room for "any[]" it always writes an array type (a tuple's rest
// relies on that).
func (p *printer) array(elem *node, limit int) {
	paren := needsParens(elem)
	switch {
	case paren && p.room(limit) >= len("(any)[]"):
		p.put("(")
		p.node(elem, limit-len(")[]"))
		p.put(")[]")
	case !paren && p.room(limit) >= len("any[]"):
		p.node(elem, limit-len("[]"))
		p.put("[]")
	case p.room(limit) >= len("any[]"):
		p.put("any[]")
	default:
		p.put("any")
	}
}

// tuple writes [A, B, ...R[]]; when the elements do not fit it ends in ...any[].
func (p *printer) tuple(n *node, limit int) {
	if len(n.elems) == 0 && n.rest == nil {
		p.atom("[]", limit)
		return
	}
	const reserve = len(", ") + len(restAny) + len("]")
	if p.room(limit) < len("[")+len(restAny)+len("]") {
		p.put("any")
		return
	}
	p.put("[")
	for i, e := range n.elems {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		last := i == len(n.elems)-1 && n.rest == nil
		if !last && p.room(limit) < len(sep)+len("any")+reserve ||
			last && p.room(limit) < len(sep)+len("any")+len("]") {
			p.put(sep)
			p.put(restAny)
			p.put("]")
			return
		}
		p.put(sep)
		if last {
			p.node(e, limit-len("]"))
		} else {
			p.node(e, limit-reserve)
		}
	}
	if n.rest != nil {
		if len(n.elems) > 0 {
			p.put(", ")
		}
		p.put("...")
		p.array(n.rest, limit-len("]"))
	}
	p.put("]")
}

// object writes { a: A; b?: B; [key: string]: I }; when the properties do not fit it ends in
// [key: string]: any.
func (p *printer) object(n *node, limit int) {
	if len(n.props) == 0 && n.index == nil {
		p.atom("{}", limit)
		return
	}
	const reserve = len("; ") + len(indexAny) + len(" }")
	if p.room(limit) < len("{ ")+len(indexAny)+len(" }") {
		p.put("any")
		return
	}
	p.put("{ ")
	for i, pr := range n.props {
		sep := ""
		if i > 0 {
			sep = "; "
		}
		last := i == len(n.props)-1 && n.index == nil
		tail := reserve
		if last {
			tail = len(" }")
		}
		head := len(pr.key) + len(": ")
		if pr.optional {
			head++
		}
		if p.room(limit) < len(sep)+head+len("any")+tail {
			p.put(sep)
			p.put(indexAny)
			p.put(" }")
			return
		}
		p.put(sep)
		if pr.comment != "" && p.room(limit) >= len("/**  */ ")+len(pr.comment)+head+len("any")+tail {
			p.put("/** ")
			p.put(pr.comment)
			p.put(" */ ")
		}
		p.put(pr.key)
		if pr.optional {
			p.put("?")
		}
		p.put(": ")
		p.node(pr.typ, limit-tail)
	}
	if n.index != nil {
		if len(n.props) > 0 {
			p.put("; ")
		}
		p.put(indexHead)
		p.node(n.index, limit-len(" }"))
	}
	p.put(" }")
}

// union writes A | B; when the members do not fit it ends in | any.
func (p *printer) union(members []*node, limit int) {
	const reserve = len(" | any")
	if p.room(limit) < len("any")+reserve {
		p.put("any")
		return
	}
	for i, m := range members {
		last := i == len(members)-1
		if i > 0 {
			if !last && p.room(limit) < len(" | ")+len("any")+reserve ||
				last && p.room(limit) < len(" | ")+len("any") {
				p.put(" | any")
				return
			}
			p.put(" | ")
		}
		if last {
			p.node(m, limit)
		} else {
			p.node(m, limit-reserve)
		}
	}
}

// inter writes A & (B | C); members that do not fit are left out, which only widens it.
func (p *printer) inter(members []*node, limit int) {
	for i, m := range members {
		sep := ""
		if i > 0 {
			sep = " & "
		}
		paren := needsParens(m)
		need := len(sep) + len("any")
		if paren {
			need += len("()")
		}
		if p.room(limit) < need {
			if i == 0 {
				p.put("any")
			}
			return
		}
		p.put(sep)
		if paren {
			p.put("(")
			p.node(m, limit-len(")"))
			p.put(")")
		} else {
			p.node(m, limit)
		}
	}
}
