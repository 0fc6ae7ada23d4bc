// Package egress is airlock's one way to the network: a guarded dialer that decides, resolves
// once, checks every address and connects only to a checked one, and SafeFetch, an
// *http.Client built on it.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
)

// DefaultDialTimeout bounds resolving a destination and each connection attempt when the
// policy sets no timeout.
const DefaultDialTimeout = 10 * time.Second

// Guard is the guarded dialer: every outbound connection airlock makes goes through
// Guard.DialContext, which asks the policy, resolves a name once, checks every address, and
// connects only to an address it checked.
//
// The zero Guard is usable and denies everything (it has no policy). Set the policy with
// SetPolicy, or build the Guard with New. The exported fields are read on every call; set them
// before the Guard is shared and do not change them afterwards. Only the policy may be replaced
// while the Guard is in use. A Guard must not be copied after first use.
//
// The policy's MaxConnections limit is not enforced here (a Guard does not see connections
// close); the proxy that owns the connections enforces it.
type Guard struct {
	policy atomic.Pointer[policy.Policy]

	// Resolver resolves names the policy allowed. Nil means net.DefaultResolver.
	Resolver Resolver

	// Local returns this machine's own interface addresses, which the address rules deny.
	// Nil means the addresses of net.InterfaceAddrs, cached for every Guard and listed again
	// at most every 30 seconds.
	Local func() netguard.Local

	// Audit receives one event per decision. Nil means events are dropped.
	Audit audit.Sink

	// Server and Binding name who is connecting; they are copied into audit events.
	Server  string
	Binding string

	// Dial is the final step: it connects to an address the Guard has checked, and is always
	// called with an "IP:port" literal (never a name) and the caller's network (tcp, tcp4 or
	// tcp6). Its context carries the per-attempt timeout. Nil means a net.Dialer whose Control
	// function refuses any address this call did not approve, so that even a dialer bug cannot
	// connect unchecked. A non-nil Dial is trusted to connect to the address it is given.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Consult, when not nil, is asked about a refusal the user may override
	// (policy.Decision.Approvable). Before it is asked, the destination is checked again under
	// the policy plus a grant of exactly host:port and private addresses
	// (policy.WithGrant), resolving a name if it was not resolved yet; only a destination that
	// passes that check is offered, so metadata, loopback, link-local and the other special
	// classes never reach Consult. Consult returns true to allow this one connection, which
	// then goes only to ApprovalRequest.Addrs. It is called with the caller's context (no dial
	// timeout: a person may take a while) and must return when that context is done.
	//
	// Only DialContext (and so SafeFetch) consults; Check never does. Nil means refusals are
	// final.
	Consult func(ctx context.Context, req ApprovalRequest) bool
}

// New returns a Guard enforcing p. The other fields keep their zero values.
func New(p *policy.Policy) *Guard {
	g := &Guard{}
	g.SetPolicy(p)
	return g
}

// SetPolicy replaces the policy atomically. Calls already past their decision keep the old
// policy; a nil policy denies everything.
func (g *Guard) SetPolicy(p *policy.Policy) { g.policy.Store(p) }

// Policy returns the policy in force, or nil.
func (g *Guard) Policy() *policy.Policy { return g.policy.Load() }

// Result is what Check looked at.
type Result struct {
	// Host is the canonical host; zero when the target could not be parsed.
	Host host.Host
	// Port is the destination port; 0 when it could not be parsed.
	Port uint16
	// Addrs are the addresses that were checked, in the resolver's order (IPv4-mapped
	// addresses unmapped, duplicates removed): the literal for an IP host, netguard's
	// LoopbackAddrs for a loopback name, the resolved addresses otherwise. Nil when the decision
	// came before resolution. An allowed connection goes only to these.
	Addrs []netip.Addr
}

// Check decides whether the destination hostport ("host:port", "[v6]:port") may be reached:
// it normalises the host, asks the policy by name or literal, resolves an allowed name once
// (names that stand for loopback are never resolved), and asks the policy again with every
// address. It never panics on bad input: a host or port that cannot be parsed is a denial.
// Check emits one audit event. It never asks Consult.
func (g *Guard) Check(ctx context.Context, hostport string) (policy.Decision, Result) {
	d, r, raw := g.check(ctx, hostport)
	g.audit(d, r, raw)
	return d, r
}

// check is Check without the audit event; raw is the host as given, for events and errors
// about targets that cannot be parsed.
func (g *Guard) check(ctx context.Context, hostport string) (d policy.Decision, r Result, raw string) {
	return g.checkWith(ctx, g.Policy(), hostport)
}

// checkWith is check under the policy p.
func (g *Guard) checkWith(ctx context.Context, p *policy.Policy, hostport string) (d policy.Decision, r Result, raw string) {
	hs, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		return invalid(policy.ReasonInvalidTarget, fmt.Sprintf("%q is not host:port", hostport)), r, hostport
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || port == 0 {
		return invalid(policy.ReasonInvalidPort, fmt.Sprintf("port %q is not a number from 1 to 65535", ps)), r, hs
	}
	r.Port = uint16(port)
	h, err := host.Parse(hs)
	if err != nil {
		return invalid(policy.ReasonInvalidTarget, err.Error()), r, hs
	}
	if strings.HasPrefix(hostport, "[") && !(h.IsIP() && h.Addr.Is6()) {
		return invalid(policy.ReasonInvalidTarget, fmt.Sprintf("%q: only an IPv6 address goes in brackets", hostport)), r, hs
	}
	r.Host = h
	if p == nil {
		return policy.Decision{Reason: policy.ReasonNoMatchingAllow, Rule: "default", Detail: "no policy applies to this destination's client, and without one everything is denied"}, r, hs
	}
	if h.IsIP() {
		r.Addrs = []netip.Addr{h.Addr.Unmap()}
	}
	if d = p.Decide(h, r.Port); !d.Allow {
		return d, r, hs // a denied name is never resolved
	}
	d, r.Addrs = g.decideAddrs(ctx, p, d, h, r.Addrs)
	return d, r, hs
}

// decideAddrs is the second stage for h, which p's Decide allowed (d): it resolves a name once
// unless addrs already holds its answer (names that stand for loopback are never resolved) and
// applies p's address rules to every address. It returns the decision and the addresses it
// checked (nil when the lookup failed).
func (g *Guard) decideAddrs(ctx context.Context, p *policy.Policy, d policy.Decision, h host.Host, addrs []netip.Addr) (policy.Decision, []netip.Addr) {
	switch {
	case h.IsIP() || len(addrs) > 0:
		// Decide applied every address rule but the machine's own addresses; DecideAddrs adds it.
	case netguard.ClassifyName(h.Name).Reason == netguard.Loopback:
		addrs = slices.Clone(netguard.LoopbackAddrs) // never sent to DNS
	default:
		answer, err := g.resolver().LookupNetIP(ctx, "ip", h.Name+".")
		if err != nil {
			return policy.Decision{Reason: policy.ReasonUnresolvable, Rule: ruleDNS, Detail: err.Error() + "; check the name, or pin its address"}, nil
		}
		if addrs = clean(answer); len(addrs) == 0 {
			return policy.Decision{Reason: policy.ReasonUnresolvable, Rule: ruleDNS, Detail: h.Name + " has no addresses; check the name, or pin its address"}, addrs
		}
	}
	return p.DecideResolved(d, addrs, g.local()), addrs
}

func invalid(reason policy.Reason, detail string) policy.Decision {
	return policy.Decision{Reason: reason, Rule: ruleTarget, Detail: detail + "; give a DNS name or an IP address, and a port from 1 to 65535"}
}

// Rules of the decisions egress makes itself, before or instead of the policy.
const (
	ruleTarget = "target" // the destination cannot be parsed
	ruleDNS    = "dns"    // the name did not resolve
	ruleScheme = "scheme" // SafeFetch: not http or https
)

// clean unmaps IPv4-mapped addresses (resolvers return A records in either form), drops zones
// and invalid addresses, and removes duplicates, keeping the resolver's order.
func clean(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if a.IsValid() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func (g *Guard) resolver() Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

func (g *Guard) local() netguard.Local {
	if g.Local != nil {
		return g.Local()
	}
	return machine.get(time.Now())
}

func (g *Guard) limits() policy.Limits {
	if p := g.Policy(); p != nil {
		return p.Limits()
	}
	return policy.Limits{}
}

func (g *Guard) dialTimeout() time.Duration {
	if t := g.limits().Timeout; t > 0 {
		return t
	}
	return DefaultDialTimeout
}

func (g *Guard) audit(d policy.Decision, r Result, raw string) {
	if g.Audit == nil {
		return
	}
	e := audit.Event{
		Time:     time.Now(),
		Event:    "egress_blocked",
		Decision: "deny",
		Server:   g.Server,
		Binding:  g.Binding,
		Host:     raw,
		Port:     r.Port,
		Rule:     d.Rule,
		Reason:   string(d.Reason),
	}
	if d.Allow {
		e.Event, e.Decision = "egress_allowed", "allow"
	}
	if r.Host != (host.Host{}) {
		e.Host = r.Host.String()
	}
	switch {
	case d.Addr.IsValid():
		e.Addr = d.Addr.String()
	case len(r.Addrs) > 0:
		e.Addr = r.Addrs[0].String()
	}
	g.Audit.Audit(e)
}

// blocked builds the error for a denial.
func blocked(d policy.Decision, r Result, raw string) *BlockedError {
	h := raw
	if r.Host != (host.Host{}) {
		h = r.Host.String()
	}
	return &BlockedError{Host: h, Port: r.Port, Decision: d}
}

// DialContext connects to address ("host:port") over tcp, tcp4 or tcp6 if the policy allows
// it, and returns a *BlockedError if it does not. It resolves a name once (Check), then tries
// the checked addresses of the network's family in order, each attempt bounded by the policy's
// timeout (DefaultDialTimeout when none), until one connects. It never resolves again and
// never hands a name to the final dial step. Its signature fits http.Transport.DialContext.
//
// When Consult is set and the refusal is one the user may override, DialContext asks Consult
// first (see Guard.Consult); the name is then resolved once, for that check, if the policy
// refused it before resolution.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network,
			Err: fmt.Errorf("airlock: network %q is not supported; airlock connects only over TCP (tcp, tcp4, tcp6)", network)}
	}
	timeout := g.dialTimeout()
	p := g.Policy()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	d, r, raw := g.checkWith(cctx, p, address)
	cerr := cctx.Err()
	cancel()
	if !d.Allow && g.Consult != nil && d.Approvable() {
		return g.dialConsulted(ctx, p, network, address, d, r, raw, timeout)
	}
	g.audit(d, r, raw)
	if !d.Allow {
		if d.Rule == ruleDNS && cerr != nil {
			// The lookup was cut short (caller cancelled, or the timeout): not a verdict on the
			// destination, so not a BlockedError.
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("airlock: resolving %s: %w", address, cerr)}
		}
		return nil, blocked(d, r, raw)
	}
	return g.connect(ctx, network, address, r, timeout)
}

// connect dials the checked addresses r.Addrs of network's family in order, each attempt
// bounded by timeout, until one connects.
func (g *Guard) connect(ctx context.Context, network, address string, r Result, timeout time.Duration) (net.Conn, error) {
	addrs := ofFamily(network, r.Addrs)
	if len(addrs) == 0 {
		return nil, &net.OpError{Op: "dial", Net: network,
			Err: fmt.Errorf("airlock: %s has no %s address (checked: %v)", address, network, r.Addrs)}
	}
	dial := g.Dial
	if dial == nil {
		dial = approvedDialer(timeout, addrs, r.Port)
	}
	var errs []error
	for _, a := range addrs {
		actx, cancel := context.WithTimeout(ctx, timeout)
		c, err := dial(actx, network, netip.AddrPortFrom(a, r.Port).String())
		cancel()
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, fmt.Errorf("airlock: connect %s: %w", address, errs[0])
	}
	return nil, fmt.Errorf("airlock: connect %s: %w", address, dialErrors(errs))
}

// ofFamily returns the addresses of addrs that network (tcp, tcp4, tcp6) may connect to.
func ofFamily(network string, addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if network == "tcp" || (network == "tcp4") == a.Unmap().Is4() {
			out = append(out, a)
		}
	}
	return out
}

// dialErrors is the failures of several connection attempts, on one line.
type dialErrors []error

func (e dialErrors) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e dialErrors) Unwrap() []error { return e }

// approvedDialer is the default final dial step: a net.Dialer that can connect only to the
// approved addresses on port.
func approvedDialer(timeout time.Duration, approved []netip.Addr, port uint16) func(context.Context, string, string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, Control: approvedControl(approved, port)}
	return d.DialContext
}

// ErrNotApproved is returned by the default dial step when the socket is about to connect to
// an address the Guard did not check for this call. It means a bug in airlock, not a policy
// decision.
var ErrNotApproved = errors.New("airlock: refusing to connect to an address that was not checked")

// approvedControl returns a net.Dialer Control function that lets a socket connect only to one
// of approved on port: the last check before connect(2), on the address the kernel is given.
func approvedControl(approved []netip.Addr, port uint16) func(network, address string, c syscall.RawConn) error {
	ok := make([]netip.Addr, len(approved))
	for i, a := range approved {
		ok[i] = a.Unmap().WithZone("")
	}
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s %q: %v", ErrNotApproved, network, address, err)
		}
		if ap.Port() != port || !slices.Contains(ok, ap.Addr().Unmap().WithZone("")) {
			return fmt.Errorf("%w: %s %s", ErrNotApproved, network, address)
		}
		return nil
	}
}
