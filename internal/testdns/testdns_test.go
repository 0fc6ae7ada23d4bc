package testdns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var (
	v4 = netip.MustParseAddr("192.0.2.1")
	v6 = netip.MustParseAddr("2001:db8::1")
)

func exchange(t *testing.T, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: 10 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %v: %v", m.Question, err)
	}
	return r
}

func question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

// TestAnswer: the Answer sees the canonical name; the reply carries the addresses that fit the
// question's type under the name as asked; the log keeps the name as asked.
func TestAnswer(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	s := Start(t, func(name string, _ uint16) (int, []netip.Addr) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, name)
		return dns.RcodeSuccess, []netip.Addr{v4, v6}
	})
	for _, tt := range []struct {
		name  string
		qtype uint16
		want  []netip.Addr
	}{
		{"A", dns.TypeA, []netip.Addr{v4}},
		{"AAAA", dns.TypeAAAA, []netip.Addr{v6}},
		{"TXT", dns.TypeTXT, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, s.Addr(), question("Mixed.Example.COM.", tt.qtype))
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != len(tt.want) {
				t.Fatalf("reply %v, want %d answers", r, len(tt.want))
			}
			for i, rr := range r.Answer {
				var got netip.Addr
				switch rr := rr.(type) {
				case *dns.A:
					got, _ = netip.AddrFromSlice(rr.A)
				case *dns.AAAA:
					got, _ = netip.AddrFromSlice(rr.AAAA)
				}
				if got.Unmap() != tt.want[i] || rr.Header().Name != "Mixed.Example.COM." {
					t.Errorf("answer %d: %v, want %v for Mixed.Example.COM.", i, rr, tt.want[i])
				}
			}
			q := s.Queries()[len(s.Queries())-1]
			if q.Name != "Mixed.Example.COM." || q.Type != tt.qtype || !slices.Equal(q.Addrs, tt.want) {
				t.Errorf("logged %+v", q)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []string{"mixed.example.com.", "mixed.example.com.", "mixed.example.com."}) {
		t.Errorf("Answer saw %q, want the canonical name each time", seen)
	}
	if n := s.Count("mixed.example.com"); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
}

// TestResolver: Go's resolver, pointed at a Zone, finds the zone's names, gets NXDOMAIN for
// the rest, and every question it sends is recorded.
func TestResolver(t *testing.T) {
	s := Start(t, Zone(map[string]netip.Addr{"api.example.com.": v4, "V6.example.com": v6}))
	r := s.Resolver()
	ctx := context.Background()
	for _, tt := range []struct {
		network, host string
		want          []netip.Addr
	}{
		{"ip4", "api.example.com", []netip.Addr{v4}},
		{"ip", "v6.example.com", []netip.Addr{v6}},
	} {
		got, err := r.LookupNetIP(ctx, tt.network, tt.host)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("LookupNetIP(%s, %s) = %v, %v; want %v", tt.network, tt.host, got, err, tt.want)
		}
	}
	_, err := r.LookupNetIP(ctx, "ip4", "gone.example.com")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("gone.example.com: %v, want not found", err)
	}
	if n := s.Count("API.example.com."); n != 1 {
		t.Errorf("Count(api.example.com) = %d, want 1 (one A question)", n)
	}
	if n := s.Count("v6.example.com"); n != 2 {
		t.Errorf("Count(v6.example.com) = %d, want 2 (A and AAAA)", n)
	}
	if n := s.Count("gone.example.com"); n == 0 {
		t.Errorf("gone.example.com was never asked")
	}
}

// TestTwoQuestions: a message with two questions gets FORMERR and reaches no Answer.
func TestTwoQuestions(t *testing.T) {
	s := Start(t, func(name string, _ uint16) (int, []netip.Addr) {
		t.Errorf("Answer called for %s", name)
		return dns.RcodeSuccess, nil
	})
	m := question("a.example.", dns.TypeA)
	m.Question = append(m.Question, dns.Question{Name: "b.example.", Qtype: dns.TypeTXT, Qclass: dns.ClassINET})
	if r := exchange(t, s.Addr(), m); r.Rcode != dns.RcodeFormatError {
		t.Errorf("rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}
	if got := s.Queries(); len(got) != 0 {
		t.Errorf("Queries() = %+v, want none", got)
	}
}

// TestServe runs the server on a socket the test made, and closes it when the test ends.
func TestServe(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("serve", func(t *testing.T) {
		s := Serve(t, pc, Zone(map[string]netip.Addr{"here.example.": v4}))
		if s.Addr() != pc.LocalAddr().String() {
			t.Errorf("Addr() = %s, want %s", s.Addr(), pc.LocalAddr())
		}
		if r := exchange(t, s.Addr(), question("here.example.", dns.TypeA)); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("reply %v", r)
		}
		if r := exchange(t, s.Addr(), question("elsewhere.example.", dns.TypeA)); r.Rcode != dns.RcodeNameError {
			t.Errorf("reply %v, want NXDOMAIN", r)
		}
	})
	if _, _, err := pc.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("after the test: ReadFrom = %v, want net.ErrClosed", err)
	}
}
