package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdial"
	"github.com/airlock-sh/airlock/internal/testdns"
)

func TestCheck(t *testing.T) {
	public6 := netip.MustParseAddr("2606:2800:220:1:248:1893:25c8:1946")
	pins := StaticResolver{
		"api.example.com":   {publicAddr},
		"dual.example.com":  {publicAddr, public6},
		"mixed.example.com": {publicAddr, privateAddr},
		"meta.example.com":  {metadataAddr},
		"dup.example.com":   {netip.MustParseAddr("::ffff:93.184.216.34"), publicAddr},
	}
	allowAPI := policy.Spec{Allow: []string{"api.example.com", ".example.com"}}
	public := policy.Spec{AllowPublicInternet: true}
	const neverResolved = "-" // the resolver fails the test if it is called
	tests := []struct {
		name     string
		spec     policy.Spec
		nilPol   bool
		target   string
		resolver string // "", neverResolved
		local    []netip.Addr
		allow    bool
		reason   policy.Reason
		addrs    []netip.Addr
		addr     netip.Addr // Decision.Addr, when set
	}{
		{name: "allowed name", spec: allowAPI, target: "api.example.com:443", allow: true,
			reason: policy.ReasonAllowedByEntry, addrs: []netip.Addr{publicAddr}},
		{name: "name spelled oddly", spec: allowAPI, target: "API.Example.COM.:443", allow: true,
			reason: policy.ReasonAllowedByEntry, addrs: []netip.Addr{publicAddr}},
		{name: "both families", spec: allowAPI, target: "dual.example.com:443", allow: true,
			reason: policy.ReasonAllowedByEntry, addrs: []netip.Addr{publicAddr, public6}},
		{name: "mapped answers unmapped and deduplicated", spec: allowAPI, target: "dup.example.com:80", allow: true,
			reason: policy.ReasonAllowedByEntry, addrs: []netip.Addr{publicAddr}},
		{name: "name without matching allow is not resolved", spec: allowAPI, target: "evil.example.org:443",
			resolver: neverResolved, reason: policy.ReasonNoMatchingAllow},
		{name: "port not allowed is not resolved", spec: allowAPI, target: "api.example.com:22",
			resolver: neverResolved, reason: policy.ReasonNoMatchingAllow},
		{name: "mixed answer is rebinding", spec: allowAPI, target: "mixed.example.com:443",
			reason: "private", addrs: []netip.Addr{publicAddr, privateAddr}, addr: privateAddr},
		{name: "metadata through a name", spec: allowAPI, target: "meta.example.com:80",
			reason: "metadata", addrs: []netip.Addr{metadataAddr}, addr: metadataAddr},
		{name: "unresolvable offline", spec: public, target: "unpinned.example.org:443",
			reason: policy.ReasonUnresolvable},
		{name: "nil policy denies", nilPol: true, target: "api.example.com:443", resolver: neverResolved,
			reason: policy.ReasonNoMatchingAllow},
		{name: "empty policy denies", target: "api.example.com:443", resolver: neverResolved,
			reason: policy.ReasonNoMatchingAllow},

		{name: "loopback name is never resolved (denied)", spec: public, target: "localhost:8080",
			resolver: neverResolved, reason: "loopback"},
		{name: "loopback name is never resolved (allowed)", spec: policy.Spec{Allow: []string{"localhost:8080"}, AllowLocalhost: true},
			target: "localhost:8080", resolver: neverResolved, allow: true, reason: policy.ReasonAllowedByEntry,
			addrs: netguard.LoopbackAddrs},
		{name: "sub.localhost is loopback", spec: public, target: "app.localhost:443",
			resolver: neverResolved, reason: "loopback"},

		{name: "public literal", spec: public, target: "93.184.216.34:443", resolver: neverResolved,
			allow: true, reason: policy.ReasonPublicInternet, addrs: []netip.Addr{publicAddr}},
		{name: "own address literal", spec: public, target: "93.184.216.34:443", resolver: neverResolved,
			local: []netip.Addr{publicAddr}, reason: "own_address", addrs: []netip.Addr{publicAddr}, addr: publicAddr},
		{name: "metadata literal", spec: public, target: "169.254.169.254:80", resolver: neverResolved,
			reason: "metadata", addrs: []netip.Addr{metadataAddr}, addr: metadataAddr},
		{name: "hex short IPv4", spec: public, target: "0x7f.1:80", resolver: neverResolved, reason: "loopback"},
		{name: "decimal IPv4", spec: public, target: "2130706433:80", resolver: neverResolved, reason: "loopback"},
		{name: "octal IPv4", spec: public, target: "017700000001:80", resolver: neverResolved, reason: "loopback"},
		{name: "short IPv4", spec: public, target: "127.1:80", resolver: neverResolved, reason: "loopback"},
		{name: "mapped IPv6", spec: public, target: "[::ffff:127.0.0.1]:80", resolver: neverResolved, reason: "loopback"},
		{name: "NAT64 metadata", spec: public, target: "[64:ff9b::a9fe:a9fe]:80", resolver: neverResolved, reason: "metadata"},

		{name: "no port", spec: public, target: "api.example.com", resolver: neverResolved, reason: policy.ReasonInvalidTarget},
		{name: "empty", spec: public, target: "", resolver: neverResolved, reason: policy.ReasonInvalidTarget},
		{name: "empty host", spec: public, target: ":443", resolver: neverResolved, reason: policy.ReasonInvalidTarget},
		{name: "port zero", spec: public, target: "api.example.com:0", resolver: neverResolved, reason: policy.ReasonInvalidPort},
		{name: "port too big", spec: public, target: "api.example.com:65536", resolver: neverResolved, reason: policy.ReasonInvalidPort},
		{name: "port not a number", spec: public, target: "api.example.com:http", resolver: neverResolved, reason: policy.ReasonInvalidPort},
		{name: "space in host", spec: public, target: "exa mple.com:80", resolver: neverResolved, reason: policy.ReasonInvalidTarget},
		{name: "zone ID", spec: public, target: "[fe80::1%eth0]:80", resolver: neverResolved, reason: policy.ReasonInvalidTarget},
		{name: "name in brackets", spec: public, target: "[api.example.com]:443", resolver: neverResolved, reason: policy.ReasonInvalidTarget},
		{name: "IPv4 in brackets", spec: public, target: "[93.184.216.34]:443", resolver: neverResolved, reason: policy.ReasonInvalidTarget},
		{name: "NUL in host", spec: public, target: "api.example.com\x00.evil.org:80", resolver: neverResolved, reason: policy.ReasonInvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Guard{Local: func() netguard.Local { return netguard.NewLocal(tt.local) }}
			switch tt.resolver {
			case neverResolved:
				g.Resolver = failResolver(t)
			default:
				g.Resolver = Chain(pins, nil)
			}
			if !tt.nilPol {
				g.SetPolicy(mustPolicy(t, tt.spec))
			}
			d, r := g.Check(context.Background(), tt.target)
			if d.Allow != tt.allow || d.Reason != tt.reason {
				t.Errorf("Check(%q) = allow %v reason %q (rule %q, %s), want allow %v reason %q",
					tt.target, d.Allow, d.Reason, d.Rule, d.Detail, tt.allow, tt.reason)
			}
			if tt.addrs != nil && !slices.Equal(r.Addrs, tt.addrs) {
				t.Errorf("Addrs = %v, want %v", r.Addrs, tt.addrs)
			}
			if tt.addr.IsValid() && d.Addr != tt.addr {
				t.Errorf("Decision.Addr = %v, want %v", d.Addr, tt.addr)
			}
			if d.Rule == "" {
				t.Errorf("decision without a rule: %+v", d)
			}
		})
	}
}

// TestCheckRealDNS resolves through a real DNS server on loopback: the question is the
// canonical name made absolute, asked once for A and once for AAAA.
func TestCheckRealDNS(t *testing.T) {
	srv := testdns.Start(t, func(name string, qtype uint16) (int, []netip.Addr) {
		switch name {
		case "api.example.net.":
			return dns.RcodeSuccess, []netip.Addr{publicAddr}
		case "empty.example.net.":
			return dns.RcodeSuccess, nil
		}
		return dns.RcodeNameError, nil
	})
	g := &Guard{Resolver: srv.Resolver(), Local: noLocal}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
	ctx := context.Background()

	d, r := g.Check(ctx, "API.example.NET.:443")
	if !d.Allow || !slices.Equal(r.Addrs, []netip.Addr{publicAddr}) {
		t.Fatalf("api.example.net: %+v %+v", d, r)
	}
	as, _ := questions(srv, 0, dns.TypeA)
	aaaas, _ := questions(srv, 0, dns.TypeAAAA)
	if len(as) != 1 || len(aaaas) != 1 || as[0].Name != "api.example.net." {
		t.Errorf("questions: A %v AAAA %v, want one of each for api.example.net.", as, aaaas)
	}
	for _, name := range []string{"gone.example.net", "empty.example.net"} {
		d, _ := g.Check(ctx, name+":443")
		if d.Allow || d.Reason != policy.ReasonUnresolvable {
			t.Errorf("%s: %+v, want unresolvable", name, d)
		}
	}
	// A name the policy refuses never reaches the DNS server (no exfiltration through lookups).
	_, n := questions(srv, 0, dns.TypeA)
	g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"api.example.net"}}))
	if d, _ := g.Check(ctx, "secret-data.attacker.example.org:443"); d.Allow {
		t.Errorf("unlisted name allowed: %+v", d)
	}
	if _, m := questions(srv, n, dns.TypeA); m != n {
		t.Errorf("%d questions for a denied name, want none", m-n)
	}
}

func TestCheckEmptyAnswerIsUnresolvable(t *testing.T) {
	g := &Guard{Local: noLocal, Resolver: resolverFunc(func(context.Context, string, string) ([]netip.Addr, error) {
		return []netip.Addr{{}}, nil // a broken resolver: no error, no usable address
	})}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
	if d, _ := g.Check(context.Background(), "api.example.com:443"); d.Allow || d.Reason != policy.ReasonUnresolvable {
		t.Errorf("empty answer: %+v, want unresolvable", d)
	}
}

func TestCheckAuditEvents(t *testing.T) {
	sink := &audit.Memory{}
	g := &Guard{
		Resolver: StaticResolver{"api.example.com": {publicAddr}, "rebind.example.com": {publicAddr, privateAddr}},
		Local:    noLocal, Audit: sink, Server: "github", Binding: "tv",
	}
	g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"api.example.com", "rebind.example.com"}}))
	ctx := context.Background()
	g.Check(ctx, "api.example.com:443")
	g.Check(ctx, "rebind.example.com:443")
	g.Check(ctx, "0x7f.1:80")
	g.Check(ctx, "bad host:80")

	ev := sink.Events()
	if len(ev) != 4 {
		t.Fatalf("%d events, want 4: %+v", len(ev), ev)
	}
	type want struct{ event, decision, host, addr, rule, reason string }
	wants := []want{
		{"egress_allowed", "allow", "api.example.com", "93.184.216.34", "api.example.com", "allowed_by_entry"},
		{"egress_blocked", "deny", "rebind.example.com", "10.0.0.1", "address:private", "private"},
		{"egress_blocked", "deny", "127.0.0.1", "127.0.0.1", "address:loopback", "loopback"},
		{"egress_blocked", "deny", "bad host", "", "target", "invalid_target"},
	}
	for i, w := range wants {
		e := ev[i]
		got := want{e.Event, e.Decision, e.Host, e.Addr, e.Rule, e.Reason}
		if w.rule == "" {
			got.rule = "" // the policy names its default rule as it likes
		}
		if got != w {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
		}
		if e.Server != "github" || e.Binding != "tv" || e.Time.IsZero() {
			t.Errorf("event %d: server %q binding %q time %v", i, e.Server, e.Binding, e.Time)
		}
		if i < 3 && e.Port == 0 {
			t.Errorf("event %d: no port", i)
		}
	}
}

func TestDialContextRefusesOtherNetworks(t *testing.T) {
	rec := testdial.New(t)
	g := &Guard{Resolver: failResolver(t), Local: noLocal, Dial: rec.Dial}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
	for _, network := range []string{"udp", "udp4", "unix", "ip", "ip4:icmp", ""} {
		c, err := g.DialContext(context.Background(), network, "93.184.216.34:53")
		if err == nil {
			c.Close()
			t.Errorf("%q: dialled", network)
			continue
		}
		if !strings.Contains(err.Error(), "only over TCP") {
			t.Errorf("%q: error %q does not say that only TCP is supported", network, err)
		}
	}
	if d := rec.Dialed(); len(d) != 0 {
		t.Errorf("dial step called: %v", d)
	}
}

func TestDialContextBlocked(t *testing.T) {
	rec := testdial.New(t)
	rec.AllowLoopback = true
	g := &Guard{Resolver: StaticResolver{"rebind.example.com": {publicAddr, privateAddr}}, Local: noLocal, Dial: rec.Dial}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
	for _, tt := range []struct {
		target string
		reason policy.Reason
	}{
		{"169.254.169.254:80", "metadata"},
		{"rebind.example.com:443", "private"},
		{"0x7f.1:80", "loopback"},
		{"localhost:80", "loopback"},
		{"[::]:80", "unspecified"},
		{"nowhere.example.org:443", policy.ReasonUnresolvable},
	} {
		_, err := g.DialContext(context.Background(), "tcp", tt.target)
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Errorf("%s: err %v, want a *BlockedError", tt.target, err)
			continue
		}
		if be.Decision.Reason != tt.reason || be.Decision.Allow {
			t.Errorf("%s: reason %q, want %q (%v)", tt.target, be.Decision.Reason, tt.reason, err)
		}
	}
	if d := rec.Dialed(); len(d) != 0 {
		t.Errorf("dial step called for refused destinations: %v", d)
	}
}

// TestDialContextTriesCheckedAddressesInOrder: the first address fails, the second connects,
// and the resolver is asked once however many attempts there are.
func TestDialContextTriesCheckedAddressesInOrder(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	second := netip.MustParseAddr("93.184.216.35")
	rec := testdial.New(t)
	rec.Route("93.184.216.35:443", ln.Addr().String())
	res := &countingResolver{next: StaticResolver{"multi.example.com": {publicAddr, second}}}
	g := &Guard{Resolver: res, Local: noLocal, Dial: rec.Dial}
	g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"multi.example.com"}}))

	c, err := g.DialContext(context.Background(), "tcp", "multi.example.com:443")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got, want := rec.Dialed(), []string{"93.184.216.34:443", "93.184.216.35:443"}; !slices.Equal(got, want) {
		t.Errorf("dialled %v, want %v", got, want)
	}
	if got := res.asked(); !slices.Equal(got, []string{"multi.example.com."}) {
		t.Errorf("resolver asked %v, want one lookup of multi.example.com.", got)
	}

	// When every attempt fails, the error says so and the resolver is still asked only once.
	rec2 := testdial.New(t)
	g.Dial = rec2.Dial
	res.names = nil
	_, err = g.DialContext(context.Background(), "tcp", "multi.example.com:443")
	if err == nil || errors.As(err, new(*BlockedError)) || strings.Contains(err.Error(), "\n") {
		t.Errorf("all attempts refused: err %q, want a one-line connection error that is not a BlockedError", err)
	}
	if len(rec2.Dialed()) != 2 || len(res.asked()) != 1 {
		t.Errorf("dialled %v after %v lookups", rec2.Dialed(), res.asked())
	}
}

func TestDialContextFamily(t *testing.T) {
	public6 := netip.MustParseAddr("2606:2800:220:1:248:1893:25c8:1946")
	g := &Guard{Resolver: StaticResolver{"dual.example.com": {publicAddr, public6}, "v4.example.com": {publicAddr}}, Local: noLocal}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
	for _, tt := range []struct {
		network, target string
		want            []string
	}{
		{"tcp", "dual.example.com:443", []string{"93.184.216.34:443", "[2606:2800:220:1:248:1893:25c8:1946]:443"}},
		{"tcp4", "dual.example.com:443", []string{"93.184.216.34:443"}},
		{"tcp6", "dual.example.com:443", []string{"[2606:2800:220:1:248:1893:25c8:1946]:443"}},
		{"tcp6", "v4.example.com:443", nil},
	} {
		rec := testdial.New(t)
		g.Dial = rec.Dial
		if _, err := g.DialContext(context.Background(), tt.network, tt.target); err == nil {
			t.Errorf("%s %s: connected; the recorder refuses everything", tt.network, tt.target)
		}
		if got := rec.Dialed(); !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: dialled %v, want %v", tt.network, tt.target, got, tt.want)
		}
	}
}

// TestDefaultDialer connects for real, with Dial nil: through the default net.Dialer and its
// Control re-check, to a loopback listener the policy grants.
func TestDefaultDialer(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	accepted := make(chan struct{}, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			accepted <- struct{}{}
		}
	}()
	for _, tt := range []struct {
		name   string
		spec   policy.Spec
		target string
	}{
		{"explicit IP entry", policy.Spec{Allow: []string{"127.0.0.1:" + port}}, "127.0.0.1:" + port},
		{"localhost name", policy.Spec{Allow: []string{"localhost:" + port}, AllowLocalhost: true}, "localhost:" + port},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &Guard{Resolver: failResolver(t), Local: noLocal}
			g.SetPolicy(mustPolicy(t, tt.spec))
			c, err := g.DialContext(context.Background(), "tcp", tt.target)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.RemoteAddr().String(); got != ln.Addr().String() {
				t.Errorf("connected to %s, want %s", got, ln.Addr())
			}
			<-accepted
		})
	}
}

func TestApprovedControl(t *testing.T) {
	control := approvedControl([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, 8080)
	for _, tt := range []struct {
		network, address string
		ok               bool
	}{
		{"tcp4", "127.0.0.1:8080", true},
		{"tcp6", "[::1]:8080", true},
		{"tcp6", "[::ffff:127.0.0.1]:8080", true},
		{"tcp4", "127.0.0.2:8080", false},
		{"tcp4", "127.0.0.1:8081", false},
		{"tcp4", "10.0.0.1:8080", false},
		{"tcp6", "[fe80::1%eth0]:8080", false},
		{"tcp4", "localhost:8080", false},
		{"tcp4", "", false},
	} {
		err := control(tt.network, tt.address, nil)
		if (err == nil) != tt.ok {
			t.Errorf("%s %q: err %v, want ok=%v", tt.network, tt.address, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrNotApproved) {
			t.Errorf("%s %q: err %v is not ErrNotApproved", tt.network, tt.address, err)
		}
	}
}

// TestApprovedDialerRefusesUnapproved drives the real net.Dialer: a listener that exists but
// was not approved is never connected to.
func TestApprovedDialerRefusesUnapproved(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	ap := netip.MustParseAddrPort(ln.Addr().String())
	dial := approvedDialer(time.Second, []netip.Addr{netip.MustParseAddr("127.0.0.2")}, ap.Port())
	c, err := dial(context.Background(), "tcp", ap.String())
	if err == nil {
		c.Close()
		t.Fatal("connected to an address that was not approved")
	}
	if !errors.Is(err, ErrNotApproved) {
		t.Errorf("err %v, want ErrNotApproved", err)
	}
}

func TestBlockedErrorMessage(t *testing.T) {
	g := &Guard{Resolver: StaticResolver{"rebind.example.com": {publicAddr, privateAddr}}, Local: noLocal}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
	for _, tt := range []struct {
		target string
		want   []string
	}{
		{"169.254.169.254:80", []string{"airlock: blocked 169.254.169.254:80 (metadata, rule: address:metadata)", "cloud metadata address", "never allows it through a name"}},
		{"rebind.example.com:443", []string{"airlock: blocked rebind.example.com:443 (private, rule: address:private)", "resolves to 10.0.0.1", "allow_private_ips", "rebinding"}},
		{"nowhere.example.org:443", []string{"airlock: blocked nowhere.example.org:443 (unresolvable, rule: dns)", "not pinned", "pin its address"}},
		{"[::1]:22", []string{"airlock: blocked [::1]:22 (loopback, rule: address:loopback)", "allow_localhost"}},
	} {
		_, err := g.DialContext(context.Background(), "tcp", tt.target)
		if err == nil {
			t.Fatalf("%s: allowed", tt.target)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: message %q does not contain %q", tt.target, err, w)
			}
		}
	}
}

func TestStaticResolverAndChain(t *testing.T) {
	ctx := context.Background()
	v6 := netip.MustParseAddr("2001:4860:4860::8888")
	pins := StaticResolver{"pinned.example.com": {publicAddr, v6}}
	next := &countingResolver{next: StaticResolver{"other.example.com": {privateAddr}}}
	r := Chain(pins, next)
	for _, tt := range []struct {
		network, host string
		want          []netip.Addr
	}{
		{"ip", "pinned.example.com", []netip.Addr{publicAddr, v6}},
		{"ip", "Pinned.Example.Com.", []netip.Addr{publicAddr, v6}},
		{"ip4", "pinned.example.com.", []netip.Addr{publicAddr}},
		{"ip6", "pinned.example.com.", []netip.Addr{v6}},
		{"ip", "other.example.com.", []netip.Addr{privateAddr}},
	} {
		got, err := r.LookupNetIP(ctx, tt.network, tt.host)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: %v %v, want %v", tt.network, tt.host, got, err, tt.want)
		}
	}
	if got := next.asked(); !slices.Equal(got, []string{"other.example.com."}) {
		t.Errorf("next asked %v; pinned names must not reach it", got)
	}

	// The returned slice is a copy: a caller cannot change the pins.
	got, _ := pins.LookupNetIP(ctx, "ip", "pinned.example.com")
	got[0] = privateAddr
	if pins["pinned.example.com"][0] != publicAddr {
		t.Error("LookupNetIP returned the pinned slice itself")
	}

	offline := Chain(pins, nil)
	_, err := offline.LookupNetIP(ctx, "ip", "unpinned.example.com.")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound || !strings.Contains(err.Error(), "not pinned and offline") {
		t.Errorf("offline unpinned: %v, want a not-found DNSError saying not pinned and offline", err)
	}
	if _, err := Chain(nil, nil).LookupNetIP(ctx, "ip", "x.example.com"); err == nil {
		t.Error("empty offline chain resolved a name")
	}
	if _, err := (StaticResolver{"v4only.example.com": {publicAddr}}).LookupNetIP(ctx, "ip6", "v4only.example.com"); err == nil {
		t.Error("ip6 lookup of an IPv4-only pin succeeded")
	}
	var _ Resolver = net.DefaultResolver
}

func TestLocalCache(t *testing.T) {
	calls := 0
	fail := false
	c := &localCache{list: func() ([]net.Addr, error) {
		calls++
		if fail {
			return nil, errors.New("no interfaces")
		}
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("192.0.2.7"), Mask: net.CIDRMask(24, 32)},
			&net.IPAddr{IP: net.ParseIP("2001:db8::7")},
		}, nil
	}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := c.get(t0)
	if !l.Contains(netip.MustParseAddr("192.0.2.7")) || !l.Contains(netip.MustParseAddr("2001:db8::7")) {
		t.Error("interface addresses missing from the set")
	}
	c.get(t0.Add(29 * time.Second))
	if calls != 1 {
		t.Errorf("%d listings within 30 s, want 1", calls)
	}
	fail = true
	l = c.get(t0.Add(31 * time.Second))
	if calls != 2 || !l.Contains(netip.MustParseAddr("192.0.2.7")) {
		t.Errorf("after a failed listing: %d calls, set kept=%v; want 2 calls and the last good set", calls, l.Contains(netip.MustParseAddr("192.0.2.7")))
	}
	c.get(t0.Add(time.Second)) // the clock went backwards: list again
	if calls != 3 {
		t.Errorf("%d listings after the clock went back, want 3", calls)
	}
}

func TestNilLocalUsesMachineAddresses(t *testing.T) {
	g := &Guard{Resolver: failResolver(t)}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
	// Whatever the machine's addresses are, the guard must decide without panicking, and
	// loopback stays denied.
	if d, _ := g.Check(context.Background(), "127.0.0.1:80"); d.Allow {
		t.Errorf("loopback allowed: %+v", d)
	}
}

func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestDialContextCancelledLookup: a lookup cut short by the caller is not a verdict on the
// destination, so the error is the context's, not a BlockedError.
func TestDialContextCancelledLookup(t *testing.T) {
	rec := testdial.New(t)
	g := &Guard{Local: noLocal, Dial: rec.Dial, Resolver: resolverFunc(func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := g.DialContext(ctx, "tcp", "api.example.com:443")
	if !errors.Is(err, context.Canceled) || errors.As(err, new(*BlockedError)) {
		t.Errorf("err %v, want context.Canceled and no BlockedError", err)
	}
	if len(rec.Dialed()) != 0 {
		t.Errorf("dialled %v", rec.Dialed())
	}
}
