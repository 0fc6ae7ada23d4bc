// Package socks5 reads and writes the server side of the SOCKS5 protocol (RFC 1928) with
// username/password authentication (RFC 1929). It only parses and encodes: it opens no
// connections and makes no decisions.
//
// Every read is bounded by the lengths the protocol declares: the package reads whole
// messages with io.ReadFull into one fixed-size buffer and never reads ahead, so the bytes
// that follow a message (the tunnelled data) stay unread for the caller. The only
// allocations on success are the strings returned.
package socks5

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"unicode/utf8"
)

// Reply codes (RFC 1928 section 6).
const (
	ReplySucceeded          byte = 0x00
	ReplyGeneralFailure     byte = 0x01
	ReplyNotAllowed         byte = 0x02 // connection not allowed by ruleset
	ReplyNetworkUnreachable byte = 0x03
	ReplyHostUnreachable    byte = 0x04
	ReplyConnectionRefused  byte = 0x05
	ReplyTTLExpired         byte = 0x06
	ReplyCommandUnsupported byte = 0x07
	ReplyAddressUnsupported byte = 0x08
)

// Commands (RFC 1928 section 4).
const (
	CmdConnect      byte = 0x01
	CmdBind         byte = 0x02
	CmdUDPAssociate byte = 0x03
)

// Request is a client's request after the handshake.
type Request struct {
	Cmd byte
	// Host is the destination as sent: a domain name exactly as the client wrote it (not
	// normalised: the caller normalises), or an IP address in its text form.
	Host string
	// Addr is the address when the client sent an IPv4 or IPv6 address; invalid for a domain.
	Addr netip.Addr
	Port uint16
}

// Errors returned by Handshake and ReadRequest, always wrapped with what was received; test
// for them with errors.Is. Errors from the reader or writer are wrapped too, so
// errors.Is(err, io.EOF) reports a client that closed before sending anything and
// io.ErrUnexpectedEOF one that closed in the middle of a message.
var (
	// ErrVersion: the first byte of a greeting or request is not 5. Handshake writes nothing
	// back, so a SOCKS4 or HTTP client connected to the SOCKS5 port gets no SOCKS5 bytes.
	ErrVersion = errors.New("socks5: not a SOCKS5 client")
	// ErrNoAcceptableMethod: the greeting offers neither no-authentication (0x00) nor
	// username/password (0x02). Handshake has answered 05 FF; the caller closes.
	ErrNoAcceptableMethod = errors.New("socks5: client offers no acceptable authentication method")
	// ErrAuth: the RFC 1929 username/password subnegotiation is malformed — wrong
	// subnegotiation version, an empty user name, or a user name that is not valid UTF-8 or
	// holds a control character. Handshake has answered 01 01; the caller closes. It never
	// means wrong credentials: airlock checks no password.
	ErrAuth = errors.New("socks5: malformed username/password authentication")
	// ErrAddressType: the request's address type is not IPv4 (1), domain name (3) or IPv6 (4).
	// The rest of the request cannot be framed and is left unread; the caller replies
	// ReplyAddressUnsupported and closes.
	ErrAddressType = errors.New("socks5: unsupported address type")
	// ErrDomainName: the request's domain name is empty, is not valid UTF-8 or holds a
	// control character (NUL included). The whole request has been read; the caller replies
	// ReplyHostUnreachable (or ReplyGeneralFailure) and closes.
	ErrDomainName = errors.New("socks5: invalid domain name")
)

// Protocol constants.
const (
	version5      = 0x05
	authVersion   = 0x01 // RFC 1929 subnegotiation version
	methodNoAuth  = 0x00
	methodUserPwd = 0x02
	methodNone    = 0xFF // no acceptable methods
	authSucceeded = 0x00
	authFailed    = 0x01

	atypIPv4   = 0x01
	atypDomain = 0x03
	atypIPv6   = 0x04
)

// bufLen is the longest message the package reads or writes in one piece: a request's fixed
// header (4) plus a domain name's length byte (1), the name (255) and the port (2).
const bufLen = 4 + 1 + 255 + 2

// bufs holds *[bufLen]byte. A buffer handed to an io.Reader behind an interface escapes to
// the heap, so a local array would cost an allocation per call; pooling keeps the hot path
// down to the strings returned.
var bufs = sync.Pool{New: func() any { return new([bufLen]byte) }}

func getBuf() *[bufLen]byte  { return bufs.Get().(*[bufLen]byte) }
func putBuf(b *[bufLen]byte) { bufs.Put(b) }

// Handshake reads the client's greeting and, when the client offers it, RFC 1929
// username/password authentication, and answers them on rw. It prefers username/password
// (method 0x02) when offered, else no authentication (0x00); it answers 0xFF and returns an
// error when neither is offered. user is the user name sent ("" without authentication); the
// password is read and discarded (airlock uses the user name to name the client only).
//
// Any user name that is valid UTF-8 without control characters is accepted with 01 00,
// whatever the password; an empty password is accepted although RFC 1929 asks for 1..255
// bytes, as many clients send one. A greeting whose first byte is not 5 returns ErrVersion
// with nothing written.
func Handshake(rw io.ReadWriter) (user string, err error) {
	b := getBuf()
	defer putBuf(b)

	// Greeting: VER NMETHODS METHODS[NMETHODS].
	if _, err := io.ReadFull(rw, b[:2]); err != nil {
		return "", fmt.Errorf("socks5: read greeting: %w", err)
	}
	if b[0] != version5 {
		return "", fmt.Errorf("%w: greeting starts with byte 0x%02x, want 0x05%s", ErrVersion, b[0], versionHint(b[0], b[1]))
	}
	n := int(b[1])
	if _, err := io.ReadFull(rw, b[:n]); err != nil {
		return "", fmt.Errorf("socks5: read greeting's %d methods: %w", n, err)
	}
	method := byte(methodNone)
	for _, m := range b[:n] {
		if m == methodUserPwd {
			method = methodUserPwd
			break
		}
		if m == methodNoAuth {
			method = methodNoAuth
		}
	}
	if method == methodNone {
		// RFC 1928 allows 1..255 methods; zero methods is simply nothing acceptable.
		err := fmt.Errorf("%w: offered [% x], want 00 (none) or 02 (username/password)", ErrNoAcceptableMethod, b[:n])
		if werr := write2(rw, b, version5, methodNone); werr != nil {
			return "", fmt.Errorf("%w; write refusal: %w", err, werr)
		}
		return "", err
	}
	if err := write2(rw, b, version5, method); err != nil {
		return "", fmt.Errorf("socks5: write method selection: %w", err)
	}
	if method == methodNoAuth {
		return "", nil
	}

	// RFC 1929: VER ULEN UNAME[ULEN] PLEN PASSWD[PLEN].
	if _, err := io.ReadFull(rw, b[:2]); err != nil {
		return "", fmt.Errorf("socks5: read username/password header: %w", err)
	}
	if b[0] != authVersion {
		// The rest cannot be framed: answer at once and leave it unread.
		return "", authFail(rw, b, fmt.Errorf("%w: subnegotiation version 0x%02x, want 0x01", ErrAuth, b[0]))
	}
	ulen := int(b[1])
	// Read the name and the password's length byte together: PLEN always follows UNAME.
	if _, err := io.ReadFull(rw, b[:ulen+1]); err != nil {
		return "", fmt.Errorf("socks5: read %d-byte user name: %w", ulen, err)
	}
	plen := int(b[ulen])
	// Judge the name now: the password is read over it.
	var bad error
	if ulen == 0 {
		bad = fmt.Errorf("%w: empty user name (RFC 1929 requires 1 to 255 bytes)", ErrAuth)
	} else if i, what := badText(b[:ulen]); i >= 0 {
		bad = fmt.Errorf("%w: user name %q: %s at byte %d", ErrAuth, b[:ulen], what, i)
	} else {
		user = string(b[:ulen])
	}
	// Read (and drop) the password even when the name is bad, so the refusal below is the
	// next thing the client reads and is not lost to a reset for unread data on close.
	_, err = io.ReadFull(rw, b[:plen])
	clear(b[:plen]) // the password, or what arrived of it, does not linger in the pool
	if err != nil {
		return "", fmt.Errorf("socks5: read %d-byte password: %w", plen, err)
	}
	if bad != nil {
		return "", authFail(rw, b, bad)
	}
	if err := write2(rw, b, authVersion, authSucceeded); err != nil {
		return "", fmt.Errorf("socks5: write username/password status: %w", err)
	}
	return user, nil
}

// authFail answers a failed subnegotiation with 01 01 and returns err, joined with any
// write error.
func authFail(w io.Writer, b *[bufLen]byte, err error) error {
	if werr := write2(w, b, authVersion, authFailed); werr != nil {
		return fmt.Errorf("%w; write refusal: %w", err, werr)
	}
	return err
}

// versionHint names the protocol a wrong first byte suggests, for the error message.
func versionHint(b0, b1 byte) string {
	switch {
	case b0 == 0x04:
		return " (a SOCKS4 client: configure it for SOCKS5)"
	case 'A' <= b0 && b0 <= 'Z' && 'A' <= b1 && b1 <= 'Z':
		return " (looks like HTTP: configure the client for SOCKS5 or use the HTTP proxy)"
	case b0 == 0x16:
		return " (looks like TLS: configure the client for SOCKS5)"
	}
	return ""
}

// ReadRequest reads the request that follows the handshake. An unknown address type is an
// error wrapping ErrAddressType, after which the caller should reply ReplyAddressUnsupported.
//
// The command is returned as sent, known or not: the caller replies ReplyCommandUnsupported
// to what it does not serve. A non-zero reserved byte is accepted, as most servers do. Port 0
// is returned as is: the caller refuses it. A domain name is returned exactly as sent (not
// lowercased, trailing dot kept), but one that is empty, not valid UTF-8 or that holds a
// control character is refused with ErrDomainName. An IPv4-mapped IPv6 address stays an
// IPv6 address (::ffff:a.b.c.d). A first byte other than 5 returns ErrVersion.
func ReadRequest(r io.Reader) (Request, error) {
	b := getBuf()
	defer putBuf(b)

	// VER CMD RSV ATYP.
	if _, err := io.ReadFull(r, b[:4]); err != nil {
		return Request{}, fmt.Errorf("socks5: read request header: %w", err)
	}
	if b[0] != version5 {
		return Request{}, fmt.Errorf("%w: request starts with byte 0x%02x, want 0x05", ErrVersion, b[0])
	}
	req := Request{Cmd: b[1]}
	switch atyp := b[3]; atyp {
	case atypIPv4:
		if _, err := io.ReadFull(r, b[:4+2]); err != nil {
			return Request{}, fmt.Errorf("socks5: read IPv4 address and port: %w", err)
		}
		req.Addr = netip.AddrFrom4([4]byte(b[:4]))
		req.Host = req.Addr.String()
		req.Port = binary.BigEndian.Uint16(b[4:6])
	case atypIPv6:
		if _, err := io.ReadFull(r, b[:16+2]); err != nil {
			return Request{}, fmt.Errorf("socks5: read IPv6 address and port: %w", err)
		}
		req.Addr = netip.AddrFrom16([16]byte(b[:16]))
		req.Host = req.Addr.String()
		req.Port = binary.BigEndian.Uint16(b[16:18])
	case atypDomain:
		if _, err := io.ReadFull(r, b[:1]); err != nil {
			return Request{}, fmt.Errorf("socks5: read domain name length: %w", err)
		}
		n := int(b[0])
		// Read the whole request before judging the name, so the caller can still reply.
		if _, err := io.ReadFull(r, b[:n+2]); err != nil {
			return Request{}, fmt.Errorf("socks5: read %d-byte domain name and port: %w", n, err)
		}
		name := b[:n]
		if n == 0 {
			return Request{}, fmt.Errorf("%w: empty name", ErrDomainName)
		}
		if i, what := badText(name); i >= 0 {
			return Request{}, fmt.Errorf("%w: %q: %s at byte %d", ErrDomainName, name, what, i)
		}
		req.Host = string(name)
		req.Port = binary.BigEndian.Uint16(b[n : n+2])
	default:
		return Request{}, fmt.Errorf("%w 0x%02x (want 01 IPv4, 03 domain name or 04 IPv6)", ErrAddressType, atyp)
	}
	return req, nil
}

// WriteReply writes a reply with code and the bound address (the zero AddrPort writes 0.0.0.0:0).
//
// An IPv4 address is written as address type 1 and any IPv6 address, IPv4-mapped included,
// as type 4 (a zone cannot be encoded and is dropped); an invalid address with a port writes
// 0.0.0.0 and the port. The reply goes out in a single Write call, so in one segment.
func WriteReply(w io.Writer, code byte, bound netip.AddrPort) error {
	b := getBuf()
	defer putBuf(b)

	b[0], b[1], b[2] = version5, code, 0x00
	var n int
	switch a := bound.Addr(); {
	case a.Is6():
		b[3] = atypIPv6
		a16 := a.As16()
		n = 4 + copy(b[4:], a16[:])
	case a.Is4():
		b[3] = atypIPv4
		a4 := a.As4()
		n = 4 + copy(b[4:], a4[:])
	default:
		b[3] = atypIPv4
		clear(b[4:8])
		n = 8
	}
	binary.BigEndian.PutUint16(b[n:], bound.Port())
	n += 2
	if _, err := writeAll(w, b[:n]); err != nil {
		return fmt.Errorf("socks5: write reply 0x%02x: %w", code, err)
	}
	return nil
}

// write2 writes a two-byte answer (method selection or subnegotiation status) in one call,
// through b (whose first two bytes it overwrites).
func write2(w io.Writer, b *[bufLen]byte, b0, b1 byte) error {
	b[0], b[1] = b0, b1
	_, err := writeAll(w, b[:2])
	return err
}

// writeAll is one Write call that also reports a short write a broken writer returned
// without an error.
func writeAll(w io.Writer, p []byte) (int, error) {
	n, err := w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

// badText returns the byte offset of the first byte of p that is not valid UTF-8 or that
// starts a control character (C0, DEL or C1), with what is wrong; -1 if p is clean.
func badText(p []byte) (int, string) {
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return i, "invalid UTF-8"
		case r < 0x20 || 0x7f <= r && r < 0xa0:
			return i, fmt.Sprintf("control character %U", r)
		}
		i += size
	}
	return -1, ""
}
