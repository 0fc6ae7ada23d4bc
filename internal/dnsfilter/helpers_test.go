package dnsfilter

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdns"
)

// recorder is an audit.Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Audit(e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) take() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

func compile(t testing.TB, spec policy.Spec) *policy.Policy {
	t.Helper()
	p, err := policy.Compile(spec)
	if err != nil {
		t.Fatalf("compile %+v: %v", spec, err)
	}
	return p
}

// testServer is a Server on real loopback sockets: UDP and TCP on 127.0.0.1, ephemeral ports.
type testServer struct {
	*Server
	udp, tcp string
	audit    *recorder
	pol      atomic.Pointer[policy.Policy]
}

// start runs a Server with o (its Policy and Audit are the testServer's) serving UDP and TCP
// on loopback, shut down when the test ends.
func start(t *testing.T, p *policy.Policy, o Options) *testServer {
	t.Helper()
	ts := &testServer{audit: &recorder{}}
	ts.pol.Store(p)
	o.Policy = ts.pol.Load
	o.Audit = ts.audit
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ts.Server = New(o)

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.udp, ts.tcp = pc.LocalAddr().String(), ln.Addr().String()
	errs := make(chan error, 2)
	go func() { errs <- ts.ServePacket(pc) }()
	go func() { errs <- ts.ServeStream(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-errs; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		}
	})
	return ts
}

// exchange sends one query over UDP with miekg/dns's client and returns the reply.
func (ts *testServer) exchange(t *testing.T, name string, qtype uint16) *dns.Msg {
	t.Helper()
	return ts.exchangeNet(t, "udp", name, qtype)
}

func (ts *testServer) exchangeNet(t *testing.T, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return ts.send(t, network, m)
}

func (ts *testServer) send(t *testing.T, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 10 * time.Second}
	addr := ts.udp
	if network == "tcp" {
		addr = ts.tcp
	}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %v: %v", network, m.Question, err)
	}
	if r.Id != m.Id || !r.Response {
		t.Fatalf("reply id %d response %v, want id %d response true", r.Id, r.Response, m.Id)
	}
	return r
}

// resolver is Go's own DNS client (PreferGo) with every query sent to ts over UDP, or TCP
// when a UDP reply is truncated; it never reaches the machine's configured resolvers.
func (ts *testServer) resolver() *net.Resolver { return testdns.NewResolver(ts.udp, ts.tcp) }

func rcode(r *dns.Msg) string { return dns.RcodeToString[r.Rcode] }
