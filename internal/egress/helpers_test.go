package egress

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"

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
