package proxy

import (
	"context"
	"io"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/policy"
)

// consultLog is an Options.Consult that records who asked about what and answers with answer.
type consultLog struct {
	answer atomic.Bool

	mu      sync.Mutex
	clients []string
	reqs    []egress.ApprovalRequest
}

func (l *consultLog) consult(_ context.Context, client string, req egress.ApprovalRequest) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clients = append(l.clients, client)
	l.reqs = append(l.reqs, req)
	return l.answer.Load()
}

func (l *consultLog) asked() ([]string, []egress.ApprovalRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.clients), slices.Clone(l.reqs)
}

// TestConsult: with Options.Consult, a refusal the user may override is asked about with the
// client's name; a "no" is the normal 403 and nothing is dialled, a "yes" proceeds (CONNECT
// and plain HTTP). "nas.internal" is private only in the pinned resolver; the dial step routes
// its address to loopback servers.
func TestConsult(t *testing.T) {
	echo := startEcho(t)
	up := startUpstream(t, nil)
	log := &consultLog{}
	tp := startProxy(t, proxyConfig{
		opts: Options{
			Consult:  log.consult,
			Resolver: egress.StaticResolver{"nas.internal": {privateAddr}},
		},
		def:     mustPolicy(t, policy.Spec{Allow: []string{"api.example.com"}}),
		clients: map[string]*policy.Policy{"github": mustPolicy(t, policy.Spec{Allow: []string{"api.github.com"}})},
		bound:   "github",
	})
	tp.dial.Route(netip.AddrPortFrom(privateAddr, 7001).String(), echo.addr())
	tp.dial.Route(netip.AddrPortFrom(privateAddr, 7002).String(), up.addr())

	// No: the normal 403, the address never dialled.
	c, resp, body := connectTunnel(t, tp.boundAddr, "nas.internal:7001", "")
	if c != nil {
		c.Close()
		t.Fatal("CONNECT proceeded although the user said no")
	}
	if resp.StatusCode != 403 || resp.Header.Get("X-Airlock-Reason") != "private" {
		t.Errorf("refused CONNECT: %d %s %q, want 403 private", resp.StatusCode, resp.Header.Get("X-Airlock-Reason"), body)
	}
	if tp.dial.DialedAddr(privateAddr) {
		t.Errorf("dial step reached after a refusal: %v", tp.dial.Dialed())
	}
	// Metadata is never asked about.
	if c, resp, _ := connectTunnel(t, tp.boundAddr, "169.254.169.254:80", ""); c != nil || resp.StatusCode != 403 {
		t.Errorf("metadata CONNECT: %v %d", c, resp.StatusCode)
	}

	// Yes: the tunnel opens and carries data.
	log.answer.Store(true)
	c, resp, body = connectTunnel(t, tp.boundAddr, "nas.internal:7001", "")
	if c == nil {
		t.Fatalf("approved CONNECT: %d %q", resp.StatusCode, body)
	}
	echoOnce(t, c, "ping")
	c.Close()

	// Plain HTTP through the unnamed listener: the default client ("").
	client := proxyClient(t, tp.httpAddr, nil)
	r, err := client.Get("http://nas.internal:7002/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || string(b) != "hello from upstream" {
		t.Errorf("approved GET: %d %q", r.StatusCode, b)
	}
	log.answer.Store(false)
	client.CloseIdleConnections()
	r, err = client.Get("http://nas.internal:7003/y")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 403 {
		t.Errorf("refused GET: %d, want 403", r.StatusCode)
	}

	clients, reqs := log.asked()
	if want := []string{"github", "github", "", ""}; !slices.Equal(clients, want) {
		t.Fatalf("Consult asked for clients %q, want %q", clients, want)
	}
	for i, req := range reqs {
		if req.Host != "nas.internal" || !req.Private || !slices.Equal(req.Addrs, []netip.Addr{privateAddr}) || req.Server != clients[i] {
			t.Errorf("request %d: %+v", i, req)
		}
	}
	allowed := tp.sink.ByEvent("egress_allowed")
	if len(allowed) != 2 {
		t.Fatalf("%d egress_allowed events, want 2: %+v", len(allowed), allowed)
	}
	for _, e := range allowed {
		if e.Rule != policy.RuleRuntimeApproval || e.Reason != string(policy.ReasonApprovedByUser) || e.Addr != privateAddr.String() {
			t.Errorf("approval event %+v", e)
		}
	}
	if allowed[0].Server != "github" || allowed[1].Server != "" {
		t.Errorf("approval events name %q and %q, want github and the default client", allowed[0].Server, allowed[1].Server)
	}
}
