package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/netguard"
)

func mustCompile(t testing.TB, spec Spec) *Policy {
	t.Helper()
	p, err := Compile(spec)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", spec, err)
	}
	return p
}

func mustHost(t testing.TB, s string) host.Host {
	t.Helper()
	h, err := host.Parse(s)
	if err != nil {
		t.Fatalf("host.Parse(%q): %v", s, err)
	}
	return h
}

func TestParseEntryRejects(t *testing.T) {
	tests := []struct {
		entry string
		list  List
		want  string // part of the message
	}{
		{"*", AllowList, "allows every host"},
		{"*:443", AllowList, "allows every host"},
		{":443", AllowList, "allows every host"},
		{"0.0.0.0/0", AllowList, "allows every address"},
		{"::/0", AllowList, "allows every address"},
		{"*.com", AllowList, "top-level domain"},
		{".com", AllowList, "top-level domain"},
		{"*.co.uk", AllowList, "public suffix"},
		{".co.uk", AllowList, "public suffix"},
		{"*.localhost", AllowList, "top-level domain"},
		{"com", AllowList, "top-level domain"},
		{"api.*.example.com", AllowList, "wildcard inside the name"},
		{"ex*ample.com", AllowList, "wildcard inside the name"},
		{"*example.com", AllowList, "wildcard inside the name"},
		{"**.example.com", AllowList, "wildcard inside the name"},
		{"example.com:70000", AllowList, "out of range"},
		{"example.com:0", AllowList, "port 0"},
		{"example.com:", AllowList, "empty port"},
		{"example.com:http", AllowList, "not a number"},
		{"example.com:9000-8000", AllowList, "below its start"},
		{"example.com:80,", AllowList, "empty port"},
		{"", AllowList, "empty entry"},
		{" example.com", AllowList, "white space"},
		{"https://example.com", AllowList, "is a URL"},
		{"10.0.0.1/8", AllowList, "host bits set"},
		{"10.0.0.0/33", AllowList, "not a valid CIDR"},
		{"[::1", AllowList, "unclosed"},
		{"[::1]x", AllowList, "after ']'"},
		{".10.0.0.1", AllowList, "wildcard before an IP"},
		{"${HA_URL}", AllowList, "template"},
		{"exa mple.com", DenyList, "white space"},
		{"*.ex*ample.com", DenyList, "wildcard inside the name"},
	}
	for _, tt := range tests {
		t.Run(tt.list.String()+"/"+tt.entry, func(t *testing.T) {
			_, err := Compile(specWith(tt.list, tt.entry))
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("Compile accepted %q (err %v)", tt.entry, err)
			}
			if ee.Entry != tt.entry || ee.List != tt.list || ee.Index != 0 {
				t.Errorf("EntryError = %+v, want entry %q in %v at 0", ee, tt.entry, tt.list)
			}
			if !strings.Contains(ee.Error(), tt.want) {
				t.Errorf("error %q does not say %q", ee.Error(), tt.want)
			}
		})
	}
}

func specWith(l List, entries ...string) Spec {
	if l == DenyList {
		return Spec{Deny: entries}
	}
	return Spec{Allow: entries}
}

func TestParseEntryAccepts(t *testing.T) {
	allow := []string{
		"api.github.com", "api.github.com:443", ".example.com", "*.example.com:8000-8100",
		"example.com:*", "example.com:80,443,8080-8090", "10.0.0.1", "10.0.0.0/8", "[::1]:8080",
		"2001:db8::/32", "[2001:db8::/32]:443", "::1", "localhost", "localhost:3000", "github.io",
		"Example.COM.", ".githubusercontent.com:443", ".github.io", "ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "bücher.de", "0x7f.1:8080", "[::ffff:10.0.0.1]",
	}
	for _, e := range allow {
		if _, err := Compile(Spec{Allow: []string{e}}); err != nil {
			t.Errorf("allow %q: %v", e, err)
		}
	}
	deny := []string{"*", ":25", "*:25", ".com", "*.co.uk", "0.0.0.0/0", "com"}
	for _, e := range deny {
		if _, err := Compile(Spec{Deny: []string{e}}); err != nil {
			t.Errorf("deny %q: %v", e, err)
		}
	}
}

func TestCompileReportsEveryBadEntry(t *testing.T) {
	_, err := Compile(Spec{Allow: []string{"ok.example.com", "*", "x.example.com:99999"}, Deny: []string{"a*b.com"}})
	var got []string
	for _, e := range unwrapAll(err) {
		var ee *EntryError
		if errors.As(e, &ee) {
			got = append(got, fmt.Sprintf("%s[%d]", ee.List, ee.Index))
		}
	}
	want := "allow[1] allow[2] deny[0]"
	if strings.Join(got, " ") != want {
		t.Fatalf("errors at %v, want %s (err: %v)", got, want, err)
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

var public = []netip.Addr{netip.MustParseAddr("93.184.216.34")}

// decide runs both stages as the egress guard does, with addrs standing in for resolution.
func decide(t *testing.T, p *Policy, target string, port uint16, addrs ...netip.Addr) Decision {
	t.Helper()
	h := mustHost(t, target)
	d := p.Decide(h, port)
	if !d.Allow {
		return d
	}
	if h.IsIP() {
		addrs = []netip.Addr{h.Addr}
	} else if addrs == nil {
		addrs = public
	}
	return p.DecideAddrs(h, port, addrs, netguard.Local{})
}

func TestNameMatching(t *testing.T) {
	tests := []struct {
		entry  string
		target string
		port   uint16
		allow  bool
	}{
		{"api.github.com", "api.github.com", 443, true},
		{"api.github.com", "api.github.com", 80, true},
		{"api.github.com", "api.github.com", 8443, false},
		{"api.github.com", "github.com", 443, false},
		{"api.github.com", "x.api.github.com", 443, false},
		{"API.GitHub.com.", "api.github.com", 443, true},
		{"api.github.com", "API.GITHUB.COM.", 443, true},
		{".example.com", "example.com", 443, true},
		{".example.com", "a.example.com", 443, true},
		{".example.com", "a.b.example.com", 443, true},
		{".example.com", "badexample.com", 443, false},
		{".example.com", "example.com.evil.net", 443, false},
		{"*.example.com", "example.com", 443, false},
		{"*.example.com", "a.example.com", 443, true},
		{"*.example.com", "a.b.example.com", 443, true},
		{"*.example.com:8000-8100", "a.example.com", 8050, true},
		{"*.example.com:8000-8100", "a.example.com", 8101, false},
		{"example.com:*", "example.com", 22, true},
		{"example.com:80,443,8080", "example.com", 8080, true},
		{"example.com:80,443,8080", "example.com", 8081, false},
		{"ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "example.com", 443, true},
		{"bücher.de", "xn--bcher-kva.de", 443, true},
		{"xn--bcher-kva.de", "BÜCHER.de", 443, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s:%d", tt.entry, tt.target, tt.port), func(t *testing.T) {
			p := mustCompile(t, Spec{Allow: []string{tt.entry}})
			d := decide(t, p, tt.target, tt.port)
			if d.Allow != tt.allow {
				t.Fatalf("allow = %v, want %v (%+v)", d.Allow, tt.allow, d)
			}
			if d.Allow && d.Rule != tt.entry {
				t.Errorf("rule = %q, want %q", d.Rule, tt.entry)
			}
			if !d.Allow && d.Reason != ReasonNoMatchingAllow {
				t.Errorf("reason = %q, want %q", d.Reason, ReasonNoMatchingAllow)
			}
		})
	}
}

func TestDenyWins(t *testing.T) {
	p := mustCompile(t, Spec{
		Allow: []string{".example.com", "example.net:*", "1.2.3.0/24", "*.example.org"},
		Deny:  []string{"secret.example.com", "example.net:25", "1.2.3.4", "*.bad.example.org", ":6667"},
	})
	tests := []struct {
		target string
		port   uint16
		allow  bool
		reason Reason
	}{
		{"www.example.com", 443, true, ReasonAllowedByEntry},
		{"secret.example.com", 443, false, ReasonDeniedByEntry},
		{"example.net", 22, true, ReasonAllowedByEntry},
		{"example.net", 25, false, ReasonDeniedByEntry},
		{"1.2.3.5", 443, true, ReasonAllowedByEntry},
		{"1.2.3.4", 443, false, ReasonDeniedByEntry},
		{"0x01020304", 443, false, ReasonDeniedByEntry},
		{"a.example.org", 443, true, ReasonAllowedByEntry},
		{"x.bad.example.org", 443, false, ReasonDeniedByEntry},
		{"example.net", 6667, false, ReasonDeniedByEntry},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s:%d", tt.target, tt.port), func(t *testing.T) {
			d := decide(t, p, tt.target, tt.port)
			if d.Allow != tt.allow || d.Reason != tt.reason {
				t.Fatalf("got %+v, want allow=%v reason=%s", d, tt.allow, tt.reason)
			}
		})
	}
	// A deny CIDR also applies to the addresses an allowed name resolves to.
	d := decide(t, p, "www.example.com", 443, netip.MustParseAddr("1.2.3.4"))
	if d.Allow || d.Reason != ReasonDeniedByEntry {
		t.Fatalf("name resolving to a denied address: %+v", d)
	}
	// "*" in a deny list denies everything.
	all := mustCompile(t, Spec{Allow: []string{"example.com"}, Deny: []string{"*"}, AllowPublicInternet: true})
	if d := decide(t, all, "example.com", 443); d.Allow {
		t.Fatalf("deny * let through: %+v", d)
	}
}

func TestEmptyPolicyDeniesEverything(t *testing.T) {
	var nilPolicy *Policy
	for _, p := range []*Policy{mustCompile(t, Spec{}), nilPolicy} {
		for target, reason := range map[string]Reason{
			"example.com": ReasonNoMatchingAllow, "8.8.8.8": ReasonNoMatchingAllow,
			"[2606:4700::1111]": ReasonNoMatchingAllow, "localhost": "loopback", "127.0.0.1": "loopback",
			"169.254.169.254": "metadata", "metadata.google.internal": "metadata",
		} {
			if d := decide(t, p, target, 443); d.Allow || d.Reason != reason {
				t.Errorf("%s: %+v, want reason %s", target, d, reason)
			}
		}
	}
}

func TestAddressRules(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		name   string
		spec   Spec
		target string
		addrs  []netip.Addr
		allow  bool
		reason Reason
	}{
		{"name to private", Spec{Allow: []string{"app.example.com"}}, "app.example.com", []netip.Addr{ip("10.1.2.3")}, false, "private"},
		{"name to private opt-in", Spec{Allow: []string{"app.example.com"}, AllowPrivateIPs: true}, "app.example.com", []netip.Addr{ip("10.1.2.3")}, true, ReasonAllowedByEntry},
		{"name to cgnat opt-in", Spec{Allow: []string{"app.example.com"}, AllowPrivateIPs: true}, "app.example.com", []netip.Addr{ip("100.64.0.1")}, true, ReasonAllowedByEntry},
		{"name to ULA opt-in", Spec{Allow: []string{"app.example.com"}, AllowPrivateIPs: true}, "app.example.com", []netip.Addr{ip("fd12::1")}, true, ReasonAllowedByEntry},
		{"name to loopback", Spec{Allow: []string{"app.example.com"}, AllowPrivateIPs: true}, "app.example.com", []netip.Addr{ip("127.0.0.1")}, false, "loopback"},
		{"name to loopback opt-in", Spec{Allow: []string{"app.example.com"}, AllowLocalhost: true}, "app.example.com", []netip.Addr{ip("127.0.0.1")}, true, ReasonAllowedByEntry},
		{"name to mapped loopback", Spec{Allow: []string{"app.example.com"}}, "app.example.com", []netip.Addr{ip("::ffff:127.0.0.1")}, false, "loopback"},
		{"name to metadata", Spec{Allow: []string{"app.example.com"}, AllowPrivateIPs: true, AllowLocalhost: true}, "app.example.com", []netip.Addr{ip("169.254.169.254")}, false, "metadata"},
		{"name to metadata with CIDR grant", Spec{Allow: []string{"app.example.com", "169.254.0.0/16"}}, "app.example.com", []netip.Addr{ip("169.254.169.254")}, false, "metadata"},
		{"name to metadata with exact grant", Spec{Allow: []string{"app.example.com", "169.254.169.254"}}, "app.example.com", []netip.Addr{ip("169.254.169.254")}, false, "metadata"},
		{"name to link-local with CIDR grant", Spec{Allow: []string{"app.example.com", "169.254.0.0/16"}}, "app.example.com", []netip.Addr{ip("169.254.1.1")}, true, ReasonAllowedByEntry},
		{"name to private with CIDR grant", Spec{Allow: []string{"ha.example.com", "192.168.1.0/24"}}, "ha.example.com", []netip.Addr{ip("192.168.1.20")}, true, ReasonAllowedByEntry},
		{"mixed answer", Spec{Allow: []string{"rebind.example.com"}}, "rebind.example.com", []netip.Addr{ip("93.184.216.34"), ip("10.0.0.1")}, false, "private"},
		{"no addresses", Spec{Allow: []string{"app.example.com"}}, "app.example.com", []netip.Addr{}, false, ReasonUnresolvable},
		{"literal metadata exact grant", Spec{Allow: []string{"169.254.169.254:80"}}, "169.254.169.254", nil, true, ReasonAllowedByEntry},
		{"literal metadata CIDR", Spec{Allow: []string{"169.254.0.0/16:80"}}, "169.254.169.254", nil, false, "metadata"},
		{"literal metadata public internet", Spec{AllowPublicInternet: true, AllowPrivateIPs: true, AllowLocalhost: true}, "169.254.169.254", nil, false, "metadata"},
		{"literal private explicit", Spec{Allow: []string{"192.168.1.100:80"}}, "192.168.1.100", nil, true, ReasonAllowedByEntry},
		{"literal private public internet", Spec{AllowPublicInternet: true}, "192.168.1.100", nil, false, "private"},
		{"literal private public internet opt-in", Spec{AllowPublicInternet: true, AllowPrivateIPs: true}, "192.168.1.100", nil, true, ReasonPublicInternet},
		{"literal odd loopback", Spec{AllowPublicInternet: true}, "0x7f.1", nil, false, "loopback"},
		{"literal decimal loopback", Spec{AllowPublicInternet: true}, "2130706433", nil, false, "loopback"},
		{"literal mapped loopback", Spec{AllowPublicInternet: true}, "::ffff:127.0.0.1", nil, false, "loopback"},
		{"literal public", Spec{AllowPublicInternet: true}, "8.8.8.8", nil, true, ReasonPublicInternet},
		{"literal v6 outside 2000::/3", Spec{AllowPublicInternet: true}, "fec0::1", nil, false, "reserved"},
		{"literal mapped private explicit v4 entry", Spec{Allow: []string{"10.0.0.1"}}, "::ffff:10.0.0.1", nil, true, ReasonAllowedByEntry},
		{"localhost name", Spec{AllowPublicInternet: true}, "localhost", nil, false, "loopback"},
		{"localhost name opt-in", Spec{AllowPublicInternet: true, AllowLocalhost: true}, "localhost", []netip.Addr{ip("127.0.0.1"), ip("::1")}, true, ReasonPublicInternet},
		{"localhost exact entry", Spec{Allow: []string{"localhost:443"}}, "localhost", []netip.Addr{ip("127.0.0.1"), ip("::1")}, true, ReasonAllowedByEntry},
		{"sub.localhost exact entry", Spec{Allow: []string{"dev.localhost"}}, "dev.localhost", []netip.Addr{ip("127.0.0.1")}, true, ReasonAllowedByEntry},
		{"localhost exact entry is not a grant for other names", Spec{Allow: []string{"localhost", "app.example.com"}}, "app.example.com", []netip.Addr{ip("127.0.0.1")}, false, "loopback"},
		{"localhost exact entry does not grant own addresses", Spec{Allow: []string{"localhost"}}, "localhost", []netip.Addr{ip("169.254.169.254")}, false, "metadata"},
		{".local name", Spec{AllowPublicInternet: true}, "homeassistant.local", nil, false, "private"},
		{".local name opt-in", Spec{Allow: []string{"homeassistant.local:8123"}, AllowPrivateIPs: true}, "homeassistant.local", []netip.Addr{ip("192.168.1.20")}, true, ReasonAllowedByEntry},
		{"metadata name", Spec{Allow: []string{"metadata.google.internal"}, AllowPrivateIPs: true}, "metadata.google.internal", nil, false, "metadata"},
		{"special name default", Spec{AllowPublicInternet: true}, "foo.invalid", nil, false, "special_name"},
		{"special name explicit", Spec{Allow: []string{".example.test"}}, "a.example.test", nil, true, ReasonAllowedByEntry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, tt.spec)
			port := uint16(443)
			for _, e := range tt.spec.Allow {
				if strings.HasSuffix(e, ":80") {
					port = 80
				}
				if strings.HasSuffix(e, ":8123") {
					port = 8123
				}
			}
			d := decide(t, p, tt.target, port, tt.addrs...)
			if d.Allow != tt.allow || d.Reason != tt.reason {
				t.Fatalf("got %+v, want allow=%v reason=%s", d, tt.allow, tt.reason)
			}
			if !d.Allow && d.Detail == "" {
				t.Errorf("denial without detail: %+v", d)
			}
		})
	}
}

func TestOwnAddresses(t *testing.T) {
	own := netguard.NewLocal([]netip.Addr{netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("198.51.100.1")})
	ownPublic := netguard.NewLocal([]netip.Addr{netip.MustParseAddr("93.184.216.34")})
	p := mustCompile(t, Spec{AllowPublicInternet: true})
	h := mustHost(t, "93.184.216.34")
	if d := p.DecideAddrs(h, 443, []netip.Addr{h.Addr}, own); !d.Allow {
		t.Fatalf("a public address that is not ours: %+v", d)
	}
	if d := p.DecideAddrs(h, 443, []netip.Addr{h.Addr}, ownPublic); d.Allow || d.Reason != "own_address" {
		t.Fatalf("our own public address: %+v", d)
	}
	lp := mustCompile(t, Spec{AllowPublicInternet: true, AllowLocalhost: true})
	if d := lp.DecideAddrs(h, 443, []netip.Addr{h.Addr}, ownPublic); !d.Allow {
		t.Fatalf("own address with allow_localhost: %+v", d)
	}
}

func TestInvalidPort(t *testing.T) {
	p := mustCompile(t, Spec{AllowPublicInternet: true})
	if d := p.Decide(mustHost(t, "example.com"), 0); d.Allow || d.Reason != ReasonInvalidPort {
		t.Fatalf("port 0: %+v", d)
	}
}

func TestMessageTeaches(t *testing.T) {
	p := mustCompile(t, Spec{Allow: []string{"app.example.com"}})
	pub := mustCompile(t, Spec{AllowPublicInternet: true})
	public, meta := mustHost(t, "93.184.216.34"), mustHost(t, "169.254.169.254")
	msg := p.Decide(public, 80).Message(HostPort(public, 80))
	for _, want := range []string{"blocked", "93.184.216.34:80", `add the allow entry "93.184.216.34:80"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// A metadata address is reported as such under any policy, never with advice to allow it.
	for _, pol := range []*Policy{p, pub} {
		msg := pol.Decide(meta, 80).Message(HostPort(meta, 80))
		for _, want := range []string{"metadata", "never allows it through a name"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
		if strings.Contains(msg, "add the allow entry") {
			t.Errorf("message %q advises allowing a metadata address", msg)
		}
	}
}

// specOfSize builds a policy with n allow entries of mixed forms.
func specOfSize(n int) Spec {
	s := Spec{Allow: make([]string, 0, n), Deny: []string{"blocked.example.com"}}
	for i := 0; i < n; i++ {
		switch i % 4 {
		case 0:
			s.Allow = append(s.Allow, fmt.Sprintf("api%d.service%d.example.com", i, i%97))
		case 1:
			s.Allow = append(s.Allow, fmt.Sprintf(".tenant%d.example.net:443", i))
		case 2:
			s.Allow = append(s.Allow, fmt.Sprintf("*.region%d.example.org:8000-8100", i))
		default:
			s.Allow = append(s.Allow, fmt.Sprintf("11.%d.%d.0/24", (i>>8)&255, i&255))
		}
	}
	return s
}

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		p := mustCompile(b, specOfSize(n))
		hit := host.Host{Name: "deep.a.tenant5.example.net"}
		miss := host.Host{Name: "www.unlisted-site.example.com"}
		lit := host.Host{Addr: netip.MustParseAddr("11.0.3.7")}
		addrs := []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("2606:2800:220:1::1")}
		b.Run(fmt.Sprintf("name-hit/%d", n), func(b *testing.B) {
			for b.Loop() {
				if !p.Decide(hit, 443).Allow {
					b.Fatal("denied")
				}
			}
		})
		b.Run(fmt.Sprintf("name-miss/%d", n), func(b *testing.B) {
			for b.Loop() {
				if p.Decide(miss, 443).Allow {
					b.Fatal("allowed")
				}
			}
		})
		b.Run(fmt.Sprintf("name+addrs/%d", n), func(b *testing.B) {
			for b.Loop() {
				if !p.DecideAddrs(hit, 443, addrs, netguard.Local{}).Allow {
					b.Fatal("denied")
				}
			}
		})
		b.Run(fmt.Sprintf("ip-literal/%d", n), func(b *testing.B) {
			for b.Loop() {
				p.Decide(lit, 443)
			}
		})
	}
}

func FuzzCompile(f *testing.F) {
	// Seeds: each entry form, and shapes that have tripped parsers elsewhere.
	for _, s := range []string{
		"api.github.com", ".example.com:443", "*.example.com:8000-8100", "10.0.0.0/8", "[::1]:80",
		"2001:db8::/32", "*", ":25", "a:b:c", "[]:", "[::1]:", ".", "*.", "..", "x:1-", "x:-1",
		"x:1,,2", "0x7f.1", "[10.0.0.0/8]:443", "[::ffff:0:0/96]",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, entry string, deny bool) {
		spec := Spec{Allow: []string{entry}}
		if deny {
			spec = Spec{Deny: []string{entry}, AllowPublicInternet: true}
		}
		p, err := Compile(spec)
		if err != nil {
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("error is not an EntryError: %v", err)
			}
			return
		}
		if e, err := parseEntry(entry, AllowList); err == nil && (e.kind == kindAny || e.kind == kindPrefix && e.prefix.Bits() == 0) {
			t.Fatalf("allow list accepted %q, which covers every host", entry)
		}
		// Whatever the entry, the policy never lets a name reach metadata or loopback.
		h := host.Host{Name: "fuzz.example.com"}
		d := p.DecideAddrs(h, 443, []netip.Addr{netip.MustParseAddr("169.254.169.254")}, netguard.Local{})
		if d.Allow {
			t.Fatalf("entry %q let a name reach the metadata address: %+v", entry, d)
		}
	})
}

// TestDecideResolvedTrustsOnlyItsOwnDecisions: the name stage is skipped only for a decision
// this policy's Decide made for the same destination; any other is judged again, so a forged
// or foreign "allow" never widens the verdict.
func TestDecideResolvedTrustsOnlyItsOwnDecisions(t *testing.T) {
	strict := mustCompile(t, Spec{Allow: []string{"api.example.com"}})
	open := mustCompile(t, Spec{AllowPublicInternet: true})
	pub := []netip.Addr{netip.MustParseAddr("93.184.216.34")}
	other, api := mustHost(t, "other.example.com"), mustHost(t, "api.example.com")

	if d := strict.DecideResolved(strict.Decide(api, 443), pub, netguard.Local{}); !d.Allow {
		t.Fatalf("own stage-1 allow: %+v", d)
	}
	if d := strict.DecideResolved(open.Decide(other, 443), pub, netguard.Local{}); d.Allow {
		t.Fatalf("another policy's allow widened the verdict: %+v", d)
	}
	forged := Decision{Allow: true, Reason: ReasonAllowedByEntry, Rule: "forged"}
	if d := strict.DecideResolved(forged, pub, netguard.Local{}); d.Allow {
		t.Fatalf("a hand-built allow widened the verdict: %+v", d)
	}
	var none *Policy
	if d := none.DecideResolved(open.Decide(other, 443), pub, netguard.Local{}); d.Allow {
		t.Fatalf("a nil policy allowed: %+v", d)
	}
	// Same answer as DecideAddrs, which decides by name itself.
	for _, addrs := range [][]netip.Addr{pub, {netip.MustParseAddr("10.0.0.1")}, nil} {
		a := strict.DecideAddrs(api, 443, addrs, netguard.Local{})
		b := strict.DecideResolved(strict.Decide(api, 443), addrs, netguard.Local{})
		if a.Allow != b.Allow || a.Reason != b.Reason || a.Rule != b.Rule {
			t.Errorf("addrs %v: DecideAddrs %+v, DecideResolved %+v", addrs, a, b)
		}
	}
}
