package socks5

import (
	"bytes"
	"errors"
	"go/build"
	"io"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// countingReader reads from r and counts the bytes it hands out, to check that a parser
// stops exactly at the end of the message it parses.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// conn is the client side as Handshake sees it: it reads from in, and records every Write
// call separately (so tests can check that each answer is one Write).
type conn struct {
	in     *countingReader
	writes [][]byte
	err    error // returned by Write when set
}

func newConn(in []byte) *conn {
	return &conn{in: &countingReader{r: bytes.NewReader(in)}}
}

func (c *conn) Read(p []byte) (int, error) { return c.in.Read(p) }

func (c *conn) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *conn) out() []byte { return bytes.Join(c.writes, nil) }

// cat concatenates byte slices and strings into one message.
func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case []byte:
			b = append(b, p...)
		case string:
			b = append(b, p...)
		case byte:
			b = append(b, p)
		case int:
			b = append(b, byte(p))
		default:
			panic("cat: unexpected type")
		}
	}
	return b
}

// userPass is an RFC 1929 subnegotiation message.
func userPass(user, pass string) []byte {
	return cat(0x01, len(user), user, len(pass), pass)
}

var errEOF = errors.New("io.EOF or io.ErrUnexpectedEOF") // stands for either in tables

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil:
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
	case want == errEOF:
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v, want io.EOF or io.ErrUnexpectedEOF", err)
		}
	default:
		if !errors.Is(err, want) {
			t.Fatalf("err = %v, want %v", err, want)
		}
	}
	if err != nil && !strings.HasPrefix(err.Error(), "socks5: ") {
		t.Errorf("err = %q, want a message starting with \"socks5: \"", err)
	}
}

func TestHandshake(t *testing.T) {
	long := strings.Repeat("u", 255)
	for _, tc := range []struct {
		name     string
		in       []byte
		user     string
		err      error
		out      []byte // all bytes written
		consumed int    // bytes read; -1 for all of in
	}{
		// Valid.
		{name: "no auth", in: cat(5, 1, 0), out: cat(5, 0), consumed: -1},
		{name: "username/password only", in: cat(5, 1, 2, userPass("alice", "secret")), user: "alice", out: cat(5, 2, 1, 0), consumed: -1},
		{name: "prefers username/password", in: cat(5, 2, 0, 2, userPass("alice", "x")), user: "alice", out: cat(5, 2, 1, 0), consumed: -1},
		{name: "prefers username/password offered first", in: cat(5, 3, 0x80, 2, 0, userPass("bob", "x")), user: "bob", out: cat(5, 2, 1, 0), consumed: -1},
		{name: "no auth among unknown methods", in: cat(5, 3, 1, 0x80, 0), out: cat(5, 0), consumed: -1},
		{name: "duplicate methods", in: cat(5, 3, 0, 0, 0), out: cat(5, 0), consumed: -1},
		{name: "empty password accepted", in: cat(5, 1, 2, userPass("alice", "")), user: "alice", out: cat(5, 2, 1, 0), consumed: -1},
		{name: "any password accepted", in: cat(5, 1, 2, userPass("alice", "\x00\xff\n")), user: "alice", out: cat(5, 2, 1, 0), consumed: -1},
		{name: "UTF-8 user name", in: cat(5, 1, 2, userPass("zoë 🦊", "x")), user: "zoë 🦊", out: cat(5, 2, 1, 0), consumed: -1},
		{name: "longest name and password", in: cat(5, 1, 2, userPass(long, strings.Repeat("p", 255))), user: long, out: cat(5, 2, 1, 0), consumed: -1},
		{name: "255 methods", in: cat(5, 255, bytes.Repeat([]byte{0}, 255)), out: cat(5, 0), consumed: -1},
		// The bytes after the handshake (here, the request) are left for the caller.
		{name: "no auth leaves the rest", in: cat(5, 1, 0, 5, 1, 0), out: cat(5, 0), consumed: 3},
		{name: "username/password leaves the rest", in: cat(5, 1, 2, userPass("a", "b"), "GET"), user: "a", out: cat(5, 2, 1, 0), consumed: 3 + 5},

		// Not SOCKS5: nothing written.
		{name: "empty", in: nil, err: io.EOF, consumed: 0},
		{name: "SOCKS4", in: cat(4, 1, 0, 80, 192, 0, 2, 1, "user", 0), err: ErrVersion, consumed: 2},
		{name: "HTTP CONNECT", in: cat("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), err: ErrVersion, consumed: 2},
		{name: "HTTP GET", in: cat("GET / HTTP/1.1\r\n\r\n"), err: ErrVersion, consumed: 2},
		{name: "TLS", in: cat(0x16, 3, 1, 0, 0xa5), err: ErrVersion, consumed: 2},
		{name: "version 0", in: cat(0, 1, 0), err: ErrVersion, consumed: 2},

		// Truncated greeting: nothing written.
		{name: "version only", in: cat(5), err: io.ErrUnexpectedEOF, consumed: -1},
		{name: "methods short", in: cat(5, 3, 0, 2), err: io.ErrUnexpectedEOF, consumed: -1},
		{name: "methods missing", in: cat(5, 1), err: io.EOF, consumed: -1},

		// No acceptable method: 05 FF.
		{name: "GSSAPI only", in: cat(5, 1, 1), err: ErrNoAcceptableMethod, out: cat(5, 0xff), consumed: -1},
		{name: "zero methods", in: cat(5, 0), err: ErrNoAcceptableMethod, out: cat(5, 0xff), consumed: -1},
		{name: "no acceptable leaves the rest", in: cat(5, 2, 1, 3, 0xAA), err: ErrNoAcceptableMethod, out: cat(5, 0xff), consumed: 4},

		// Malformed subnegotiation: 01 01.
		{name: "subnegotiation version 5", in: cat(5, 1, 2, 5, 5, "alice", 1, "x"), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: 5},
		{name: "subnegotiation version 0", in: cat(5, 1, 2, 0, 0), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: 5},
		{name: "empty user name", in: cat(5, 1, 2, userPass("", "secret")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "empty user name and password", in: cat(5, 1, 2, userPass("", "")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "NUL in user name", in: cat(5, 1, 2, userPass("al\x00ice", "x")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "newline in user name", in: cat(5, 1, 2, userPass("alice\n", "x")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "escape in user name", in: cat(5, 1, 2, userPass("\x1b[31malice", "x")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "DEL in user name", in: cat(5, 1, 2, userPass("alice\x7f", "x")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "C1 control in user name", in: cat(5, 1, 2, userPass("alice\u0085", "x")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "invalid UTF-8 user name", in: cat(5, 1, 2, userPass("alic\xe9", "x")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "truncated UTF-8 user name", in: cat(5, 1, 2, userPass("\xf0\x9f\xa6", "x")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "surrogate in user name", in: cat(5, 1, 2, userPass("\xed\xa0\x80", "x")), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: -1},
		{name: "bad user name leaves the rest", in: cat(5, 1, 2, userPass("\x00", "x"), 5, 1, 0), err: ErrAuth, out: cat(5, 2, 1, 1), consumed: 3 + 5},

		// Truncated subnegotiation: method selection written, then nothing.
		{name: "subnegotiation missing", in: cat(5, 1, 2), err: io.EOF, out: cat(5, 2), consumed: -1},
		{name: "subnegotiation version only", in: cat(5, 1, 2, 1), err: io.ErrUnexpectedEOF, out: cat(5, 2), consumed: -1},
		{name: "user name short", in: cat(5, 1, 2, 1, 5, "ali"), err: io.ErrUnexpectedEOF, out: cat(5, 2), consumed: -1},
		{name: "password length missing", in: cat(5, 1, 2, 1, 5, "alice"), err: io.ErrUnexpectedEOF, out: cat(5, 2), consumed: -1},
		{name: "password short", in: cat(5, 1, 2, 1, 5, "alice", 6, "secr"), err: io.ErrUnexpectedEOF, out: cat(5, 2), consumed: -1},
		{name: "password missing", in: cat(5, 1, 2, 1, 5, "alice", 6), err: io.EOF, out: cat(5, 2), consumed: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(tc.in)
			user, err := Handshake(c)
			checkErr(t, err, tc.err)
			if user != tc.user {
				t.Errorf("user = %q, want %q", user, tc.user)
			}
			if !bytes.Equal(c.out(), tc.out) {
				t.Errorf("wrote % x, want % x", c.out(), tc.out)
			}
			for _, w := range c.writes {
				if len(w) != 2 {
					t.Errorf("a Write call wrote % x; want each answer in one two-byte Write", w)
				}
			}
			want := tc.consumed
			if want < 0 {
				want = len(tc.in)
			}
			if c.in.n != want {
				t.Errorf("read %d bytes, want %d", c.in.n, want)
			}
		})
	}
}

func TestHandshakeErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string // a substring of the error
	}{
		{"SOCKS4", cat(4, 1, 0, 80), "0x04, want 0x05 (a SOCKS4 client"},
		{"HTTP", cat("CONNECT x:1 HTTP/1.1\r\n"), "looks like HTTP"},
		{"TLS", cat(0x16, 3, 1), "looks like TLS"},
		{"no method", cat(5, 2, 1, 3), "offered [01 03]"},
		{"subnegotiation version", cat(5, 1, 2, 5, 0), "subnegotiation version 0x05"},
		{"empty user", cat(5, 1, 2, userPass("", "")), "empty user name"},
		{"control", cat(5, 1, 2, userPass("ab\x00", "")), `user name "ab\x00": control character U+0000 at byte 2`},
		{"invalid UTF-8", cat(5, 1, 2, userPass("a\xff", "")), `user name "a\xff": invalid UTF-8 at byte 1`},
		{"truncated password", cat(5, 1, 2, userPass("a", "xyz")[:4]), "read 3-byte password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Handshake(newConn(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestHandshakeNeverLeaksPassword(t *testing.T) {
	for _, in := range [][]byte{
		cat(5, 1, 2, userPass("\x00", "hunter2")),
		cat(5, 1, 2, userPass("", "hunter2")),
		cat(5, 1, 2, userPass("al\xffice", "hunter2")),
	} {
		_, err := Handshake(newConn(in))
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("err = %v; want an error that does not quote the password", err)
		}
	}
}

func TestHandshakeWriteError(t *testing.T) {
	broken := errors.New("broken pipe")
	for _, tc := range []struct {
		name string
		in   []byte
		also error // a sentinel the error must still wrap
	}{
		{"method selection", cat(5, 1, 0), nil},
		{"no acceptable method", cat(5, 1, 1), ErrNoAcceptableMethod},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(tc.in)
			c.err = broken
			_, err := Handshake(c)
			if !errors.Is(err, broken) {
				t.Fatalf("err = %v, want it to wrap %v", err, broken)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Fatalf("err = %v, want it to wrap %v too", err, tc.also)
			}
		})
	}
}

func TestReadRequest(t *testing.T) {
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63)
	for _, tc := range []struct {
		name     string
		in       []byte
		want     Request
		err      error
		consumed int // bytes read; -1 for all of in
	}{
		// Valid.
		{name: "domain", in: cat(5, 1, 0, 3, 11, "example.com", 0x01, 0xbb),
			want: Request{Cmd: CmdConnect, Host: "example.com", Port: 443}, consumed: -1},
		{name: "domain kept as sent", in: cat(5, 1, 0, 3, 13, "Example.COM..", 0, 80),
			want: Request{Cmd: CmdConnect, Host: "Example.COM..", Port: 80}, consumed: -1},
		{name: "UTF-8 domain kept as sent", in: cat(5, 1, 0, 3, len("bücher.example"), "bücher.example", 0, 80),
			want: Request{Cmd: CmdConnect, Host: "bücher.example", Port: 80}, consumed: -1},
		{name: "domain with space and symbols", in: cat(5, 1, 0, 3, 5, "a b_*", 0, 80),
			want: Request{Cmd: CmdConnect, Host: "a b_*", Port: 80}, consumed: -1},
		{name: "IP literal as a domain stays a domain", in: cat(5, 1, 0, 3, 9, "127.0.0.1", 0, 80),
			want: Request{Cmd: CmdConnect, Host: "127.0.0.1", Port: 80}, consumed: -1},
		{name: "255-byte domain", in: cat(5, 1, 0, 3, 255, long, 0, 80),
			want: Request{Cmd: CmdConnect, Host: long, Port: 80}, consumed: -1},
		{name: "IPv4", in: cat(5, 1, 0, 1, 192, 0, 2, 1, 0, 80),
			want: Request{Cmd: CmdConnect, Host: "192.0.2.1", Addr: netip.MustParseAddr("192.0.2.1"), Port: 80}, consumed: -1},
		{name: "IPv4 unspecified", in: cat(5, 1, 0, 1, 0, 0, 0, 0, 0xff, 0xff),
			want: Request{Cmd: CmdConnect, Host: "0.0.0.0", Addr: netip.IPv4Unspecified(), Port: 65535}, consumed: -1},
		{name: "IPv6", in: cat(5, 1, 0, 4, netip.MustParseAddr("2001:db8::1").AsSlice(), 0x01, 0xbb),
			want: Request{Cmd: CmdConnect, Host: "2001:db8::1", Addr: netip.MustParseAddr("2001:db8::1"), Port: 443}, consumed: -1},
		{name: "IPv4-mapped IPv6 stays IPv6", in: cat(5, 1, 0, 4, netip.MustParseAddr("::ffff:169.254.169.254").AsSlice(), 0, 80),
			want: Request{Cmd: CmdConnect, Host: "::ffff:169.254.169.254", Addr: netip.MustParseAddr("::ffff:169.254.169.254"), Port: 80}, consumed: -1},
		{name: "port 0 returned", in: cat(5, 1, 0, 3, 1, "x", 0, 0),
			want: Request{Cmd: CmdConnect, Host: "x", Port: 0}, consumed: -1},
		{name: "non-zero reserved byte accepted", in: cat(5, 1, 0xff, 1, 10, 0, 0, 1, 0, 22),
			want: Request{Cmd: CmdConnect, Host: "10.0.0.1", Addr: netip.MustParseAddr("10.0.0.1"), Port: 22}, consumed: -1},
		{name: "BIND", in: cat(5, 2, 0, 1, 0, 0, 0, 0, 0, 0),
			want: Request{Cmd: CmdBind, Host: "0.0.0.0", Addr: netip.IPv4Unspecified()}, consumed: -1},
		{name: "UDP ASSOCIATE", in: cat(5, 3, 0, 1, 0, 0, 0, 0, 0, 0),
			want: Request{Cmd: CmdUDPAssociate, Host: "0.0.0.0", Addr: netip.IPv4Unspecified()}, consumed: -1},
		{name: "unknown command returned", in: cat(5, 0x09, 0, 3, 1, "x", 0, 1),
			want: Request{Cmd: 0x09, Host: "x", Port: 1}, consumed: -1},
		{name: "leaves tunnelled data", in: cat(5, 1, 0, 3, 1, "x", 0, 80, "GET / HTTP/1.1\r\n"),
			want: Request{Cmd: CmdConnect, Host: "x", Port: 80}, consumed: 4 + 1 + 1 + 2},

		// Wrong version.
		{name: "version 4", in: cat(4, 1, 0, 1, 1, 2, 3, 4, 0, 80), err: ErrVersion, consumed: 4},
		{name: "version 0", in: cat(0, 0, 0, 0), err: ErrVersion, consumed: 4},

		// Unknown address type: only the header is read.
		{name: "address type 0", in: cat(5, 1, 0, 0, 1, 2, 3, 4, 0, 80), err: ErrAddressType, consumed: 4},
		{name: "address type 2", in: cat(5, 1, 0, 2, 1, 2, 3, 4, 0, 80), err: ErrAddressType, consumed: 4},
		{name: "address type 5", in: cat(5, 1, 0, 5, 1, 2, 3, 4, 0, 80), err: ErrAddressType, consumed: 4},
		{name: "address type 0xff", in: cat(5, 1, 0, 0xff), err: ErrAddressType, consumed: 4},

		// Bad domain names: the whole request is read.
		{name: "empty domain", in: cat(5, 1, 0, 3, 0, 0, 80), err: ErrDomainName, consumed: -1},
		{name: "NUL in domain", in: cat(5, 1, 0, 3, 17, "example.com\x00.evil", 0, 80), err: ErrDomainName, consumed: -1},
		{name: "NUL alone", in: cat(5, 1, 0, 3, 1, 0, 0, 80), err: ErrDomainName, consumed: -1},
		{name: "CRLF in domain", in: cat(5, 1, 0, 3, 12, "a.com\r\nHost:", 0, 80), err: ErrDomainName, consumed: -1},
		{name: "tab in domain", in: cat(5, 1, 0, 3, 3, "a\tb", 0, 80), err: ErrDomainName, consumed: -1},
		{name: "DEL in domain", in: cat(5, 1, 0, 3, 3, "a\x7fb", 0, 80), err: ErrDomainName, consumed: -1},
		{name: "C1 control in domain", in: cat(5, 1, 0, 3, 4, "a\u0085b", 0, 80), err: ErrDomainName, consumed: -1},
		{name: "invalid UTF-8 domain", in: cat(5, 1, 0, 3, 3, "a\xffb", 0, 80), err: ErrDomainName, consumed: -1},
		{name: "overlong UTF-8 domain", in: cat(5, 1, 0, 3, 2, "\xc0\xae", 0, 80), err: ErrDomainName, consumed: -1},
		{name: "bad domain leaves the rest", in: cat(5, 1, 0, 3, 1, 0, 0, 80, "rest"), err: ErrDomainName, consumed: 8},

		// Truncated.
		{name: "empty", in: nil, err: io.EOF, consumed: 0},
		{name: "header short", in: cat(5, 1, 0), err: io.ErrUnexpectedEOF, consumed: -1},
		{name: "IPv4 short", in: cat(5, 1, 0, 1, 192, 0, 2), err: io.ErrUnexpectedEOF, consumed: -1},
		{name: "IPv4 port short", in: cat(5, 1, 0, 1, 192, 0, 2, 1, 0), err: io.ErrUnexpectedEOF, consumed: -1},
		{name: "IPv6 short", in: cat(5, 1, 0, 4, make([]byte, 17)), err: io.ErrUnexpectedEOF, consumed: -1},
		{name: "IPv6 missing", in: cat(5, 1, 0, 4), err: io.EOF, consumed: -1},
		{name: "domain length missing", in: cat(5, 1, 0, 3), err: io.EOF, consumed: -1},
		{name: "domain short", in: cat(5, 1, 0, 3, 11, "example"), err: io.ErrUnexpectedEOF, consumed: -1},
		{name: "domain port short", in: cat(5, 1, 0, 3, 11, "example.com", 1), err: io.ErrUnexpectedEOF, consumed: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &countingReader{r: bytes.NewReader(tc.in)}
			req, err := ReadRequest(r)
			checkErr(t, err, tc.err)
			if req != tc.want {
				t.Errorf("request = %+v, want %+v", req, tc.want)
			}
			if tc.want.Addr.IsValid() && req.Addr.Is4In6() != tc.want.Addr.Is4In6() {
				t.Errorf("Addr %v: Is4In6 = %v, want %v", req.Addr, req.Addr.Is4In6(), tc.want.Addr.Is4In6())
			}
			want := tc.consumed
			if want < 0 {
				want = len(tc.in)
			}
			if r.n != want {
				t.Errorf("read %d bytes, want %d", r.n, want)
			}
		})
	}
}

func TestReadRequestErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"version", cat(4, 1, 0, 1), "request starts with byte 0x04, want 0x05"},
		{"address type", cat(5, 1, 0, 2), "unsupported address type 0x02"},
		{"empty domain", cat(5, 1, 0, 3, 0, 0, 80), "invalid domain name: empty name"},
		{"NUL", cat(5, 1, 0, 3, 3, "a\x00b", 0, 80), `invalid domain name: "a\x00b": control character U+0000 at byte 1`},
		{"UTF-8", cat(5, 1, 0, 3, 3, "ab\xff", 0, 80), `invalid domain name: "ab\xff": invalid UTF-8 at byte 2`},
		{"truncated", cat(5, 1, 0, 3, 9, "a"), "read 9-byte domain name and port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRequest(bytes.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestWriteReply(t *testing.T) {
	for _, tc := range []struct {
		name  string
		code  byte
		bound netip.AddrPort
		want  []byte
	}{
		{"zero", ReplySucceeded, netip.AddrPort{}, cat(5, 0, 0, 1, 0, 0, 0, 0, 0, 0)},
		{"IPv4", ReplySucceeded, netip.MustParseAddrPort("192.0.2.1:8080"), cat(5, 0, 0, 1, 192, 0, 2, 1, 0x1f, 0x90)},
		{"IPv6", ReplySucceeded, netip.MustParseAddrPort("[2001:db8::2]:443"),
			cat(5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0xbb)},
		{"IPv4-mapped stays IPv6", ReplySucceeded, netip.MustParseAddrPort("[::ffff:192.0.2.1]:1"),
			cat(5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1, 0, 1)},
		{"zone dropped", ReplySucceeded, netip.MustParseAddrPort("[fe80::1%eth0]:2"),
			cat(5, 0, 0, 4, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2)},
		{"invalid address with port", ReplySucceeded, netip.AddrPortFrom(netip.Addr{}, 53), cat(5, 0, 0, 1, 0, 0, 0, 0, 0, 53)},
		{"not allowed", ReplyNotAllowed, netip.AddrPort{}, cat(5, 2, 0, 1, 0, 0, 0, 0, 0, 0)},
		{"general failure", ReplyGeneralFailure, netip.AddrPort{}, cat(5, 1, 0, 1, 0, 0, 0, 0, 0, 0)},
		{"address unsupported", ReplyAddressUnsupported, netip.AddrPort{}, cat(5, 8, 0, 1, 0, 0, 0, 0, 0, 0)},
		{"command unsupported", ReplyCommandUnsupported, netip.AddrPort{}, cat(5, 7, 0, 1, 0, 0, 0, 0, 0, 0)},
		{"any code passes", 0x42, netip.AddrPort{}, cat(5, 0x42, 0, 1, 0, 0, 0, 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(nil)
			if err := WriteReply(c, tc.code, tc.bound); err != nil {
				t.Fatal(err)
			}
			if len(c.writes) != 1 {
				t.Fatalf("%d Write calls, want 1", len(c.writes))
			}
			if !bytes.Equal(c.writes[0], tc.want) {
				t.Fatalf("wrote % x, want % x", c.writes[0], tc.want)
			}
		})
	}
}

// shortWriter accepts one byte less than asked and reports no error: a broken io.Writer.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) - 1, nil }

func TestWriteReplyErrors(t *testing.T) {
	broken := errors.New("broken pipe")
	c := newConn(nil)
	c.err = broken
	if err := WriteReply(c, ReplySucceeded, netip.AddrPort{}); !errors.Is(err, broken) {
		t.Errorf("failing writer: err = %v, want it to wrap %v", err, broken)
	}
	if err := WriteReply(shortWriter{}, ReplySucceeded, netip.AddrPort{}); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("short writer: err = %v, want io.ErrShortWrite", err)
	}
}

// TestRoundTrip reads back what WriteReply wrote with ReadRequest's address decoding: a reply
// and a request share the address encoding.
func TestRoundTrip(t *testing.T) {
	for _, ap := range []string{"0.0.0.0:0", "192.0.2.1:80", "[2001:db8::1]:443", "[::ffff:10.0.0.1]:65535", "[::]:1"} {
		bound := netip.MustParseAddrPort(ap)
		c := newConn(nil)
		if err := WriteReply(c, CmdConnect, bound); err != nil { // the reply code sits where a request's command does
			t.Fatal(err)
		}
		req, err := ReadRequest(bytes.NewReader(c.out()))
		if err != nil {
			t.Fatalf("%s: %v", ap, err)
		}
		if got := netip.AddrPortFrom(req.Addr, req.Port); got != bound || req.Host != bound.Addr().String() {
			t.Errorf("%s: read back %v (host %q)", ap, got, req.Host)
		}
	}
}

// discard is an io.Writer that does not escape what it is given, for allocation counts.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestAllocations pins that the only allocations are the strings returned.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random, so allocations vary")
	}
	type rw struct {
		io.Reader
		io.Writer
	}
	for _, tc := range []struct {
		name string
		in   []byte
		f    func(*rw) error
		want float64
	}{
		{"handshake without auth", cat(5, 1, 0), func(c *rw) error { _, err := Handshake(c); return err }, 0},
		{"handshake with user name", cat(5, 1, 2, userPass("alice", "pw")), func(c *rw) error { _, err := Handshake(c); return err }, 1},
		{"request domain", cat(5, 1, 0, 3, 11, "example.com", 1, 0xbb), func(c *rw) error { _, err := ReadRequest(c); return err }, 1},
		{"request IPv4", cat(5, 1, 0, 1, 1, 2, 3, 4, 0, 80), func(c *rw) error { _, err := ReadRequest(c); return err }, 1},
		{"request IPv6", cat(5, 1, 0, 4, make([]byte, 16), 0, 80), func(c *rw) error { _, err := ReadRequest(c); return err }, 1},
		{"reply", nil, func(c *rw) error { return WriteReply(c, 0, netip.MustParseAddrPort("[2001:db8::1]:1")) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.in)
			c := &rw{r, discard{}} // a pointer, so passing it as an interface does not allocate
			got := testing.AllocsPerRun(100, func() {
				r.Reset(tc.in)
				if err := tc.f(c); err != nil {
					t.Fatal(err)
				}
			})
			if got != tc.want {
				t.Errorf("%v allocations per call, want %v", got, tc.want)
			}
		})
	}
}

// TestImports pins that the package only parses and encodes: it must never be able to open
// a connection, so neither it nor anything it imports may import net (or other ways out).
func TestImports(t *testing.T) {
	allowed := []string{"encoding/binary", "errors", "fmt", "io", "net/netip", "sync", "unicode/utf8"}
	p, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range p.Imports {
		if !slices.Contains(allowed, ip) {
			t.Errorf("socks5 imports %q; it may import only %v", ip, allowed)
		}
	}

	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("transitive check skipped: no go command in PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "net", "net/http", "crypto/tls", "os/exec", "golang.org/x/net/proxy":
			t.Errorf("socks5 depends on %q (through its imports); it must open no connections", dep)
		}
	}
}
