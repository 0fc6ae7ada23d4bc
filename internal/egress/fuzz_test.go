package egress

import (
	"context"
	"net/netip"
	"testing"

	"github.com/airlock-sh/airlock/internal/policy"
)

// FuzzCheck feeds Check arbitrary destinations. It must never panic, never resolve a name the
// first stage refused or an IP spelling, and never allow without addresses that were checked.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		"api.example.com:443",          // allowed by entry, pinned
		"rebind.example.com:80",        // pinned to a mixed answer
		"169.254.169.254:80",           // metadata literal
		"0x7f.1:80",                    // odd IPv4 spelling
		"2130706433:8080",              // decimal IPv4
		"[::ffff:127.0.0.1]:80",        // mapped IPv6
		"[64:ff9b::a9fe:a9fe]:80",      // NAT64 metadata
		"[fe80::1%25eth0]:80",          // zone ID
		"localhost:3000",               // loopback name, never resolved
		"xn--80ak6aa92e.com:443",       // punycode
		"ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ:443",              // IDN that maps to example.com
		"api.example.com.:443",         // trailing dot
		"[api.example.com]:443",        // name in brackets
		"api.example.com:0",            // port zero
		":443",                         // empty host
		"a:b:c",                        // not host:port
		"api.example.com\x00.evil:443", // NUL
	} {
		f.Add(seed)
	}
	pins := StaticResolver{
		"api.example.com":    {publicAddr},
		"rebind.example.com": {publicAddr, privateAddr},
		"xn--80ak6aa92e.com": {publicAddr},
		"example.com":        {publicAddr},
	}
	// IDN names are matched by package host; this policy avoids them so that it compiles
	// whether or not IDNA is built in.
	p, err := policy.Compile(policy.Spec{Allow: []string{"api.example.com", ".example.com", "example.org"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target string) {
		var asked []string
		g := &Guard{Local: noLocal, Resolver: resolverFunc(func(ctx context.Context, network, name string) ([]netip.Addr, error) {
			asked = append(asked, name)
			return pins.LookupNetIP(ctx, network, name)
		})}
		g.SetPolicy(p)
		d, r := g.Check(context.Background(), target)
		if r.Host.IsIP() && len(asked) > 0 {
			t.Errorf("%q: IP host %v was resolved (%v)", target, r.Host, asked)
		}
		if len(asked) > 1 {
			t.Errorf("%q: resolved %d times", target, len(asked))
		}
		if len(asked) == 1 && !p.Decide(r.Host, r.Port).Allow {
			t.Errorf("%q: resolved a name the first stage refuses", target)
		}
		if d.Allow && len(r.Addrs) == 0 {
			t.Errorf("%q: allowed with no checked address: %+v", target, d)
		}
		if d.Allow && r.Port == 0 {
			t.Errorf("%q: allowed with port 0", target)
		}
	})
}
