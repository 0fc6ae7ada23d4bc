package dnsfilter

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/policy"
)

// fuzzAllowed is the fuzz policy's allow list, spelled out independently of policy: exactly
// these names (and, for the domain entry, names under it) may ever get an answer with records.
func fuzzAllowed(name string) bool {
	return name == "api.github.com" || name == "ok.example.org" || strings.HasSuffix(name, ".ok.example.org") ||
		name == "localhost"
}

// FuzzHandle feeds arbitrary bytes to the message handler, as a UDP packet and as a TCP
// message. It must never panic, and:
//   - a reply is a well-formed response with the query's ID;
//   - over UDP, a reply fits the client's payload size (512 bytes without EDNS);
//   - a reply has records only for a query whose name (normalised as host.Parse does) is on
//     the allow list, or for the PTR of a fake address, whose target is then on the list;
//   - A and AAAA answers are fake addresses (or loopback for localhost).
func FuzzHandle(f *testing.F) {
	p, err := policy.Compile(policy.Spec{Allow: []string{"api.github.com", ".ok.example.org:8443", "localhost:3000"}})
	if err != nil {
		f.Fatal(err)
	}
	s := New(Options{Policy: func() *policy.Policy { return p }, Pool6: pool6, MaxNames: 4})

	seed := func(name string, qtype uint16, edit func(*dns.Msg)) {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if edit != nil {
			edit(m)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	edns := func(m *dns.Msg) { m.SetEdns0(4096, true) }
	seed("api.github.com.", dns.TypeA, nil)                // allowed: a fake address
	seed("API.GitHub.com.", dns.TypeAAAA, edns)            // allowed, 0x20 case, EDNS
	seed("www.ok.example.org.", dns.TypeA, nil)            // allowed on port 8443 only
	seed("localhost.", dns.TypeA, nil)                     // allowed by an exact entry: 127.0.0.1
	seed("api.github.com.", dns.TypeTXT, nil)              // allowed: NODATA
	seed("secret.attacker.example.net.", dns.TypeTXT, nil) // denied: NXDOMAIN
	seed("github.com.", dns.TypeANY, nil)                  // denied parent of an allowed name
	seed("0x7f.1.", dns.TypeA, nil)                        // spells an address
	seed("1.0.18.198.in-addr.arpa.", dns.TypePTR, nil)     // reverse lookup of a fake address
	seed("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.6.c.6.2.7.9.6.a.7.d.f.ip6.arpa.", dns.TypePTR, nil)
	seed("api.github.com.", dns.TypeA, func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) })
	seed("api.github.com.", dns.TypeA, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS })
	seed("api.github.com.", dns.TypeA, func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate })
	seed("api.github.com.", dns.TypeA, func(m *dns.Msg) { edns(m); m.IsEdns0().SetVersion(1) })
	seed("api.github.com.", dns.TypeA, func(m *dns.Msg) { m.Response = true })
	f.Add([]byte{})
	f.Add([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01")) // pointer loop

	f.Fuzz(func(t *testing.T, b []byte) {
		for _, stream := range []bool{false, true} {
			out := s.handle(b, stream, nil)
			if out == nil {
				continue
			}
			check(t, s, b, out, stream)
		}
	})
}

func check(t *testing.T, s *Server, req, out []byte, stream bool) {
	var r dns.Msg
	if err := r.Unpack(out); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	if !r.Response || len(req) < 2 || !bytes.Equal(out[:2], req[:2]) {
		t.Fatalf("reply is not a response with the query's ID: % x", out[:4])
	}
	var q dns.Msg
	if q.Unpack(req) != nil {
		if r.Rcode != dns.RcodeFormatError || len(r.Question)+len(r.Answer)+len(r.Ns)+len(r.Extra) != 0 {
			t.Fatalf("reply to a packet that does not parse: %v", &r)
		}
		return
	}
	if !stream {
		limit := dns.MinMsgSize
		if opt := q.IsEdns0(); opt != nil {
			limit = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
		}
		if len(out) > limit {
			t.Fatalf("UDP reply of %d bytes; the client takes %d", len(out), limit)
		}
	}
	if len(r.Ns) != 0 {
		t.Fatalf("authority records: %v", r.Ns)
	}
	// A well-formed query for a name that is not allowed gets NXDOMAIN.
	if _, opts := edns(&q); q.Opcode == dns.OpcodeQuery && len(q.Question) == 1 && opts <= 1 &&
		(opts == 0 || q.IsEdns0().Version() == 0) && q.Question[0].Qclass == dns.ClassINET {
		h, err := host.Parse(strings.ToLower(strings.TrimSuffix(q.Question[0].Name, ".")))
		denied := err != nil || h.IsIP() || !fuzzAllowed(h.Name) && !isReverseName(h.Name)
		if denied && (r.Rcode != dns.RcodeNameError || len(r.Answer) != 0) {
			t.Fatalf("%v (not allowed): rcode %s, answers %v; want NXDOMAIN", q.Question[0], rcode(&r), r.Answer)
		}
	}
	if len(r.Answer) == 0 {
		return
	}
	if len(q.Question) != 1 || len(r.Answer) != 1 {
		t.Fatalf("answer %v to %v", r.Answer, q.Question)
	}
	h, err := host.Parse(strings.ToLower(strings.TrimSuffix(q.Question[0].Name, ".")))
	if err != nil || h.IsIP() {
		t.Fatalf("answer %v for a name host.Parse does not take as a name (%v)", r.Answer, err)
	}
	switch rr := r.Answer[0].(type) {
	case *dns.PTR:
		a, ok := reverseAddr(h.Name)
		if !ok || !fuzzAllowed(strings.TrimSuffix(rr.Ptr, ".")) {
			t.Fatalf("PTR %v for %s", rr, h.Name)
		}
		if name, ok := s.pool.name(a, false); !ok || name != strings.TrimSuffix(rr.Ptr, ".") {
			t.Fatalf("PTR %v for an address the pool maps to %q", rr, name)
		}
	case *dns.A:
		a, _ := netip.AddrFromSlice(rr.A)
		if !fuzzAllowed(h.Name) || !(DefaultPool4.Contains(a.Unmap()) || h.Name == "localhost" && a.Unmap() == loopback4) {
			t.Fatalf("A %v for %s", a, h.Name)
		}
	case *dns.AAAA:
		a, _ := netip.AddrFromSlice(rr.AAAA)
		if !fuzzAllowed(h.Name) || !(pool6.Contains(a) || h.Name == "localhost" && a == loopback6) {
			t.Fatalf("AAAA %v for %s", a, h.Name)
		}
	default:
		t.Fatalf("answer of type %T: %v", rr, rr)
	}
}
