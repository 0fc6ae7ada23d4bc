package egress

import (
	"context"
	"testing"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/policy"
)

// BenchmarkGuardCheck is one full check of an allowed name: parse, stage 1, pinned
// resolution, stage 2, audit event (discarded).
func BenchmarkGuardCheck(b *testing.B) {
	g := &Guard{Resolver: StaticResolver{"api.example.com": {publicAddr}}, Local: noLocal, Audit: audit.Discard}
	g.SetPolicy(mustPolicy(b, policy.Spec{Allow: []string{"api.example.com:443", ".github.com", "10.0.0.0/8"}}))
	ctx := context.Background()
	if d, _ := g.Check(ctx, "api.example.com:443"); !d.Allow {
		b.Fatalf("not allowed: %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		g.Check(ctx, "api.example.com:443")
	}
}

// BenchmarkGuardCheckMachineLocal is the same with the default Local (the cached interface
// addresses).
func BenchmarkGuardCheckMachineLocal(b *testing.B) {
	g := &Guard{Resolver: StaticResolver{"api.example.com": {publicAddr}}, Audit: audit.Discard}
	g.SetPolicy(mustPolicy(b, policy.Spec{Allow: []string{"api.example.com:443"}}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		g.Check(ctx, "api.example.com:443")
	}
}
