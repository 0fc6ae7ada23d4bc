package policy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/netguard"
)

// decideFull decides target:port the way egress does: by name or literal, then (for an allowed
// name) with the addresses it resolved to, and (for an allowed literal) with the literal.
func decideFull(t *testing.T, p *Policy, target string, port uint16, addrs []netip.Addr, own netguard.Local) Decision {
	t.Helper()
	h := mustHost(t, target)
	d := p.Decide(h, port)
	if !d.Allow {
		return d
	}
	if h.IsIP() {
		addrs = []netip.Addr{h.Addr.Unmap()}
	}
	return p.DecideResolved(d, addrs, own)
}

func TestApprovable(t *testing.T) {
	ip := netip.MustParseAddr
	api := Spec{Allow: []string{"api.example.com"}}
	open := Spec{AllowPublicInternet: true}
	tests := []struct {
		name   string
		spec   Spec
		nilPol bool
		target string
		port   uint16
		addrs  []netip.Addr // the answer, for a name the first stage allows
		own    []netip.Addr
		reason Reason
		want   bool
	}{
		// No allow entry matched: a name (never resolved) or a public literal.
		{name: "name without entry", spec: api, target: "evil.example.org", reason: ReasonNoMatchingAllow, want: true},
		{name: "allowed name on another port", spec: api, target: "api.example.com", port: 22, reason: ReasonNoMatchingAllow, want: true},
		{name: "empty policy", target: "api.example.com", reason: ReasonNoMatchingAllow, want: true},
		{name: "public literal without entry", spec: api, target: "93.184.216.34", reason: ReasonNoMatchingAllow, want: true},
		{name: "public IPv6 literal without entry", spec: api, target: "2606:2800:220:1:248:1893:25c8:1946", reason: ReasonNoMatchingAllow, want: true},
		{name: "nil policy", nilPol: true, target: "api.example.com", reason: ReasonNoMatchingAllow, want: false},
		{name: "nil policy, literal", nilPol: true, target: "93.184.216.34", reason: ReasonNoMatchingAllow, want: false},

		// Private networks, by address and by name.
		{name: "RFC 1918 literal", spec: api, target: "192.168.1.100", port: 80, reason: "private", want: true},
		{name: "RFC 1918 literal, public internet on", spec: open, target: "10.0.0.5", reason: "private", want: true},
		{name: "ULA literal", spec: api, target: "fd00::1", reason: "private", want: true},
		{name: "CGNAT literal", spec: open, target: "100.64.1.1", reason: "cgnat", want: true},
		{name: "NAT64 form of a private address", spec: open, target: "64:ff9b::a00:5", reason: "private", want: true},
		{name: ".local name", spec: api, target: "nas.local", reason: "private", want: true},
		{name: ".local name with an entry but no opt-in", spec: Spec{Allow: []string{"nas.local"}}, target: "nas.local", reason: "private", want: true},
		{name: ".internal name, public internet on", spec: open, target: "db.corp.internal", reason: "private", want: true},
		{name: "name resolving to a private address", spec: api, target: "api.example.com", addrs: []netip.Addr{ip("10.0.0.5")}, reason: "private", want: true},
		{name: "name resolving to CGNAT", spec: api, target: "api.example.com", addrs: []netip.Addr{ip("100.64.0.1")}, reason: "cgnat", want: true},
		{name: "mixed public and private answer", spec: api, target: "api.example.com", addrs: []netip.Addr{ip("93.184.216.34"), ip("10.0.0.5")}, reason: "private", want: true},

		// Deny entries.
		{name: "deny entry, name", spec: Spec{Deny: []string{"evil.example.org"}}, target: "evil.example.org", reason: ReasonDeniedByEntry, want: false},
		{name: "deny entry, .local name", spec: Spec{Deny: []string{".local"}}, target: "nas.local", reason: ReasonDeniedByEntry, want: false},
		{name: "deny entry, private literal", spec: Spec{Deny: []string{"192.168.0.0/16"}}, target: "192.168.1.100", reason: ReasonDeniedByEntry, want: false},
		{name: "deny entry, public literal", spec: Spec{Deny: []string{"93.184.216.34"}}, target: "93.184.216.34", reason: ReasonDeniedByEntry, want: false},
		{name: "deny entry, resolved address", spec: Spec{Allow: []string{"api.example.com"}, Deny: []string{"10.0.0.0/8"}}, target: "api.example.com", addrs: []netip.Addr{ip("10.0.0.5")}, reason: ReasonDeniedByEntry, want: false},
		{name: "deny entry, port", spec: Spec{AllowPublicInternet: true, Deny: []string{":25"}}, target: "mail.example.com", port: 25, reason: ReasonDeniedByEntry, want: false},

		// Special-purpose classes, by literal and through a name.
		{name: "metadata literal", spec: open, target: "169.254.169.254", port: 80, reason: "metadata", want: false},
		{name: "metadata literal, no entry", spec: api, target: "169.254.169.254", port: 80, reason: "metadata", want: false},
		{name: "metadata name", spec: open, target: "metadata.google.internal", reason: "metadata", want: false},
		{name: "name resolving to metadata", spec: api, target: "api.example.com", addrs: []netip.Addr{ip("169.254.169.254")}, reason: "metadata", want: false},
		{name: "mixed public and metadata answer", spec: api, target: "api.example.com", addrs: []netip.Addr{ip("93.184.216.34"), ip("169.254.169.254")}, reason: "metadata", want: false},
		{name: "loopback literal", spec: api, target: "127.0.0.1", reason: "loopback", want: false},
		{name: "IPv6 loopback literal", spec: open, target: "::1", reason: "loopback", want: false},
		{name: "mapped loopback literal", spec: open, target: "::ffff:127.0.0.1", reason: "loopback", want: false},
		{name: "odd loopback spelling", spec: api, target: "0x7f.1", reason: "loopback", want: false},
		{name: "localhost name", spec: api, target: "localhost", reason: "loopback", want: false},
		{name: "name resolving to loopback", spec: api, target: "api.example.com", addrs: []netip.Addr{ip("127.0.0.1")}, reason: "loopback", want: false},
		{name: "link-local literal", spec: api, target: "169.254.1.1", reason: "link_local", want: false},
		{name: "IPv6 link-local literal", spec: open, target: "fe80::1", reason: "link_local", want: false},
		{name: "own address", spec: open, target: "api.example.com", addrs: []netip.Addr{ip("93.184.216.34")}, own: []netip.Addr{ip("93.184.216.34")}, reason: "own_address", want: false},
		{name: "documentation", spec: api, target: "192.0.2.1", reason: "documentation", want: false},
		{name: "benchmarking", spec: open, target: "198.18.0.1", reason: "benchmarking", want: false},
		{name: "multicast", spec: open, target: "224.0.0.1", reason: "multicast", want: false},
		{name: "reserved", spec: open, target: "240.0.0.1", reason: "reserved", want: false},
		{name: "unspecified", spec: api, target: "0.0.0.0", reason: "unspecified", want: false},
		{name: "broadcast", spec: open, target: "255.255.255.255", reason: "broadcast", want: false},
		{name: "special name", spec: open, target: "foo.invalid", reason: "special_name", want: false},
		{name: ".test name", spec: api, target: "app.test", reason: "special_name", want: false},

		// Other denials, and allows.
		{name: "port 0", spec: open, target: "api.example.com", port: 0, reason: ReasonInvalidPort, want: false},
		{name: "no addresses", spec: api, target: "api.example.com", addrs: []netip.Addr{}, reason: ReasonUnresolvable, want: false},
		{name: "allowed by entry", spec: api, target: "api.example.com", addrs: []netip.Addr{ip("93.184.216.34")}, reason: ReasonAllowedByEntry, want: false},
		{name: "allowed public internet", spec: open, target: "93.184.216.34", reason: ReasonPublicInternet, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *Policy
			if !tt.nilPol {
				p = mustCompile(t, tt.spec)
			}
			port := tt.port
			if port == 0 && tt.reason != ReasonInvalidPort {
				port = 443
			}
			d := decideFull(t, p, tt.target, port, tt.addrs, netguard.NewLocal(tt.own))
			if d.Reason != tt.reason {
				t.Fatalf("decision %+v, want reason %s", d, tt.reason)
			}
			if got := d.Approvable(); got != tt.want {
				t.Errorf("Approvable() = %v, want %v for %+v", got, tt.want, d)
			}
		})
	}
}

// TestApprovableHandBuilt: only a policy's own decisions can be approvable, so egress's
// decisions (target, dns, scheme) and forged ones never are.
func TestApprovableHandBuilt(t *testing.T) {
	for _, d := range []Decision{
		{Reason: "private", Rule: "address:private", Addr: netip.MustParseAddr("10.0.0.1")},
		{Reason: "cgnat", Rule: "address:cgnat"},
		{Reason: ReasonNoMatchingAllow, Rule: "default"},
		{Reason: ReasonUnresolvable, Rule: "dns"},
		{Reason: ReasonUnsupportedScheme, Rule: "scheme"},
		{Reason: ReasonInvalidTarget, Rule: "target"},
		{},
	} {
		if d.Approvable() {
			t.Errorf("hand-built %+v is approvable", d)
		}
	}
}

func TestWithGrant(t *testing.T) {
	ip := netip.MustParseAddr
	pub := []netip.Addr{ip("93.184.216.34")}
	api := Spec{Allow: []string{"api.example.com"}}
	type check struct {
		target string
		port   uint16
		addrs  []netip.Addr
		own    []netip.Addr
		allow  bool
		reason Reason
	}
	tests := []struct {
		name   string
		spec   Spec
		grant  string
		port   uint16
		checks []check
	}{
		{name: "public name", spec: api, grant: "other.example.org", port: 443, checks: []check{
			{target: "other.example.org", port: 443, addrs: pub, allow: true, reason: ReasonApprovedByUser},
			{target: "OTHER.example.org.", port: 443, addrs: pub, allow: true, reason: ReasonApprovedByUser},
			{target: "other.example.org", port: 80, addrs: pub, reason: ReasonNoMatchingAllow},
			{target: "www.other.example.org", port: 443, addrs: pub, reason: ReasonNoMatchingAllow},
			{target: "example.org", port: 443, addrs: pub, reason: ReasonNoMatchingAllow},
			{target: "api.example.com", port: 443, addrs: pub, allow: true, reason: ReasonAllowedByEntry},
			{target: "other.example.org", port: 443, addrs: []netip.Addr{ip("10.0.0.5")}, allow: true, reason: ReasonApprovedByUser},
			{target: "other.example.org", port: 443, addrs: []netip.Addr{ip("100.64.0.9")}, allow: true, reason: ReasonApprovedByUser},
			{target: "other.example.org", port: 443, addrs: []netip.Addr{ip("169.254.169.254")}, reason: "metadata"},
			{target: "other.example.org", port: 443, addrs: []netip.Addr{ip("127.0.0.1")}, reason: "loopback"},
			{target: "other.example.org", port: 443, addrs: []netip.Addr{ip("169.254.7.7")}, reason: "link_local"},
			{target: "other.example.org", port: 443, addrs: []netip.Addr{ip("0.0.0.0")}, reason: "unspecified"},
			{target: "other.example.org", port: 443, addrs: []netip.Addr{ip("10.0.0.5"), ip("169.254.169.254")}, reason: "metadata"},
			{target: "other.example.org", port: 443, addrs: pub, own: pub, reason: "own_address"},
		}},
		{name: "private opt-in stays scoped to the grant", spec: api, grant: "other.example.org", port: 443, checks: []check{
			{target: "api.example.com", port: 443, addrs: []netip.Addr{ip("10.0.0.5")}, reason: "private"},
			{target: "10.0.0.5", port: 443, reason: "private"},
			{target: "nas.local", port: 443, reason: "private"},
		}},
		{name: "allowed name resolving privately", spec: api, grant: "api.example.com", port: 443, checks: []check{
			{target: "api.example.com", port: 443, addrs: []netip.Addr{ip("192.168.1.20")}, allow: true, reason: ReasonAllowedByEntry},
			{target: "api.example.com", port: 80, addrs: []netip.Addr{ip("192.168.1.20")}, reason: "private"},
		}},
		{name: ".local name", spec: api, grant: "nas.local", port: 8123, checks: []check{
			{target: "nas.local", port: 8123, addrs: []netip.Addr{ip("192.168.1.20")}, allow: true, reason: ReasonApprovedByUser},
			{target: "nas.local", port: 80, addrs: []netip.Addr{ip("192.168.1.20")}, reason: "private"},
			{target: "tv.local", port: 8123, addrs: []netip.Addr{ip("192.168.1.21")}, reason: "private"},
			{target: "nas.local", port: 8123, addrs: []netip.Addr{ip("169.254.169.254")}, reason: "metadata"},
		}},
		{name: "private literal", spec: api, grant: "192.168.1.100", port: 80, checks: []check{
			{target: "192.168.1.100", port: 80, allow: true, reason: ReasonApprovedByUser},
			{target: "::ffff:192.168.1.100", port: 80, allow: true, reason: ReasonApprovedByUser},
			{target: "192.168.1.100", port: 81, reason: "private"},
			{target: "192.168.1.101", port: 80, reason: "private"},
		}},
		{name: "mapped literal grants its IPv4 address", spec: api, grant: "::ffff:192.168.1.100", port: 80, checks: []check{
			{target: "192.168.1.100", port: 80, allow: true, reason: ReasonApprovedByUser},
		}},
		{name: "public literal", spec: api, grant: "93.184.216.34", port: 443, checks: []check{
			{target: "93.184.216.34", port: 443, allow: true, reason: ReasonApprovedByUser},
			{target: "93.184.216.35", port: 443, reason: ReasonNoMatchingAllow},
			{target: "93.184.216.34", port: 443, own: pub, reason: "own_address"},
		}},
		{name: "loopback literal stays denied", spec: api, grant: "127.0.0.1", port: 80, checks: []check{
			{target: "127.0.0.1", port: 80, reason: "loopback"},
		}},
		{name: "loopback literal with allow_localhost", spec: Spec{AllowLocalhost: true}, grant: "127.0.0.1", port: 80, checks: []check{
			{target: "127.0.0.1", port: 80, allow: true, reason: ReasonApprovedByUser},
			{target: "127.0.0.1", port: 81, reason: ReasonNoMatchingAllow},
		}},
		{name: "localhost stays denied", spec: api, grant: "localhost", port: 8080, checks: []check{
			{target: "localhost", port: 8080, reason: "loopback"},
		}},
		{name: "localhost with allow_localhost", spec: Spec{AllowLocalhost: true}, grant: "localhost", port: 8080, checks: []check{
			{target: "localhost", port: 8080, addrs: netguard.LoopbackAddrs, allow: true, reason: ReasonApprovedByUser},
		}},
		{name: "metadata literal stays denied", spec: api, grant: "169.254.169.254", port: 80, checks: []check{
			{target: "169.254.169.254", port: 80, reason: "metadata"},
		}},
		{name: "metadata name stays denied", spec: api, grant: "metadata.google.internal", port: 80, checks: []check{
			{target: "metadata.google.internal", port: 80, reason: "metadata"},
		}},
		{name: "link-local literal stays denied", spec: api, grant: "169.254.1.1", port: 80, checks: []check{
			{target: "169.254.1.1", port: 80, reason: "link_local"},
		}},
		{name: "documentation literal stays denied", spec: api, grant: "192.0.2.1", port: 80, checks: []check{
			{target: "192.0.2.1", port: 80, reason: "documentation"},
		}},
		{name: "special name stays denied", spec: api, grant: "app.test", port: 80, checks: []check{
			{target: "app.test", port: 80, reason: "special_name"},
		}},
		{name: "deny name entry wins", spec: Spec{Deny: []string{".local"}}, grant: "nas.local", port: 80, checks: []check{
			{target: "nas.local", port: 80, addrs: []netip.Addr{ip("192.168.1.20")}, reason: ReasonDeniedByEntry},
		}},
		{name: "deny CIDR entry wins over a resolved address", spec: Spec{Deny: []string{"10.0.0.0/8"}}, grant: "other.example.org", port: 443, checks: []check{
			{target: "other.example.org", port: 443, addrs: []netip.Addr{ip("10.0.0.5")}, reason: ReasonDeniedByEntry},
			{target: "other.example.org", port: 443, addrs: pub, allow: true, reason: ReasonApprovedByUser},
		}},
		{name: "deny CIDR entry wins over a literal", spec: Spec{Deny: []string{"192.168.0.0/16"}}, grant: "192.168.1.100", port: 80, checks: []check{
			{target: "192.168.1.100", port: 80, reason: ReasonDeniedByEntry},
		}},
		{name: "deny port entry wins", spec: Spec{Deny: []string{":8123"}}, grant: "nas.local", port: 8123, checks: []check{
			{target: "nas.local", port: 8123, addrs: []netip.Addr{ip("192.168.1.20")}, reason: ReasonDeniedByEntry},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, tt.spec)
			gp, err := p.WithGrant(mustHost(t, tt.grant), tt.port)
			if err != nil {
				t.Fatalf("WithGrant(%s, %d): %v", tt.grant, tt.port, err)
			}
			for _, c := range tt.checks {
				d := decideFull(t, gp, c.target, c.port, c.addrs, netguard.NewLocal(c.own))
				if d.Allow != c.allow || d.Reason != c.reason {
					t.Errorf("%s:%d %v: %+v, want allow=%v reason=%s", c.target, c.port, c.addrs, d, c.allow, c.reason)
				}
				if d.Allow && d.Reason == ReasonApprovedByUser && d.Rule != RuleRuntimeApproval {
					t.Errorf("%s:%d: rule %q, want %q", c.target, c.port, d.Rule, RuleRuntimeApproval)
				}
				// p itself is unchanged: it never allows what only the grant allows.
				if pd := decideFull(t, p, c.target, c.port, c.addrs, netguard.NewLocal(c.own)); pd.Reason == ReasonApprovedByUser {
					t.Errorf("%s:%d: the original policy was changed: %+v", c.target, c.port, pd)
				}
			}
		})
	}
}

func TestWithGrantKeepsPolicy(t *testing.T) {
	spec := Spec{Allow: []string{"api.example.com"}, Deny: []string{"bad.example.com"},
		Limits: Limits{Timeout: 5 * time.Second, MaxConnections: 3, MaxRequestSize: 10, MaxResponseSize: 20}}
	p := mustCompile(t, spec)
	a, err := p.WithGrant(mustHost(t, "a.example.org"), 443)
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.WithGrant(mustHost(t, "10.0.0.7"), 8080)
	if err != nil {
		t.Fatal(err)
	}
	if a.Limits() != spec.Limits || b.Limits() != spec.Limits {
		t.Errorf("limits %+v / %+v, want %+v", a.Limits(), b.Limits(), spec.Limits)
	}
	if got := b.Spec(); len(got.Allow) != 1 || got.AllowPrivateIPs {
		t.Errorf("Spec() = %+v, want the written policy without grants", got)
	}
	for _, tc := range []struct {
		pol    *Policy
		target string
		port   uint16
		allow  bool
	}{
		{a, "a.example.org", 443, true},
		{a, "10.0.0.7", 8080, false},
		{b, "a.example.org", 443, true}, // grants stack
		{b, "10.0.0.7", 8080, true},
		{b, "api.example.com", 443, true},
		{b, "bad.example.com", 443, false},
		{p, "a.example.org", 443, false},
		{p, "10.0.0.7", 8080, false},
	} {
		d := decideFull(t, tc.pol, tc.target, tc.port, public, netguard.Local{})
		if d.Allow != tc.allow {
			t.Errorf("%s:%d: %+v, want allow=%v", tc.target, tc.port, d, tc.allow)
		}
	}

	var none *Policy
	n, err := none.WithGrant(mustHost(t, "a.example.org"), 443)
	if err != nil {
		t.Fatal(err)
	}
	if d := decideFull(t, n, "a.example.org", 443, public, netguard.Local{}); !d.Allow {
		t.Errorf("grant on a nil policy: %+v", d)
	}
	if d := decideFull(t, n, "b.example.org", 443, public, netguard.Local{}); d.Allow {
		t.Errorf("a nil policy with a grant allowed another host: %+v", d)
	}
}

func TestWithGrantErrors(t *testing.T) {
	p := mustCompile(t, Spec{})
	for _, tc := range []struct {
		name string
		h    host.Host
		port uint16
	}{
		{"port 0", host.Host{Name: "a.example.org"}, 0},
		{"zero host", host.Host{}, 443},
		{"name and address", host.Host{Name: "a.example.org", Addr: netip.MustParseAddr("10.0.0.1")}, 443},
		{"not canonical", host.Host{Name: "A.Example.ORG."}, 443},
		{"name that is an address", host.Host{Name: "127.1"}, 443},
		{"zone", host.Host{Addr: netip.MustParseAddr("fe80::1%eth0")}, 443},
	} {
		if _, err := p.WithGrant(tc.h, tc.port); err == nil {
			t.Errorf("%s: WithGrant(%+v, %d) succeeded", tc.name, tc.h, tc.port)
		}
	}
}

// FuzzWithGrantClasses: whatever address a granted destination resolves to (or is), the grant
// lets it through only when it is public or private-network, or loopback/own with
// allow_localhost — never metadata, link-local or another special-purpose class.
func FuzzWithGrantClasses(f *testing.F) {
	for _, seed := range []struct {
		addr      string
		literal   bool
		localhost bool
	}{
		{"93.184.216.34", false, false}, // public
		{"10.0.0.5", true, false},       // private
		{"169.254.169.254", false, false},
		{"169.254.169.254", true, false},
		{"127.0.0.1", true, true},
		{"::ffff:127.0.0.1", true, false},
		{"64:ff9b::a9fe:a9fe", true, false}, // NAT64 metadata
		{"fe80::1", false, false},
		{"2002:c000:0201::1", true, false}, // 6to4 documentation
	} {
		f.Add(netip.MustParseAddr(seed.addr).AsSlice(), seed.literal, seed.localhost)
	}
	f.Fuzz(func(t *testing.T, raw []byte, literal, localhost bool) {
		a, ok := netip.AddrFromSlice(raw)
		if !ok {
			return
		}
		p := mustCompile(t, Spec{Allow: []string{"api.example.com"}, AllowLocalhost: localhost})
		h := host.Host{Name: "granted.example.org"}
		if literal {
			h = host.Host{Addr: a}
		}
		gp, err := p.WithGrant(h, 443)
		if err != nil {
			t.Fatalf("WithGrant(%v): %v", h, err)
		}
		d := gp.Decide(h, 443)
		if d.Allow {
			d = gp.DecideResolved(d, []netip.Addr{a}, netguard.Local{})
		}
		if !d.Allow {
			return
		}
		switch r := netguard.Classify(a, netguard.Local{}).Reason; r {
		case netguard.Global, netguard.Private, netguard.SharedCGNAT:
		case netguard.Loopback:
			if !localhost {
				t.Fatalf("grant of %v (literal %v) allowed loopback %v without allow_localhost: %+v", h, literal, a, d)
			}
		default:
			t.Fatalf("grant of %v (literal %v) allowed %v, a %s address: %+v", h, literal, a, r, d)
		}
	})
}
