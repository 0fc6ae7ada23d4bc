package dnsfilter

import (
	"net"
	"testing"

	"github.com/miekg/dns"

	"github.com/airlock-sh/airlock/internal/policy"
)

// BenchmarkHandle is the cost of answering one query, parse to packed reply, without sockets
// or audit output.
func BenchmarkHandle(b *testing.B) {
	p := compile(b, policy.Spec{Allow: []string{"api.github.com", ".example.org"}, Deny: []string{"secret.example.org"}})
	s := New(Options{Policy: func() *policy.Policy { return p }, Pool6: pool6})
	cases := []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"allowed_A", "api.github.com.", dns.TypeA},
		{"allowed_AAAA", "api.github.com.", dns.TypeAAAA},
		{"allowed_TXT_nodata", "api.github.com.", dns.TypeTXT},
		{"denied_A", "secret.attacker.example.net.", dns.TypeA},
		{"denied_by_entry_TXT", "secret.example.org.", dns.TypeTXT},
		{"ip_literal", "0x7f.1.", dns.TypeA},
		{"PTR_fake", "1.0.18.198.in-addr.arpa.", dns.TypePTR},
	}
	for _, c := range cases {
		q := query(b, c.qname, c.qtype)
		out := make([]byte, 0, 512)
		s.handle(q, false, out) // assign the fake address outside the timed loop
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := s.handle(q, false, out); r == nil {
					b.Fatal("no reply")
				}
			}
		})
	}
}

// BenchmarkUDPRoundTrip is one query and its reply over loopback UDP, from a connected socket.
func BenchmarkUDPRoundTrip(b *testing.B) {
	p := compile(b, policy.Spec{Allow: []string{"api.github.com"}})
	s := New(Options{Policy: func() *policy.Policy { return p }})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServePacket(pc) }()
	var d net.Dialer
	c, err := d.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	q := query(b, "api.github.com.", dns.TypeA)
	buf := make([]byte, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(q); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	s.Shutdown(b.Context())
	<-done
}
