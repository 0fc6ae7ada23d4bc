// Package dnsfilter answers DNS queries from inside a sandbox by policy alone: a name the policy
// allows gets a fake address from a reserved pool, every other name gets NXDOMAIN, and no query
// is ever sent to another DNS server.
//
// Programs in an `airlock run` sandbox reach the network only through airlock's HTTP and SOCKS5
// proxies, which take names (HTTP_PROXY, socks5h://), and the supervisor's egress guard resolves
// an allowed name once, through the policy, when it connects. Many programs resolve a name
// before they connect anyway (and give up when that fails); the fake address lets them proceed
// to the proxy. It is never a destination in its own right: in proxy mode nothing routes it,
// and in transparent mode Lookup maps it back to the name, which the policy judges again.
//
// Nothing is forwarded, so DNS cannot carry data out of the sandbox: a lookup of
// "secret.attacker.example" ends here, whatever its type. The package imports no dialer and has
// no upstream option; a test checks both.
//
// Answers, for a query with opcode QUERY, one question and class IN:
//
//   - The name is lower-cased, its trailing dot removed, and normalised by host.Parse. A name
//     host.Parse rejects, or one that spells an IP address ("127.0.0.1", "0x7f.1"), gets
//     NXDOMAIN: an address is never synthesised from a name.
//   - A name is allowed when policy.Decide allows it on port 443, on port 80, or on one of the
//     ports written in the policy's allow entries (see probePorts for the limits of this).
//   - Allowed: A gets the name's fake IPv4 address; AAAA gets its fake IPv6 address when
//     Options.Pool6 is set, else NODATA; every other type (TXT, MX, SRV, HTTPS, SVCB, ANY,
//     CNAME, NS, SOA, PTR, ...) gets NODATA (NOERROR with no records). Loopback names
//     (localhost, *.localhost), when Decide allows them (allow_localhost with a matching allow,
//     or an entry naming exactly that name), get 127.0.0.1 and ::1 instead of fake addresses.
//   - Denied, any type: NXDOMAIN. Never REFUSED, which makes stub resolvers try the next server
//     and report a server failure instead of "no such host". This includes a parent of an
//     allowed name (github.com when only api.github.com is allowed); only a caching resolver
//     that applies RFC 8020 would draw conclusions from that, and none runs in the sandbox.
//   - Names under in-addr.arpa and ip6.arpa are reverse lookups: the PTR of a fake address the
//     server handed out is its name (other types: NODATA); every other reverse name gets
//     NXDOMAIN.
//
// Other opcodes get NOTIMP, zero or several questions FORMERR, another class REFUSED, an EDNS
// version other than 0 BADVERS. A packet that does not parse gets FORMERR when its header is a
// query's, and no reply otherwise. Replies set RA (the server stands in for a recursive
// resolver), carry an OPT record (payload size 1232) when the query had one, and are truncated
// with TC to the client's UDP payload size (512 without EDNS). Negative answers carry no SOA, so
// resolvers do not cache them and a policy change takes effect at the next query.
package dnsfilter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/policy"
)

// Defaults of Options.
var (
	// DefaultPool4 is RFC 2544's benchmarking range: never routed on the internet, and denied by
	// airlock's address rules, so a fake address cannot be mistaken for a destination.
	DefaultPool4 = netip.MustParsePrefix("198.18.0.0/15")
)

// DefaultTTL is the TTL of answers when Options.TTL is zero, in seconds. Short, so that a
// policy change reaches programs that cache answers.
const DefaultTTL = 5

// Limits of DNS over TCP.
const (
	// MaxStreamConns is how many DNS-over-TCP connections a Server serves at once; further
	// connections are closed at once.
	MaxStreamConns = 64
	// StreamIdleTimeout closes a DNS-over-TCP connection that sends no complete query for this
	// long (RFC 7766 section 6.2.3).
	StreamIdleTimeout = 10 * time.Second
)

// Audit event names and the reasons this package adds to the policy's.
const (
	EventAnswered = "dns_answered" // the name was allowed (or a fake address's reverse lookup)
	EventBlocked  = "dns_blocked"  // NXDOMAIN or REFUSED

	ReasonInvalidHost      = "invalid_host"       // host.Parse rejects the name
	ReasonIPLiteral        = "ip_literal"         // the name spells an IP address
	ReasonUnsupportedClass = "unsupported_class"  // a class other than IN
	ReasonFakeAddress      = "fake_address"       // reverse lookup of an address the server handed out
	ReasonNotFakeAddress   = "not_a_fake_address" // any other reverse lookup
)

// ErrServerClosed is returned by ServePacket and ServeStream after Shutdown.
var ErrServerClosed = errors.New("dnsfilter: server closed")

// Options configure a Server. Every zero value is documented and safe.
type Options struct {
	// Policy returns the policy in force; it is called once per query, so a new policy applies
	// from the next query on. A nil func, or a nil policy, denies every name.
	Policy func() *policy.Policy
	// Pool4 is where fake IPv4 addresses come from. Zero means DefaultPool4 (198.18.0.0/15).
	// Its first and last addresses are never handed out.
	Pool4 netip.Prefix
	// Pool6 is where fake IPv6 addresses come from, the name in Pool4's n-th slot getting the
	// n-th address of Pool6. Zero means none: AAAA queries for allowed names get NODATA, and
	// programs use the IPv4 answer (the proxy path needs no address at all, and one family
	// keeps transparent mode's address space to 198.18.0.0/15). A ULA /64 such as
	// fd7a:6972:6c6b::/64 is a good choice when set.
	Pool6 netip.Prefix
	// TTL of answers, in seconds. Zero means DefaultTTL.
	TTL uint32
	// MaxNames bounds the names that hold a fake address at once; when it is reached, the least
	// recently used name loses its address to the next new one. Zero means DefaultMaxNames.
	// The pools bound it too (Pool4 /15: 131,070 addresses). A program that kept a recycled
	// address reaches the new name with it, which is also an allowed name: Lookup's callers
	// judge the name again.
	MaxNames int
	// Audit receives one event per query that has a name: EventAnswered or EventBlocked with
	// the name, the policy's reason and rule, the port the policy was asked about, and the
	// address answered. Never the query's type or any other query data. Nil discards them.
	Audit audit.Sink
	// Server names the sandboxed server in audit events.
	Server string
	// Logger gets operational messages (read and accept errors, the TCP connection limit);
	// never query names, which go to Audit. Nil means slog.Default().
	Logger *slog.Logger
}

// Server answers DNS queries from inside a sandbox: allowed names get addresses from a fake
// pool, everything else NXDOMAIN; nothing is ever forwarded. Create it with New; it is safe for
// concurrent use.
type Server struct {
	opts   Options
	ttl    uint32
	pool   *pool
	log    *slog.Logger
	probes atomic.Pointer[probeSet]
	sem    chan struct{} // one token per DNS-over-TCP connection being served

	warnedLimit atomic.Bool // MaxStreamConns was reached and logged at Warn

	mu     sync.Mutex
	closed bool
	pcs    map[net.PacketConn]struct{}
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup // ServePacket, ServeStream and connection goroutines
}

// New returns a Server. It panics if Pool4 is set and is not an IPv4 prefix with at least one
// usable address, or Pool6 is set and is not an IPv6 prefix: pools come from code, not from
// users.
func New(o Options) *Server {
	if !o.Pool4.IsValid() {
		o.Pool4 = DefaultPool4
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Audit == nil {
		o.Audit = audit.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p, err := newPool(o.Pool4, o.Pool6, o.MaxNames)
	if err != nil {
		panic(err)
	}
	return &Server{
		opts:  o,
		ttl:   o.TTL,
		pool:  p,
		log:   o.Logger,
		sem:   make(chan struct{}, MaxStreamConns),
		pcs:   map[net.PacketConn]struct{}{},
		lns:   map[net.Listener]struct{}{},
		conns: map[net.Conn]struct{}{},
	}
}

// Lookup returns the name that owns fake address addr (IPv4-mapped addresses count as IPv4) and
// marks it recently used. ok is false for any address the server has not handed out. It is for
// transparent mode, which sees connections to fake addresses; the caller judges the name with
// the policy.
func (s *Server) Lookup(addr netip.Addr) (name string, ok bool) {
	return s.pool.name(addr, true)
}

// policy returns the policy in force, nil for deny-all.
func (s *Server) policy() *policy.Policy {
	if s.opts.Policy == nil {
		return nil
	}
	return s.opts.Policy()
}

// probePorts returns the probe ports of p, computed once per policy.
func (s *Server) probePorts(p *policy.Policy) []uint16 {
	if ps := s.probes.Load(); ps != nil && ps.p == p {
		return ps.ports
	}
	ps := &probeSet{p: p, ports: probePorts(p)}
	s.probes.Store(ps)
	return ps.ports
}

// ServePacket answers DNS over UDP on pc until pc is closed or Shutdown is called; it closes pc
// when it returns. One goroutine reads and answers in turn, so a flood of queries costs one
// core at most and is otherwise left in the socket's buffer. After Shutdown it returns
// ErrServerClosed; when pc is closed by someone else, an error wrapping net.ErrClosed.
func (s *Server) ServePacket(pc net.PacketConn) error {
	if !s.track(func() { s.pcs[pc] = struct{}{} }) {
		pc.Close()
		return ErrServerClosed
	}
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.pcs, pc)
		s.mu.Unlock()
		pc.Close()
	}()

	uc, _ := pc.(*net.UDPConn)
	buf := make([]byte, 65535)
	out := make([]byte, 0, maxUDPSize)
	var backoff time.Duration
	for {
		var (
			n    int
			ap   netip.AddrPort
			addr net.Addr
			err  error
		)
		if uc != nil {
			n, ap, err = uc.ReadFromUDPAddrPort(buf)
		} else {
			n, addr, err = pc.ReadFrom(buf)
		}
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("dnsfilter: serve %s: %w", pc.LocalAddr(), err)
			}
			backoff = nextBackoff(backoff)
			s.log.Warn("dns read failed; retrying", "addr", pc.LocalAddr().String(), "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		resp := s.handle(buf[:n], false, out[:0])
		if resp == nil {
			continue
		}
		if uc != nil {
			_, err = uc.WriteToUDPAddrPort(resp, ap)
		} else {
			_, err = pc.WriteTo(resp, addr)
		}
		if err != nil {
			s.log.Debug("dns reply not sent", "err", err)
		}
		if cap(resp) > cap(out) {
			out = resp[:0] // keep the larger buffer PackBuffer had to allocate
		}
	}
}

// ServeStream answers DNS over TCP (RFC 7766: two-byte length prefix, several queries per
// connection, answered in order) on connections accepted from ln until ln is closed or
// Shutdown is called; it closes ln when it returns. At most MaxStreamConns connections are
// served at once; a connection idle for StreamIdleTimeout, or sending a packet that is not a
// query, is closed. Return values as for ServePacket.
func (s *Server) ServeStream(ln net.Listener) error {
	if !s.track(func() { s.lns[ln] = struct{}{} }) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("dnsfilter: serve %s: %w", ln.Addr(), err)
			}
			// Out of descriptors, an aborted handshake: wait and accept again.
			backoff = nextBackoff(backoff)
			s.log.Warn("dns accept failed; retrying", "addr", ln.Addr().String(), "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		select {
		case s.sem <- struct{}{}:
		default:
			level := slog.LevelDebug
			if s.warnedLimit.CompareAndSwap(false, true) {
				level = slog.LevelWarn // once; a flood of connections must not flood the log
			}
			s.log.Log(context.Background(), level, "dns over tcp: too many connections; closing a new one", "limit", MaxStreamConns)
			c.Close()
			continue
		}
		if !s.track(func() { s.conns[c] = struct{}{} }) {
			<-s.sem
			c.Close()
			return ErrServerClosed
		}
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// serveConn answers the queries of one DNS-over-TCP connection and closes it.
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	var prefix [2]byte
	buf := make([]byte, 512)
	out := make([]byte, 0, 512)
	frame := make([]byte, 0, 514)
	for {
		c.SetReadDeadline(time.Now().Add(StreamIdleTimeout))
		if _, err := io.ReadFull(c, prefix[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(prefix[:]))
		if n > len(buf) {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		resp := s.handle(buf[:n], true, out[:0])
		if resp == nil {
			return // not a query: the stream cannot be trusted to be in step any more
		}
		frame = binary.BigEndian.AppendUint16(frame[:0], uint16(len(resp)))
		frame = append(frame, resp...)
		c.SetWriteDeadline(time.Now().Add(StreamIdleTimeout))
		if _, err := c.Write(frame); err != nil {
			return
		}
	}
}

// track runs add under the lock and counts one more goroutine for Shutdown to wait for, unless
// the server is shut down.
func (s *Server) track(add func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	add()
	s.wg.Add(1)
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Shutdown closes every packet conn, listener and TCP connection being served and waits until
// ServePacket, ServeStream and their connection goroutines have returned, or ctx is done (then
// it returns ctx.Err()). Queries are answered in microseconds, so nothing is drained: a query
// that arrives during Shutdown may go unanswered, and the client retries elsewhere or fails.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for pc := range s.pcs {
		pc.Close()
	}
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { // ends when the serving goroutines do, which the closes above ensure
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	return min(2*d, time.Second)
}
