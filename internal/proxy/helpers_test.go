package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdial"
)

// Every test here sends traffic only to loopback. Addresses like 93.184.216.34 (public) and
// 10.0.0.7 (private) appear only as data: DNS answers and policy entries. The final dial step
// of every proxy under test is a dialRecorder, which routes such addresses to loopback servers
// or refuses them, and records what it was asked.
var (
	publicAddr  = netip.MustParseAddr("93.184.216.34")
	privateAddr = netip.MustParseAddr("10.0.0.7")
)

func mustPolicy(t testing.TB, spec policy.Spec) *policy.Policy {
	t.Helper()
	p, err := policy.Compile(spec)
	if err != nil {
		t.Fatalf("policy.Compile(%+v): %v", spec, err)
	}
	return p
}

// noLocal keeps verdicts independent of this machine's interface addresses.
func noLocal() netguard.Local { return netguard.Local{} }

// recordingObserver counts Observer calls.
type recordingObserver struct {
	mu        sync.Mutex
	decisions []policy.Decision
	clients   []string
	dials     int
	opened    int
	closed    int
	up, down  int64
	statuses  []int
}

func (o *recordingObserver) Decision(client string, d policy.Decision) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.decisions = append(o.decisions, d)
	o.clients = append(o.clients, client)
}

func (o *recordingObserver) DialLatency(string, time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dials++
}

func (o *recordingObserver) TunnelOpened(string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opened++
}

func (o *recordingObserver) TunnelClosed(_ string, up, down int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed++
	o.up += up
	o.down += down
}

func (o *recordingObserver) Request(_ string, status int, _, _ int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses = append(o.statuses, status)
}

// testProxy is a running Server on loopback listeners.
type testProxy struct {
	s         *Server
	httpAddr  string
	socksAddr string
	boundAddr string
	dial      *testdial.Recorder
	sink      *audit.Memory
	obs       *recordingObserver
}

type proxyConfig struct {
	opts    Options
	def     *policy.Policy
	clients map[string]*policy.Policy
	// bound adds an HTTP listener bound to this client name (testProxy.boundAddr).
	bound string
}

// startProxy starts a Server with an HTTP and a SOCKS5 listener on 127.0.0.1. Unless set,
// opts gets a dialRecorder as Dial, noLocal as Local, a recording audit sink and observer.
// The server is shut down (and checked to end cleanly) when the test ends.
func startProxy(t testing.TB, cfg proxyConfig) *testProxy {
	t.Helper()
	tp := &testProxy{dial: loopbackDial(t), sink: &audit.Memory{}, obs: &recordingObserver{}}
	o := cfg.opts
	if o.Dial == nil {
		o.Dial = tp.dial.Dial
	}
	if o.Local == nil {
		o.Local = noLocal
	}
	if o.Audit == nil {
		o.Audit = tp.sink
	}
	if o.Observer == nil {
		o.Observer = tp.obs
	}
	if o.Resolver == nil {
		o.Resolver = failResolver{t}
	}
	tp.s = New(o)
	tp.s.SetPolicies(cfg.def, cfg.clients)
	var wg sync.WaitGroup
	serve := func(name string, f func(net.Listener, string) error, client string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := f(ln, client); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
		return ln.Addr().String()
	}
	tp.httpAddr = serve("ServeHTTPProxy", tp.s.ServeHTTPProxy, "")
	tp.socksAddr = serve("ServeSOCKS", tp.s.ServeSOCKS, "")
	if cfg.bound != "" {
		tp.boundAddr = serve("ServeHTTPProxy(bound)", tp.s.ServeHTTPProxy, cfg.bound)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tp.s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		wg.Wait()
	})
	return tp
}

// failResolver fails the test if a name reaches it.
type failResolver struct{ t testing.TB }

func (f failResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.t.Errorf("resolver called for %q; this test resolves no names", host)
	return nil, fmt.Errorf("no resolver in this test")
}

// upstream is a loopback HTTP server that counts connections and requests and records the
// request headers it saw.
type upstream struct {
	*httptest.Server
	accepts  atomic.Int64
	requests atomic.Int64

	mu      sync.Mutex
	headers []http.Header
	bodies  []string
	hosts   []string
}

func startUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from upstream") }
	}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		u.bodies = append(u.bodies, string(body))
		u.hosts = append(u.hosts, r.Host)
		u.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h(w, r)
	}))
	u.Server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.accepts.Add(1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) addr() string { return u.Listener.Addr().String() }

func (u *upstream) port() string {
	_, p, _ := net.SplitHostPort(u.addr())
	return p
}

func (u *upstream) lastHeader() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.headers) == 0 {
		return nil
	}
	return u.headers[len(u.headers)-1]
}

// proxyClient is a Go http.Client that uses the proxy at addr (for http:// URLs).
func proxyClient(t testing.TB, addr string, user *url.Userinfo) *http.Client {
	t.Helper()
	pu := &url.URL{Scheme: "http", Host: addr, User: user}
	tr := &http.Transport{Proxy: http.ProxyURL(pu), MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// rawExchange sends raw bytes to addr and reads one response (req is the request method, for
// HEAD). The connection is closed afterwards.
func rawExchange(t testing.TB, addr, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a guard against a hung test, not a timing assertion
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response to %q: %v", raw, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// serveConns calls handle on every connection ln accepts, each in a goroutine of its own, and
// closes the connection when handle returns. When the test ends it closes ln and waits for
// every handler.
func serveConns(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
}

// echoServer accepts connections and echoes what it reads; it counts accepts.
type echoServer struct {
	ln      net.Listener
	accepts atomic.Int64
}

func startEcho(t testing.TB) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveEcho(t, ln)
}

// serveEcho runs an echoServer on ln until the test ends.
func serveEcho(t testing.TB, ln net.Listener) *echoServer {
	e := &echoServer{ln: ln}
	serveConns(t, ln, func(c net.Conn) {
		e.accepts.Add(1)
		io.Copy(c, c)
	})
	return e
}

func (e *echoServer) addr() string { return e.ln.Addr().String() }

func (e *echoServer) port() string {
	_, p, _ := net.SplitHostPort(e.addr())
	return p
}

// connectTunnel opens a CONNECT tunnel through the proxy; it returns the connection (after
// the 200) or the refusal.
func connectTunnel(t testing.TB, proxyAddr, authority string, extra string) (net.Conn, *http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", authority, authority, extra)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil {
		c.Close()
		t.Fatalf("CONNECT %s: %v", authority, err)
	}
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		return nil, resp, string(body)
	}
	if br.Buffered() > 0 {
		t.Fatalf("CONNECT %s: %d bytes after the 200", authority, br.Buffered())
	}
	c.SetDeadline(time.Time{})
	return c, resp, ""
}

// echoOnce writes msg on c and reads it back.
func echoOnce(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if string(buf) != msg {
		t.Fatalf("echo %q, want %q", buf, msg)
	}
	c.SetDeadline(time.Time{})
}

// waitFor polls cond until it holds or a bounded wait ends (not a timing assertion: it only
// gives background work time to finish).
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// waitEvents waits (bounded) until sink holds at least n events named name, and returns them.
func waitEvents(t testing.TB, sink *audit.Memory, name string, n int) []audit.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := sink.ByEvent(name)
		if len(ev) >= n || time.Now().After(deadline) {
			return ev
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// loopbackDial is the proxy tests' final dial step: loopback upstreams as they are, routed
// "public" addresses to their loopback servers, nothing else.
func loopbackDial(t testing.TB) *testdial.Recorder {
	d := testdial.New(t)
	d.AllowLoopback = true
	return d
}
