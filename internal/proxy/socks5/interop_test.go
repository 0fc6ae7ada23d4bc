package socks5

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

// served is what the test server read from one client.
type served struct {
	user string
	req  Request
	err  error // the first error, from any step
}

// serveOnce starts a loopback listener whose single connection is answered with Handshake,
// ReadRequest and WriteReply(code); after a success it answers "ping" with "pong". It
// returns the listener's address and a channel that receives what the server read. Nothing
// is dialled anywhere: the client's "connection to example.com" is this goroutine.
func serveOnce(t *testing.T, code byte, bound netip.AddrPort) (string, <-chan served) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP here: %v", err)
	}
	ch := make(chan served, 1)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- served{err: err}
			return
		}
		defer c.Close()
		// A guard against a hung test, not a timing assertion.
		c.SetDeadline(time.Now().Add(30 * time.Second))
		var s served
		defer func() { ch <- s }()
		if s.user, s.err = Handshake(c); s.err != nil {
			return
		}
		if s.req, s.err = ReadRequest(c); s.err != nil {
			return
		}
		if s.err = WriteReply(c, code, bound); s.err != nil || code != ReplySucceeded {
			return
		}
		var b [4]byte
		if _, s.err = io.ReadFull(c, b[:]); s.err != nil {
			return
		}
		if string(b[:]) != "ping" {
			s.err = io.ErrUnexpectedEOF
			return
		}
		_, s.err = c.Write([]byte("pong"))
	})
	return ln.Addr().String(), ch
}

// dial is the golang.org/x/net/proxy SOCKS5 client dialling target through the server at addr.
func dial(t *testing.T, addr string, auth *proxy.Auth, target string) (net.Conn, error) {
	t.Helper()
	d, err := proxy.SOCKS5("tcp", addr, auth, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a hang guard
	defer cancel()
	return d.(proxy.ContextDialer).DialContext(ctx, "tcp", target)
}

func TestXNetProxyClient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		auth   *proxy.Auth
		target string
		user   string
		want   Request
	}{
		{"domain with auth", &proxy.Auth{User: "alice", Password: "secret"}, "example.com:443", "alice",
			Request{Cmd: CmdConnect, Host: "example.com", Port: 443}},
		{"domain with auth and empty password", &proxy.Auth{User: "ci-runner-7"}, "example.com:443", "ci-runner-7",
			Request{Cmd: CmdConnect, Host: "example.com", Port: 443}},
		{"domain without auth", nil, "Example.COM.:80", "",
			Request{Cmd: CmdConnect, Host: "Example.COM.", Port: 80}},
		{"IPv4 without auth", nil, "192.0.2.1:80", "",
			Request{Cmd: CmdConnect, Host: "192.0.2.1", Addr: netip.MustParseAddr("192.0.2.1"), Port: 80}},
		{"IPv6 without auth", nil, "[2001:db8::1]:443", "",
			Request{Cmd: CmdConnect, Host: "2001:db8::1", Addr: netip.MustParseAddr("2001:db8::1"), Port: 443}},
		{"IPv6 with auth", &proxy.Auth{User: "bob", Password: "pw"}, "[2001:db8::1]:8443", "bob",
			Request{Cmd: CmdConnect, Host: "2001:db8::1", Addr: netip.MustParseAddr("2001:db8::1"), Port: 8443}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, ch := serveOnce(t, ReplySucceeded, netip.MustParseAddrPort("127.0.0.1:40000"))
			c, err := dial(t, addr, tc.auth, tc.target)
			if err != nil {
				t.Fatalf("client Dial: %v (server: %+v)", err, <-ch)
			}
			defer c.Close()
			// The tunnel carries data both ways: the server left the bytes after the request
			// unread.
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			var b [4]byte
			if _, err := io.ReadFull(c, b[:]); err != nil || string(b[:]) != "pong" {
				t.Fatalf("read %q, %v; want \"pong\"", b[:], err)
			}
			s := <-ch
			if s.err != nil {
				t.Fatalf("server: %v", s.err)
			}
			if s.user != tc.user {
				t.Errorf("user = %q, want %q", s.user, tc.user)
			}
			if s.req != tc.want {
				t.Errorf("request = %+v, want %+v", s.req, tc.want)
			}
		})
	}
}

func TestXNetProxyClientDenied(t *testing.T) {
	for _, code := range []byte{ReplyNotAllowed, ReplyHostUnreachable, ReplyGeneralFailure} {
		addr, ch := serveOnce(t, code, netip.AddrPort{})
		c, err := dial(t, addr, &proxy.Auth{User: "alice", Password: "x"}, "example.com:443")
		if err == nil {
			c.Close()
			t.Fatalf("reply 0x%02x: client Dial succeeded, want an error", code)
		}
		s := <-ch
		if s.err != nil {
			t.Fatalf("reply 0x%02x: server: %v", code, s.err)
		}
		if s.user != "alice" || s.req.Host != "example.com" || s.req.Port != 443 {
			t.Errorf("reply 0x%02x: server read user %q, request %+v", code, s.user, s.req)
		}
	}
}

// TestXNetProxyClientBadUser: a user name with a control character is refused with 01 01,
// and the client sees the refusal (the password was read, so the close does not reset it
// away).
func TestXNetProxyClientBadUser(t *testing.T) {
	addr, ch := serveOnce(t, ReplySucceeded, netip.AddrPort{})
	c, err := dial(t, addr, &proxy.Auth{User: "alice\n", Password: "x"}, "example.com:443")
	if err == nil {
		c.Close()
		t.Fatal("client Dial succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("client error %q, want the client to have read the 01 01 refusal", err)
	}
	if s := <-ch; s.err == nil || !strings.Contains(s.err.Error(), "control character") {
		t.Errorf("server error %v, want ErrAuth for the control character", s.err)
	}
}
