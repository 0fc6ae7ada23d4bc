// Package testdial is the final dial step that tests inject into an egress.Guard when they judge
// addresses that are not loopback: it records every address it is asked for and never connects
// to one that is not loopback — a test "public" address reaches only the loopback server it was
// routed to, and anything else fails. Only tests import it.
package testdial

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

// Recorder is the injected dial step. Create it with New; pass its Dial method as
// egress.Guard.Dial (or proxy.Options.Dial).
type Recorder struct {
	t testing.TB
	// AllowLoopback lets dials to loopback addresses through as they are. False (the default)
	// refuses them unless routed, so a test can assert that loopback was never dialled.
	AllowLoopback bool

	mu     sync.Mutex
	routes map[string]string
	seen   []string
}

// New returns a Recorder that refuses everything until Route or AllowLoopback says otherwise.
func New(t testing.TB) *Recorder {
	return &Recorder{t: t, routes: map[string]string{}}
}

// Route makes dials to from ("IP:port") reach the loopback address to; a non-loopback to fails
// the test.
func (r *Recorder) Route(from, to string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !netip.MustParseAddrPort(to).Addr().IsLoopback() {
		r.t.Fatalf("route to %s: tests may only reach loopback", to)
	}
	r.routes[from] = to
}

// Dial records addr and connects to its route, or to addr itself when it is loopback and
// AllowLoopback is set; it refuses everything else without touching the network. addr must
// be an "IP:port" literal: the guard never hands a name to its dial step.
func (r *Recorder) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.mu.Lock()
	r.seen = append(r.seen, addr)
	to, routed := r.routes[addr]
	r.mu.Unlock()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		r.t.Errorf("dial step called with %q, not an IP:port literal", addr)
		return nil, err
	}
	switch {
	case routed:
	case r.AllowLoopback && ap.Addr().Unmap().IsLoopback():
		to = addr
	default:
		return nil, fmt.Errorf("test dial step: refusing to touch %s (not routed to loopback)", addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

// Dialed returns the addresses the dial step was asked for, in order.
func (r *Recorder) Dialed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// DialedAddr reports whether any dial went to a (on any port).
func (r *Recorder) DialedAddr(a netip.Addr) bool {
	for _, s := range r.Dialed() {
		if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Unmap() == a {
			return true
		}
	}
	return false
}
