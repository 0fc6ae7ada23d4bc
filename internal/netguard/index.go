package netguard

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// ruleIndex holds the rule blocks of one address family (registry rows, metadata addresses,
// multicast) bucketed by the first byte of the address they cover, each bucket most specific
// block first, so that the first block of a bucket holding an address is its most specific one.
type ruleIndex [256][]span

// span is a rule block as 128-bit masked prefix (an IPv4 address fills the top 32 bits of hi).
type span struct {
	hi, lo   uint64 // the prefix's address
	mhi, mlo uint64 // the prefix's mask
	bits     int
	v        *Verdict // the verdict on an address whose most specific block this is
}

var (
	rules4 = newRuleIndex(ianaV4, metadata4, multicast4Verdict)
	rules6 = newRuleIndex(ianaV6, metadata6, multicast6Verdict)
)

func newRuleIndex(table []ianaBlock, meta []metadataAddr, extra ...Verdict) *ruleIndex {
	var vs []Verdict
	for _, b := range table {
		vs = append(vs, Verdict{Reason: b.reason, Block: b.prefix, BlockName: b.name})
	}
	for _, m := range meta {
		vs = append(vs, Verdict{Reason: Metadata, Block: netip.PrefixFrom(m.addr, m.addr.BitLen()), BlockName: m.name})
	}
	vs = append(vs, extra...)

	x := new(ruleIndex)
	for i := range vs {
		p := vs[i].Block
		hi, lo := halves(p.Addr())
		mhi, mlo := mask(p.Bits())
		s := span{hi: hi, lo: lo, mhi: mhi, mlo: mlo, bits: p.Bits(), v: &vs[i]}
		for first := hi >> 56; first <= (hi|^mhi)>>56; first++ {
			x[first] = append(x[first], s)
		}
	}
	for i := range x {
		slices.SortStableFunc(x[i], func(a, b span) int { return b.bits - a.bits })
	}
	return x
}

// lookup returns the verdict of the most specific block holding a, which has no zone and is of
// the index's family, or nil when no block holds it.
func (x *ruleIndex) lookup(a netip.Addr) *Verdict {
	hi, lo := halves(a)
	for _, s := range x[hi>>56] {
		if hi&s.mhi == s.hi && lo&s.mlo == s.lo {
			return s.v
		}
	}
	return nil
}

// halves returns a as two 64-bit halves; an IPv4 address fills the top 32 bits of hi.
func halves(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint32(b[:])) << 32, 0
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// mask returns the mask of a prefix length as two 64-bit halves.
func mask(bits int) (hi, lo uint64) {
	if bits <= 64 {
		return ^uint64(0) << (64 - bits), 0
	}
	return ^uint64(0), ^uint64(0) << (128 - bits)
}
