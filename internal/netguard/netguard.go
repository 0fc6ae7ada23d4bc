// Package netguard classifies IP addresses and host names by whether they are globally reachable,
// and names the reason when they are not. It is pure: no I/O, no logging.
package netguard

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Reason names why an address or name is not an ordinary public destination.
type Reason uint8

// The reasons. Global is the zero value: an ordinary, globally reachable destination.
const (
	Global         Reason = iota // globally reachable
	Unspecified                  // 0.0.0.0/8 ("this network"), ::
	Loopback                     // 127.0.0.0/8, ::1, localhost and *.localhost names
	Private                      // RFC 1918, IPv6 unique-local fc00::/7, .local/.internal/.home.arpa/.lan names
	SharedCGNAT                  // 100.64.0.0/10 (RFC 6598)
	LinkLocal                    // 169.254.0.0/16, fe80::/10
	Metadata                     // cloud metadata addresses and names
	Multicast                    // 224.0.0.0/4, ff00::/8
	Broadcast                    // 255.255.255.255
	Documentation                // TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20
	Benchmarking                 // 198.18.0.0/15, 2001:2::/48
	Reserved                     // 240.0.0.0/4, deprecated blocks, IPv6 outside 2000::/3 not named otherwise
	SpecialPurpose               // other IANA special-purpose blocks that are not globally reachable
	OwnAddress                   // one of this machine's own interface addresses
	SpecialName                  // special-use names that must never be resolved: .invalid, .test, .example, .onion, .alt
)

var reasonNames = [...]string{
	Global:         "global",
	Unspecified:    "unspecified",
	Loopback:       "loopback",
	Private:        "private",
	SharedCGNAT:    "cgnat",
	LinkLocal:      "link_local",
	Metadata:       "metadata",
	Multicast:      "multicast",
	Broadcast:      "broadcast",
	Documentation:  "documentation",
	Benchmarking:   "benchmarking",
	Reserved:       "reserved",
	SpecialPurpose: "special_purpose",
	OwnAddress:     "own_address",
	SpecialName:    "special_name",
}

// String returns the reason's stable snake_case name ("loopback", "link_local", ...), or
// "reason(N)" for a value that is not one of the constants.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// ParseReason returns the reason whose String is s. It reports false, with Global, when s names
// no reason.
func ParseReason(s string) (Reason, bool) {
	for i, name := range reasonNames {
		if name == s {
			return Reason(i), true
		}
	}
	return Global, false
}

// MarshalText implements encoding.TextMarshaler with the reason's String.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts the names String returns.
func (r *Reason) UnmarshalText(text []byte) error {
	p, ok := ParseReason(string(text))
	if !ok {
		return fmt.Errorf("netguard: unknown address reason %q", text)
	}
	*r = p
	return nil
}

// Verdict is what the address rules say about one address or name.
type Verdict struct {
	Reason Reason
	// Block is the registry block or rule range that matched; invalid for Global verdicts of
	// addresses in no block, and for names.
	Block netip.Prefix
	// BlockName is the registry's name for Block ("Private-Use", "Link Local") or a short
	// description of the rule ("cloud metadata (AWS, GCP, Azure, ...)").
	BlockName string
	// Embedded is the IPv4 address that decided when the address is an IPv6 form embedding one
	// (mapped, compatible, NAT64, 6to4, Teredo); invalid otherwise.
	Embedded netip.Addr
}

// IsGlobal reports whether the verdict allows the destination as an ordinary public one.
func (v Verdict) IsGlobal() bool { return v.Reason == Global }

// Local is a set of this machine's own interface addresses, looked up by the caller.
// The zero value is the empty set.
type Local struct {
	m map[netip.Addr]struct{}
}

// NewLocal returns the set of addrs (IPv4-mapped addresses are unmapped; zones dropped).
func NewLocal(addrs []netip.Addr) Local {
	m := make(map[netip.Addr]struct{}, len(addrs))
	for _, a := range addrs {
		m[a.Unmap().WithZone("")] = struct{}{}
	}
	return Local{m: m}
}

// Contains reports whether a is one of the set's addresses.
func (l Local) Contains(a netip.Addr) bool {
	_, ok := l.m[a.Unmap().WithZone("")]
	return ok
}

// Classify judges one address: the most specific IANA special-purpose block that is not
// globally reachable, IPv4 multicast and reserved space, IPv6 outside 2000::/3, cloud metadata
// addresses, and the machine's own addresses in own. IPv6 forms that embed an IPv4 address
// are judged by the embedded address.
//
// In order: a cloud metadata address is Metadata; the most specific registry block decides if
// it is not globally reachable, then multicast, then (IPv6) space outside 2000::/3; an address
// no rule denies is OwnAddress when own contains it, else Global.
//
// The embedding forms (Verdict.Embedded says which IPv4 address decided): IPv4-mapped
// ::ffff:a.b.c.d and NAT64 64:ff9b::/96 get the IPv4 address's verdict, and so does 6to4
// 2002::/16; deprecated IPv4-compatible ::a.b.c.d and local-use NAT64 64:ff9b:1::/48 get it
// when it is not Global and are Reserved and SpecialPurpose otherwise; Teredo 2001::/32 gets the
// client's verdict, or the server's when only the server is not Global.
//
// Zones are ignored. The zero Addr, which is no address, is Unspecified.
func Classify(a netip.Addr, own Local) Verdict {
	a = a.WithZone("")
	switch {
	case a.Is4():
		return classify4(a, own)
	case a.Is4In6():
		v4 := a.Unmap()
		return embed(classify4(v4, own), v4)
	case a.Is6():
		return classify6(a, own)
	}
	return Verdict{Reason: Unspecified, BlockName: "invalid address"}
}

// LoopbackAddrs are the addresses a Loopback name stands for; such names are never resolved.
var LoopbackAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
