package egress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdial"
	"github.com/airlock-sh/airlock/internal/testdns"
)

// asBlocked returns the *BlockedError inside err, failing the test when there is none.
func asBlocked(t *testing.T, err error) *BlockedError {
	t.Helper()
	var be *BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("err %v (%T), want a *BlockedError", err, err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("err %v is not a *url.Error from http.Client", err)
	}
	return be
}

func get(t *testing.T, c *http.Client, u string) (string, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestSafeFetchDNSRebinding runs SafeFetch against a real DNS server that answers one name
// with a public address, then a private one, then both (a rebinding attacker). The guard
// resolves once per connection and checks every address it connects to, so no request ever
// reaches the private address, and every request whose answer contained it is blocked.
func TestSafeFetchDNSRebinding(t *testing.T) {
	var aQueries atomic.Int64
	srv := testdns.Start(t, func(name string, qtype uint16) (int, []netip.Addr) {
		if name != "rebind.example.net." {
			return dns.RcodeNameError, nil
		}
		if qtype != dns.TypeA {
			return dns.RcodeSuccess, nil // no AAAA
		}
		switch aQueries.Add(1) % 3 {
		case 1:
			return dns.RcodeSuccess, []netip.Addr{publicAddr}
		case 2:
			return dns.RcodeSuccess, []netip.Addr{privateAddr}
		default:
			return dns.RcodeSuccess, []netip.Addr{publicAddr, privateAddr}
		}
	})
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "public")
	}))
	t.Cleanup(web.Close)
	rec := testdial.New(t)
	rec.Route("93.184.216.34:80", web.Listener.Addr().String())

	sink := &audit.Memory{}
	g := &Guard{Resolver: srv.Resolver(), Local: noLocal, Dial: rec.Dial, Audit: sink}
	g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"rebind.example.net"}}))
	c := g.HTTPClient()

	var ok, blocked int
	for i := range 20 {
		_, from := questions(srv, 0, dns.TypeA)
		body, err := get(t, c, "http://rebind.example.net/")
		c.CloseIdleConnections() // the next request dials (and resolves) again
		answers, _ := questions(srv, from, dns.TypeA)
		if len(answers) != 1 {
			t.Fatalf("request %d: %d A questions, want exactly one (resolve once)", i, len(answers))
		}
		if slices.Contains(answers[0].Addrs, privateAddr) {
			be := asBlocked(t, err)
			if be.Decision.Reason != "private" || be.Decision.Addr != privateAddr {
				t.Errorf("request %d (answer %v): reason %q addr %v, want private 10.0.0.1", i, answers[0].Addrs, be.Decision.Reason, be.Decision.Addr)
			}
			blocked++
			continue
		}
		if err != nil || body != "public" {
			t.Errorf("request %d (answer %v): %q %v, want the public server's reply", i, answers[0].Addrs, body, err)
		}
		ok++
	}
	if rec.DialedAddr(privateAddr) {
		t.Errorf("the dial step was asked for 10.0.0.1: %v", rec.Dialed())
	}
	for _, a := range rec.Dialed() {
		if a != "93.184.216.34:80" {
			t.Errorf("dialled %q; only the checked public address may be dialled", a)
		}
	}
	if ok == 0 || blocked == 0 || len(rec.Dialed()) != ok {
		t.Errorf("%d allowed, %d blocked, %d dials: the test did not exercise both answers", ok, blocked, len(rec.Dialed()))
	}
	var denials int
	for _, e := range sink.Events() {
		if e.Event == "egress_blocked" {
			denials++
			if e.Reason != "private" || e.Addr != "10.0.0.1" || e.Host != "rebind.example.net" || e.Port != 80 {
				t.Errorf("blocked event %+v", e)
			}
		}
	}
	if denials != blocked {
		t.Errorf("%d blocked events for %d blocked requests", denials, blocked)
	}
}

// redirectFixture is a loopback web server reached as http://start.example.com/ (pinned to
// a public address the dial step routes to loopback), under the code-mode policy: public
// internet allowed, everything special-purpose denied.
type redirectFixture struct {
	web  *httptest.Server
	rec  *testdial.Recorder
	res  *countingResolver
	g    *Guard
	hits atomic.Int64
}

func newRedirectFixture(t *testing.T, spec policy.Spec) *redirectFixture {
	f := &redirectFixture{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
	})
	mux.HandleFunc("/loop/{n}", func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		n, _ := strconv.Atoi(r.PathValue("n"))
		http.Redirect(w, r, fmt.Sprintf("/loop/%d", n+1), http.StatusFound)
	})
	f.web = httptest.NewServer(mux)
	t.Cleanup(f.web.Close)
	f.rec = testdial.New(t)
	f.rec.Route("93.184.216.34:80", f.web.Listener.Addr().String())
	f.res = &countingResolver{next: StaticResolver{"start.example.com": {publicAddr}}}
	f.g = &Guard{Resolver: f.res, Local: noLocal, Dial: f.rec.Dial}
	f.g.SetPolicy(mustPolicy(t, spec))
	return f
}

func (f *redirectFixture) port() string {
	return strconv.Itoa(int(netip.MustParseAddrPort(f.web.Listener.Addr().String()).Port()))
}

func TestSafeFetchRedirects(t *testing.T) {
	public := policy.Spec{AllowPublicInternet: true}
	t.Run("allowed hop is followed", func(t *testing.T) {
		f := newRedirectFixture(t, public)
		body, err := get(t, f.g.HTTPClient(), "http://start.example.com/to?u="+url.QueryEscape("http://start.example.com/done"))
		if err != nil || body != "ok" {
			t.Fatalf("%q %v", body, err)
		}
	})
	t.Run("metadata", func(t *testing.T) {
		f := newRedirectFixture(t, public)
		_, err := get(t, f.g.HTTPClient(), "http://start.example.com/to?u="+url.QueryEscape("http://169.254.169.254/latest/meta-data/"))
		be := asBlocked(t, err)
		if be.Decision.Reason != "metadata" || be.Host != "169.254.169.254" || be.Port != 80 {
			t.Errorf("blocked %+v, want metadata 169.254.169.254:80", be)
		}
		if f.rec.DialedAddr(metadataAddr) {
			t.Errorf("dial step called with the metadata address: %v", f.rec.Dialed())
		}
	})
	t.Run("metadata name", func(t *testing.T) {
		f := newRedirectFixture(t, public)
		_, err := get(t, f.g.HTTPClient(), "http://start.example.com/to?u="+url.QueryEscape("http://metadata.google.internal/computeMetadata/v1/"))
		if be := asBlocked(t, err); be.Decision.Reason != "metadata" {
			t.Errorf("reason %q, want metadata", be.Decision.Reason)
		}
		if slices.Contains(f.res.asked(), "metadata.google.internal.") {
			t.Error("the metadata name was resolved")
		}
	})
	t.Run("odd loopback spelling without allow_localhost", func(t *testing.T) {
		f := newRedirectFixture(t, public)
		_, err := get(t, f.g.HTTPClient(), "http://start.example.com/to?u="+url.QueryEscape("http://0x7f.1:"+f.port()+"/"))
		be := asBlocked(t, err)
		if be.Decision.Reason != "loopback" || be.Host != "127.0.0.1" {
			t.Errorf("blocked %+v, want loopback 127.0.0.1", be)
		}
		if got := f.res.asked(); !slices.Equal(got, []string{"start.example.com."}) {
			t.Errorf("resolver asked %v; an IP spelling must never be resolved", got)
		}
		if f.rec.DialedAddr(netip.MustParseAddr("127.0.0.1")) {
			t.Errorf("dial step called with loopback: %v", f.rec.Dialed())
		}
	})
	t.Run("more than 10 redirects", func(t *testing.T) {
		f := newRedirectFixture(t, public)
		_, err := get(t, f.g.HTTPClient(), "http://start.example.com/loop/0")
		if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
			t.Fatalf("err %v, want stopped after 10 redirects", err)
		}
		if errors.As(err, new(*BlockedError)) {
			t.Errorf("a redirect loop is not a policy denial: %v", err)
		}
		if n := f.hits.Load(); n > 11 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("file scheme", func(t *testing.T) {
		f := newRedirectFixture(t, public)
		_, err := get(t, f.g.HTTPClient(), "http://start.example.com/to?u="+url.QueryEscape("file:///etc/passwd"))
		if be := asBlocked(t, err); be.Decision.Reason != policy.ReasonUnsupportedScheme {
			t.Errorf("reason %q, want unsupported_scheme", be.Decision.Reason)
		}
	})
	t.Run("hop refused before any connection", func(t *testing.T) {
		f := newRedirectFixture(t, public)
		// The redirect target is a name pinned to a private address: refused by the redirect
		// check, so the dial step sees only the first hop.
		f.res.next = Chain(StaticResolver{"intranet.example.com": {privateAddr}}, f.res.next)
		_, err := get(t, f.g.HTTPClient(), "http://start.example.com/to?u="+url.QueryEscape("http://intranet.example.com/"))
		if be := asBlocked(t, err); be.Decision.Reason != "private" {
			t.Errorf("reason %q, want private", be.Decision.Reason)
		}
		if !strings.Contains(err.Error(), "redirect to http://intranet.example.com/ refused") {
			t.Errorf("err %q: the redirect check, not the dial, must refuse the hop", err)
		}
		if got := f.rec.Dialed(); !slices.Equal(got, []string{"93.184.216.34:80"}) {
			t.Errorf("dialled %v, want only the first hop", got)
		}
	})
}

// TestSafeFetchRedirectFromPinnedLoopback: the first hop is a loopback server reached through a
// name pinned to 127.0.0.1 and granted by allow_localhost; its redirect to the metadata address
// is still refused.
func TestSafeFetchRedirectFromPinnedLoopback(t *testing.T) {
	web := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data/", http.StatusFound))
	t.Cleanup(web.Close)
	port := strconv.Itoa(int(netip.MustParseAddrPort(web.Listener.Addr().String()).Port()))
	rec := testdial.New(t)
	rec.AllowLoopback = true
	sink := &audit.Memory{}
	g := &Guard{Resolver: StaticResolver{"app.example.com": {netip.MustParseAddr("127.0.0.1")}}, Local: noLocal, Dial: rec.Dial, Audit: sink}
	g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true, AllowLocalhost: true}))

	_, err := get(t, g.HTTPClient(), "http://app.example.com:"+port+"/")
	if be := asBlocked(t, err); be.Decision.Reason != "metadata" {
		t.Errorf("reason %q, want metadata", be.Decision.Reason)
	}
	if got := rec.Dialed(); !slices.Equal(got, []string{"127.0.0.1:" + port}) {
		t.Errorf("dialled %v, want only the loopback server", got)
	}
	ev := sink.Events()
	if len(ev) != 2 || ev[0].Event != "egress_allowed" || ev[1].Event != "egress_blocked" || ev[1].Reason != "metadata" || ev[1].Addr != "169.254.169.254" {
		t.Errorf("events %+v, want the allowed first hop and the blocked metadata hop", ev)
	}
}

func TestSafeFetchOddIPLiterals(t *testing.T) {
	for _, u := range []string{
		"http://0x7f.1/", "http://2130706433/", "http://017700000001/", "http://127.1/",
		"http://[::ffff:127.0.0.1]/", "http://0x7f000001:8080/", "https://127.0.0.1./",
		"http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/", "http://[::ffff:a9fe:a9fe]/",
	} {
		t.Run(u, func(t *testing.T) {
			rec := testdial.New(t)
			g := &Guard{Resolver: failResolver(t), Local: noLocal, Dial: rec.Dial}
			g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
			_, err := get(t, g.HTTPClient(), u)
			be := asBlocked(t, err)
			if r := be.Decision.Reason; r != "loopback" && r != "metadata" {
				t.Errorf("reason %q, want loopback or metadata", r)
			}
			if d := rec.Dialed(); len(d) != 0 {
				t.Errorf("dial step called: %v", d)
			}
		})
	}
}

func TestSafeFetchSchemes(t *testing.T) {
	for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "gopher://example.com:70/", "unix:///var/run/docker.sock", "ws://example.com/"} {
		rec := testdial.New(t)
		sink := &audit.Memory{}
		g := &Guard{Resolver: failResolver(t), Local: noLocal, Dial: rec.Dial, Audit: sink}
		g.SetPolicy(mustPolicy(t, policy.Spec{AllowPublicInternet: true}))
		_, err := get(t, g.HTTPClient(), u)
		if be := asBlocked(t, err); be.Decision.Reason != policy.ReasonUnsupportedScheme {
			t.Errorf("%s: reason %q, want unsupported_scheme", u, be.Decision.Reason)
		}
		if ev := sink.Events(); len(ev) != 1 || ev[0].Reason != "unsupported_scheme" {
			t.Errorf("%s: events %+v", u, ev)
		}
		if len(rec.Dialed()) != 0 {
			t.Errorf("%s: dialled %v", u, rec.Dialed())
		}
	}
}

func TestSafeFetchSizeLimits(t *testing.T) {
	var echoHits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		echoHits.Add(1)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		fmt.Fprintf(w, "%d", len(b))
	})
	mux.HandleFunc("/bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		w.Write(bytes.Repeat([]byte("x"), n))
	})
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	rec := testdial.New(t)
	rec.Route("93.184.216.34:80", web.Listener.Addr().String())
	g := &Guard{Resolver: StaticResolver{"api.example.com": {publicAddr}}, Local: noLocal, Dial: rec.Dial}
	g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"api.example.com"},
		Limits: policy.Limits{MaxRequestSize: 100, MaxResponseSize: 1000}}))
	c := g.HTTPClient()

	post := func(body io.Reader) (string, error) {
		resp, err := c.Post("http://api.example.com/echo", "application/octet-stream", body)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	t.Run("known length over the limit fails before sending", func(t *testing.T) {
		dials := len(rec.Dialed())
		_, err := post(bytes.NewReader(make([]byte, 101)))
		if !errors.Is(err, ErrRequestTooLarge) {
			t.Fatalf("err %v, want ErrRequestTooLarge", err)
		}
		if echoHits.Load() != 0 || len(rec.Dialed()) != dials {
			t.Errorf("request reached the network: %d hits, dials %v", echoHits.Load(), rec.Dialed())
		}
	})
	t.Run("known length at the limit", func(t *testing.T) {
		if got, err := post(bytes.NewReader(make([]byte, 100))); err != nil || got != "100" {
			t.Errorf("%q %v", got, err)
		}
	})
	t.Run("unknown length over the limit", func(t *testing.T) {
		_, err := post(io.MultiReader(bytes.NewReader(make([]byte, 60)), bytes.NewReader(make([]byte, 60))))
		if !errors.Is(err, ErrRequestTooLarge) {
			t.Fatalf("err %v, want ErrRequestTooLarge", err)
		}
	})
	t.Run("unknown length under the limit", func(t *testing.T) {
		if got, err := post(io.MultiReader(bytes.NewReader(make([]byte, 60)))); err != nil || got != "60" {
			t.Errorf("%q %v", got, err)
		}
	})
	t.Run("response at the limit", func(t *testing.T) {
		if body, err := get(t, c, "http://api.example.com/bytes/1000"); err != nil || len(body) != 1000 {
			t.Errorf("%d bytes, %v", len(body), err)
		}
	})
	t.Run("response over the limit fails on read", func(t *testing.T) {
		for _, n := range []int{1001, 1 << 20} {
			body, err := get(t, c, "http://api.example.com/bytes/"+strconv.Itoa(n))
			if !errors.Is(err, ErrResponseTooLarge) {
				t.Errorf("%d bytes: err %v, want ErrResponseTooLarge", n, err)
			}
			if len(body) > 1000 {
				t.Errorf("%d bytes: read %d bytes past the limit", n, len(body))
			}
		}
	})
}

func TestSafeFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(web.Close)
	t.Cleanup(func() { close(release) }) // runs first: no handler outlives the test
	rec := testdial.New(t)
	rec.Route("93.184.216.34:80", web.Listener.Addr().String())
	g := &Guard{Resolver: StaticResolver{"slow.example.com": {publicAddr}}, Local: noLocal, Dial: rec.Dial}
	g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"slow.example.com"}, Limits: policy.Limits{Timeout: 200 * time.Millisecond}}))
	c := g.HTTPClient()
	if c.Timeout != 200*time.Millisecond {
		t.Errorf("client Timeout %v, want the policy's 200ms", c.Timeout)
	}
	_, err := get(t, c, "http://slow.example.com/")
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("err %v, want a timeout", err)
	}
}

func TestNewClientDefaults(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9") // must be ignored
	rec := testdial.New(t)
	g := &Guard{Dial: rec.Dial} // otherwise zero; the recorder keeps the test off the network
	c := g.HTTPClient()
	if c.Timeout != DefaultTimeout {
		t.Errorf("Timeout %v, want %v", c.Timeout, DefaultTimeout)
	}
	tr, ok := c.Transport.(*transport)
	if !ok {
		t.Fatalf("Transport is %T", c.Transport)
	}
	if tr.next.Proxy != nil || !tr.next.ForceAttemptHTTP2 || tr.next.DialContext == nil || tr.next == http.DefaultTransport {
		t.Errorf("transport: proxy set %v, http2 %v", tr.next.Proxy != nil, tr.next.ForceAttemptHTTP2)
	}
	if c.CheckRedirect == nil {
		t.Error("no CheckRedirect")
	}
	// A Guard without a policy refuses everything.
	_, err := c.Get("http://93.184.216.34/")
	if be := asBlocked(t, err); be.Decision.Allow {
		t.Errorf("%+v", be)
	}
	if len(rec.Dialed()) != 0 {
		t.Errorf("dialled %v", rec.Dialed())
	}
}

// TestPolicySwap: SetPolicy takes effect for the next connection.
func TestPolicySwap(t *testing.T) {
	rec := testdial.New(t)
	g := &Guard{Resolver: StaticResolver{"api.example.com": {publicAddr}}, Local: noLocal, Dial: rec.Dial}
	ctx := context.Background()
	if d, _ := g.Check(ctx, "api.example.com:443"); d.Allow {
		t.Fatal("allowed without a policy")
	}
	g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"api.example.com"}}))
	if d, _ := g.Check(ctx, "api.example.com:443"); !d.Allow {
		t.Fatalf("denied after SetPolicy: %+v", d)
	}
	g.SetPolicy(nil)
	if d, _ := g.Check(ctx, "api.example.com:443"); d.Allow {
		t.Fatal("allowed after SetPolicy(nil)")
	}
}

// TestSafeFetchPolicySwapDropsPooledConnections: after SetPolicy, a SafeFetch client does not
// reuse a connection that the new policy would refuse.
func TestSafeFetchPolicySwapDropsPooledConnections(t *testing.T) {
	f := newRedirectFixture(t, policy.Spec{Allow: []string{"start.example.com"}})
	c := f.g.HTTPClient()
	if body, err := get(t, c, "http://start.example.com/"); err != nil || body != "ok" {
		t.Fatalf("%q %v", body, err)
	}
	f.g.SetPolicy(mustPolicy(t, policy.Spec{Allow: []string{"api.example.com"}}))
	_, err := get(t, c, "http://start.example.com/")
	if be := asBlocked(t, err); be.Decision.Reason != policy.ReasonNoMatchingAllow {
		t.Errorf("reason %q, want no_matching_allow", be.Decision.Reason)
	}
	if n := f.hits.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1: the pooled connection was reused", n)
	}
}
