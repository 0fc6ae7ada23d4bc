// Package testdns runs a real DNS server (github.com/miekg/dns) for tests, which answers A and
// AAAA questions as the test decides and records every question it is asked, and points Go's
// resolver at a test's DNS server. Only tests import it.
package testdns

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Answer decides the reply to one question. name is canonical: lower case, with the trailing
// dot ("api.example.com."). rcode is the reply's response code (dns.RcodeSuccess,
// dns.RcodeNameError, ...); of addrs the server answers those that fit qtype (IPv4 addresses
// for A, IPv6 for AAAA) and leaves out the rest, so an Answer may ignore qtype.
type Answer func(name string, qtype uint16) (rcode int, addrs []netip.Addr)

// Zone is an Answer from a fixed table: each name of zone (any case, with or without the
// trailing dot) gets its address, and every other name NXDOMAIN.
func Zone(zone map[string]netip.Addr) Answer {
	canon := make(map[string]netip.Addr, len(zone))
	for name, a := range zone {
		canon[dns.CanonicalName(name)] = a
	}
	return func(name string, _ uint16) (int, []netip.Addr) {
		a, ok := canon[name]
		if !ok {
			return dns.RcodeNameError, nil
		}
		return dns.RcodeSuccess, []netip.Addr{a}
	}
}

// Query is one question the server was asked.
type Query struct {
	Name  string       // as asked, not made canonical: "API.example.com." stays so
	Type  uint16       // dns.TypeA, dns.TypeAAAA, dns.TypeTXT, ...
	Addrs []netip.Addr // the addresses in the reply
}

// Server is a DNS server on a UDP socket, serving until the test that started it ends.
type Server struct {
	addr   string
	answer Answer

	mu      sync.Mutex
	queries []Query
}

// Start runs a Server on a UDP port of 127.0.0.1 until t ends.
func Start(t testing.TB, answer Answer) *Server {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return Serve(t, pc, answer)
}

// Serve runs a Server on pc, a socket the caller made (in a test world's namespace, say),
// until t ends; then it closes pc.
func Serve(t testing.TB, pc net.PacketConn, answer Answer) *Server {
	t.Helper()
	s := &Server{addr: pc.LocalAddr().String(), answer: answer}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: func() { close(started) }}
	done := make(chan error, 1)
	go func() { done <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("testdns: serve on %s: %v", s.addr, err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("testdns: shutdown: %v", err)
		}
		<-done
	})
	return s
}

// serve answers one question and records it. (miekg/dns refuses a message with other than one
// question with FORMERR before it gets here.)
func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	rcode, addrs := s.answer(dns.CanonicalName(q.Name), q.Qtype)
	m.Rcode = rcode
	var answered []netip.Addr
	for _, a := range addrs {
		hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: 0}
		switch {
		case q.Qclass != dns.ClassINET:
			continue
		case q.Qtype == dns.TypeA && a.Is4():
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
		case q.Qtype == dns.TypeAAAA && a.Is6():
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		default:
			continue
		}
		answered = append(answered, a)
	}
	s.record(Query{Name: q.Name, Type: q.Qtype, Addrs: answered})
	_ = w.WriteMsg(m)
}

func (s *Server) record(q Query) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, q)
}

// Addr is the server's address, "IP:port".
func (s *Server) Addr() string { return s.addr }

// Queries returns every question asked so far, in the order they came.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// Count reports how many questions of any type were asked about name. Names compare as DNS
// compares them: case does not matter, nor does a trailing dot.
func (s *Server) Count(name string) int {
	name = dns.CanonicalName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.queries {
		if dns.CanonicalName(q.Name) == name {
			n++
		}
	}
	return n
}

// Resolver returns a Go resolver that sends every query to s and never to the machine's
// configured servers. s listens on UDP only; its replies are small enough never to be
// truncated, so the resolver never falls back to TCP.
func (s *Server) Resolver() *net.Resolver { return NewResolver(s.addr, s.addr) }

// NewResolver returns a Go resolver (PreferGo) that sends its queries over UDP to udpAddr and,
// when it falls back to TCP (after a truncated reply), over TCP to tcpAddr. It never asks the
// machine's configured servers.
func NewResolver(udpAddr, tcpAddr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			if network == "tcp" {
				return d.DialContext(ctx, "tcp", tcpAddr)
			}
			return d.DialContext(ctx, "udp", udpAddr)
		},
	}
}
