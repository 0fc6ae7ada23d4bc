package egress

import (
	"context"
	"net"
	"net/netip"
	"strings"
)

// Resolver looks up the addresses of a host name. *net.Resolver satisfies it.
//
// Guard calls it at most once per Check, with network "ip" (A and AAAA) and the canonical name
// made fully qualified with a trailing dot ("api.github.com."), so a system resolver never
// appends search domains and answers for a name other than the one the policy judged.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// StaticResolver answers from a fixed table, like curl's --resolve: keys are canonical names as
// package host returns them (lower case, punycode, no trailing dot). A name that is not in the
// table fails with a "not pinned and offline" *net.DNSError, so StaticResolver on its own is an
// offline resolver. A nil StaticResolver is empty.
type StaticResolver map[string][]netip.Addr

// LookupNetIP returns a copy of the addresses pinned for host (with or without a trailing dot),
// keeping only IPv4 for network "ip4" and only IPv6 for "ip6".
func (s StaticResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	addrs, ok := s[pinKey(host)]
	if !ok {
		return nil, &net.DNSError{Err: "not pinned and offline", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		switch {
		case network == "ip4" && !a.Unmap().Is4(), network == "ip6" && a.Unmap().Is4():
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no " + network + " address pinned", Name: host, IsNotFound: true}
	}
	return out, nil
}

func pinKey(host string) string {
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// Chain returns a Resolver that answers pinned names from pins and asks next for the others.
// With next nil it is offline: an unpinned name fails with a "not pinned and offline" error and
// nothing is sent to DNS. A pinned name is never sent to next, even if its pin has no address
// of the requested family.
func Chain(pins StaticResolver, next Resolver) Resolver {
	if next == nil {
		return pins
	}
	return chain{pins: pins, next: next}
}

type chain struct {
	pins StaticResolver
	next Resolver
}

func (c chain) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if _, ok := c.pins[pinKey(host)]; ok {
		return c.pins.LookupNetIP(ctx, network, host)
	}
	return c.next.LookupNetIP(ctx, network, host)
}
