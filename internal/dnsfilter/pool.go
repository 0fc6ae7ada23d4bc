package dnsfilter

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"sync"
)

// DefaultMaxNames is how many names a Server remembers when Options.MaxNames is zero.
const DefaultMaxNames = 65536

// pool hands out fake addresses: the name in slot i (0-based) owns offset i+1 of Pool4 and, when
// there is an IPv6 pool, offset i+1 of Pool6. Offset 0 (the network address) and the last
// offset (IPv4's broadcast address) are never used. When every slot is taken, the least recently
// used name loses its slot to the new one.
type pool struct {
	v4, v6 netip.Prefix // v6 is the zero Prefix when AAAA queries get NODATA

	mu     sync.Mutex
	byName map[string]int32
	slots  []slot // grows up to max; never shrinks
	max    int
	head   int32 // most recently used slot, -1 when empty
	tail   int32 // least recently used slot, -1 when empty
}

// slot is one name's place in the pool and in the recency list.
type slot struct {
	name       string
	prev, next int32 // towards head and towards tail; -1 at the ends
}

// newPool checks the prefixes and sizes the pool: at most maxNames slots, and no more than the
// smaller pool has usable addresses.
func newPool(v4, v6 netip.Prefix, maxNames int) (*pool, error) {
	if !v4.IsValid() || !v4.Addr().Is4() {
		return nil, fmt.Errorf("dnsfilter: Pool4 %v is not an IPv4 prefix", v4)
	}
	v4 = v4.Masked()
	n := usable(v4)
	if v6.IsValid() {
		if !v6.Addr().Is6() || v6.Addr().Is4In6() {
			return nil, fmt.Errorf("dnsfilter: Pool6 %v is not an IPv6 prefix", v6)
		}
		v6 = v6.Masked()
		n = min(n, usable(v6))
	}
	if maxNames <= 0 {
		maxNames = DefaultMaxNames
	}
	n = min(n, maxNames)
	if n < 1 {
		return nil, fmt.Errorf("dnsfilter: fake address pools %v %v hold no usable address (a pool needs at least 3 addresses: network, one name, broadcast)", v4, v6)
	}
	return &pool{v4: v4, v6: v6, byName: make(map[string]int32), max: n, head: -1, tail: -1}, nil
}

// usable is the number of addresses in p other than the first and the last, capped at 1<<30.
func usable(p netip.Prefix) int {
	host := p.Addr().BitLen() - p.Bits()
	if host >= 30 {
		return 1 << 30
	}
	return 1<<host - 2
}

// addr returns the fake address of name, assigning one if it has none, in the family asked for
// (v6 false: IPv4). ok is false only when v6 is asked for and there is no IPv6 pool.
func (p *pool) addr(name string, v6 bool) (netip.Addr, bool) {
	if v6 && !p.v6.IsValid() {
		return netip.Addr{}, false
	}
	p.mu.Lock()
	i, found := p.byName[name]
	if found {
		p.touch(i)
	} else {
		i = p.assign(name)
	}
	p.mu.Unlock()
	if v6 {
		return offset(p.v6.Addr(), uint32(i)+1), true
	}
	return offset(p.v4.Addr(), uint32(i)+1), true
}

// assign gives name a slot: a new one while the pool has room, else the least recently used.
// p.mu is held.
func (p *pool) assign(name string) int32 {
	var i int32
	if len(p.slots) < p.max {
		i = int32(len(p.slots))
		p.slots = append(p.slots, slot{name: name, prev: -1, next: -1})
	} else {
		i = p.tail
		p.unlink(i)
		delete(p.byName, p.slots[i].name)
		p.slots[i].name = name
	}
	p.byName[name] = i
	p.pushFront(i)
	return i
}

// name returns the name that owns fake address a (IPv4-mapped IPv6 counts as IPv4). refresh
// marks it recently used.
func (p *pool) name(a netip.Addr, refresh bool) (string, bool) {
	a = a.WithZone("")
	var off uint64
	switch {
	case a.Unmap().Is4() && p.v4.Contains(a.Unmap()):
		off = diff(p.v4.Addr(), a.Unmap())
	case a.Is6() && !a.Is4In6() && p.v6.IsValid() && p.v6.Contains(a):
		off = diff(p.v6.Addr(), a)
	default:
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if off == 0 || off > uint64(len(p.slots)) {
		return "", false
	}
	i := int32(off - 1)
	if refresh {
		p.touch(i)
	}
	return p.slots[i].name, true
}

// touch moves slot i to the front of the recency list. p.mu is held.
func (p *pool) touch(i int32) {
	if p.head == i {
		return
	}
	p.unlink(i)
	p.pushFront(i)
}

func (p *pool) unlink(i int32) {
	s := &p.slots[i]
	if s.prev >= 0 {
		p.slots[s.prev].next = s.next
	} else {
		p.head = s.next
	}
	if s.next >= 0 {
		p.slots[s.next].prev = s.prev
	} else {
		p.tail = s.prev
	}
	s.prev, s.next = -1, -1
}

func (p *pool) pushFront(i int32) {
	s := &p.slots[i]
	s.prev, s.next = -1, p.head
	if p.head >= 0 {
		p.slots[p.head].prev = i
	}
	p.head = i
	if p.tail < 0 {
		p.tail = i
	}
}

// offset returns base + n.
func offset(base netip.Addr, n uint32) netip.Addr {
	b := base.As16()
	carry := uint64(n)
	for k := 15; k >= 0 && carry > 0; k-- {
		sum := uint64(b[k]) + carry&0xff
		b[k] = byte(sum)
		carry = carry>>8 + sum>>8
	}
	if base.Is4() {
		return netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrFrom16(b)
}

// diff returns a - base for an address a at or above base, or 1<<63 when the difference does
// not fit in 63 bits (an IPv6 address far beyond any slot).
func diff(base, a netip.Addr) uint64 {
	x, y := base.As16(), a.As16()
	xh, xl := binary.BigEndian.Uint64(x[:8]), binary.BigEndian.Uint64(x[8:])
	yh, yl := binary.BigEndian.Uint64(y[:8]), binary.BigEndian.Uint64(y[8:])
	lo, borrow := bits.Sub64(yl, xl, 0)
	hi, _ := bits.Sub64(yh, xh, borrow)
	if hi != 0 || lo >= 1<<63 {
		return 1 << 63
	}
	return lo
}
