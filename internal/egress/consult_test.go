package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdial"
)

// consulter is a Guard.Consult that records what it is asked and gives a fixed answer.
type consulter struct {
	answer bool

	mu   sync.Mutex
	reqs []ApprovalRequest
}

func (c *consulter) consult(_ context.Context, req ApprovalRequest) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, req)
	return c.answer
}

func (c *consulter) asked() []ApprovalRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reqs)
}

// neverConsult fails the test if it is ever asked.
func neverConsult(t *testing.T) func(context.Context, ApprovalRequest) bool {
	return func(_ context.Context, req ApprovalRequest) bool {
		t.Errorf("Consult asked about %+v; it must not be", req)
		return true // if it ever were asked, approving shows the worst case in the dial log
	}
}

// Pinned answers of the consult tests; every address is data only (see helpers_test.go).
var (
	lanAddr   = netip.MustParseAddr("10.0.0.5")
	nasAddr   = netip.MustParseAddr("192.168.1.20")
	consultIn = StaticResolver{
		"other.example.org":     {publicAddr},
		"lan.example.org":       {lanAddr},
		"nas.example.com":       {lanAddr},
		"nas.local":             {nasAddr},
		"meta.example.org":      {metadataAddr},
		"loop.example.org":      {netip.MustParseAddr("127.0.0.1")},
		"mixmeta.example.org":   {publicAddr, metadataAddr},
		"privmeta.example.com":  {lanAddr, metadataAddr},
		"linklocal.example.org": {netip.MustParseAddr("169.254.1.1")},
	}
	consultSpec = policy.Spec{Allow: []string{"api.example.com", "nas.example.com:8080", "privmeta.example.com"}}
)

// TestConsultOffered: refusals the user may override reach Consult, with the addresses the
// check under the grant passed; a "no" is the original BlockedError and nothing is dialled.
func TestConsultOffered(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		addrs   []netip.Addr
		reason  policy.Reason // of the original denial
		private bool
	}{
		{name: "public name without entry", target: "other.example.org:443", addrs: []netip.Addr{publicAddr}, reason: policy.ReasonNoMatchingAllow},
		{name: "public literal without entry", target: "93.184.216.34:443", addrs: []netip.Addr{publicAddr}, reason: policy.ReasonNoMatchingAllow},
		{name: "private literal", target: "192.168.1.100:80", addrs: []netip.Addr{netip.MustParseAddr("192.168.1.100")}, reason: "private", private: true},
		{name: "CGNAT literal", target: "100.64.0.9:80", addrs: []netip.Addr{netip.MustParseAddr("100.64.0.9")}, reason: "cgnat", private: true},
		{name: "allowed name resolving to a private address", target: "nas.example.com:8080", addrs: []netip.Addr{lanAddr}, reason: "private", private: true},
		{name: "name without entry resolving to a private address", target: "lan.example.org:443", addrs: []netip.Addr{lanAddr}, reason: policy.ReasonNoMatchingAllow, private: true},
		{name: ".local name", target: "nas.local:8123", addrs: []netip.Addr{nasAddr}, reason: "private", private: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := testdial.New(t)
			res := &countingResolver{next: consultIn}
			sink := &audit.Memory{}
			c := &consulter{}
			g := &Guard{Resolver: res, Local: noLocal, Dial: rec.Dial, Audit: sink, Server: "github", Binding: "tv", Consult: c.consult}
			g.SetPolicy(mustPolicy(t, consultSpec))

			_, err := g.DialContext(context.Background(), "tcp", tt.target)
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("err %v, want a *BlockedError", err)
			}
			want, _, _ := (&Guard{Resolver: consultIn, Local: noLocal}).checkWith(context.Background(), g.Policy(), tt.target)
			if be.Decision.Reason != tt.reason || be.Decision.Rule != want.Rule || be.Decision.Detail != want.Detail {
				t.Errorf("BlockedError decision %+v, want the original %+v", be.Decision, want)
			}
			asked := c.asked()
			if len(asked) != 1 {
				t.Fatalf("Consult asked %d times, want once: %+v", len(asked), asked)
			}
			req := asked[0]
			h, p, _ := net.SplitHostPort(tt.target)
			port, _ := strconv.Atoi(p)
			if req.Host != h || int(req.Port) != port || !slices.Equal(req.Addrs, tt.addrs) ||
				req.Private != tt.private || req.Server != "github" || req.Binding != "tv" ||
				req.Denied.Reason != tt.reason || req.Denied.Rule != want.Rule {
				t.Errorf("request %+v, want host %s port %d addrs %v private %v reason %s", req, h, port, tt.addrs, tt.private, tt.reason)
			}
			if d := rec.Dialed(); len(d) != 0 {
				t.Errorf("dial step reached after a refusal: %v", d)
			}
			if n := len(res.asked()); n > 1 {
				t.Errorf("resolver asked %d times (%v), want at most once", n, res.asked())
			}
			ev := sink.Events()
			if len(ev) != 1 || ev[0].Event != "egress_blocked" || ev[0].Reason != string(tt.reason) {
				t.Errorf("audit events %+v, want the original denial once", ev)
			}
		})
	}
}

// TestConsultNeverOffered: refusals the user may not override never reach Consult, and the
// dial step is never reached, even though Consult would approve.
func TestConsultNeverOffered(t *testing.T) {
	tests := []struct {
		name    string
		spec    policy.Spec
		nilPol  bool
		network string
		target  string
		reason  policy.Reason // reported
	}{
		{name: "metadata literal", target: "169.254.169.254:80", reason: "metadata"},
		{name: "metadata literal, public internet on", spec: policy.Spec{AllowPublicInternet: true}, target: "169.254.169.254:80", reason: "metadata"},
		{name: "NAT64 metadata", target: "[64:ff9b::a9fe:a9fe]:80", reason: "metadata"},
		{name: "metadata name", target: "metadata.google.internal:80", reason: "metadata"},
		{name: "name resolving to metadata", target: "meta.example.org:80", reason: "metadata"},
		{name: "name resolving to loopback", target: "loop.example.org:80", reason: "loopback"},
		{name: "name resolving to link-local", target: "linklocal.example.org:80", reason: "link_local"},
		{name: "mixed public and metadata answer", target: "mixmeta.example.org:443", reason: "metadata"},
		{name: "allowed name, mixed private and metadata answer", target: "privmeta.example.com:443", reason: "metadata"},
		{name: "IPv4 loopback", target: "127.0.0.1:80", reason: "loopback"},
		{name: "odd loopback spelling", target: "0x7f.1:80", reason: "loopback"},
		{name: "IPv6 loopback", target: "[::1]:80", reason: "loopback"},
		{name: "localhost", target: "localhost:8080", reason: "loopback"},
		{name: "link-local literal", target: "169.254.1.1:80", reason: "link_local"},
		{name: "unspecified", target: "0.0.0.0:80", reason: "unspecified"},
		{name: "documentation", target: "192.0.2.1:80", reason: "documentation"},
		{name: "special name", target: "app.test:80", reason: "special_name"},
		{name: "deny entry", spec: policy.Spec{Allow: []string{"api.example.com"}, Deny: []string{"other.example.org"}}, target: "other.example.org:443", reason: policy.ReasonDeniedByEntry},
		{name: "deny entry on the resolved address", spec: policy.Spec{Allow: []string{"api.example.com"}, Deny: []string{"10.0.0.0/8"}}, target: "lan.example.org:443", reason: policy.ReasonDeniedByEntry},
		{name: "deny entry on a private literal", spec: policy.Spec{Deny: []string{"192.168.0.0/16"}}, target: "192.168.1.100:80", reason: policy.ReasonDeniedByEntry},
		{name: "nil policy", nilPol: true, target: "other.example.org:443", reason: policy.ReasonNoMatchingAllow},
		{name: "unresolvable name", target: "nowhere.example.org:443", reason: policy.ReasonNoMatchingAllow},
		{name: "no address of the family", network: "tcp6", target: "lan.example.org:443", reason: policy.ReasonNoMatchingAllow},
		{name: "bad port", target: "other.example.org:0", reason: policy.ReasonInvalidPort},
		{name: "bad host", target: "exa mple.org:80", reason: policy.ReasonInvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := testdial.New(t)
			rec.AllowLoopback = true // a loopback dial would connect: assert it is never asked
			sink := &audit.Memory{}
			g := &Guard{Resolver: consultIn, Local: noLocal, Dial: rec.Dial, Audit: sink, Consult: neverConsult(t)}
			if !tt.nilPol {
				spec := tt.spec
				if spec.Allow == nil && spec.Deny == nil && !spec.AllowPublicInternet {
					spec = consultSpec
				}
				g.SetPolicy(mustPolicy(t, spec))
			}
			network := tt.network
			if network == "" {
				network = "tcp"
			}
			c, err := g.DialContext(context.Background(), network, tt.target)
			if err == nil {
				c.Close()
				t.Fatalf("connected to %s", tt.target)
			}
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("err %v, want a *BlockedError", err)
			}
			if be.Decision.Reason != tt.reason {
				t.Errorf("reason %q (%v), want %q", be.Decision.Reason, err, tt.reason)
			}
			if d := rec.Dialed(); len(d) != 0 {
				t.Errorf("dial step reached: %v", d)
			}
			if ev := sink.Events(); len(ev) != 1 || ev[0].Event != "egress_blocked" || ev[0].Reason != string(tt.reason) {
				t.Errorf("audit events %+v, want one denial with reason %s", ev, tt.reason)
			}
		})
	}
}

// TestConsultApproved: a "yes" dials exactly the checked address, once resolved, with one
// audit event that says the user allowed it.
func TestConsultApproved(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	rec := testdial.New(t)
	rec.Route("10.0.0.5:8080", ln.Addr().String())
	res := &countingResolver{next: consultIn}
	sink := &audit.Memory{}
	c := &consulter{answer: true}
	g := &Guard{Resolver: res, Local: noLocal, Dial: rec.Dial, Audit: sink, Server: "github", Consult: c.consult}
	g.SetPolicy(mustPolicy(t, consultSpec))

	conn, err := g.DialContext(context.Background(), "tcp", "lan.example.org:8080")
	if err != nil {
		t.Fatalf("approved dial: %v", err)
	}
	conn.Close()
	if got := rec.Dialed(); !slices.Equal(got, []string{"10.0.0.5:8080"}) {
		t.Errorf("dialled %v, want exactly the checked 10.0.0.5:8080", got)
	}
	if got := res.asked(); !slices.Equal(got, []string{"lan.example.org."}) {
		t.Errorf("resolver asked %v, want one lookup", got)
	}
	if n := len(c.asked()); n != 1 {
		t.Errorf("Consult asked %d times", n)
	}
	ev := sink.Events()
	if len(ev) != 1 {
		t.Fatalf("%d audit events, want one: %+v", len(ev), ev)
	}
	e := ev[0]
	if e.Event != "egress_allowed" || e.Decision != "allow" || e.Rule != "runtime_approval" || e.Reason != "approved_by_user" ||
		e.Host != "lan.example.org" || e.Port != 8080 || e.Addr != "10.0.0.5" || e.Server != "github" {
		t.Errorf("audit event %+v", e)
	}
}

// TestConsultCannotRedirectTheDial: the request's address list is Consult's own copy; changing
// it does not change where the approved connection goes.
func TestConsultCannotRedirectTheDial(t *testing.T) {
	rec := testdial.New(t)
	rec.AllowLoopback = true
	g := &Guard{Resolver: consultIn, Local: noLocal, Dial: rec.Dial,
		Consult: func(_ context.Context, req ApprovalRequest) bool {
			req.Addrs[0] = netip.MustParseAddr("127.0.0.1")
			return true
		}}
	g.SetPolicy(mustPolicy(t, consultSpec))
	if c, err := g.DialContext(context.Background(), "tcp", "lan.example.org:443"); err == nil {
		c.Close()
		t.Fatal("connected; the recorder refuses 10.0.0.5")
	}
	if got := rec.Dialed(); !slices.Equal(got, []string{"10.0.0.5:443"}) {
		t.Errorf("dialled %v, want only 10.0.0.5:443", got)
	}
}

// TestConsultApprovedDefaultDialer connects for real through the default dial step: a policy
// with allow_localhost but no entry for the name, which resolves to loopback.
func TestConsultApprovedDefaultDialer(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	accepted := make(chan struct{}, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
		accepted <- struct{}{}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c := &consulter{answer: true}
	g := &Guard{Resolver: consultIn, Local: noLocal, Consult: c.consult}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowLocalhost: true}))
	conn, err := g.DialContext(context.Background(), "tcp", "loop.example.org:"+port)
	if err != nil {
		t.Fatalf("approved dial: %v", err)
	}
	conn.Close()
	<-accepted
	if asked := c.asked(); len(asked) != 1 || !slices.Equal(asked[0].Addrs, []netip.Addr{netip.MustParseAddr("127.0.0.1")}) {
		t.Errorf("Consult asked %+v", asked)
	}
}

// TestConsultCancelled: a Consult waiting for an answer returns when the caller's context
// ends, and DialContext returns an error that says both.
func TestConsultCancelled(t *testing.T) {
	rec := testdial.New(t)
	sink := &audit.Memory{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &Guard{Resolver: consultIn, Local: noLocal, Dial: rec.Dial, Audit: sink,
		Consult: func(ctx context.Context, _ ApprovalRequest) bool {
			cancel() // the caller gives up while the user is being asked
			<-ctx.Done()
			return false
		}}
	g.SetPolicy(mustPolicy(t, consultSpec))
	_, err := g.DialContext(ctx, "tcp", "nas.local:80")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	var be *BlockedError
	if !errors.As(err, &be) || be.Decision.Reason != "private" {
		t.Errorf("err %v, want the original BlockedError too", err)
	}
	if d := rec.Dialed(); len(d) != 0 {
		t.Errorf("dialled %v", d)
	}
	if ev := sink.Events(); len(ev) != 1 || ev[0].Event != "egress_blocked" {
		t.Errorf("audit events %+v, want the denial once", ev)
	}

	// An approval that comes after the caller gave up does not connect either.
	ctx2, cancel2 := context.WithCancel(context.Background())
	g.Consult = func(context.Context, ApprovalRequest) bool { cancel2(); return true }
	if _, err := g.DialContext(ctx2, "tcp", "nas.local:80"); !errors.Is(err, context.Canceled) {
		t.Errorf("late approval: err %v, want context.Canceled", err)
	}
	if d := rec.Dialed(); len(d) != 0 {
		t.Errorf("dialled %v after a late approval", d)
	}
}

// TestCheckNeverConsults: airlock check reports the policy's verdict; it never asks.
func TestCheckNeverConsults(t *testing.T) {
	g := &Guard{Resolver: consultIn, Local: noLocal, Consult: neverConsult(t)}
	g.SetPolicy(mustPolicy(t, consultSpec))
	for _, target := range []string{"other.example.org:443", "192.168.1.100:80", "nas.local:80", "nas.example.com:8080"} {
		if d, _ := g.Check(context.Background(), target); d.Allow {
			t.Errorf("Check(%s) allowed", target)
		}
	}
}

// TestSafeFetchConsult: SafeFetch through a Guard with Consult, to a loopback server reached
// through the injected dial step; "nas.local" is a private name only in the pinned resolver.
// A redirect to a destination the user is asked about is one more question, at its hop.
func TestSafeFetchConsult(t *testing.T) {
	nas := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "nas "+r.URL.Path)
	}))
	t.Cleanup(nas.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://nas.local/from-api", http.StatusFound)
	}))
	t.Cleanup(api.Close)
	rec := testdial.New(t)
	rec.Route("192.168.1.20:80", nas.Listener.Addr().String())
	rec.Route("93.184.216.34:80", api.Listener.Addr().String())
	c := &consulter{}
	sink := &audit.Memory{}
	g := &Guard{Resolver: StaticResolver{"nas.local": {nasAddr}, "api.example.com": {publicAddr}},
		Local: noLocal, Dial: rec.Dial, Audit: sink, Consult: c.consult}
	g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"api.example.com"}}))
	client := g.HTTPClient()

	// No: blocked, nothing sent.
	_, err := get(t, client, "http://nas.local/a")
	if be := asBlocked(t, err); be.Decision.Reason != "private" {
		t.Errorf("refused: reason %q, want private", be.Decision.Reason)
	}
	if rec.DialedAddr(nasAddr) {
		t.Errorf("dial step reached after a refusal: %v", rec.Dialed())
	}

	// Yes: fetched.
	c.mu.Lock()
	c.answer = true
	c.mu.Unlock()
	body, err := get(t, client, "http://nas.local/b")
	if err != nil || body != "nas /b" {
		t.Fatalf("approved: %q %v", body, err)
	}
	client.CloseIdleConnections()

	// A redirect hop to it is asked about again.
	body, err = get(t, client, "http://api.example.com/start")
	if err != nil || body != "nas /from-api" {
		t.Fatalf("redirect: %q %v", body, err)
	}
	asked := c.asked()
	if len(asked) != 3 {
		t.Fatalf("Consult asked %d times, want 3: %+v", len(asked), asked)
	}
	for i, req := range asked {
		if req.Host != "nas.local" || req.Port != 80 || !req.Private || !slices.Equal(req.Addrs, []netip.Addr{nasAddr}) {
			t.Errorf("request %d: %+v", i, req)
		}
	}
	if n := len(sink.ByEvent("egress_allowed")); n != 3 { // two approvals and api.example.com
		t.Errorf("%d egress_allowed events, want 3: %+v", n, sink.Events())
	}
}
