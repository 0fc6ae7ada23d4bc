package netguard

import "net/netip"

// The multicast ranges, which are in no special-purpose registry (RFC 5771, RFC 4291).
var (
	multicast4Verdict = Verdict{Reason: Multicast, Block: netip.MustParsePrefix("224.0.0.0/4"), BlockName: "Multicast"}
	multicast6Verdict = Verdict{Reason: Multicast, Block: netip.MustParsePrefix("ff00::/8"), BlockName: "Multicast"}
)

// IPv6 global unicast space (RFC 4291); what is outside it and in no other rule is Reserved.
var globalUni6 = netip.MustParsePrefix("2000::/3")

// The IPv6 forms that embed an IPv4 address.
var (
	compat6    = netip.MustParsePrefix("::/96")          // IPv4-compatible, deprecated (RFC 4291 2.5.5.1)
	nat64      = netip.MustParsePrefix("64:ff9b::/96")   // NAT64 well-known prefix (RFC 6052)
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48") // NAT64 local-use prefix (RFC 8215)
	teredo     = netip.MustParsePrefix("2001::/32")      // Teredo (RFC 4380)
	sixToFour  = netip.MustParsePrefix("2002::/16")      // 6to4 (RFC 3056)
)

// metadataAddr is a cloud metadata endpoint address and the clouds that serve it.
type metadataAddr struct {
	addr netip.Addr
	name string // BlockName: "cloud metadata (the clouds)"
}

// Cloud instance-metadata, credential and platform endpoints. Most are link-local or
// unique-local and would be denied anyway; naming them gives Metadata, which no private-address
// opt-in grants, and catches the ones in public or special-purpose space.
var (
	metadata4 = []metadataAddr{
		{netip.MustParseAddr("169.254.169.254"), "cloud metadata (AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean, Hetzner, Linode, Vultr, IBM Cloud, Huawei Cloud, ...)"},
		{netip.MustParseAddr("169.254.170.2"), "cloud metadata (AWS ECS task metadata and credentials)"},
		{netip.MustParseAddr("169.254.170.23"), "cloud metadata (AWS EKS Pod Identity agent)"},
		{netip.MustParseAddr("169.254.0.23"), "cloud metadata (Tencent Cloud)"},
		{netip.MustParseAddr("169.254.42.42"), "cloud metadata (Scaleway)"},
		{netip.MustParseAddr("100.100.100.200"), "cloud metadata (Alibaba Cloud)"},    // in 100.64.0.0/10
		{netip.MustParseAddr("168.63.129.16"), "cloud metadata (Azure WireServer)"},   // a public address
		{netip.MustParseAddr("192.0.0.192"), "cloud metadata (Oracle Cloud Classic)"}, // in 192.0.0.0/24
	}
	metadata6 = []metadataAddr{
		{netip.MustParseAddr("fd00:ec2::254"), "cloud metadata (AWS IMDS, IPv6)"},
		{netip.MustParseAddr("fd00:ec2::23"), "cloud metadata (AWS EKS Pod Identity agent, IPv6)"},
		{netip.MustParseAddr("fd20:ce::254"), "cloud metadata (GCP, IPv6)"},
		{netip.MustParseAddr("fd00:c1::a9fe:a9fe"), "cloud metadata (Oracle Cloud, IPv6)"},
		{netip.MustParseAddr("fd00:a9fe:a9fe::1"), "cloud metadata (Akamai / Linode, IPv6)"},
		{netip.MustParseAddr("fd00:42::42"), "cloud metadata (Scaleway, IPv6)"},
		{netip.MustParseAddr("fd00:100::100:200"), "cloud metadata (Alibaba Cloud, IPv6)"},
		{netip.MustParseAddr("fe80::a9fe:a9fe"), "cloud metadata (OpenStack, IPv6)"}, // link-local; zones are ignored
	}
)

// classify4 judges an IPv4 address by its most specific rule block (registry row, metadata
// address or multicast), then own.
func classify4(a netip.Addr, own Local) Verdict {
	v := rules4.lookup(a)
	if v != nil && v.Reason != Global {
		return *v
	}
	return global(a, v, own)
}

// classify6 judges an IPv6 address that is not IPv4-mapped and has no zone: the forms that
// embed an IPv4 address, then the most specific rule block (registry row, metadata address or
// multicast), space outside 2000::/3, and own.
func classify6(a netip.Addr, own Local) Verdict {
	if first := a.As16()[0]; first == 0x00 || first == 0x20 { // where every embedding form is
		if v, ok := embedded(a, own); ok {
			if v.Reason == Global && own.Contains(a) {
				return embed(ownVerdict(a), v.Embedded)
			}
			return v
		}
	}
	v := rules6.lookup(a)
	switch {
	case v != nil && v.Reason != Global:
		return *v
	case !globalUni6.Contains(a):
		return Verdict{Reason: Reserved, Block: globalUni6, BlockName: "outside global unicast 2000::/3"}
	}
	return global(a, v, own)
}

// embedded judges the IPv6 forms that carry an IPv4 address by that address. It reports false
// when a is none of them.
func embedded(a netip.Addr, own Local) (Verdict, bool) {
	b := a.As16()
	switch {
	case compat6.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		// IPv4-compatible ::a.b.c.d is deprecated: Reserved even when the IPv4 address is global.
		v4 := netip.AddrFrom4([4]byte(b[12:]))
		v := classify4(v4, own)
		if v.Reason == Global {
			v = Verdict{Reason: Reserved, Block: compat6, BlockName: "IPv4-compatible (deprecated)"}
		}
		return embed(v, v4), true
	case nat64.Contains(a):
		// NAT64 well-known prefix (RFC 6052): the IPv4 address is the last 32 bits.
		v4 := netip.AddrFrom4([4]byte(b[12:]))
		return embed(classify4(v4, own), v4), true
	case nat64Local.Contains(a):
		// Local-use NAT64 prefix (RFC 8215), /48 layout of RFC 6052: IPv4 octets in bytes 6-7
		// and 9-10 around the u-octet. Not globally reachable even for a global IPv4 address.
		v4 := netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]})
		v := classify4(v4, own)
		if v.Reason == Global {
			v = Verdict{Reason: SpecialPurpose, Block: nat64Local, BlockName: "IPv4-IPv6 Translat."}
		}
		return embed(v, v4), true
	case sixToFour.Contains(a):
		// 6to4 (RFC 3056): the IPv4 address is bits 16-47.
		v4 := netip.AddrFrom4([4]byte(b[2:6]))
		return embed(classify4(v4, own), v4), true
	case teredo.Contains(a):
		// Teredo (RFC 4380): the server is bits 32-63, the client the last 32 bits inverted.
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		v := classify4(client, own)
		if v.Reason == Global {
			server := netip.AddrFrom4([4]byte(b[4:8]))
			if sv := classify4(server, own); sv.Reason != Global {
				return embed(sv, server), true
			}
		}
		return embed(v, client), true
	}
	return Verdict{}, false
}

// global is the verdict on an address that no rule denies: OwnAddress if it is in own, else
// Global, with the verdict of the globally reachable block that holds it, if any.
func global(a netip.Addr, block *Verdict, own Local) Verdict {
	if own.Contains(a) {
		return ownVerdict(a)
	}
	if block == nil {
		return Verdict{}
	}
	return *block
}

func ownVerdict(a netip.Addr) Verdict {
	return Verdict{Reason: OwnAddress, Block: netip.PrefixFrom(a, a.BitLen()), BlockName: "own interface address"}
}

// embed records v4 as the embedded address that decided v.
func embed(v Verdict, v4 netip.Addr) Verdict {
	v.Embedded = v4
	return v
}
