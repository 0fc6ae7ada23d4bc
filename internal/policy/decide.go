package policy

import (
	"net/netip"

	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/netguard"
)

// Policy is a compiled Spec. It is immutable and safe for concurrent use.
type Policy struct {
	spec Spec
}

// Compile checks and compiles spec. The error is an *EntryError for a bad entry.
func Compile(spec Spec) (*Policy, error) { return &Policy{spec: spec}, nil }

// Spec returns the policy as it was written.
func (p *Policy) Spec() Spec { return p.spec }

// Limits returns the policy's limits.
func (p *Policy) Limits() Limits { return p.spec.Limits }

// Decide is the first stage: the verdict on a destination by its name or IP literal and port,
// before any resolution. For an IP literal it is final. For a name, an Allow decision means
// "resolve it and call DecideAddrs"; a deny is final and the name must not be resolved.
func (p *Policy) Decide(h host.Host, port uint16) Decision { return Decision{} }

// DecideAddrs is the second stage for a name that Decide allowed: every address the name
// resolved to is judged by the deny entries and the address rules (with the opt-ins and explicit
// IP grants of the policy); if any one is denied, the name is denied.
func (p *Policy) DecideAddrs(h host.Host, port uint16, addrs []netip.Addr, own netguard.Local) Decision {
	return Decision{}
}
