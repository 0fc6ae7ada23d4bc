package dnsfilter

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/airlock-sh/airlock/internal/policy"
)

func TestPoolRecyclesLeastRecentlyUsed(t *testing.T) {
	p, err := newPool(DefaultPool4, pool6, 3)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(name string) netip.Addr { a, _ := p.addr(name, false); return a }
	a, b, c := addr("a.example"), addr("b.example"), addr("c.example")
	if a == b || b == c || a == c {
		t.Fatalf("distinct names share an address: %v %v %v", a, b, c)
	}
	addr("a.example") // a is now the most recently used; b the least
	d := addr("d.example")
	if d != b {
		t.Errorf("d.example got %v; want b.example's %v, the least recently used", d, b)
	}
	if name, ok := p.name(b, false); !ok || name != "d.example" {
		t.Errorf("name(%v) = %q, %v", b, name, ok)
	}
	if a2, c2 := addr("a.example"), addr("c.example"); a2 != a || c2 != c {
		t.Errorf("a.example %v→%v, c.example %v→%v: kept names must keep their address", a, a2, c, c2)
	}
	// a and c were used after d, so d.example is the least recently used and loses its slot.
	if e := addr("b.example"); e != d {
		t.Errorf("b.example came back at %v; want d.example's %v", e, d)
	}
	if _, ok := p.byName["d.example"]; ok {
		t.Error("d.example still holds a slot")
	}
	if len(p.byName) != 3 || len(p.slots) != 3 {
		t.Errorf("%d names, %d slots; want at most 3", len(p.byName), len(p.slots))
	}
}

func TestPoolNeverHandsOutNetworkOrBroadcast(t *testing.T) {
	for _, c := range []struct {
		pool  string
		names int
	}{{"192.0.2.0/30", 2}, {"192.0.2.0/29", 6}, {"198.18.0.0/24", 254}} {
		pfx := netip.MustParsePrefix(c.pool)
		p, err := newPool(pfx, netip.Prefix{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.max != c.names {
			t.Errorf("%s: %d slots, want %d", c.pool, p.max, c.names)
		}
		for i := range 4 * c.names { // round the pool four times
			a, _ := p.addr(fmt.Sprintf("n%d.example", i), false)
			if !pfx.Contains(a) || a == pfx.Addr() || a == lastAddr(pfx) {
				t.Fatalf("%s: handed out %v", c.pool, a)
			}
		}
		for _, a := range []netip.Addr{pfx.Addr(), lastAddr(pfx)} {
			if _, ok := p.name(a, false); ok {
				t.Errorf("%s: %v maps to a name", c.pool, a)
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := 32 - p.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | (1<<host - 1)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func TestPoolSizes(t *testing.T) {
	p, err := newPool(DefaultPool4, netip.Prefix{}, 0)
	if err != nil || p.max != DefaultMaxNames {
		t.Errorf("default pool: max %d, %v; want %d", p.max, err, DefaultMaxNames)
	}
	p, _ = newPool(DefaultPool4, netip.Prefix{}, 1<<20)
	if p.max != 1<<17-2 {
		t.Errorf("/15 with MaxNames 2^20: max %d, want %d", p.max, 1<<17-2)
	}
	p, _ = newPool(DefaultPool4, netip.MustParsePrefix("fd00::/120"), 0)
	if p.max != 254 {
		t.Errorf("Pool6 /120: max %d, want 254", p.max)
	}
	for _, bad := range [][2]string{
		{"192.0.2.0/31", ""}, {"192.0.2.1/32", ""}, {"fd00::/64", ""}, {"::ffff:198.18.0.0/111", ""},
		{"198.18.0.0/15", "198.18.0.0/15"}, {"198.18.0.0/15", "::ffff:0.0.0.0/96"}, {"198.18.0.0/15", "fd00::/127"},
	} {
		v4, _ := netip.ParsePrefix(bad[0])
		v6, _ := netip.ParsePrefix(bad[1])
		if _, err := newPool(v4, v6, 0); err == nil {
			t.Errorf("newPool(%q, %q) accepted", bad[0], bad[1])
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("New with a /32 pool did not panic")
			}
		}()
		New(Options{Pool4: netip.MustParsePrefix("192.0.2.1/32")})
	}()
}

func TestPoolAddressArithmetic(t *testing.T) {
	base := netip.MustParseAddr("fd7a:6972:6c6b::")
	for _, n := range []uint32{1, 255, 256, 65535, 1 << 31} {
		a := offset(base, n)
		if d := diff(base, a); d != uint64(n) {
			t.Errorf("diff(offset(%v, %d)) = %d", base, n, d)
		}
	}
	if a := offset(netip.MustParseAddr("198.18.255.255"), 1); a != netip.MustParseAddr("198.19.0.0") || !a.Is4() {
		t.Errorf("carry: %v", a)
	}
	if d := diff(base, netip.MustParseAddr("fd7a:6972:6c6b:0:8000::")); d != 1<<63 {
		t.Errorf("a difference beyond 63 bits: %d", d)
	}
	p, _ := newPool(DefaultPool4, pool6, 0)
	p.addr("x.example", false)
	for _, a := range []string{"198.18.0.1", "::ffff:198.18.0.1", "fd7a:6972:6c6b::1"} {
		if n, ok := p.name(netip.MustParseAddr(a), false); !ok || n != "x.example" {
			t.Errorf("name(%s) = %q, %v", a, n, ok)
		}
	}
	for _, a := range []string{"198.18.0.2", "198.18.0.0", "10.0.0.1", "fd7a:6972:6c6c::1", "fd7a:6972:6c6b:0:1::1", "::1"} {
		if n, ok := p.name(netip.MustParseAddr(a), false); ok {
			t.Errorf("name(%s) = %q", a, n)
		}
	}
}

func TestReverseAddr(t *testing.T) {
	good := map[string]string{
		"1.0.18.198.in-addr.arpa":      "198.18.0.1",
		"255.255.255.255.in-addr.arpa": "255.255.255.255",
		"0.0.0.0.in-addr.arpa":         "0.0.0.0",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.6.c.6.2.7.9.6.a.7.d.f.ip6.arpa": "fd7a:6972:6c6b::1",
	}
	for name, want := range good {
		if a, ok := reverseAddr(name); !ok || a != netip.MustParseAddr(want) {
			t.Errorf("reverseAddr(%s) = %v, %v; want %s", name, a, ok, want)
		}
	}
	for _, name := range []string{"in-addr.arpa", "18.198.in-addr.arpa", "5.1.0.18.198.in-addr.arpa",
		"01.0.18.198.in-addr.arpa", "256.0.18.198.in-addr.arpa", "-1.0.18.198.in-addr.arpa", "a.0.18.198.in-addr.arpa",
		"1.0.18.198.in-addr.arpa.example", "ip6.arpa", "1.0.ip6.arpa",
		"10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.6.c.6.2.7.9.6.a.7.d.ip6.arpa",
		"g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.6.c.6.2.7.9.6.a.7.d.f.ip6.arpa"} {
		if a, ok := reverseAddr(name); ok {
			t.Errorf("reverseAddr(%s) = %v", name, a)
		}
	}
}

func TestProbePorts(t *testing.T) {
	p, err := policy.Compile(policy.Spec{
		Allow: []string{"a.example.org", "b.example.org:443", "c.example.org:8443", ".d.example.org:8000-8100",
			"*.e.example.org:22,2222,8443", "f.example.org:*", "192.168.1.100:3000", "[2001:db8::1]:4000",
			"2001:db8::2", "10.0.0.0/8:5000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []uint16{443, 80, 8443, 8000, 22, 2222}
	if got := probePorts(p); !slices.Equal(got, want) {
		t.Errorf("probePorts = %v, want %v", got, want)
	}
	if got := probePorts(nil); !slices.Equal(got, []uint16{443, 80}) {
		t.Errorf("probePorts(nil) = %v", got)
	}
	var many []string
	for i := range 100 {
		many = append(many, fmt.Sprintf("h%d.example.org:%d", i, 1000+i))
	}
	p, _ = policy.Compile(policy.Spec{Allow: many})
	if got := probePorts(p); len(got) != maxProbePorts {
		t.Errorf("%d probe ports, want the cap %d", len(got), maxProbePorts)
	}
}
