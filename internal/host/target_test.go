package host

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		scheme   string
		host     string // Host.String()
		port     uint16
		explicit bool
		userinfo bool
	}{
		// Plain URLs and default ports.
		{"https", "https://api.github.com/repos/x", "https", "api.github.com", 443, false, false},
		{"http", "http://example.com/", "http", "example.com", 80, false, false},
		{"ws", "ws://example.com/socket", "ws", "example.com", 80, false, false},
		{"wss", "wss://example.com", "wss", "example.com", 443, false, false},
		{"scheme and host case", "HTTP://Example.COM:80", "http", "example.com", 80, true, false},
		{"mixed case scheme", "hTTpS://example.com", "https", "example.com", 443, false, false},
		{"query right after host", "http://example.com?x=1", "http", "example.com", 80, false, false},
		{"fragment right after host", "http://example.com#x", "http", "example.com", 80, false, false},
		{"trailing dot", "http://localhost.:80", "http", "localhost", 80, true, false},
		{"path with backslash after slash", "http://example.com/a\\b", "http", "example.com", 80, false, false},
		// Odd IP spellings.
		{"hex short", "http://0x7f.1/", "http", "127.0.0.1", 80, false, false},
		{"decimal", "http://2130706433/", "http", "127.0.0.1", 80, false, false},
		{"octal", "http://0177.0.0.1/", "http", "127.0.0.1", 80, false, false},
		{"mapped v6 with port", "http://[::ffff:127.0.0.1]:8080/", "http", "::ffff:127.0.0.1", 8080, true, false},
		{"v6", "http://[::1]/", "http", "::1", 80, false, false},
		{"fullwidth ip", "http://１２７．０．０．１/", "http", "127.0.0.1", 80, false, false},
		{"circled name", "https://ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ/", "https", "example.com", 443, false, false},
		{"idn", "https://bücher.de/", "https", "xn--bcher-kva.de", 443, false, false},
		{"idn greek", "https://σ.com/", "https", "xn--4xa.com", 443, false, false},
		{"idn punycode of sharp s", "https://xn--fa-hia.de/", "https", "xn--fa-hia.de", 443, false, false},
		// Percent-encoding in the host.
		{"percent-encoded ip", "http://%31%32%37.0.0.1/", "http", "127.0.0.1", 80, false, false},
		{"percent-encoded upper hex", "http://%4C%4F%43%41%4C%48%4F%53%54/", "http", "localhost", 80, false, false},
		{"percent-encoded utf-8", "http://b%C3%BCcher.de/", "http", "xn--bcher-kva.de", 80, false, false},
		{"percent-encoded fullwidth dot", "http://127%E3%80%820.0.1/", "http", "127.0.0.1", 80, false, false},
		{"encoded slash in userinfo", "http://127.0.0.1%2f@evil/", "http", "evil", 80, false, true},
		// Userinfo: the last '@' wins, in every reading.
		{"user", "http://user@host/", "http", "host", 80, false, true},
		{"user and password", "http://user:pass@example.com:8080/", "http", "example.com", 8080, true, true},
		{"two at signs", "http://user:pass@example.com@127.0.0.1/", "http", "127.0.0.1", 80, false, true},
		{"empty userinfo", "http://@example.com/", "http", "example.com", 80, false, true},
		{"at sign after fragment", "http://example.com#@127.0.0.1", "http", "example.com", 80, false, false},
		{"at sign after query", "http://example.com?@127.0.0.1", "http", "example.com", 80, false, false},
		{"at sign after path", "http://example.com/@127.0.0.1", "http", "example.com", 80, false, false},
		{"brackets in userinfo", "http://[::1]@example.com/", "http", "example.com", 80, false, true},
		// Slashes: WHATWG skips any run of '/' and '\' after a special scheme.
		{"no slashes", "http:example.com", "http", "example.com", 80, false, false},
		{"one slash", "http:/example.com", "http", "example.com", 80, false, false},
		{"three slashes", "http:///example.com", "http", "example.com", 80, false, false},
		{"backslashes", "http:\\\\example.com", "http", "example.com", 80, false, false},
		{"slash backslash", "http:/\\127.0.0.1", "http", "127.0.0.1", 80, false, false},
		{"scheme then digits", "http:8080", "http", "0.0.31.144", 80, false, false},
		// Whitespace handling.
		{"surrounding spaces", "  http://example.com/  ", "http", "example.com", 80, false, false},
		{"surrounding controls", "\x00\x1fhttp://example.com/\x01", "http", "example.com", 80, false, false},
		{"tab and newline inside", "ht\ttp://exa\nmple.c\rom/", "http", "example.com", 80, false, false},
		// Ports.
		{"port 1", "http://x:1/", "http", "x", 1, true, false},
		{"port 65535", "http://x:65535/", "http", "x", 65535, true, false},
		{"port leading zeros", "http://x:0080/", "http", "x", 80, true, false},
		{"empty port", "http://x:/", "http", "x", 80, false, false},
		{"default port written", "https://x:443/", "https", "x", 443, true, false},
		// Without a scheme.
		{"host", "example.com", "", "example.com", 443, false, false},
		{"host and port", "localhost:3000", "", "localhost", 3000, true, false},
		{"host port path", "example.com:443/path", "", "example.com", 443, true, false},
		{"host path", "example.com/path", "", "example.com", 443, false, false},
		{"host path with url", "example.com/redirect?to=http://x", "", "example.com", 443, false, false},
		{"ipv4", "127.0.0.1", "", "127.0.0.1", 443, false, false},
		{"ipv4 and port", "127.0.0.1:8080", "", "127.0.0.1", 8080, true, false},
		{"odd ipv4", "0x7f.1", "", "127.0.0.1", 443, false, false},
		{"bare v6", "::1", "", "::1", 443, false, false},
		{"bare v6 ending in digits", "::1:80", "", "::1:80", 443, false, false},
		{"bare mapped v6", "::ffff:127.0.0.1", "", "::ffff:127.0.0.1", 443, false, false},
		{"bracketed v6", "[::1]", "", "::1", 443, false, false},
		{"bracketed v6 and port", "[::1]:8080", "", "::1", 8080, true, false},
		{"userinfo", "user@example.com", "", "example.com", 443, false, true},
		{"upper case", "EXAMPLE.COM:80", "", "example.com", 80, true, false},
		{"idn", "bücher.de", "", "xn--bcher-kva.de", 443, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if err != nil {
				t.Fatalf("ParseTarget(%q): %v", tt.in, err)
			}
			if got.Raw != tt.in || got.Scheme != tt.scheme || got.Host.String() != tt.host || got.Port != tt.port ||
				got.PortExplicit != tt.explicit || got.Userinfo != tt.userinfo {
				t.Errorf("ParseTarget(%q) = %+v\nwant scheme %q host %q port %d explicit %v userinfo %v",
					tt.in, got, tt.scheme, tt.host, tt.port, tt.explicit, tt.userinfo)
			}
		})
	}
}

func TestParseTargetErrors(t *testing.T) {
	tests := []struct {
		name, in, code string
		msg            []string // substrings of Msg
	}{
		{"empty", "", CodeInvalidTarget, nil},
		{"only spaces", "  \t ", CodeInvalidTarget, nil},
		{"path", "/etc/passwd", CodeInvalidTarget, []string{"path"}},
		{"backslash path", `\\server\share`, CodeInvalidTarget, nil},
		{"fullwidth scheme", "ｈｔｔｐ://example.com/", CodeInvalidTarget, nil},
		{"scheme starting with digit", "1http://example.com/", CodeInvalidTarget, nil},
		// Schemes.
		{"file", "file:///etc/passwd", CodeUnsupportedScheme, []string{`"file"`, "http, https, ws and wss"}},
		{"gopher", "gopher://127.0.0.1:70/", CodeUnsupportedScheme, []string{`"gopher"`}},
		{"ftp", "ftp://example.com/", CodeUnsupportedScheme, nil},
		{"dict", "dict://127.0.0.1:11211/stat", CodeUnsupportedScheme, nil},
		{"ldap", "ldap://127.0.0.1/", CodeUnsupportedScheme, nil},
		{"javascript", "javascript:alert(1)", CodeUnsupportedScheme, nil},
		{"data", "data:text/plain,hi", CodeUnsupportedScheme, nil},
		{"jar", "jar:http://example.com/x.jar!/", CodeUnsupportedScheme, nil},
		{"netdoc", "netdoc:///etc/passwd", CodeUnsupportedScheme, nil},
		{"upper case scheme", "FILE:///etc/passwd", CodeUnsupportedScheme, []string{`"file"`}},
		{"host and empty port reads as scheme", "localhost:", CodeUnsupportedScheme, nil},
		{"user and password without scheme", "user:pass@example.com", CodeUnsupportedScheme, nil},
		// Hosts.
		{"no host", "http://", CodeInvalidHost, nil},
		{"only slashes", "http:///", CodeInvalidHost, nil},
		{"userinfo without host", "http://user@/", CodeInvalidHost, nil},
		{"port without host", "http://:80/", CodeInvalidHost, nil},
		{"five parts", "http://1.2.3.4.5/", CodeInvalidHost, []string{`"1.2.3.4.5"`, "IPv4"}},
		{"overflow", "http://256.256.256.256/", CodeInvalidHost, nil},
		{"ends in number", "http://foo.123/", CodeInvalidHost, nil},
		{"zone", "http://[fe80::1%25eth0]/", CodeInvalidHost, []string{"zone"}},
		{"raw zone", "http://[fe80::1%eth0]/", CodeInvalidHost, []string{"zone"}},
		{"bare zone", "fe80::1%eth0", CodeInvalidHost, []string{"zone"}},
		{"unclosed bracket", "http://[::1/", CodeInvalidHost, nil},
		{"text after bracket", "http://[::1]x/", CodeInvalidHost, nil},
		{"ipv4 in brackets", "http://[127.0.0.1]/", CodeInvalidHost, nil},
		{"encoded slash in host", "http://127.0.0.1%2f.evil/", CodeInvalidHost, []string{"'/'"}},
		{"encoded colon", "http://%3A%3A1/", CodeInvalidHost, []string{"':'"}},
		{"encoded brackets", "http://%5B%3A%3A1%5D/", CodeInvalidHost, nil},
		{"encoded bracket then colon", "http://%5B::1%5D/", CodeInvalidPort, nil},
		{"encoded at", "http://a%40b/", CodeInvalidHost, nil},
		{"encoded invalid utf-8", "http://a%ff/", CodeInvalidHost, []string{"UTF-8"}},
		{"bad escape", "http://a%zz/", CodeInvalidHost, []string{"'%'"}},
		{"space in host", "http://exa mple.com/", CodeInvalidHost, nil},
		{"encoded space", "http://exa%20mple.com/", CodeInvalidHost, nil},
		{"wildcard", "http://*.example.com/", CodeInvalidHost, nil},
		{"invalid punycode", "http://xn--a/", CodeInvalidHost, nil},
		{"bare bad v6", "1::2::3", CodeInvalidHost, nil},
		{"bare v6 with cidr", "::1/128", CodeInvalidHost, nil},
		// Ports.
		{"port 0", "http://x:0/", CodeInvalidPort, []string{"0"}},
		{"port 65536", "http://x:65536/", CodeInvalidPort, []string{"65536"}},
		{"huge port", "http://x:99999999999999999999/", CodeInvalidPort, nil},
		{"plus port", "http://x:+80/", CodeInvalidPort, nil},
		{"minus port", "http://x:-80/", CodeInvalidPort, nil},
		{"space port", "http://x: 80/", CodeInvalidPort, nil},
		{"hex port", "http://x:0x50/", CodeInvalidPort, nil},
		{"port with letters", "http://x:80abc/", CodeInvalidPort, nil},
		{"two ports", "http://x:80:90/", CodeInvalidPort, nil},
		{"fullwidth port", "http://x:８０/", CodeInvalidPort, nil},
		{"schemeless port 0", "localhost:0", CodeInvalidPort, nil},
		{"schemeless plus port", "example.com:+80", CodeInvalidPort, nil},
		{"schemeless space port", "example.com: 80", CodeInvalidPort, nil},
		{"schemeless port out of range", "example.com:65536", CodeInvalidPort, nil},
		// Ambiguity: WHATWG and RFC 3986 readings disagree.
		{"backslash before at", `http://evil.com\@127.0.0.1/`, CodeAmbiguousURL, []string{`"evil.com:80"`, `"127.0.0.1:80"`}},
		{"backslash before at reversed", `http://127.0.0.1\@evil.com/`, CodeAmbiguousURL, []string{`"127.0.0.1:80"`, `"evil.com:80"`}},
		{"backslash with port", `http://a.com:80\@a.com:8080/`, CodeAmbiguousURL, []string{`"a.com:80"`, `"a.com:8080"`}},
		{"backslash before at https", `https://allowed.example\@169.254.169.254/latest`, CodeAmbiguousURL, nil},
		{"backslashes as slashes then at", `http:\\evil.com\@127.0.0.1`, CodeAmbiguousURL, nil},
		{"backslash then dns escape", `http://allowed.com\.evil.net/`, CodeAmbiguousURL, []string{`"allowed.com:80"`, `"allowed.com\\.evil.net"`, "not a valid host"}},
		{"backslash in port", `http://example.com:80\x`, CodeAmbiguousURL, []string{`"example.com:80\\x"`}},
		{"backslash then nothing after at", `http://a\@`, CodeAmbiguousURL, nil},
		{"password not repeated", `http://u:secret@a\@b`, CodeAmbiguousURL, nil},
		{"backslash as path", `http://example.com\path`, CodeAmbiguousURL, nil},
		{"schemeless backslash before at", `evil.com\@127.0.0.1`, CodeAmbiguousURL, nil},
		{"backslash in userinfo then at", `http://u\ser@evil.com\@127.0.0.1/`, CodeAmbiguousURL, nil},
		{"encoded nul", "http://evil.com%00.allowed.com/", CodeAmbiguousURL, []string{"NUL"}},
		// Ambiguity between IDNA readings: deviation characters.
		{"sharp s", "https://faß.de/", CodeAmbiguousURL, []string{`"xn--fa-hia.de"`, `"fass.de"`}},
		{"final sigma", "https://ς.com/", CodeAmbiguousURL, nil},
		{"encoded sharp s", "https://fa%C3%9F.de/", CodeAmbiguousURL, nil},
		{"schemeless sharp s", "faß.de", CodeAmbiguousURL, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if err == nil {
				t.Fatalf("ParseTarget(%q) = %+v, want %s", tt.in, got, tt.code)
			}
			var te *TargetError
			if !errors.As(err, &te) {
				t.Fatalf("ParseTarget(%q) error %T, want *TargetError", tt.in, err)
			}
			if te.Code != tt.code || te.Input != tt.in {
				t.Errorf("ParseTarget(%q) = %s (%s), want code %s", tt.in, te.Code, te.Msg, tt.code)
			}
			for _, m := range tt.msg {
				if !strings.Contains(te.Msg, m) {
					t.Errorf("ParseTarget(%q) Msg %q does not mention %q", tt.in, te.Msg, m)
				}
			}
			if got != (Target{}) {
				t.Errorf("ParseTarget(%q) returned %+v with an error", tt.in, got)
			}
			if strings.Contains(te.Msg, "secret") {
				t.Errorf("ParseTarget(%q) Msg %q repeats the password", tt.in, te.Msg)
			}
		})
	}
}

// TestParseTargetNotAmbiguous lists URLs whose readings agree, including odd ones, so the
// ambiguity rule does not grow into refusing ordinary input.
func TestParseTargetNotAmbiguous(t *testing.T) {
	for _, s := range []string{
		"https://api.github.com/repos/x",
		"http://user@host/",
		"http://user:pass@example.com@127.0.0.1/",
		"http://example.com/a\\b@127.0.0.1",
		"http://example.com?a\\b@127.0.0.1",
		"http://example.com#\\@127.0.0.1",
		"http:/\\127.0.0.1",
		"http:\\\\example.com",
		"http:\\/\\/example.com/x",
		"http://[::1]:8080/x\\y",
		"wss://example.com:8443/socket?token=a@b",
	} {
		t.Run(s, func(t *testing.T) {
			if _, err := ParseTarget(s); err != nil {
				t.Errorf("ParseTarget(%q): %v", s, err)
			}
		})
	}
}

// TestParseTargetAgreesWithNetURL is a differential check against an RFC 3986 parser: whenever
// ParseTarget accepts a URL and Go's net/url reads a host from it, both hosts and ports agree.
func TestParseTargetAgreesWithNetURL(t *testing.T) {
	for _, s := range []string{
		"http://example.com/", "https://user:pw@example.com:8443/x", "http://0x7f.1/", "http://[::1]:80/",
		"http://b%C3%BCcher.de/", "http://a@b@c/", "HTTP://EXAMPLE.COM:0080/", "ws://x:1/",
		"http://example.com#@evil", "http://example.com?@evil",
	} {
		t.Run(s, func(t *testing.T) { checkAgainstNetURL(t, s) })
	}
}

// checkAgainstNetURL fails when ParseTarget accepts s but net/url reads another host or port.
func checkAgainstNetURL(t *testing.T, s string) {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil || tg.Scheme == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return
	}
	if _, special := defaultPorts[u.Scheme]; !special {
		return
	}
	port := tg.Port
	if u.Port() != "" {
		p, err := strconv.ParseUint(u.Port(), 10, 16)
		if err != nil {
			return // net/url accepts any digits; an out-of-range port fails its client
		}
		port = uint16(p)
	} else {
		port = defaultPorts[u.Scheme]
	}
	h, err := Parse(u.Hostname())
	if err != nil {
		if strings.Contains(u.Hostname(), "%") {
			return // a zone: refused by ParseTarget unless the readings differ elsewhere
		}
		t.Fatalf("ParseTarget(%q) = %v:%d, but net/url reads host %q, which does not parse: %v",
			s, tg.Host, tg.Port, u.Hostname(), err)
	}
	if h != tg.Host || port != tg.Port {
		t.Fatalf("ParseTarget(%q) = %v:%d, but net/url reads %v:%d", s, tg.Host, tg.Port, h, port)
	}
}

func TestTargetErrorMessage(t *testing.T) {
	_, err := ParseTarget("gopher://x\n/")
	if err == nil {
		t.Fatal("no error")
	}
	if got := err.Error(); strings.ContainsAny(got, "\n") || !strings.HasPrefix(got, `"gopher://x\n/": `) {
		t.Errorf("Error() = %q", got)
	}
	if _, err := ParseTarget("http://[::1]:80/"); err != nil {
		t.Fatal(err)
	}
	h := Host{Addr: netip.MustParseAddr("::1")}
	if got := hostPort(h, 80); got != "[::1]:80" {
		t.Errorf("hostPort = %q", got)
	}
}
