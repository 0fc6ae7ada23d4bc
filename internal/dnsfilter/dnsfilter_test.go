package dnsfilter

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/airlock-sh/airlock/internal/policy"
)

var pool6 = netip.MustParsePrefix("fd7a:6972:6c6b::/64")

// answerAddr returns the single A or AAAA record of r, failing otherwise.
func answerAddr(t *testing.T, r *dns.Msg) netip.Addr {
	t.Helper()
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("want one answer, got rcode %s and %d records: %v", rcode(r), len(r.Answer), r.Answer)
	}
	var ip net.IP
	switch rr := r.Answer[0].(type) {
	case *dns.A:
		ip = rr.A
	case *dns.AAAA:
		ip = rr.AAAA
	default:
		t.Fatalf("answer %v is not an address", rr)
	}
	if ttl := r.Answer[0].Header().Ttl; ttl != DefaultTTL {
		t.Errorf("TTL %d, want %d", ttl, DefaultTTL)
	}
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func TestAllowedNameGetsFakeAddress(t *testing.T) {
	p := compile(t, policy.Spec{Allow: []string{"api.github.com", ".example.org"}})
	t.Run("v4 only", func(t *testing.T) {
		ts := start(t, p, Options{})
		a := answerAddr(t, ts.exchange(t, "api.github.com.", dns.TypeA))
		if !DefaultPool4.Contains(a) {
			t.Errorf("A %v is not in %v", a, DefaultPool4)
		}
		r := ts.exchange(t, "api.github.com.", dns.TypeAAAA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("AAAA without Pool6: rcode %s, %d records; want NODATA", rcode(r), len(r.Answer))
		}
	})
	t.Run("v4 and v6", func(t *testing.T) {
		ts := start(t, p, Options{Pool6: pool6})
		a6 := answerAddr(t, ts.exchange(t, "www.example.org.", dns.TypeAAAA))
		a4 := answerAddr(t, ts.exchange(t, "www.example.org.", dns.TypeA))
		if !pool6.Contains(a6) || !DefaultPool4.Contains(a4) {
			t.Fatalf("AAAA %v, A %v: want them in %v and %v", a6, a4, pool6, DefaultPool4)
		}
		if d4, d6 := diff(DefaultPool4.Addr(), a4), diff(pool6.Addr(), a6); d4 != d6 {
			t.Errorf("A is slot %d and AAAA slot %d; one name has one slot", d4, d6)
		}
		for _, a := range []netip.Addr{a4, a6} {
			if name, ok := ts.Lookup(a); !ok || name != "www.example.org" {
				t.Errorf("Lookup(%v) = %q, %v", a, name, ok)
			}
		}
	})
}

func TestSameNameSameAddress(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{".example.org"}}), Options{})
	seen := map[netip.Addr]string{}
	for _, name := range []string{"a.example.org.", "b.example.org.", "c.example.org."} {
		a := answerAddr(t, ts.exchange(t, name, dns.TypeA))
		if other, dup := seen[a]; dup {
			t.Errorf("%s and %s both got %v", name, other, a)
		}
		seen[a] = name
		// The same name in another spelling (0x20 case randomisation, no trailing dot in
		// the canonical form) gets the same address, and the answer echoes the spelling.
		for _, spelling := range []string{name, strings.ToUpper(name), strings.ToUpper(name[:1]) + name[1:]} {
			r := ts.exchange(t, spelling, dns.TypeA)
			if b := answerAddr(t, r); b != a {
				t.Errorf("%s: %v, earlier %v", spelling, b, a)
			}
			if r.Answer[0].Header().Name != spelling {
				t.Errorf("answer owner %q, want the question's %q", r.Answer[0].Header().Name, spelling)
			}
		}
		if got, ok := ts.Lookup(a); !ok || got+"." != name {
			t.Errorf("Lookup(%v) = %q, %v; want %s", a, got, ok, name)
		}
	}
}

func TestDeniedNameIsNXDOMAIN(t *testing.T) {
	p := compile(t, policy.Spec{
		Allow: []string{".example.org", "api.github.com"},
		Deny:  []string{"secret.example.org"},
	})
	ts := start(t, p, Options{Pool6: pool6})
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeANY, dns.TypeHTTPS, dns.TypeSVCB,
		dns.TypeMX, dns.TypeSRV, dns.TypeCNAME, dns.TypeNS, dns.TypeSOA, dns.TypePTR, dns.TypeNULL}
	names := map[string]string{
		"exfil-c2VjcmV0.attacker.example.net.": "no_matching_allow",
		"mail.attacker.example.":               "special_name",
		"github.com.":                          "no_matching_allow",
		"secret.example.org.":                  "denied_by_entry",
		"metadata.google.internal.":            "metadata",
		"localhost.":                           "loopback",
		"printer.local.":                       "private",
	}
	for name, reason := range names {
		for _, qt := range types {
			r := ts.exchange(t, name, qt)
			if r.Rcode != dns.RcodeNameError || len(r.Answer)+len(r.Ns) != 0 {
				t.Errorf("%s %s: rcode %s, %d answers; want NXDOMAIN and nothing else",
					name, dns.TypeToString[qt], rcode(r), len(r.Answer))
			}
			ev := ts.audit.take()
			if len(ev) != 1 || ev[0].Event != EventBlocked || ev[0].Decision != "deny" ||
				ev[0].Host != strings.ToLower(strings.TrimSuffix(name, ".")) || ev[0].Reason != reason {
				t.Errorf("%s %s: audit %+v; want one dns_blocked event, reason %s", name, dns.TypeToString[qt], ev, reason)
			}
		}
	}
	if _, ok := ts.Lookup(DefaultPool4.Addr().Next()); ok {
		t.Error("a denied name was given a fake address")
	}
}

func TestAllowedNameOtherTypesAreNODATA(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{"api.github.com"}}), Options{})
	for _, qt := range []uint16{dns.TypeTXT, dns.TypeANY, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeMX,
		dns.TypeSRV, dns.TypeCNAME, dns.TypeNS, dns.TypeSOA, dns.TypePTR, dns.TypeCAA, dns.TypeAXFR} {
		r := ts.exchange(t, "api.github.com.", qt)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer)+len(r.Ns)+len(r.Extra) != 0 {
			t.Errorf("%s: rcode %s, records %v %v %v; want NODATA", dns.TypeToString[qt], rcode(r), r.Answer, r.Ns, r.Extra)
		}
		if !r.RecursionAvailable {
			t.Errorf("%s: RA not set; Go's resolver takes NODATA without RA or AA for a lame referral", dns.TypeToString[qt])
		}
		ev := ts.audit.take()
		if len(ev) != 1 || ev[0].Event != EventAnswered || ev[0].Addr != "" || ev[0].Rule != "api.github.com" {
			t.Errorf("%s: audit %+v", dns.TypeToString[qt], ev)
		}
	}
}

func TestIPLookingNamesAreNXDOMAIN(t *testing.T) {
	// Every one of these addresses is allowed by an entry, and still no address comes back:
	// a name that spells an address is never answered with it (or with anything).
	p := compile(t, policy.Spec{
		Allow:               []string{"127.0.0.1", "198.51.100.7", "8.8.8.8"},
		AllowLocalhost:      true,
		AllowPublicInternet: true,
	})
	ts := start(t, p, Options{})
	for _, name := range []string{"127.0.0.1.", "0x7f.1.", "2130706433.", "127.1.", "017700000001.",
		"198.51.100.7.", "8.8.8.8.", "0x8.0x8.0x8.0x8.", "1.2.3.4.5.", "foo.123.", "0x.", "999.1.1.1."} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT} {
			r := ts.exchange(t, name, qt)
			if r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
				t.Errorf("%s %s: rcode %s, answers %v; want NXDOMAIN", name, dns.TypeToString[qt], rcode(r), r.Answer)
			}
		}
		ev := ts.audit.take()
		if len(ev) != 3 || ev[0].Reason != ReasonIPLiteral && ev[0].Reason != ReasonInvalidHost {
			t.Errorf("%s: audit %+v", name, ev)
		}
	}
	// Names host.Parse refuses.
	for _, name := range []string{"a\\.b.example.org.", "sp\\032ace.example.org.", "xn--a.example.org.", "."} {
		m := new(dns.Msg)
		m.Question = []dns.Question{{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET}}
		if r := ts.send(t, "udp", m); r.Rcode != dns.RcodeNameError {
			t.Errorf("%q: rcode %s, want NXDOMAIN", name, rcode(r))
		}
	}
}

func TestLocalhost(t *testing.T) {
	names := []string{"localhost.", "LocalHost.", "app.localhost."}
	t.Run("not allowed", func(t *testing.T) {
		ts := start(t, compile(t, policy.Spec{AllowPublicInternet: true}), Options{})
		for _, name := range names {
			if r := ts.exchange(t, name, dns.TypeA); r.Rcode != dns.RcodeNameError {
				t.Errorf("%s: %s, want NXDOMAIN", name, rcode(r))
			}
		}
	})
	t.Run("allow_localhost", func(t *testing.T) {
		// allow_localhost opts in to loopback; the name itself still needs an allow entry or
		// allow_public_internet.
		ts := start(t, compile(t, policy.Spec{AllowLocalhost: true, AllowPublicInternet: true}), Options{Pool6: pool6})
		for _, name := range names {
			if a := answerAddr(t, ts.exchange(t, name, dns.TypeA)); a != netip.MustParseAddr("127.0.0.1") {
				t.Errorf("%s A: %v", name, a)
			}
			if a := answerAddr(t, ts.exchange(t, name, dns.TypeAAAA)); a != netip.IPv6Loopback() {
				t.Errorf("%s AAAA: %v", name, a)
			}
			if r := ts.exchange(t, name, dns.TypeTXT); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
				t.Errorf("%s TXT: %s %v, want NODATA", name, rcode(r), r.Answer)
			}
		}
	})
	t.Run("entry naming it on another port", func(t *testing.T) {
		// "localhost:3000" allows localhost on port 3000 only: the probe ports include the
		// ports written in allow entries, so the name is answered.
		ts := start(t, compile(t, policy.Spec{Allow: []string{"localhost:3000"}}), Options{})
		answerAddr(t, ts.exchange(t, "localhost.", dns.TypeA))
		if r := ts.exchange(t, "app.localhost.", dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Errorf("app.localhost: %s, want NXDOMAIN (the entry names exactly localhost)", rcode(r))
		}
	})
}

func TestNameAllowedOnlyOnOtherPorts(t *testing.T) {
	p := compile(t, policy.Spec{Allow: []string{"db.example.org:5432", ".example.net:8000-8100", "*.example.com:22,2222"}})
	ts := start(t, p, Options{})
	for name, port := range map[string]uint16{"db.example.org.": 5432, "x.example.net.": 8000, "git.example.com.": 22} {
		answerAddr(t, ts.exchange(t, name, dns.TypeA))
		if ev := ts.audit.take(); len(ev) != 1 || ev[0].Port != port {
			t.Errorf("%s: audit %+v, want port %d", name, ev, port)
		}
	}
	for _, name := range []string{"example.com.", "www.example.org."} {
		if r := ts.exchange(t, name, dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Errorf("%s: %s, want NXDOMAIN", name, rcode(r))
		}
	}
}

func TestPTR(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{"api.github.com"}}), Options{Pool6: pool6})
	a4 := answerAddr(t, ts.exchange(t, "api.github.com.", dns.TypeA))
	a6 := answerAddr(t, ts.exchange(t, "api.github.com.", dns.TypeAAAA))
	ts.audit.take()

	for _, a := range []netip.Addr{a4, a6} {
		rev, _ := dns.ReverseAddr(a.String())
		r := ts.exchange(t, rev, dns.TypePTR)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "api.github.com." {
			t.Errorf("PTR %s: %s %v", rev, rcode(r), r.Answer)
		}
		if ev := ts.audit.take(); len(ev) != 1 || ev[0].Host != "api.github.com" || ev[0].Addr != a.String() || ev[0].Reason != ReasonFakeAddress {
			t.Errorf("PTR %s: audit %+v", rev, ev)
		}
		if r := ts.exchange(t, rev, dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("A %s: %s %v, want NODATA", rev, rcode(r), r.Answer)
		}
		ts.audit.take()
	}
	for _, rev := range []string{
		"2.0.18.198.in-addr.arpa.", // in the pool, never handed out
		"0.0.18.198.in-addr.arpa.", // the pool's network address
		"8.8.8.8.in-addr.arpa.",
		"1.0.0.127.in-addr.arpa.",
		"18.198.in-addr.arpa.",
		"in-addr.arpa.",
		"01.0.18.198.in-addr.arpa.",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
	} {
		r := ts.exchange(t, rev, dns.TypePTR)
		if r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
			t.Errorf("PTR %s: %s %v, want NXDOMAIN", rev, rcode(r), r.Answer)
		}
	}
	names, err := ts.resolver().LookupAddr(context.Background(), a4.String())
	if err != nil || !slices.Equal(names, []string{"api.github.com."}) {
		t.Errorf("net.Resolver.LookupAddr(%v) = %v, %v", a4, names, err)
	}
}

func TestProtocolErrors(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{"api.github.com"}}), Options{})
	q := dns.Question{Name: "api.github.com.", Qtype: dns.TypeA, Qclass: dns.ClassINET}
	cases := []struct {
		name  string
		build func(m *dns.Msg)
		want  int
	}{
		{"two questions", func(m *dns.Msg) { m.Question = []dns.Question{q, q} }, dns.RcodeFormatError},
		{"no question", func(m *dns.Msg) { m.Question = nil }, dns.RcodeFormatError},
		{"NOTIFY", func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }, dns.RcodeNotImplemented},
		{"UPDATE", func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }, dns.RcodeNotImplemented},
		{"IQUERY", func(m *dns.Msg) { m.Opcode = dns.OpcodeIQuery }, dns.RcodeNotImplemented},
		{"class CHAOS", func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }, dns.RcodeRefused},
		{"class ANY", func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassANY }, dns.RcodeRefused},
		{"EDNS version 1", func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }, dns.RcodeBadVers},
		{"two OPT records", func(m *dns.Msg) { m.SetEdns0(1232, false); m.SetEdns0(4096, false) }, dns.RcodeFormatError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.Id = dns.Id()
			m.Question = []dns.Question{q}
			c.build(m)
			for _, network := range []string{"udp", "tcp"} {
				r := ts.send(t, network, m)
				if r.Rcode != c.want || len(r.Answer) != 0 {
					t.Errorf("%s: rcode %s, answers %v; want %s", network, rcode(r), r.Answer, dns.RcodeToString[c.want])
				}
			}
		})
	}
	if ev := ts.audit.take(); len(ev) != 4 { // the CHAOS and ANY class queries, twice each
		t.Errorf("audit %+v; want only the refused classes", ev)
	}
}

// rawUDP sends packets to ts from one UDP socket and reads replies.
type rawUDP struct {
	t *testing.T
	c net.Conn
}

func (ts *testServer) raw(t *testing.T) *rawUDP {
	var d net.Dialer
	c, err := d.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUDP{t, c}
}

func (u *rawUDP) write(b []byte) {
	if _, err := u.c.Write(b); err != nil {
		u.t.Fatal(err)
	}
}

func (u *rawUDP) read() *dns.Msg {
	buf := make([]byte, 65535)
	u.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := u.c.Read(buf)
	if err != nil {
		u.t.Fatal(err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(buf[:n]); err != nil {
		u.t.Fatalf("reply does not parse: %v", err)
	}
	return m
}

func TestMalformedPackets(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{"api.github.com"}}), Options{})
	u := ts.raw(t)
	probe, _ := (&dns.Msg{MsgHdr: dns.MsgHdr{Id: 4242}, Question: []dns.Question{{Name: "api.github.com.", Qtype: dns.TypeA, Qclass: dns.ClassINET}}}).Pack()

	// No reply: shorter than a header, or a response. The server answers packets in order
	// from one goroutine, so the next reply on this socket must be the probe's.
	reply := append([]byte(nil), probe...)
	reply[2] |= 0x80
	for _, b := range [][]byte{{}, []byte("hello"), make([]byte, 11), reply} {
		u.write(b)
	}
	u.write(probe)
	if r := u.read(); r.Id != 4242 || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("first reply is id %d %s; a dropped packet was answered", r.Id, rcode(r))
	}

	// FORMERR: a header that says "query", then nothing that parses.
	bad := [][]byte{
		{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0},                       // one question, none there
		{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 63, 'a'},              // label runs past the end
		{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}, // compression loop
		append(probe[:len(probe):len(probe)], 0xff, 0xff),                      // trailing bytes are fine
	}
	bad[3][0], bad[3][1] = 0x12, 0x34
	for i, b := range bad {
		u.write(b)
		r := u.read()
		want := dns.RcodeFormatError
		if i == 3 {
			want = dns.RcodeSuccess
		}
		if r.Id != 0x1234 || r.Rcode != want || !r.Response {
			t.Errorf("packet %d: reply id %#x %s, want %#x %s", i, r.Id, rcode(r), 0x1234, dns.RcodeToString[want])
		}
	}
}

func TestEDNS(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{"api.github.com"}}), Options{})
	m := new(dns.Msg)
	m.SetQuestion("api.github.com.", dns.TypeA)
	if r := ts.send(t, "udp", m); r.IsEdns0() != nil {
		t.Errorf("OPT in the reply to a query without one: %v", r.IsEdns0())
	}
	m.SetEdns0(4096, true)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"})
	r := ts.send(t, "udp", m)
	opt := r.IsEdns0()
	if opt == nil || opt.UDPSize() != maxUDPSize || opt.Version() != 0 || opt.Do() || len(opt.Option) != 0 {
		t.Errorf("reply OPT %v; want payload %d, version 0, no DO, no options", opt, maxUDPSize)
	}
}

func TestTruncation(t *testing.T) {
	// Answers are one record, so no reply exceeds 512 bytes and TC is never needed in practice
	// (handle still truncates to the client's size); the longest one, a PTR of a 253-byte name
	// to an ip6.arpa question, is checked here.
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61)
	s := New(Options{Policy: func() *policy.Policy { return compile(t, policy.Spec{Allow: []string{long}}) }, Pool6: pool6})
	q := new(dns.Msg)
	q.SetQuestion(long+".", dns.TypeAAAA)
	b, _ := q.Pack()
	r := new(dns.Msg)
	if err := r.Unpack(s.handle(b, false, nil)); err != nil || len(r.Answer) != 1 {
		t.Fatalf("AAAA %s: %v %v", long, err, r)
	}
	rev, _ := dns.ReverseAddr(r.Answer[0].(*dns.AAAA).AAAA.String())
	q.SetQuestion(rev, dns.TypePTR)
	b, _ = q.Pack()
	out := s.handle(b, false, nil)
	if err := r.Unpack(out); err != nil || r.Truncated || len(r.Answer) != 1 || len(out) > dns.MinMsgSize {
		t.Errorf("PTR reply: %d bytes, TC %v, %d answers, %v", len(out), r.Truncated, len(r.Answer), err)
	}
}

func TestDNSOverTCP(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{"api.github.com"}}), Options{})
	a := answerAddr(t, ts.exchangeNet(t, "tcp", "api.github.com.", dns.TypeA))
	if r := ts.exchangeNet(t, "tcp", "evil.example.", dns.TypeTXT); r.Rcode != dns.RcodeNameError {
		t.Errorf("denied TXT over TCP: %s", rcode(r))
	}

	// Several queries on one connection, sent before any reply is read (RFC 7766 pipelining).
	c := &dns.Client{Net: "tcp", Timeout: 10 * time.Second}
	conn, err := c.Dial(ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	names := []string{"api.github.com.", "denied.example.org.", "API.GITHUB.COM."}
	for i, name := range names {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.Id = uint16(100 + i)
		if err := conn.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range names {
		r, err := conn.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		if r.Id != uint16(100+i) {
			t.Fatalf("reply %d has id %d", i, r.Id)
		}
		if i != 1 && answerAddr(t, r) != a || i == 1 && r.Rcode != dns.RcodeNameError {
			t.Errorf("%s: %v", names[i], r)
		}
	}

	// A length prefix followed by a response: the server closes the connection.
	raw, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	resp := []byte{0, 12, 0x12, 0x34, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0}
	raw.Write(resp)
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := raw.Read(make([]byte, 64)); err == nil {
		t.Errorf("read %d bytes after sending a response; want the connection closed", n)
	}
}

func TestStreamConnectionLimit(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{"api.github.com"}}), Options{})
	c := &dns.Client{Net: "tcp", Timeout: 10 * time.Second}
	var conns []*dns.Conn
	for range MaxStreamConns {
		conn, err := c.Dial(ts.tcp)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns = append(conns, conn)
	}
	// Each connection is served once a query on it is answered.
	m := new(dns.Msg)
	m.SetQuestion("api.github.com.", dns.TypeA)
	for _, conn := range conns {
		if _, _, err := c.ExchangeWithConn(m, conn); err != nil {
			t.Fatal(err)
		}
	}
	extra, err := c.Dial(ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if _, _, err := c.ExchangeWithConn(m, extra); err == nil {
		t.Errorf("connection %d was served; the limit is %d", MaxStreamConns+1, MaxStreamConns)
	}
	conns[0].Close()
	// Once one is closed, a new connection is served (retry: the server frees the slot
	// after it sees the close).
	for i := 0; ; i++ {
		next, err := c.Dial(ts.tcp)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.ExchangeWithConn(m, next)
		next.Close()
		if err == nil {
			break
		}
		if i == 1000 {
			t.Fatalf("no connection served after one was closed: %v", err)
		}
	}
}

func TestPolicyHotSwap(t *testing.T) {
	allowAPI := compile(t, policy.Spec{Allow: []string{"api.github.com"}})
	ts := start(t, nil, Options{})
	verdict := func() int { return ts.exchange(t, "api.github.com.", dns.TypeA).Rcode }
	if v := verdict(); v != dns.RcodeNameError {
		t.Fatalf("nil policy: %s, want NXDOMAIN", dns.RcodeToString[v])
	}
	ts.pol.Store(allowAPI)
	if v := verdict(); v != dns.RcodeSuccess {
		t.Fatalf("after allowing: %s", dns.RcodeToString[v])
	}
	ts.pol.Store(compile(t, policy.Spec{Allow: []string{"api.github.com"}, Deny: []string{"api.github.com"}}))
	if v := verdict(); v != dns.RcodeNameError {
		t.Fatalf("after denying: %s, want NXDOMAIN", dns.RcodeToString[v])
	}
	// A port-only allow entry changes the probe ports with the policy.
	ts.pol.Store(compile(t, policy.Spec{Allow: []string{"api.github.com:8443"}}))
	if v := verdict(); v != dns.RcodeSuccess {
		t.Fatalf("allowed on 8443 only: %s", dns.RcodeToString[v])
	}

	if r := New(Options{}).handle(query(t, "api.github.com.", dns.TypeA), false, nil); rcodeOf(t, r) != dns.RcodeNameError {
		t.Error("nil Policy func: want NXDOMAIN")
	}
}

func query(t testing.TB, name string, qtype uint16) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rcodeOf(t testing.TB, b []byte) int {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	return m.Rcode
}

func TestGoResolver(t *testing.T) {
	p := compile(t, policy.Spec{Allow: []string{"api.github.com", ".example.org"}})
	ts := start(t, p, Options{Pool6: pool6})
	r := ts.resolver()
	ctx := context.Background()

	addrs, err := r.LookupNetIP(ctx, "ip", "api.github.com")
	if err != nil || len(addrs) != 2 {
		t.Fatalf("LookupNetIP(api.github.com) = %v, %v; want one fake v4 and one fake v6", addrs, err)
	}
	for _, a := range addrs {
		if !DefaultPool4.Contains(a.Unmap()) && !pool6.Contains(a) {
			t.Errorf("%v is not a fake address", a)
		}
	}
	again, _ := r.LookupNetIP(ctx, "ip4", "api.github.com")
	if len(again) != 1 || !slices.Contains(addrs, again[0]) {
		t.Errorf("second lookup %v, first %v", again, addrs)
	}

	for _, name := range []string{"attacker.example", "secret-data.attacker.example.net", "github.com"} {
		_, err := r.LookupHost(ctx, name)
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound {
			t.Errorf("LookupHost(%s): %v; want not found", name, err)
		}
		if _, err := r.LookupTXT(ctx, name); !errors.As(err, &de) || !de.IsNotFound {
			t.Errorf("LookupTXT(%s): %v; want not found", name, err)
		}
	}
	// NODATA for an allowed name: Go reports "no such host" too, without trying other servers.
	if txt, err := r.LookupTXT(ctx, "api.github.com"); len(txt) != 0 || err == nil {
		t.Errorf("LookupTXT(api.github.com) = %v, %v; want no records", txt, err)
	}
	if _, err := r.LookupHost(ctx, "0x7f.1"); err == nil {
		t.Error("LookupHost(0x7f.1) succeeded")
	}
}

func TestAuditOneEventPerQuery(t *testing.T) {
	ts := start(t, compile(t, policy.Spec{Allow: []string{"api.github.com"}}), Options{Server: "github"})
	answerAddr(t, ts.exchange(t, "api.github.com.", dns.TypeA))
	ts.exchange(t, "evil.example.net.", dns.TypeTXT)
	ev := ts.audit.take()
	if len(ev) != 2 {
		t.Fatalf("%d events for 2 queries: %+v", len(ev), ev)
	}
	a, b := ev[0], ev[1]
	if a.Event != EventAnswered || a.Decision != "allow" || a.Server != "github" || a.Host != "api.github.com" ||
		a.Port != 443 || a.Rule != "api.github.com" || a.Reason != "allowed_by_entry" || !strings.HasPrefix(a.Addr, "198.1") || a.Time.IsZero() {
		t.Errorf("allowed: %+v", a)
	}
	if b.Event != EventBlocked || b.Decision != "deny" || b.Host != "evil.example.net" || b.Reason != "no_matching_allow" ||
		b.Rule != "default" || b.Addr != "" || b.BytesUp != 0 {
		t.Errorf("denied: %+v", b)
	}
}

func TestShutdown(t *testing.T) {
	s := New(Options{})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServePacket(pc) }()
	// Closing the socket (not Shutdown) ends ServePacket with net.ErrClosed.
	pc.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("ServePacket after close: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	pc2, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ServePacket(pc2); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServePacket after Shutdown: %v", err)
	}
	if _, err := pc2.WriteTo([]byte{0}, pc2.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ServePacket after Shutdown left its socket open: %v", err)
	}
}
