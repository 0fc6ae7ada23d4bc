package egress

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
)

// ApprovalRequest is a refused destination that the user may allow (see Guard.Consult).
type ApprovalRequest struct {
	Server, Binding string // the Guard's
	// Host is the canonical host (name or IP literal).
	Host string
	Port uint16
	// Addrs are the addresses the connection would go to, each checked: the ones of the
	// dialled network's family (tcp4, tcp6) that passed the check under the policy plus the
	// grant. The slice is the request's own; changing it changes nothing.
	Addrs []netip.Addr
	// Denied is why the policy refused it (Rule, Reason, Detail, Addr).
	Denied policy.Decision
	// Private reports that some address (or the name) is on a private network (RFC 1918,
	// unique-local, CGNAT, a local-network name such as nas.local).
	Private bool
}

// approvedByUser is the decision audited for a connection the user allowed at run time.
var approvedByUser = policy.Decision{Allow: true, Reason: policy.ReasonApprovedByUser, Rule: policy.RuleRuntimeApproval}

// dialConsulted is DialContext for a denial d (under policy p) that the user may override:
// it checks the destination again under p plus a grant of exactly its host and port, asks
// Consult about a destination that passes, and on approval connects only to the addresses that
// check passed. It emits exactly one audit event: "egress_allowed" with rule runtime_approval
// when the user approved, the denial otherwise.
//
// The denial reported is d, unless the check under the grant found a reason the user could not
// override (the name resolves to a metadata or loopback address, a deny entry matches an
// address): that decision is reported instead, since it says more.
func (g *Guard) dialConsulted(ctx context.Context, p *policy.Policy, network, address string, d policy.Decision, r Result, raw string, timeout time.Duration) (net.Conn, error) {
	gd, gr, err := g.grantCheck(ctx, p, r, timeout)
	if err != nil || !gd.Allow {
		if err == nil && worse(gd) {
			d, r = gd, gr
		}
		g.audit(d, r, raw)
		return nil, blocked(d, r, raw)
	}
	addrs := ofFamily(network, gr.Addrs)
	if len(addrs) == 0 {
		// Nothing the connection could go to: not worth asking about.
		g.audit(d, r, raw)
		return nil, blocked(d, r, raw)
	}
	req := ApprovalRequest{
		Server:  g.Server,
		Binding: g.Binding,
		Host:    r.Host.String(),
		Port:    r.Port,
		Addrs:   slices.Clone(addrs),
		Denied:  d,
		Private: onPrivateNetwork(r.Host, addrs, g.local()),
	}
	ok := g.Consult(ctx, req)
	if cerr := ctx.Err(); cerr != nil {
		g.audit(d, r, raw)
		return nil, fmt.Errorf("%w; asking the user was cut short: %w", blocked(d, r, raw), cerr)
	}
	if !ok {
		g.audit(d, r, raw)
		return nil, blocked(d, r, raw)
	}
	approved := Result{Host: r.Host, Port: r.Port, Addrs: addrs}
	g.audit(approvedByUser, approved, raw)
	return g.connect(ctx, network, address, approved, timeout)
}

// grantCheck decides r's destination under p plus a grant of exactly its host and port
// (policy.WithGrant), resolving a name, within timeout, only when the first check did not. It
// returns the decision and the addresses it checked.
func (g *Guard) grantCheck(ctx context.Context, p *policy.Policy, r Result, timeout time.Duration) (policy.Decision, Result, error) {
	gp, err := p.WithGrant(r.Host, r.Port)
	if err != nil {
		return policy.Decision{}, r, err
	}
	gr := Result{Host: r.Host, Port: r.Port, Addrs: r.Addrs}
	gd := gp.Decide(r.Host, r.Port)
	if !gd.Allow {
		return gd, gr, nil
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	gd, gr.Addrs = g.decideAddrs(cctx, gp, gd, r.Host, r.Addrs)
	return gd, gr, nil
}

// worse reports whether gd, a denial under the grant, is by a rule the user could not
// override, and so better explains the refusal than the original denial. A failed lookup is
// not: the original denial stands, for the reason the policy gave.
func worse(gd policy.Decision) bool {
	return !gd.Allow && !gd.Approvable() && gd.Rule != ruleDNS
}

// onPrivateNetwork reports whether h is a local-network name or some address of addrs is on a
// private network.
func onPrivateNetwork(h host.Host, addrs []netip.Addr, own netguard.Local) bool {
	if !h.IsIP() && netguard.ClassifyName(h.Name).Reason == netguard.Private {
		return true
	}
	for _, a := range addrs {
		switch netguard.Classify(a, own).Reason {
		case netguard.Private, netguard.SharedCGNAT:
			return true
		}
	}
	return false
}
