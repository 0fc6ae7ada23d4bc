package policy

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/netguard"
)

// Runtime approval: a user may allow, while a client runs, one destination the policy refused
// for lack of an allow entry or because it is on a private network. Nothing else is offered:
// deny entries, metadata, loopback, link-local and the other special-purpose classes stay
// denied whatever the user answers.
const (
	// ReasonApprovedByUser is the reason of a decision that a WithGrant grant made: the user
	// allowed this destination at run time.
	ReasonApprovedByUser Reason = "approved_by_user"
	// RuleRuntimeApproval is the rule of such a decision.
	RuleRuntimeApproval = "runtime_approval"
)

// Approvable reports whether a user may allow this denied destination at run time: true only
// for a denial because no allow entry matched (ReasonNoMatchingAllow, for a name, or for an IP
// literal that is a public address) and for a denial because the destination is on a private
// network (netguard's "private" and "cgnat" reasons, by name like nas.local or by address),
// when the policy does not itself deny it with an entry. False for allows and for everything
// else: deny entries, metadata, loopback, link-local, own addresses, documentation,
// benchmarking, multicast, reserved, unspecified, special names, invalid targets, bad ports,
// unresolvable names, unsupported schemes, a nil policy ("default").
//
// Only decisions that a (non-nil) Policy's Decide, DecideAddrs or DecideResolved returned can be
// approvable; a hand-built Decision never is. A decision records one reason: a name whose
// addresses are private and, say, metadata is reported by the first denied address, so
// Approvable is a filter, not the final word. Whoever offers the approval must check the
// destination again under WithGrant (and connect only to the addresses that check passed),
// which denies every class Approvable would have refused.
func (d Decision) Approvable() bool {
	if d.Allow || d.from == nil {
		return false // nil policy ("default"), or not a policy's decision (target, dns, scheme)
	}
	switch d.Reason {
	case ReasonNoMatchingAllow:
		// Decide applies the address rules to an IP literal before reporting that no entry
		// matched, so such a literal is public (or one of the machine's own addresses, which
		// only the caller knows and the check under WithGrant denies).
		return !d.host.IsIP() || netguard.Classify(d.host.Addr, netguard.Local{}).IsGlobal()
	case Reason(netguard.Private.String()), Reason(netguard.SharedCGNAT.String()):
		return true
	}
	return false
}

// grant is one destination a user allowed at run time (WithGrant).
type grant struct {
	name string     // canonical name; empty for an address
	addr netip.Addr // unmapped, no zone; invalid for a name
	port uint16
}

// WithGrant returns a policy that is p plus an exact allow entry for h:port and
// allow_private_ips, for checking a destination the user is being asked about. The limits and
// every other entry and switch of p are kept (deny entries still win; loopback stays denied
// unless p allows localhost; metadata, link-local and the rest stay denied).
//
// The grant is narrower than the entry and switch it stands for, so that it can never grant
// more than the user was asked: it matches h (the name, or the address; an IPv4-mapped address
// is its IPv4 address) on port only, and the private-network opt-in applies to h:port only.
// Unlike an explicit IP allow entry, a grant of an address does not grant its class: a grant of
// 127.0.0.1 or 169.254.169.254 is still denied as loopback or metadata. Unlike an exact entry
// naming it, a grant of "localhost" or of a special-use name (.test, .invalid, ...) is still
// denied. Decisions the grant makes have ReasonApprovedByUser and RuleRuntimeApproval.
//
// A nil p is the empty policy. WithGrant on a policy WithGrant returned keeps its grants and
// adds one. Spec returns p's Spec: grants are not part of the written policy. p is not
// changed. WithGrant fails for port 0 and for a host that is not canonical (build it with
// host.Parse).
func (p *Policy) WithGrant(h host.Host, port uint16) (*Policy, error) {
	if port == 0 {
		return nil, fmt.Errorf("grant %s: port 0 is not a destination", h)
	}
	g := grant{port: port}
	switch {
	case h.IsIP() && h.Name == "":
		a := h.Addr.Unmap()
		if a.Zone() != "" {
			return nil, fmt.Errorf("grant %s: an address with a zone ID is not a destination", h)
		}
		g.addr = a
	case h.Name != "" && !h.IsIP():
		c, err := host.Parse(h.Name)
		if err != nil || c != h {
			return nil, fmt.Errorf("grant %q: not a canonical host; build it with host.Parse", h.Name)
		}
		g.name = h.Name
	default:
		return nil, fmt.Errorf("grant %+v: a host is a name or an address, not both or neither", h)
	}
	if p == nil {
		p = denyAll
	}
	np := &Policy{spec: p.spec, idx: p.idx, grants: append(slices.Clip(p.grants), g)}
	return np, nil
}

// granted reports whether a WithGrant grant covers h on port.
func (p *Policy) granted(h host.Host, port uint16) bool {
	for _, g := range p.grants {
		if g.port != port {
			continue
		}
		if h.IsIP() {
			if g.addr.IsValid() && g.addr == h.Addr.Unmap().WithZone("") {
				return true
			}
		} else if g.name != "" && g.name == h.Name {
			return true
		}
	}
	return false
}

// grantDecision is the stage-1 allow of a destination that a grant covers.
func grantDecision(a netip.Addr) Decision {
	return Decision{Allow: true, Reason: ReasonApprovedByUser, Rule: RuleRuntimeApproval, Addr: a,
		Detail: "the user allowed this destination at run time"}
}
