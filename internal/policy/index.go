package policy

import (
	"net/netip"
	"strings"
)

// nameNode is one label of the reversed-label trie: "api.example.com" is stored under
// root → "com" → "example" → "api". A lookup walks the labels of the queried name from the
// right, so its cost depends on the name's depth, not on the number of entries.
type nameNode struct {
	children map[string]*nameNode
	exact    [2][]*entry // by List: entries naming exactly this name
	domain   [2][]*entry // ".d": this name and every name below it
	sub      [2][]*entry // "*.d": every name strictly below it
}

func (n *nameNode) child(label string) *nameNode {
	if n.children == nil {
		n.children = make(map[string]*nameNode)
	}
	c := n.children[label]
	if c == nil {
		c = &nameNode{}
		n.children[label] = c
	}
	return c
}

// prefixIndex finds the entries whose prefix contains an address: one map per prefix length
// that occurs, so a lookup is at most 33 (IPv4) or 129 (IPv6) map probes, whatever the count.
type prefixIndex struct {
	byLen map[int]map[netip.Prefix][]*entry
	lens4 []int // prefix lengths present for IPv4, longest first
	lens6 []int
}

func (x *prefixIndex) add(e *entry) {
	if x.byLen == nil {
		x.byLen = make(map[int]map[netip.Prefix][]*entry)
	}
	bits := e.prefix.Bits()
	key := bits
	if e.prefix.Addr().Is6() {
		key = -1 - bits // keep IPv4 and IPv6 lengths apart
	}
	m := x.byLen[key]
	if m == nil {
		m = make(map[netip.Prefix][]*entry)
		x.byLen[key] = m
		if e.prefix.Addr().Is4() {
			x.lens4 = insertDesc(x.lens4, bits)
		} else {
			x.lens6 = insertDesc(x.lens6, bits)
		}
	}
	m[e.prefix] = append(m[e.prefix], e)
}

func insertDesc(s []int, v int) []int {
	i := 0
	for i < len(s) && s[i] > v {
		i++
	}
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// match returns the most specific entry whose prefix contains a and whose ports contain port.
func (x *prefixIndex) match(a netip.Addr, port uint16) *entry {
	lens, sign := x.lens4, 1
	if a.Is6() {
		lens, sign = x.lens6, -1
	}
	for _, bits := range lens {
		key := bits
		if sign < 0 {
			key = -1 - bits
		}
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		for _, e := range x.byLen[key][p] {
			if e.ports.contains(port) {
				return e
			}
		}
	}
	return nil
}

// index holds every entry of a policy in lookup structures.
type index struct {
	names    nameNode
	prefixes [2]prefixIndex
	any      [2][]*entry // "*", ":ports", "*:ports" (deny lists only)
}

func (x *index) add(e *entry) {
	switch e.kind {
	case kindAny:
		x.any[e.list] = append(x.any[e.list], e)
	case kindPrefix:
		x.prefixes[e.list].add(e)
	default:
		n := &x.names
		name := e.name
		for name != "" {
			i := strings.LastIndexByte(name, '.')
			n = n.child(name[i+1:])
			if i < 0 {
				break
			}
			name = name[:i]
		}
		switch e.kind {
		case kindExact:
			n.exact[e.list] = append(n.exact[e.list], e)
		case kindDomain:
			n.domain[e.list] = append(n.domain[e.list], e)
		case kindSub:
			n.sub[e.list] = append(n.sub[e.list], e)
		}
	}
}

// matchName returns an entry of list that covers name on port, preferring the most specific:
// an exact entry, then the deepest domain or subdomain entry.
func (x *index) matchName(list List, name string, port uint16) *entry {
	var best *entry
	n := &x.names
	rest := name
	for {
		i := strings.LastIndexByte(rest, '.')
		c := n.children[rest[i+1:]]
		if c == nil {
			return best
		}
		n = c
		if i < 0 {
			// n is the node of the whole name.
			if e := firstPort(n.exact[list], port); e != nil {
				return e
			}
			if e := firstPort(n.domain[list], port); e != nil {
				return e
			}
			return best
		}
		rest = rest[:i]
		// The name lies strictly below n.
		if e := firstPort(n.domain[list], port); e != nil {
			best = e
		}
		if e := firstPort(n.sub[list], port); e != nil {
			best = e
		}
	}
}

func firstPort(es []*entry, port uint16) *entry {
	for _, e := range es {
		if e.ports.contains(port) {
			return e
		}
	}
	return nil
}

func (x *index) matchAny(list List, port uint16) *entry {
	return firstPort(x.any[list], port)
}
