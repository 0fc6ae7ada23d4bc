package dnsfilter

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/policy"
)

// maxProbePorts bounds how many ports decide asks the policy about for one name.
const maxProbePorts = 16

// probeSet is the ports decide asks p about, computed once per policy.
type probeSet struct {
	p     *policy.Policy
	ports []uint16
}

// probePorts returns the ports on which a name counts as allowed: 443 and 80 (the ports of an
// entry without a port), then the lowest port of each port, list item or range written in p's
// allow entries, in order, at most maxProbePorts in all. ":*" adds nothing: 443 is in it.
// Entries for IP addresses and CIDR blocks are skipped; they never allow a name.
//
// This stands in for asking the policy "is this name allowed on any port" directly, which
// policy does not offer: a name that only a deny entry's port gap would let through (allow
// ".example.com:*", deny "example.com", so only ports other than 80 and 443 remain) gets
// NXDOMAIN.
func probePorts(p *policy.Policy) []uint16 {
	ports := []uint16{443, 80}
	seen := map[uint16]bool{443: true, 80: true}
	for _, e := range p.Spec().Allow {
		if strings.HasPrefix(e, "[") || strings.Count(e, ":") != 1 || strings.Contains(e, "/") {
			continue // an IPv6 literal or prefix, a CIDR block, or no port at all
		}
		hostPart, portPart, _ := strings.Cut(e, ":")
		if h, err := host.Parse(strings.TrimPrefix(strings.TrimPrefix(hostPart, "*"), ".")); err == nil && h.IsIP() {
			continue
		}
		for _, item := range strings.Split(portPart, ",") {
			lo, _, _ := strings.Cut(item, "-")
			n, err := strconv.ParseUint(lo, 10, 16)
			if err != nil || n == 0 || seen[uint16(n)] {
				continue
			}
			if len(ports) == maxProbePorts {
				return ports
			}
			seen[uint16(n)] = true
			ports = append(ports, uint16(n))
		}
	}
	return ports
}

// isReverseName reports whether a canonical name is in the reverse-mapping trees
// (in-addr.arpa, ip6.arpa), including their apexes.
func isReverseName(name string) bool {
	return underDomain(name, "in-addr.arpa") || underDomain(name, "ip6.arpa")
}

func underDomain(name, domain string) bool {
	return strings.HasSuffix(name, domain) &&
		(len(name) == len(domain) || name[len(name)-len(domain)-1] == '.')
}

// reverseAddr parses a complete reverse-mapping name: "4.3.2.1.in-addr.arpa" is 1.2.3.4,
// 32 single hex-digit labels followed by "ip6.arpa" are an IPv6 address. Names for a network
// ("2.1.in-addr.arpa"), leading zeros and anything else are not an address.
func reverseAddr(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		var b [4]byte
		for i := 3; i >= 0; i-- {
			label := rest
			if i > 0 {
				var found bool
				label, rest, found = strings.Cut(rest, ".")
				if !found {
					return netip.Addr{}, false
				}
			}
			if label == "" || len(label) > 3 || len(label) > 1 && label[0] == '0' {
				return netip.Addr{}, false
			}
			n, err := strconv.ParseUint(label, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			b[i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		if len(rest) != 63 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i := 0; i < 32; i++ {
			c := rest[2*i]
			if i < 31 && rest[2*i+1] != '.' {
				return netip.Addr{}, false
			}
			var v byte
			switch {
			case '0' <= c && c <= '9':
				v = c - '0'
			case 'a' <= c && c <= 'f':
				v = c - 'a' + 10
			default:
				return netip.Addr{}, false
			}
			nib := 31 - i // the first label is the last nibble
			if nib%2 == 0 {
				b[nib/2] |= v << 4
			} else {
				b[nib/2] |= v
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
