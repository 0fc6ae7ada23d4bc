package proxy

import (
	"bufio"
	"net"
	"sync"
	"time"

	"github.com/airlock-sh/airlock/internal/policy"
)

// side is one connection of the proxy with the deadlines last set on it, so that deadlines are
// refreshed lazily (a deadline costs a runtime timer update; most requests need none).
type side struct {
	c      net.Conn
	tcp    *net.TCPConn // nil when c is not TCP: no splice
	rd, wd time.Time
}

func newSide(c net.Conn) side {
	tcp, _ := c.(*net.TCPConn)
	return side{c: c, tcp: tcp}
}

// readWithin makes sure a read can block for about d from now: the deadline is moved only
// when it would end in less than 3/4 of d, or later than d from now.
func (s *side) readWithin(now time.Time, d time.Duration) {
	want := now.Add(d)
	if want.Sub(s.rd) > d/4 || s.rd.After(want) {
		s.rd = want
		_ = s.c.SetReadDeadline(want)
	}
}

// writeWithin is readWithin for writes.
func (s *side) writeWithin(now time.Time, d time.Duration) {
	want := now.Add(d)
	if want.Sub(s.wd) > d/4 || s.wd.After(want) {
		s.wd = want
		_ = s.c.SetWriteDeadline(want)
	}
}

func (s *side) setRead(t time.Time) {
	s.rd = t
	_ = s.c.SetReadDeadline(t)
}

func (s *side) setWrite(t time.Time) {
	s.wd = t
	_ = s.c.SetWriteDeadline(t)
}

// Buffer pools. Readers are 4 KiB like net/http's; upstream writers are 16 KiB so that a
// request whose body framing turns out to be broken within its first 16 KiB never reaches the
// upstream at all (nothing is flushed before the proxy would block on the client).
const (
	readerSize         = 4 << 10
	clientWriterSize   = 4 << 10
	upstreamWriterSize = 16 << 10
)

var (
	readerPool         sync.Pool
	clientWriterPool   sync.Pool
	upstreamWriterPool sync.Pool
)

func getReader(c net.Conn) *bufio.Reader {
	if br, ok := readerPool.Get().(*bufio.Reader); ok {
		br.Reset(c)
		return br
	}
	return bufio.NewReaderSize(c, readerSize)
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readerPool.Put(br)
}

func getWriter(p *sync.Pool, size int, c net.Conn) *bufio.Writer {
	if bw, ok := p.Get().(*bufio.Writer); ok {
		bw.Reset(c)
		return bw
	}
	return bufio.NewWriterSize(c, size)
}

func putWriter(p *sync.Pool, bw *bufio.Writer) {
	bw.Reset(nil)
	p.Put(bw)
}

// upConn is an upstream connection used for forwarded HTTP requests.
type upConn struct {
	side
	br  *bufio.Reader  // nil while idle in a pool
	pol *policy.Policy // the policy in force when the guard allowed it

	key  string // pool key: the URL's authority, with the default port added
	host string // canonical host, for audit events
	port uint16
	addr string // the address connected to, for audit events

	idleAt time.Time
	reused bool
}

func (u *upConn) close() {
	u.c.Close()
	if u.br != nil {
		putReader(u.br)
		u.br = nil
	}
}

// alive reports whether an idle connection taken from a pool still looks usable: a
// non-blocking read finds neither data nor EOF (see probeIdle). It costs one system call; the
// proxy uses it only before sending a request that could not be retried.
func (u *upConn) alive() bool {
	if !u.rd.IsZero() {
		u.setRead(time.Time{}) // an expired deadline would fail the probe before it reads
	}
	return probeIdle(u.c)
}

// pool holds a client's idle upstream connections by key. A connection is reused only under
// the policy that allowed it: after a policy swap it is closed instead of reused, so the next
// request gets a new decision.
type pool struct {
	mu    sync.Mutex
	idle  map[string]*idleList
	count int
}

type idleList struct{ conns []*upConn }

// get returns an idle connection for key made under pol, or nil. Connections of another
// policy, or idle longer than maxIdle, are closed.
func (p *pool) get(key []byte, pol *policy.Policy, now time.Time, maxIdle time.Duration) *upConn {
	var stale []*upConn
	var found *upConn
	p.mu.Lock()
	if l := p.idle[string(key)]; l != nil {
		for len(l.conns) > 0 {
			u := l.conns[len(l.conns)-1]
			l.conns[len(l.conns)-1] = nil
			l.conns = l.conns[:len(l.conns)-1]
			p.count--
			if u.pol == pol && now.Sub(u.idleAt) < maxIdle {
				found = u
				break
			}
			stale = append(stale, u)
		}
	}
	p.mu.Unlock()
	for _, u := range stale {
		u.close()
	}
	if found != nil {
		found.reused = true
		found.br = getReader(found.c)
	}
	return found
}

// put keeps u for reuse; false when the pool for its key is full (the caller closes u).
func (p *pool) put(u *upConn, now time.Time, maxPerKey int) bool {
	if maxPerKey <= 0 {
		return false
	}
	if u.br != nil {
		putReader(u.br)
		u.br = nil
	}
	u.idleAt = now
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = map[string]*idleList{}
	}
	l := p.idle[u.key]
	if l == nil {
		l = &idleList{}
		p.idle[u.key] = l
	}
	if len(l.conns) >= maxPerKey {
		return false
	}
	l.conns = append(l.conns, u)
	p.count++
	return true
}

// sweep closes the connections idle for maxIdle or longer.
func (p *pool) sweep(now time.Time, maxIdle time.Duration) {
	var stale []*upConn
	p.mu.Lock()
	for key, l := range p.idle {
		keep := l.conns[:0]
		for _, u := range l.conns {
			if now.Sub(u.idleAt) >= maxIdle {
				stale = append(stale, u)
				p.count--
			} else {
				keep = append(keep, u)
			}
		}
		clear(l.conns[len(keep):])
		l.conns = keep
		if len(keep) == 0 {
			delete(p.idle, key)
		}
	}
	p.mu.Unlock()
	for _, u := range stale {
		u.close()
	}
}

func (p *pool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.count = 0
	p.mu.Unlock()
	for _, l := range idle {
		for _, u := range l.conns {
			u.close()
		}
	}
}

// size is the number of idle connections (for tests).
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}
