package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseAuthority: parseAuthority never panics; what it accepts is returned unchanged,
// holds nothing that could smuggle a second meaning (whitespace, controls, userinfo, path,
// percent-encoding), splits with net.SplitHostPort into a host and a port from 1 to 65535,
// and is read the same way by net/url (as the authority of a URL).
func FuzzParseAuthority(f *testing.F) {
	for _, s := range []string{
		"example.com:443", "[::1]:443", "0x7f.1:80", "user@host:80", "host:80\r\nX: y", "a b:1",
		"[::1%25eth0]:80", "host:0", "host:65536", "host", "bücher.de:443", "[::ffff:1.2.3.4]:1",
		"h:080", ":80", "[::1]", "x:1/", "\xff:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseAuthority(s)
		if err != nil {
			return
		}
		if got != s {
			t.Fatalf("parseAuthority(%q) = %q", s, got)
		}
		if strings.ContainsAny(s, " \t\r\n\x00@/?#%\\") {
			t.Fatalf("accepted %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f {
				t.Fatalf("accepted a control character in %q", s)
			}
		}
		h, p, err := net.SplitHostPort(s)
		if err != nil || h == "" {
			t.Fatalf("accepted %q, which net.SplitHostPort rejects: %v", s, err)
		}
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 || strconv.Itoa(port) != p {
			t.Fatalf("accepted %q with port %q", s, p)
		}
		u, err := url.Parse("http://" + s + "/")
		if err == nil && (u.Host != s || u.User != nil || u.Port() != p) {
			t.Fatalf("net/url reads %q as host %q port %q user %v", s, u.Host, u.Port(), u.User)
		}
	})
}

// FuzzReadRequest: the request head parser never panics; a head it accepts survives a round
// trip (written back out and parsed again it gives the same fields and framing); it never
// accepts Content-Length with Transfer-Encoding; and when net/http also accepts the bytes,
// both agree on the body's framing — the property whose failure is request smuggling.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"POST http://x/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"POST http://x/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST http://x/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST http://x/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"GET http://x/ HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"GET http://x/ HTTP/1.0\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\n",
		"POST http://x/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var h head
		var fr framing
		err := h.readRequest(bufio.NewReaderSize(bytes.NewReader(in), 16), 4096)
		if err == nil {
			err = fr.frame(&h, true)
		}
		if err != nil {
			return
		}
		if fr.chunked && fr.hasCL {
			t.Fatalf("accepted Content-Length with chunked: %q", in)
		}
		// Round trip.
		var out bytes.Buffer
		out.Write(h.b(h.method))
		out.WriteString(" ")
		out.Write(h.b(h.target))
		out.WriteString(" HTTP/1." + strconv.Itoa(int(h.minor)) + "\r\n")
		for _, fl := range h.fields {
			out.Write(h.b(fl.name))
			out.WriteString(": ")
			out.Write(h.b(fl.value))
			out.WriteString("\r\n")
		}
		out.WriteString("\r\n")
		var h2 head
		var fr2 framing
		if err := h2.readRequest(bufio.NewReader(bytes.NewReader(out.Bytes())), 1<<20); err != nil {
			t.Fatalf("round trip of %q: %v", out.Bytes(), err)
		}
		if err := fr2.frame(&h2, true); err != nil {
			t.Fatalf("round trip of %q: %v", out.Bytes(), err)
		}
		if len(h2.fields) != len(h.fields) || fr2.length != fr.length || fr2.chunked != fr.chunked ||
			string(h2.b(h2.target)) != string(h.b(h.target)) {
			t.Fatalf("round trip changed %q into %q", in, out.Bytes())
		}
		for i := range h.fields {
			if string(h.b(h.fields[i].name)) != string(h2.b(h2.fields[i].name)) || string(h.b(h.fields[i].value)) != string(h2.b(h2.fields[i].value)) {
				t.Fatalf("round trip changed field %d of %q", i, in)
			}
		}
		// Differential: where net/http also accepts, the framing must agree.
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		goChunked := len(req.TransferEncoding) > 0
		if goChunked != fr.chunked {
			t.Fatalf("chunked: net/http %v, airlock %v for %q", goChunked, fr.chunked, in)
		}
		if !fr.chunked {
			want := fr.length
			if !fr.hasCL {
				want = 0
			}
			if req.ContentLength != want {
				t.Fatalf("Content-Length: net/http %d, airlock %d for %q", req.ContentLength, want, in)
			}
		}
	})
}

// FuzzChunkedBody: the chunked decoder never panics, and a body it accepts is accepted by
// net/http's chunked reader with the same bytes, and re-chunked it decodes to them again.
func FuzzChunkedBody(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n", "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n", "0\r\n\r\n",
		"zz\r\n", "3\r\nhello\r\n0\r\n\r\n", "5\nhello\r\n0\r\n\r\n", "1\r\na\r\n0\r\n X\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		decoded, err := decodeChunked(in, true)
		if err != nil {
			return
		}
		plain, err := decodeChunked(in, false)
		if err != nil {
			t.Fatalf("accepted with rechunk but not without: %q: %v", in, err)
		}
		goBody, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(in)))
		if err != nil || !bytes.Equal(goBody, plain) {
			t.Fatalf("airlock decodes %q to %q; net/http: %q, %v", in, plain, goBody, err)
		}
		again, err := decodeChunked(decoded, false)
		if err != nil || !bytes.Equal(again, plain) {
			t.Fatalf("re-chunked %q decodes to %q, %v; want %q", decoded, again, err, plain)
		}
	})
}

// decodeChunked runs a relay's chunked copy over in.
func decodeChunked(in []byte, rechunk bool) ([]byte, error) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	a, b := net.Pipe() // placeholders: sides only take deadlines here
	defer a.Close()
	defer b.Close()
	ds, ss := newSide(a), newSide(b)
	now := time.Now()
	r := relay{dst: bw, ds: &ds, src: bufio.NewReaderSize(bytes.NewReader(in), 16), ss: &ss, idle: 1 << 40, now: &now, limit: -1}
	var trailers head
	rerr, werr := r.copyChunked(rechunk, &trailers, 4096)
	if rerr != nil {
		return nil, rerr
	}
	if werr != nil {
		return nil, werr
	}
	bw.Flush()
	return out.Bytes(), nil
}
