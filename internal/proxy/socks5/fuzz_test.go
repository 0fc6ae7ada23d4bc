package socks5

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
	"testing/iotest"
	"unicode"
	"unicode/utf8"
)

// The fuzz targets check the parsers against a model written separately from them, directly
// from the RFCs, on the raw input as one slice: same outcome, same bytes written and the same
// number of bytes read — exactly up to the end of the message, never past a declared length.
// Each input is parsed twice, once from a reader that hands out as much as asked and once
// from one that hands out a byte at a time, and the two must agree.

// outcome is a parse result in a form the model can produce too.
type outcome int

const (
	outOK outcome = iota
	outEOF
	outVersion
	outNoMethod
	outAuth
	outAddressType
	outDomainName
)

func (o outcome) String() string {
	return [...]string{"ok", "EOF", "ErrVersion", "ErrNoAcceptableMethod", "ErrAuth", "ErrAddressType", "ErrDomainName"}[o]
}

func classify(t *testing.T, err error) outcome {
	t.Helper()
	switch {
	case err == nil:
		return outOK
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return outEOF
	case errors.Is(err, ErrVersion):
		return outVersion
	case errors.Is(err, ErrNoAcceptableMethod):
		return outNoMethod
	case errors.Is(err, ErrAuth):
		return outAuth
	case errors.Is(err, ErrAddressType):
		return outAddressType
	case errors.Is(err, ErrDomainName):
		return outDomainName
	}
	t.Fatalf("unexpected error %v", err)
	return 0
}

// printable is the model's rule for user and domain names: valid UTF-8, no Unicode control
// character (category Cc: C0, DEL and C1).
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// modelHandshake returns what Handshake must do with in: the outcome, the user name, the
// bytes written and the bytes read.
func modelHandshake(in []byte) (out outcome, user string, wrote []byte, read int) {
	if len(in) < 2 {
		return outEOF, "", nil, len(in)
	}
	if in[0] != 5 {
		return outVersion, "", nil, 2
	}
	end := 2 + int(in[1])
	if len(in) < end {
		return outEOF, "", nil, len(in)
	}
	method := -1
	for _, m := range in[2:end] {
		if m == 2 || m == 0 && method < 0 {
			method = int(m)
		}
	}
	if method < 0 {
		return outNoMethod, "", []byte{5, 0xff}, end
	}
	wrote = []byte{5, byte(method)}
	if method == 0 {
		return outOK, "", wrote, end
	}
	p := end
	if len(in) < p+2 {
		return outEOF, "", wrote, len(in)
	}
	if in[p] != 1 {
		return outAuth, "", append(wrote, 1, 1), p + 2
	}
	ulen := int(in[p+1])
	if len(in) < p+2+ulen+1 {
		return outEOF, "", wrote, len(in)
	}
	name := in[p+2 : p+2+ulen]
	end = p + 2 + ulen + 1 + int(in[p+2+ulen])
	if len(in) < end {
		return outEOF, "", wrote, len(in)
	}
	if ulen == 0 || !printable(name) {
		return outAuth, "", append(wrote, 1, 1), end
	}
	return outOK, string(name), append(wrote, 1, 0), end
}

// modelRequest returns what ReadRequest must do with in: the outcome, the request and the
// bytes read.
func modelRequest(in []byte) (outcome, Request, int) {
	if len(in) < 4 {
		return outEOF, Request{}, len(in)
	}
	if in[0] != 5 {
		return outVersion, Request{}, 4
	}
	var alen int
	switch in[3] {
	case 1:
		alen = 4
	case 4:
		alen = 16
	case 3:
		if len(in) < 5 {
			return outEOF, Request{}, len(in)
		}
		alen = 1 + int(in[4])
	default:
		return outAddressType, Request{}, 4
	}
	end := 4 + alen + 2
	if len(in) < end {
		return outEOF, Request{}, len(in)
	}
	req := Request{Cmd: in[1], Port: uint16(in[end-2])<<8 | uint16(in[end-1])}
	switch in[3] {
	case 1, 4:
		req.Addr, _ = netip.AddrFromSlice(in[4 : 4+alen])
		req.Host = req.Addr.String()
	case 3:
		name := in[5 : 4+alen]
		if len(name) == 0 || !printable(name) {
			return outDomainName, Request{}, end
		}
		req.Host = string(name)
	}
	return outOK, req, end
}

// readers returns the two ways each fuzz input is read, each with its byte counter.
func readers(in []byte) map[string]*countingReader {
	return map[string]*countingReader{
		"whole":        {r: bytes.NewReader(in)},
		"byte at time": {r: iotest.OneByteReader(bytes.NewReader(in))},
	}
}

func FuzzHandshake(f *testing.F) {
	for _, seed := range [][]byte{
		cat(5, 1, 0),                                // no authentication
		cat(5, 2, 0, 2, userPass("alice", "pw")),    // both offered: username/password chosen
		cat(5, 1, 2, userPass("zoë", "")),           // UTF-8 name, empty password
		cat(5, 1, 2, userPass("", "pw")),            // empty name: refused
		cat(5, 1, 2, userPass("a\x00b", "pw")),      // NUL in the name: refused
		cat(5, 1, 2, userPass("a\u0085", "pw")),     // C1 control in the name: refused
		cat(5, 1, 2, userPass("\xff", "pw")),        // invalid UTF-8 name: refused
		cat(5, 1, 2, 5, 1, "a", 0),                  // wrong subnegotiation version
		cat(5, 1, 2, 1, 200, "short"),               // name shorter than declared
		cat(5, 1, 2, 1, 1, "a", 255, "short"),       // password shorter than declared
		cat(5, 1, 1),                                // GSSAPI only: 05 FF
		cat(5, 0),                                   // no methods at all
		cat(5, 255, 0),                              // more methods declared than sent
		cat(4, 1, 0, 80, 1, 2, 3, 4, 0),             // SOCKS4
		cat("CONNECT example.com:443 HTTP/1.1\r\n"), // HTTP
		cat(5, 1, 0, 5, 1, 0, 3, 1, "x", 0, 80),     // handshake followed by a request
		{},                                          // nothing
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		wantOut, wantUser, wantWrote, wantRead := modelHandshake(in)
		for how, r := range readers(in) {
			c := &conn{in: r}
			user, err := Handshake(c)
			if got := classify(t, err); got != wantOut {
				t.Fatalf("%s: err = %v, model says %v", how, err, wantOut)
			}
			if user != wantUser {
				t.Fatalf("%s: user = %q, model says %q", how, user, wantUser)
			}
			if !bytes.Equal(c.out(), wantWrote) {
				t.Fatalf("%s: wrote % x, model says % x", how, c.out(), wantWrote)
			}
			if r.n != wantRead {
				t.Fatalf("%s: read %d bytes, model says %d", how, r.n, wantRead)
			}
		}
	})
}

func FuzzReadRequest(f *testing.F) {
	for _, seed := range [][]byte{
		cat(5, 1, 0, 3, 11, "example.com", 1, 0xbb),                              // CONNECT example.com:443
		cat(5, 1, 0, 1, 192, 0, 2, 1, 0, 80),                                     // CONNECT 192.0.2.1:80
		cat(5, 1, 0, 4, netip.MustParseAddr("2001:db8::1").AsSlice(), 1, 0xbb),   // CONNECT [2001:db8::1]:443
		cat(5, 1, 0, 4, netip.MustParseAddr("::ffff:10.0.0.1").AsSlice(), 0, 80), // IPv4-mapped: stays IPv6
		cat(5, 3, 0xff, 3, 1, "x", 0, 0),                                         // UDP ASSOCIATE, RSV set, port 0
		cat(5, 1, 0, 3, 0, 0, 80),                                                // empty name: refused
		cat(5, 1, 0, 3, 5, "a\x00b.c", 0, 80),                                    // NUL in the name: refused
		cat(5, 1, 0, 3, 4, "a\r\nb", 0, 80),                                      // CRLF in the name: refused
		cat(5, 1, 0, 3, 2, "\xc0\xae", 0, 80),                                    // overlong UTF-8: refused
		cat(5, 1, 0, 3, 255, "short", 0, 80),                                     // name shorter than declared
		cat(5, 1, 0, 2, 1, 2, 3, 4),                                              // unknown address type
		cat(5, 1, 0, 4, 1, 2, 3),                                                 // IPv6 shorter than declared
		cat(4, 1, 0, 1, 1, 2, 3, 4, 0, 80),                                       // wrong version
		cat(5, 1, 0, 3, 1, "x", 0, 80, "GET / HTTP/1.1\r\n"),                     // request followed by data
		{}, // nothing
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		wantOut, wantReq, wantRead := modelRequest(in)
		for how, r := range readers(in) {
			req, err := ReadRequest(r)
			if got := classify(t, err); got != wantOut {
				t.Fatalf("%s: err = %v, model says %v", how, err, wantOut)
			}
			if req != wantReq {
				t.Fatalf("%s: request = %+v, model says %+v", how, req, wantReq)
			}
			if r.n != wantRead {
				t.Fatalf("%s: read %d bytes, model says %d", how, r.n, wantRead)
			}
			if err == nil && req.Addr.IsValid() {
				// An address read back must encode to the same bytes in a reply.
				c := newConn(nil)
				if err := WriteReply(c, ReplySucceeded, netip.AddrPortFrom(req.Addr, req.Port)); err != nil {
					t.Fatal(err)
				}
				if got := c.out()[3:]; !bytes.Equal(got, in[3:wantRead]) {
					t.Fatalf("reply encodes the address as % x, request had % x", got, in[3:wantRead])
				}
			}
		}
	})
}
