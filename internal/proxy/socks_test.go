package proxy

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/proxy/socks5"
	"github.com/airlock-sh/airlock/internal/testdns"
)

// socksDial runs a SOCKS5 handshake and request by hand and returns the reply code, the bound
// address and, after a success, the tunnel.
func socksDial(t *testing.T, proxyAddr, user string, cmd byte, dst string, port uint16) (byte, netip.AddrPort, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fail := func(format string, args ...any) {
		c.Close()
		t.Fatalf(format, args...)
	}
	if user != "" {
		c.Write([]byte{5, 1, 2})
	} else {
		c.Write([]byte{5, 1, 0})
	}
	var sel [2]byte
	if _, err := io.ReadFull(c, sel[:]); err != nil {
		fail("method selection: %v", err)
	}
	if user != "" {
		if sel[1] != 2 {
			fail("method %d, want 2", sel[1])
		}
		msg := append([]byte{1, byte(len(user))}, user...)
		msg = append(msg, 2, 'p', 'w')
		c.Write(msg)
		var st [2]byte
		if _, err := io.ReadFull(c, st[:]); err != nil || st[1] != 0 {
			fail("auth: %v %v", st, err)
		}
	}
	req := []byte{5, cmd, 0}
	if a, err := netip.ParseAddr(dst); err == nil {
		if a.Is4() {
			req = append(req, 1)
		} else {
			req = append(req, 4)
		}
		req = append(req, a.AsSlice()...)
	} else {
		req = append(req, 3, byte(len(dst)))
		req = append(req, dst...)
	}
	req = binary.BigEndian.AppendUint16(req, port)
	c.Write(req)
	var rep [4]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		fail("reply: %v", err)
	}
	var addr []byte
	switch rep[3] {
	case 1:
		addr = make([]byte, 4)
	case 4:
		addr = make([]byte, 16)
	default:
		fail("reply address type %d", rep[3])
	}
	var p [2]byte
	io.ReadFull(c, addr)
	if _, err := io.ReadFull(c, p[:]); err != nil {
		fail("reply address: %v", err)
	}
	a, _ := netip.AddrFromSlice(addr)
	bound := netip.AddrPortFrom(a.Unmap(), binary.BigEndian.Uint16(p[:]))
	if rep[1] != socks5.ReplySucceeded {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("after reply %#x the connection stays open (%d, %v)", rep[1], n, err)
		}
		c.Close()
		return rep[1], bound, nil
	}
	c.SetDeadline(time.Time{})
	return rep[1], bound, c
}

func TestSOCKS5(t *testing.T) {
	echo := startEcho(t)
	port, _ := strconv.Atoi(echo.port())
	dns := testdns.Start(t, testdns.Zone(map[string]netip.Addr{
		"echo.example.com.":     publicAddr,
		"internal.example.com.": privateAddr,
	}))
	tp := startProxy(t, proxyConfig{
		opts: Options{Resolver: dns.Resolver()},
		def: mustPolicy(t, policy.Spec{Allow: []string{
			"echo.example.com:" + echo.port(), "internal.example.com:" + echo.port(),
			"127.0.0.1:" + echo.port(), "[::1]:" + echo.port(), "127.0.0.1:1"}}),
		clients: map[string]*policy.Policy{"narrow": mustPolicy(t, policy.Spec{Allow: []string{"other.example.com"}})},
	})
	tp.dial.Route(publicAddr.String()+":"+echo.port(), echo.addr())
	v6 := startEchoOn(t, "[::1]:"+echo.port())

	t.Run("domain allowed (socks5h, resolved by the proxy)", func(t *testing.T) {
		d, err := xproxy.SOCKS5("tcp", tp.socksAddr, nil, xproxy.Direct)
		if err != nil {
			t.Fatal(err)
		}
		c, err := d.Dial("tcp", "echo.example.com:"+echo.port())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		echoOnce(t, c, "socks hello")
		if !tp.dial.DialedAddr(publicAddr) {
			t.Errorf("the guard did not dial the resolved address: %v", tp.dial.Dialed())
		}
	})

	t.Run("domain resolving to a private address denied 0x02", func(t *testing.T) {
		code, _, _ := socksDial(t, tp.socksAddr, "", socks5.CmdConnect, "internal.example.com", uint16(port))
		if code != socks5.ReplyNotAllowed {
			t.Errorf("reply %#x, want %#x", code, socks5.ReplyNotAllowed)
		}
		if tp.dial.DialedAddr(privateAddr) {
			t.Errorf("dialled %s", privateAddr)
		}
	})

	t.Run("domain without an allow entry denied 0x02", func(t *testing.T) {
		code, _, _ := socksDial(t, tp.socksAddr, "", socks5.CmdConnect, "evil.example.org", 443)
		if code != socks5.ReplyNotAllowed {
			t.Errorf("reply %#x", code)
		}
		d, _ := xproxy.SOCKS5("tcp", tp.socksAddr, nil, xproxy.Direct)
		if _, err := d.Dial("tcp", "evil.example.org:443"); err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("x/net/proxy: %v", err)
		}
	})

	t.Run("unresolvable domain 0x04", func(t *testing.T) {
		tp.s.SetPolicies(mustPolicy(t, policy.Spec{Allow: []string{".example.com"}}), nil)
		defer tp.s.SetPolicies(mustPolicy(t, policy.Spec{Allow: []string{
			"echo.example.com:" + echo.port(), "internal.example.com:" + echo.port(),
			"127.0.0.1:" + echo.port(), "[::1]:" + echo.port(), "127.0.0.1:1"}}),
			map[string]*policy.Policy{"narrow": mustPolicy(t, policy.Spec{Allow: []string{"other.example.com"}})})
		code, _, _ := socksDial(t, tp.socksAddr, "", socks5.CmdConnect, "nx.example.com", 443)
		if code != socks5.ReplyHostUnreachable {
			t.Errorf("reply %#x", code)
		}
	})

	t.Run("IPv4 literal", func(t *testing.T) {
		code, bound, c := socksDial(t, tp.socksAddr, "", socks5.CmdConnect, "127.0.0.1", uint16(port))
		if code != socks5.ReplySucceeded {
			t.Fatalf("reply %#x", code)
		}
		defer c.Close()
		if !bound.Addr().IsLoopback() || bound.Port() == 0 {
			t.Errorf("bound address %v", bound)
		}
		echoOnce(t, c, "v4")
	})

	t.Run("IPv6 literal", func(t *testing.T) {
		if v6 == nil {
			t.Skip("no IPv6 loopback")
		}
		code, _, c := socksDial(t, tp.socksAddr, "", socks5.CmdConnect, "::1", uint16(port))
		if code != socks5.ReplySucceeded {
			t.Fatalf("reply %#x", code)
		}
		defer c.Close()
		echoOnce(t, c, "v6")
		if v6.accepts.Load() != 1 {
			t.Errorf("IPv6 echo accepted %d", v6.accepts.Load())
		}
	})

	t.Run("IPv4-mapped IPv6 literal judged as IPv4", func(t *testing.T) {
		code, _, _ := socksDial(t, tp.socksAddr, "", socks5.CmdConnect, "::ffff:169.254.169.254", 80)
		if code != socks5.ReplyNotAllowed {
			t.Errorf("reply %#x", code)
		}
	})

	t.Run("connection refused 0x05", func(t *testing.T) {
		code, _, _ := socksDial(t, tp.socksAddr, "", socks5.CmdConnect, "127.0.0.1", 1)
		if code != socks5.ReplyConnectionRefused {
			t.Errorf("reply %#x", code)
		}
	})

	t.Run("unsupported commands 0x07", func(t *testing.T) {
		for _, cmd := range []byte{socks5.CmdBind, socks5.CmdUDPAssociate, 9} {
			code, _, _ := socksDial(t, tp.socksAddr, "", cmd, "127.0.0.1", uint16(port))
			if code != socks5.ReplyCommandUnsupported {
				t.Errorf("command %d: reply %#x", cmd, code)
			}
		}
	})

	t.Run("unsupported address type 0x08", func(t *testing.T) {
		c, err := net.Dial("tcp", tp.socksAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		c.Write([]byte{5, 1, 0, 5, 1, 0, 2, 1, 2, 3, 4, 0, 80})
		buf := make([]byte, 4)
		io.ReadFull(c, buf[:2])
		if _, err := io.ReadFull(c, buf); err != nil || buf[1] != socks5.ReplyAddressUnsupported {
			t.Errorf("reply %v %v", buf, err)
		}
	})

	t.Run("user name selects the client", func(t *testing.T) {
		code, _, _ := socksDial(t, tp.socksAddr, "narrow", socks5.CmdConnect, "127.0.0.1", uint16(port))
		if code != socks5.ReplyNotAllowed {
			t.Errorf("as narrow: reply %#x, want not allowed", code)
		}
		code, _, c := socksDial(t, tp.socksAddr, "unknown-user", socks5.CmdConnect, "127.0.0.1", uint16(port))
		if code != socks5.ReplySucceeded {
			t.Errorf("unknown user (default policy): reply %#x", code)
		} else {
			c.Close()
		}
		var narrow int
		for _, e := range tp.sink.Events() {
			if e.Server == "narrow" {
				narrow++
			}
			if e.Server == "unknown-user" {
				t.Errorf("an event names the unknown user: %+v", e)
			}
		}
		if narrow == 0 {
			t.Error("no event for client narrow")
		}
	})

	t.Run("max connections 0x01", func(t *testing.T) {
		tp2 := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{
			Allow: []string{"127.0.0.1:" + echo.port()}, Limits: policy.Limits{MaxConnections: 1}})})
		code, _, c := socksDial(t, tp2.socksAddr, "", socks5.CmdConnect, "127.0.0.1", uint16(port))
		if code != socks5.ReplySucceeded {
			t.Fatalf("first: reply %#x", code)
		}
		defer c.Close()
		if code, _, _ := socksDial(t, tp2.socksAddr, "", socks5.CmdConnect, "127.0.0.1", uint16(port)); code != socks5.ReplyGeneralFailure {
			t.Errorf("second: reply %#x, want %#x", code, socks5.ReplyGeneralFailure)
		}
	})

	t.Run("curl --socks5-hostname", func(t *testing.T) {
		curl := needCurl(t)
		up := startUpstream(t, nil)
		dns2 := testdns.Start(t, testdns.Zone(map[string]netip.Addr{"web.example.com.": publicAddr}))
		tp2 := startProxy(t, proxyConfig{
			opts: Options{Resolver: dns2.Resolver()},
			def:  mustPolicy(t, policy.Spec{Allow: []string{"web.example.com:" + up.port()}}),
		})
		tp2.dial.Route(publicAddr.String()+":"+up.port(), up.addr())
		out, err := exec.Command(curl, "-sS", "--max-time", "20", "--socks5-hostname", tp2.socksAddr,
			"http://web.example.com:"+up.port()+"/").CombinedOutput()
		if err != nil || string(out) != "hello from upstream" {
			t.Errorf("curl: %v\n%s", err, out)
		}
		out, err = exec.Command(curl, "-sS", "--max-time", "20", "--socks5-hostname", tp2.socksAddr,
			"http://blocked.example.com/").CombinedOutput()
		if err == nil {
			t.Errorf("curl to a denied name succeeded: %s", out)
		}
	})
}

// startEchoOn is startEcho on a given address; nil when it cannot listen there.
func startEchoOn(t *testing.T, addr string) *echoServer {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			return nil
		}
		t.Fatal(err)
	}
	return serveEcho(t, ln)
}
