package proxy

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/proxy/socks5"
)

// serveSOCKSConn serves one SOCKS5 connection: handshake and request within
// ReadHeaderTimeout, CONNECT only, the guard's decision, a reply, then the same tunnel as
// CONNECT. Domain names are resolved by the guard (socks5h semantics); IP literals are judged
// as given.
func (s *Server) serveSOCKSConn(t *tracked, lnClient string) {
	c := t.c
	start := time.Now()
	_ = c.SetDeadline(start.Add(s.readHeaderTimeout))
	user, err := socks5.Handshake(c)
	if err != nil {
		return
	}
	req, err := socks5.ReadRequest(c)
	if err != nil {
		switch {
		case errors.Is(err, socks5.ErrAddressType):
			_ = socks5.WriteReply(c, socks5.ReplyAddressUnsupported, netip.AddrPort{})
		case errors.Is(err, socks5.ErrDomainName):
			_ = socks5.WriteReply(c, socks5.ReplyHostUnreachable, netip.AddrPort{})
		}
		return
	}
	tab := s.clients.Load()
	cl := tab.def
	name := lnClient
	if name == "" {
		name = user
	}
	if c, ok := tab.named[name]; ok && name != "" {
		cl = c
	}
	if req.Cmd != socks5.CmdConnect {
		_ = socks5.WriteReply(c, socks5.ReplyCommandUnsupported, netip.AddrPort{})
		return
	}
	host := req.Host
	if req.Addr.IsValid() {
		host = req.Addr.String()
	}
	hostport := net.JoinHostPort(host, strconv.Itoa(int(req.Port)))
	if !cl.acquire(s.connLimit(cl.guard.Policy())) {
		_ = socks5.WriteReply(c, socks5.ReplyGeneralFailure, netip.AddrPort{})
		return
	}
	up, err := s.dialUp(cl, hostport)
	if err != nil {
		cl.release()
		_ = socks5.WriteReply(c, socksReply(err), netip.AddrPort{})
		return
	}
	var bound netip.AddrPort
	if ta, ok := up.LocalAddr().(*net.TCPAddr); ok {
		bound = ta.AddrPort()
	}
	if err := socks5.WriteReply(c, socks5.ReplySucceeded, bound); err != nil {
		up.Close()
		cl.release()
		return
	}
	s.runTunnel(t, &pendingTunnel{cl: cl, up: up, hostport: hostport, start: start})
}

// socksReply maps a failed dial to a SOCKS5 reply code: a policy denial is "not allowed by
// ruleset" (0x02), as is a loop back into the proxy; a name that does not resolve is "host
// unreachable" (0x04); a refused connection 0x05; a timeout "TTL expired" (0x06, what
// clients show as a timeout); an unreachable network 0x03 and host 0x04; anything else a
// general failure (0x01).
func socksReply(err error) byte {
	var be *egress.BlockedError
	switch {
	case errors.As(err, &be):
		if be.Decision.Reason == policy.ReasonUnresolvable {
			return socks5.ReplyHostUnreachable
		}
		return socks5.ReplyNotAllowed
	case errors.Is(err, errLoop):
		return socks5.ReplyNotAllowed
	case errors.Is(err, syscall.ECONNREFUSED):
		return socks5.ReplyConnectionRefused
	case isTimeout(err):
		return socks5.ReplyTTLExpired
	case errors.Is(err, syscall.ENETUNREACH):
		return socks5.ReplyNetworkUnreachable
	case errors.Is(err, syscall.EHOSTUNREACH):
		return socks5.ReplyHostUnreachable
	}
	return socks5.ReplyGeneralFailure
}
