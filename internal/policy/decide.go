package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/netguard"
)

// Policy is a compiled Spec. It is immutable and safe for concurrent use.
type Policy struct {
	spec   Spec
	idx    index
	grants []grant // destinations a user allowed at run time (WithGrant)
}

// denyAll is the empty policy, which a nil *Policy behaves as.
var denyAll = &Policy{}

// Compile checks and compiles spec. Every bad entry is reported as an *EntryError (joined with
// errors.Join when there are several), so a loader can point at each one.
func Compile(spec Spec) (*Policy, error) {
	p := &Policy{spec: spec}
	var errs []error
	for li, list := range [][]string{spec.Allow, spec.Deny} {
		for i, raw := range list {
			e, err := parseEntry(raw, List(li))
			if err != nil {
				var ee *EntryError
				if errors.As(err, &ee) {
					ee.Index = i
				}
				errs = append(errs, err)
				continue
			}
			p.idx.add(e)
		}
	}
	if err := validateLimits(spec.Limits); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func validateLimits(l Limits) error {
	switch {
	case l.MaxRequestSize < 0:
		return errors.New("max_request_size is negative")
	case l.MaxResponseSize < 0:
		return errors.New("max_response_size is negative")
	case l.Timeout < 0:
		return errors.New("timeout is negative")
	case l.MaxConnections < 0:
		return errors.New("max_connections is negative")
	}
	return nil
}

// Spec returns the policy as it was written. A nil policy is the empty Spec.
func (p *Policy) Spec() Spec {
	if p == nil {
		return Spec{}
	}
	return p.spec
}

// Limits returns the policy's limits.
func (p *Policy) Limits() Limits { return p.Spec().Limits }

// Decide is the first stage: the verdict on a destination by its name or IP literal and port,
// before any resolution. A deny is final: a denied name must not be resolved. An allow is
// provisional: pass the addresses the name resolved to — or, for an IP literal, the address
// itself — to DecideAddrs, which applies the address rules. (For an IP literal Decide already
// applies every address rule except the machine's own addresses, which only the caller knows.)
func (p *Policy) Decide(h host.Host, port uint16) Decision {
	d := p.decide(h, port)
	d.from, d.host, d.port = p, h, port
	return d
}

func (p *Policy) decide(h host.Host, port uint16) Decision {
	if p == nil {
		p = denyAll
	}
	if port == 0 {
		return Decision{Reason: ReasonInvalidPort, Rule: "port", Detail: "port 0 is not a destination"}
	}
	if e := p.idx.matchAny(DenyList, port); e != nil {
		return deniedBy(e, netip.Addr{})
	}
	if h.IsIP() {
		d := p.decideLiteral(h.Addr.Unmap().WithZone(""), port)
		if !d.Allow && d.Reason != ReasonNoMatchingAllow {
			return d
		}
		// The address rules go first even when no entry matches: a denied metadata or
		// loopback address is reported as such, never with advice to allow it.
		return p.decideAddr(h, port, h.Addr, netguard.Local{}, d)
	}
	if h.Name == "" {
		return Decision{Reason: ReasonInvalidTarget, Rule: "host", Detail: "empty host"}
	}
	if e := p.idx.matchName(DenyList, h.Name, port); e != nil {
		return deniedBy(e, netip.Addr{})
	}
	var d Decision
	e := p.idx.matchName(AllowList, h.Name, port)
	granted := p.granted(h, port)
	if e != nil {
		d = Decision{Allow: true, Reason: ReasonAllowedByEntry, Rule: e.raw}
	} else if granted {
		d = grantDecision(netip.Addr{})
	} else if p.spec.AllowPublicInternet {
		d = Decision{Allow: true, Reason: ReasonPublicInternet, Rule: "allow_public_internet"}
	} else {
		d = p.noMatch(h, port) // the name rules below still speak first
	}
	v := netguard.ClassifyName(h.Name)
	switch v.Reason {
	case netguard.Global:
		return d
	case netguard.SpecialName:
		if d.Reason == ReasonAllowedByEntry {
			return d // an explicit entry may name a special-use name (tests, .onion via a gateway)
		}
	case netguard.Loopback:
		// localhost is never resolved, so an entry naming it exactly is as explicit a grant
		// as "127.0.0.1"; DecideAddrs honours it for the loopback addresses.
		if p.spec.AllowLocalhost || (e != nil && e.kind == kindExact) {
			return d
		}
	case netguard.Private:
		if p.spec.AllowPrivateIPs || granted {
			return d
		}
	}
	return Decision{
		Reason: Reason(v.Reason.String()),
		Rule:   "name:" + v.Reason.String(),
		Detail: nameDetail(h.Name, v.Reason),
	}
}

// decideLiteral judges an IP literal target against the deny and allow entries.
func (p *Policy) decideLiteral(a netip.Addr, port uint16) Decision {
	if e := p.idx.prefixes[DenyList].match(a, port); e != nil {
		return deniedBy(e, a)
	}
	if e := p.idx.prefixes[AllowList].match(a, port); e != nil {
		return Decision{Allow: true, Reason: ReasonAllowedByEntry, Rule: e.raw, Addr: a}
	}
	if p.granted(host.Host{Addr: a}, port) {
		return grantDecision(a)
	}
	if p.spec.AllowPublicInternet {
		return Decision{Allow: true, Reason: ReasonPublicInternet, Rule: "allow_public_internet", Addr: a}
	}
	return p.noMatch(host.Host{Addr: a}, port)
}

// DecideAddrs is the second stage, for a destination that Decide allowed: every address the
// name resolved to (or the IP literal itself) is judged by the deny entries and the address
// rules, with the policy's opt-ins and explicit IP grants. If any one address is denied, the
// destination is denied: a mixed answer is a DNS-rebinding signature.
func (p *Policy) DecideAddrs(h host.Host, port uint16, addrs []netip.Addr, own netguard.Local) Decision {
	return p.DecideResolved(p.Decide(h, port), addrs, own)
}

// DecideResolved is DecideAddrs for a caller that already holds the stage-1 decision d, so the
// name is not judged twice on the connection path. d must be what p.Decide returned; any other
// decision (another policy's, another destination's, one built by hand) is decided again by
// name first, so DecideResolved can never allow more than Decide would.
func (p *Policy) DecideResolved(d Decision, addrs []netip.Addr, own netguard.Local) Decision {
	h, port := d.host, d.port
	if d.from != p || p == nil {
		d = p.Decide(h, port) // not p's decision: judge the name again (a nil policy denies)
	}
	if !d.Allow {
		return d
	}
	if len(addrs) == 0 {
		return p.made(Decision{Reason: ReasonUnresolvable, Rule: "resolve", Detail: h.String() + " has no addresses"}, h, port)
	}
	// Decide let a loopback name through only with allow_localhost or an exact entry naming it.
	loopbackName := !h.IsIP() && netguard.ClassifyName(h.Name).Reason == netguard.Loopback
	denied := 0
	var first Decision
	for _, a := range addrs {
		ad := p.decideAddr(h, port, a, own, d)
		if !ad.Allow && loopbackName && ad.Reason == Reason(netguard.Loopback.String()) {
			ad = d
		}
		if !ad.Allow {
			if denied == 0 {
				first = ad
			}
			denied++
		}
	}
	if denied == 0 {
		if h.IsIP() {
			d.Addr = h.Addr
		}
		return d
	}
	if denied < len(addrs) {
		first.Detail += fmt.Sprintf("; %d of the %d addresses of %s are not allowed, and a mixed answer is a DNS-rebinding signature", denied, len(addrs), h)
	}
	return p.made(first, h, port)
}

// made records that p decided d for h:port (Decision.Approvable reads it).
func (p *Policy) made(d Decision, h host.Host, port uint16) Decision {
	d.from, d.host, d.port = p, h, port
	return d
}

// decideAddr judges one address that allowed (the stage-1 decision) would otherwise let through.
func (p *Policy) decideAddr(h host.Host, port uint16, raw netip.Addr, own netguard.Local, allowed Decision) Decision {
	a := raw.Unmap().WithZone("")
	if e := p.idx.prefixes[DenyList].match(a, port); e != nil {
		return deniedBy(e, a)
	}
	v := netguard.Classify(a, own)
	if v.IsGlobal() {
		return allowed
	}
	literal := h.IsIP()
	if e := p.idx.prefixes[AllowList].match(a, port); e != nil {
		// An explicit IP or CIDR allow entry grants its range, except that a metadata
		// address is granted only to an IP-literal target by an entry naming exactly it.
		if v.Reason != netguard.Metadata || (literal && e.single()) {
			return Decision{Allow: true, Reason: ReasonAllowedByEntry, Rule: e.raw, Addr: a}
		}
	}
	switch v.Reason {
	case netguard.Private, netguard.SharedCGNAT:
		if p.spec.AllowPrivateIPs || p.granted(h, port) {
			return allowed
		}
	case netguard.Loopback, netguard.OwnAddress:
		if p.spec.AllowLocalhost {
			return allowed
		}
	}
	return Decision{
		Reason: Reason(v.Reason.String()),
		Rule:   "address:" + v.Reason.String(),
		Addr:   a,
		Detail: addrDetail(h, a, v, literal),
	}
}

func deniedBy(e *entry, a netip.Addr) Decision {
	return Decision{Reason: ReasonDeniedByEntry, Rule: "deny " + e.raw, Addr: a,
		Detail: "the deny entry \"" + e.raw + "\" matches, and deny wins over allow"}
}

func (p *Policy) noMatch(h host.Host, port uint16) Decision {
	d := Decision{Reason: ReasonNoMatchingAllow, Rule: "default"}
	if len(p.spec.Allow) == 0 && !p.spec.AllowPublicInternet {
		d.Detail = "the policy allows nothing"
	} else {
		d.Detail = "no allow entry matches " + HostPort(h, port)
	}
	d.Detail += "; to grant it, add the allow entry \"" + HostPort(h, port) + "\""
	return d
}

// HostPort writes h and port as a destination: "example.com:443", "[2001:db8::1]:443".
func HostPort(h host.Host, port uint16) string {
	ps := strconv.Itoa(int(port))
	if h.IsIP() && h.Addr.Is6() {
		return "[" + h.Addr.String() + "]:" + ps
	}
	return h.String() + ":" + ps
}

// What each address reason means, in a user's words.
var reasonText = map[netguard.Reason]string{
	netguard.Unspecified:    `an unspecified ("this network") address`,
	netguard.Loopback:       "a loopback address",
	netguard.Private:        "a private-network address",
	netguard.SharedCGNAT:    "a carrier-grade NAT (shared) address",
	netguard.LinkLocal:      "a link-local address",
	netguard.Metadata:       "a cloud metadata address",
	netguard.Multicast:      "a multicast address",
	netguard.Broadcast:      "the broadcast address",
	netguard.Documentation:  "a documentation address",
	netguard.Benchmarking:   "a benchmarking address",
	netguard.Reserved:       "a reserved address",
	netguard.SpecialPurpose: "a special-purpose address that is not globally reachable",
	netguard.OwnAddress:     "one of this machine's own addresses",
}

func grantHint(r netguard.Reason) string {
	switch r {
	case netguard.Private, netguard.SharedCGNAT:
		return "set allow_private_ips to reach private addresses, or allow this address explicitly"
	case netguard.Loopback, netguard.OwnAddress:
		return "set allow_localhost to reach this machine"
	case netguard.Metadata:
		return "airlock never allows it through a name; only an allow entry naming exactly this address grants it"
	}
	return "only an allow entry naming this address or its range grants it"
}

func addrDetail(h host.Host, a netip.Addr, v netguard.Verdict, literal bool) string {
	what := reasonText[v.Reason]
	if what == "" {
		what = "not a public address"
	}
	s := a.String() + " is " + what
	if !literal {
		s = h.Name + " resolves to " + a.String() + ", " + what
	}
	if v.Block.IsValid() {
		s += " (" + v.Block.String()
		if v.BlockName != "" {
			s += ", " + v.BlockName
		}
		s += ")"
	}
	if v.Embedded.IsValid() {
		s += "; it embeds the IPv4 address " + v.Embedded.String()
	}
	return s + "; " + grantHint(v.Reason)
}

func nameDetail(name string, r netguard.Reason) string {
	switch r {
	case netguard.Loopback:
		return name + " is a loopback name; set allow_localhost to reach this machine"
	case netguard.Private:
		return name + " is a local-network name; set allow_private_ips to reach the local network"
	case netguard.Metadata:
		return name + " is a cloud metadata name; airlock never allows it through a name"
	case netguard.SpecialName:
		return name + " is a special-use name that is never resolved; only an allow entry naming it grants it"
	}
	return name + " is not a public name"
}

// Message is the decision in one sentence for a user: what happened to dest ("host:port"), why,
// and what would change it.
func (d Decision) Message(dest string) string {
	verb := "blocked"
	if d.Allow {
		verb = "allowed"
	}
	s := verb + " " + dest + " (" + string(d.Reason)
	if d.Rule != "" {
		s += ", rule: " + d.Rule
	}
	s += ")"
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}
