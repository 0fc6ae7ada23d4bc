// Package proxy is airlock's egress proxy: HTTP/1.1 forward proxying, CONNECT tunnels and
// SOCKS5, with every upstream connection made through the egress.Guard of the client's policy.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
)

// Observer receives what the proxy does, for metrics. Implementations must be safe for
// concurrent use and fast: they are called on the hot path.
//
// The client argument is the name of the policy that judged the connection ("" for the
// default policy), never a name a client sent that matched no policy, so its cardinality is
// bounded by the config.
type Observer interface {
	// Decision is called once per policy decision (allowed or not), that is once per upstream
	// connection the proxy asks a guard for. A request that reuses a pooled upstream
	// connection made under the same policy needs no new decision.
	Decision(client string, d policy.Decision)
	// DialLatency is the time an allowed upstream connection took to set up (resolve + connect).
	DialLatency(client string, d time.Duration)
	// TunnelOpened and TunnelClosed bracket a CONNECT or SOCKS5 tunnel; up and down are the
	// bytes copied client→upstream and upstream→client.
	TunnelOpened(client string)
	TunnelClosed(client string, up, down int64)
	// Request is called when a proxied HTTP request (not CONNECT) finishes, with the status
	// the client got — including the proxy's own refusals (403, 413, 429, 502, ...) once the
	// request was read and its client named. up and down are the body bytes relayed.
	Request(client string, status int, up, down int64)
}

// Options configure a Server. Every zero value is documented and safe.
type Options struct {
	// Audit receives one event per decision (from the guards) and one "connection_closed"
	// event per finished tunnel or forwarded request. Nil discards them.
	Audit audit.Sink
	// Observer receives metrics. Nil means none.
	Observer Observer
	// Logger gets operational messages (never header values, bodies or credentials). Nil means
	// slog.Default().
	Logger *slog.Logger
	// Resolver, Local and Dial are handed to every egress.Guard the server creates (see
	// egress.Guard for their zero values). Tests inject Dial to keep traffic on loopback.
	Resolver egress.Resolver
	Local    func() netguard.Local
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	// Consult, when set, is handed to every client's egress.Guard (see egress.Guard.Consult)
	// with the client's name, the server name whose policy judged the connection ("" for the
	// default policy): it is asked whether the user allows a refused destination that the user
	// may override, and returns true to let this one upstream connection through. It is called
	// with the proxy's own context, which ends with Shutdown. Nil means refusals are final.
	Consult func(ctx context.Context, client string, req egress.ApprovalRequest) bool

	// MaxHeaderBytes bounds a request's header block (431 beyond it) and an upstream
	// response's (502). Zero means 64 KiB.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds the time to read a request's header block (slowloris), and a
	// SOCKS5 client's handshake and request. Zero means 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a client keep-alive connection or a tunnel with no traffic in either
	// direction for this long; it also bounds how long a relayed body may stall and how long
	// the proxy waits for an upstream's response head when the policy sets no timeout. Zero
	// means 2 minutes.
	IdleTimeout time.Duration
	// MaxConnsPerClient bounds the concurrent connections of one client when its policy sets no
	// max_connections. Zero means 1024. What counts: every open tunnel and every HTTP request
	// being forwarded; idle keep-alive connections count neither way.
	MaxConnsPerClient int
	// MaxIdleConnsPerHost bounds the idle upstream connections kept for reuse per client and
	// upstream host:port. Zero means 64; a negative value disables reuse.
	MaxIdleConnsPerHost int
}

// Defaults of Options.
const (
	DefaultMaxHeaderBytes      = 64 << 10
	DefaultReadHeaderTimeout   = 10 * time.Second
	DefaultIdleTimeout         = 2 * time.Minute
	DefaultMaxConnsPerClient   = 1024
	DefaultMaxIdleConnsPerHost = 64
	// maxPoolIdle caps how long an idle upstream connection is kept: upstreams close idle
	// keep-alive connections on their own, usually within a minute or two.
	maxPoolIdle = 90 * time.Second
)

// Server is the proxy. Create it with New; serve listeners with ServeHTTPProxy and ServeSOCKS;
// replace policies at any time with SetPolicies.
type Server struct {
	opts              Options
	log               *slog.Logger
	maxHeader         int
	readHeaderTimeout time.Duration
	idle              time.Duration
	maxConns          int
	maxIdlePerHost    int
	poolIdle          time.Duration

	clients atomic.Pointer[clientTable]
	setMu   sync.Mutex // serialises SetPolicies

	// ctx is handed to every dial; cancel aborts dials when Shutdown gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc

	closing atomic.Bool
	mu      sync.Mutex // guards the fields below
	lns     map[net.Listener]struct{}
	conns   map[*tracked]struct{}
	drained chan struct{} // closed once closing and conns is empty
	stop    chan struct{} // closed by Shutdown; stops the janitor
	janitor bool          // the pool janitor is running
	removed []*clientState
	wg      sync.WaitGroup // every goroutine the server starts

	self atomic.Pointer[[]netip.AddrPort] // listener addresses, for loop detection
}

// New returns a Server with no policies: every client is denied everything until SetPolicies.
func New(opts Options) *Server {
	s := &Server{
		opts:              opts,
		log:               opts.Logger,
		maxHeader:         opts.MaxHeaderBytes,
		readHeaderTimeout: opts.ReadHeaderTimeout,
		idle:              opts.IdleTimeout,
		maxConns:          opts.MaxConnsPerClient,
		maxIdlePerHost:    opts.MaxIdleConnsPerHost,
		lns:               map[net.Listener]struct{}{},
		conns:             map[*tracked]struct{}{},
		drained:           make(chan struct{}),
		stop:              make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxHeader <= 0 {
		s.maxHeader = DefaultMaxHeaderBytes
	}
	if s.readHeaderTimeout <= 0 {
		s.readHeaderTimeout = DefaultReadHeaderTimeout
	}
	if s.idle <= 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConnsPerClient
	}
	if s.maxIdlePerHost == 0 {
		s.maxIdlePerHost = DefaultMaxIdleConnsPerHost
	}
	s.poolIdle = min(s.idle, maxPoolIdle)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.clients.Store(&clientTable{def: s.newClient("")})
	s.self.Store(&[]netip.AddrPort{})
	return s
}

// clientState is one client's policy (through its guard), its connection count and its pool
// of idle upstream connections. It survives policy reloads.
type clientState struct {
	name   string
	guard  *egress.Guard
	active atomic.Int64
	pool   pool
}

// clientTable maps client names to their state; it is replaced as a whole by SetPolicies.
type clientTable struct {
	def   *clientState
	named map[string]*clientState
}

func (s *Server) newClient(name string) *clientState {
	g := &egress.Guard{
		Resolver: s.opts.Resolver,
		Local:    s.opts.Local,
		Dial:     s.opts.Dial,
		Server:   name,
	}
	if consult := s.opts.Consult; consult != nil {
		g.Consult = func(ctx context.Context, req egress.ApprovalRequest) bool { return consult(ctx, name, req) }
	}
	switch {
	case s.opts.Observer != nil:
		g.Audit = &decisionTap{client: name, next: s.opts.Audit, obs: s.opts.Observer}
	case s.opts.Audit != nil:
		g.Audit = s.opts.Audit
	}
	return &clientState{name: name, guard: g}
}

// lookup returns the state of the client named name, or the default client.
func (t *clientTable) lookup(name []byte) *clientState {
	if len(name) > 0 {
		if c, ok := t.named[string(name)]; ok {
			return c
		}
	}
	return t.def
}

// acquire counts one more connection of c unless that passes limit.
func (c *clientState) acquire(limit int) bool {
	if c.active.Add(1) > int64(limit) {
		c.active.Add(-1)
		return false
	}
	return true
}

func (c *clientState) release() { c.active.Add(-1) }

// connLimit is the concurrent connection limit of a client under p.
func (s *Server) connLimit(p *policy.Policy) int {
	if n := p.Limits().MaxConnections; n > 0 {
		return n
	}
	return s.maxConns
}

// decisionTap passes a guard's audit events on and reports each decision to the Observer.
type decisionTap struct {
	client string
	next   audit.Sink
	obs    Observer
}

func (t *decisionTap) Audit(e audit.Event) {
	if e.Event == "egress_allowed" || e.Event == "egress_blocked" {
		t.obs.Decision(t.client, policy.Decision{Allow: e.Decision == "allow", Reason: policy.Reason(e.Reason), Rule: e.Rule})
	}
	if t.next != nil {
		t.next.Audit(e)
	}
}

// SetPolicies atomically installs the policy of each named client (a server name of the config
// file) and the default policy for clients the proxy cannot name. A nil default denies
// everything. Requests already past their decision finish under the old policy.
//
// A client that keeps its name keeps its guard (SetPolicy on it), its connection count and its
// pool; pooled upstream connections made under the old policy are not reused after the swap,
// so every new request is judged under the new one. An empty name in clients is ignored: the
// default policy is def.
func (s *Server) SetPolicies(def *policy.Policy, clients map[string]*policy.Policy) {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	old := s.clients.Load()
	next := &clientTable{def: old.def, named: make(map[string]*clientState, len(clients))}
	for name, p := range clients {
		if name == "" {
			continue
		}
		c := old.named[name]
		if c == nil {
			c = s.newClient(name)
		}
		c.guard.SetPolicy(p)
		next.named[name] = c
	}
	next.def.guard.SetPolicy(def)
	s.clients.Store(next)
	var gone []*clientState
	for name, c := range old.named {
		if next.named[name] != c {
			gone = append(gone, c)
		}
	}
	for _, c := range gone {
		c.pool.closeAll()
	}
	if len(gone) > 0 {
		// Requests in flight may still return connections to these pools; the janitor and
		// Shutdown close them.
		s.mu.Lock()
		s.removed = append(s.removed, gone...)
		s.mu.Unlock()
	}
}

// tracked is one accepted client connection, known to Shutdown.
type tracked struct {
	c net.Conn

	idle atomic.Bool // an HTTP connection waiting for its next request

	mu     sync.Mutex
	up     net.Conn // the upstream connection in use, closed by a forced shutdown
	forced bool     // closed by a forced shutdown
}

// setUp records the upstream connection in use (nil when none). It reports false, and closes
// up, when a forced shutdown has already closed the connection.
func (t *tracked) setUp(up net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.up = up
	if t.forced && up != nil {
		up.Close()
		return false
	}
	return true
}

func (t *tracked) setIdle(idle bool) { t.idle.Store(idle) }

// ServeHTTPProxy accepts HTTP proxy connections on ln until Shutdown. client names the server
// whose policy judges every request on this listener; "" means the client is named by the user
// name of a Proxy-Authorization: Basic header, or is unknown (the default policy).
//
// It returns nil after Shutdown, and the listener's error if Accept fails otherwise. It closes
// ln when it returns.
func (s *Server) ServeHTTPProxy(ln net.Listener, client string) error {
	return s.serve(ln, func(t *tracked) { s.serveHTTPConn(t, client) })
}

// ServeSOCKS accepts SOCKS5 connections on ln until Shutdown; client as for ServeHTTPProxy, with
// the SOCKS5 user name in place of Proxy-Authorization.
func (s *Server) ServeSOCKS(ln net.Listener, client string) error {
	return s.serve(ln, func(t *tracked) { s.serveSOCKSConn(t, client) })
}

func (s *Server) serve(ln net.Listener, handle func(*tracked)) error {
	if !s.addListener(ln) {
		ln.Close()
		return nil
	}
	defer s.removeListener(ln)
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				// Out of file descriptors and the like: back off like net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("proxy: accept failed; retrying", "error", err, "delay", delay)
				select {
				case <-time.After(delay):
				case <-s.stop:
				}
				continue
			}
			return err
		}
		delay = 0
		t := &tracked{c: c}
		if !s.track(t) {
			c.Close()
			return nil
		}
		go func() {
			defer s.untrack(t)
			defer s.recoverConn(t)
			handle(t)
		}()
	}
}

// recoverConn contains a panic to the connection that caused it, as net/http does: the
// connection (and its upstream) is closed, the panic logged with its stack, and the proxy
// goes on serving everyone else.
func (s *Server) recoverConn(t *tracked) {
	if v := recover(); v != nil {
		t.mu.Lock()
		if t.up != nil {
			t.up.Close()
		}
		t.mu.Unlock()
		s.log.Error("proxy: panic serving a connection", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
}

func (s *Server) addListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.lns[ln] = struct{}{}
	s.updateSelf()
	if !s.janitor {
		s.janitor = true
		s.wg.Add(1)
		go s.runJanitor()
	}
	return true
}

func (s *Server) removeListener(ln net.Listener) {
	ln.Close()
	s.mu.Lock()
	delete(s.lns, ln)
	s.updateSelf()
	s.mu.Unlock()
}

// updateSelf records the addresses of the listeners; s.mu is held.
func (s *Server) updateSelf() {
	var addrs []netip.AddrPort
	for ln := range s.lns {
		if ta, ok := ln.Addr().(*net.TCPAddr); ok {
			addrs = append(addrs, ta.AddrPort())
		}
	}
	s.self.Store(&addrs)
}

// track registers a new connection; false when the server is shutting down.
func (s *Server) track(t *tracked) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[t] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(t *tracked) {
	t.c.Close()
	s.mu.Lock()
	delete(s.conns, t)
	if s.closing.Load() && len(s.conns) == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
	s.mu.Unlock()
	s.wg.Done()
}

// idleOrClosing marks t idle (waiting for its next request) and reports whether the server
// is shutting down, in which case the connection should close. Shutdown closes the
// connections it finds idle; a connection that becomes idle after that sees closing.
func (s *Server) idleOrClosing(t *tracked) bool {
	t.setIdle(true)
	return s.closing.Load()
}

// Shutdown stops accepting, lets requests and tunnels in flight finish until ctx is done, then
// closes what is left.
//
// Idle keep-alive connections are closed at once; a connection finishing a request is closed
// after its response (which says Connection: close). When ctx is done first, dials in
// progress are cancelled and every remaining connection (client and upstream) is closed, and
// Shutdown returns ctx.Err(). Either way it returns only after every goroutine the server
// started has ended, and closes the idle upstream connections. Serve calls after Shutdown
// return nil at once. Calling Shutdown again waits again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing.Load() {
		s.closing.Store(true)
		close(s.stop)
		for ln := range s.lns {
			ln.Close()
		}
		for t := range s.conns {
			if t.idle.Load() {
				t.c.Close()
			}
		}
		if len(s.conns) == 0 {
			close(s.drained)
		}
	}
	s.mu.Unlock()

	var err error
	select {
	case <-s.drained:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()
		s.mu.Lock()
		for t := range s.conns {
			t.mu.Lock()
			t.forced = true
			t.c.Close()
			if t.up != nil {
				t.up.Close()
			}
			t.mu.Unlock()
		}
		s.mu.Unlock()
	}
	s.wg.Wait()
	s.cancel()
	s.closePools()
	return err
}

func (s *Server) closePools() {
	t := s.clients.Load()
	t.def.pool.closeAll()
	for _, c := range t.named {
		c.pool.closeAll()
	}
	s.mu.Lock()
	removed := s.removed
	s.removed = nil
	s.mu.Unlock()
	for _, c := range removed {
		c.pool.closeAll()
	}
}

// runJanitor closes pooled upstream connections that have been idle too long.
func (s *Server) runJanitor() {
	defer s.wg.Done()
	every := min(max(s.poolIdle/2, 10*time.Millisecond), 30*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-tick.C:
			t := s.clients.Load()
			t.def.pool.sweep(now, s.poolIdle)
			for _, c := range t.named {
				c.pool.sweep(now, s.poolIdle)
			}
			s.mu.Lock()
			removed := s.removed
			s.removed = nil
			s.mu.Unlock()
			for _, c := range removed {
				c.pool.closeAll()
			}
		}
	}
}

// errLoop is returned by dialUp when the upstream connection reached one of the proxy's own
// listeners.
var errLoop = errors.New("airlock: the destination is this proxy itself (a request loop)")

// dialUp opens an upstream connection through the client's guard and refuses one that came
// back to the proxy itself.
//
// Loop detection: after the guard has connected, the connection's remote address is compared
// with the addresses of the proxy's listeners (for a listener on 0.0.0.0 or ::, the port and
// any loopback or local interface address). A match is closed at once, before a byte is sent,
// and reported as errLoop (508 for HTTP, "not allowed" for SOCKS5).
func (s *Server) dialUp(c *clientState, hostport string) (net.Conn, error) {
	start := time.Now()
	up, err := c.guard.DialContext(s.ctx, "tcp", hostport)
	if err != nil {
		return nil, err
	}
	if o := s.opts.Observer; o != nil {
		o.DialLatency(c.name, time.Since(start))
	}
	if s.isSelf(up.RemoteAddr()) {
		up.Close()
		if s.opts.Audit != nil {
			h, port := canonical(hostport)
			s.opts.Audit.Audit(audit.Event{
				Time: time.Now(), Event: "egress_blocked", Decision: "deny", Server: c.name,
				Host: h, Port: port, Addr: addrString(up.RemoteAddr()), Rule: "proxy:loop", Reason: "loop",
			})
		}
		return nil, errLoop
	}
	return up, nil
}

func (s *Server) isSelf(remote net.Addr) bool {
	ta, ok := remote.(*net.TCPAddr)
	if !ok {
		return false
	}
	ap := ta.AddrPort()
	a := ap.Addr().Unmap()
	for _, l := range *s.self.Load() {
		if l.Port() != ap.Port() {
			continue
		}
		la := l.Addr().Unmap()
		if la == a {
			return true
		}
		if la.IsUnspecified() && (a.IsLoopback() || isInterfaceAddr(a)) {
			return true
		}
	}
	return false
}

// isInterfaceAddr reports whether a is one of this machine's interface addresses. It is asked
// only when a connection's port is a listener's port, so it is not on the hot path.
func isInterfaceAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if b, ok := netip.AddrFromSlice(n.IP); ok && b.Unmap() == a {
				return true
			}
		}
	}
	return false
}

func addrString(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().String()
	}
	if a == nil {
		return ""
	}
	return a.String()
}
