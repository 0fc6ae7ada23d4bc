package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdns"
)

// Addresses used as data only: no test ever sends a packet to them. The dial step of every
// Guard under test is a dialRecorder, which routes them to loopback servers or refuses them.
var (
	publicAddr   = netip.MustParseAddr("93.184.216.34")
	privateAddr  = netip.MustParseAddr("10.0.0.1")
	metadataAddr = netip.MustParseAddr("169.254.169.254")
)

func mustPolicy(t testing.TB, spec policy.Spec) *policy.Policy {
	t.Helper()
	p, err := policy.Compile(spec)
	if err != nil {
		t.Fatalf("policy.Compile(%+v): %v", spec, err)
	}
	return p
}

// noLocal is a Local function for tests: the machine's real addresses would make verdicts
// depend on where the test runs.
func noLocal() netguard.Local { return netguard.Local{} }

// dialRecorder is the injected final dial step. It records every address it is asked for and
// never touches a non-loopback address: routed addresses ("93.184.216.34:80") go to the
// loopback server they map to, loopback addresses are dialled only when allowLoopback is set,
// and everything else fails.
type dialRecorder struct {
	t             testing.TB
	allowLoopback bool

	mu     sync.Mutex
	routes map[string]string
	seen   []string
}

func newDialRecorder(t testing.TB) *dialRecorder {
	return &dialRecorder{t: t, routes: map[string]string{}}
}

// route makes dials to from ("IP:port") reach the loopback address to.
func (d *dialRecorder) route(from, to string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ap := netip.MustParseAddrPort(to); !ap.Addr().IsLoopback() {
		d.t.Fatalf("route to %s: tests may only reach loopback", to)
	}
	d.routes[from] = to
}

func (d *dialRecorder) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.seen = append(d.seen, addr)
	to, routed := d.routes[addr]
	d.mu.Unlock()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		d.t.Errorf("dial step called with %q, not an IP:port literal", addr)
		return nil, err
	}
	switch {
	case routed:
	case d.allowLoopback && ap.Addr().Unmap().IsLoopback():
		to = addr
	default:
		return nil, fmt.Errorf("test dial step: refusing to touch %s (not routed to loopback)", addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

// dialed returns the addresses the dial step was asked for.
func (d *dialRecorder) dialed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.seen)
}

// dialedHost reports whether any dial went to a.
func (d *dialRecorder) dialedHost(a netip.Addr) bool {
	for _, s := range d.dialed() {
		if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Unmap() == a {
			return true
		}
	}
	return false
}

// recordingSink keeps the audit events.
type recordingSink struct {
	mu     sync.Mutex
	events []audit.Event
}

func (s *recordingSink) Audit(e audit.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *recordingSink) all() []audit.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// resolverFunc adapts a function to Resolver.
type resolverFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

func (f resolverFunc) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return f(ctx, network, host)
}

// countingResolver records the names it is asked for and passes them on.
type countingResolver struct {
	next Resolver

	mu    sync.Mutex
	names []string
}

func (c *countingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	c.mu.Lock()
	c.names = append(c.names, host)
	c.mu.Unlock()
	return c.next.LookupNetIP(ctx, network, host)
}

func (c *countingResolver) asked() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.names)
}

// failResolver fails the test if it is ever asked anything.
func failResolver(t testing.TB) Resolver {
	return resolverFunc(func(_ context.Context, _, host string) ([]netip.Addr, error) {
		t.Errorf("resolver called for %q; it must not be", host)
		return nil, errors.New("resolver must not be called")
	})
}

// questions returns the questions of type qtype srv was asked from the from-th on, and how
// many it was asked in all.
func questions(srv *testdns.Server, from int, qtype uint16) ([]testdns.Query, int) {
	all := srv.Queries()
	var out []testdns.Query
	for _, q := range all[min(from, len(all)):] {
		if q.Type == qtype {
			out = append(out, q)
		}
	}
	return out, len(all)
}
