package host

import (
	"errors"
	"net/netip"
	"testing"
)

// FuzzParse checks that Parse never panics, that every failure is an *Error, and that its output
// is canonical: a Name re-parses to itself and holds only [a-z0-9._-]; an Addr's text re-parses
// to the same Addr. It also checks two differential properties: an input netip reads as IPv4
// parses to the same address, and the ASCII fast path agrees with the IDNA library.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		// Names: plain, case, trailing dot, underscore, hyphens.
		"example.com", "EXAMPLE.com.", "_dmarc.example.com", "r3---sn-x.googlevideo.com", "localhost",
		// IDN: Unicode, punycode, circled and full-width forms, ignored code points, bad punycode.
		"bücher.de", "xn--bcher-kva.de", "ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "ＥＸＡＭＰＬＥ。ｃｏｍ", "exa\u00admple.com", "xn--a", "xn--",
		"faß.de", "💩.la", "a\u200db", "١.com", "℀.com", "aℵb.com",
		// IPv4 in every inet_aton spelling, and the "ends in a number" failures.
		"127.0.0.1", "127.1", "2130706433", "0x7f.1", "017700000001", "0x7f000001", "127.000.000.001",
		"0x", "0", "127.0.0.1.", "１２７．０．０．１", "①②⑦.⓪.⓪.①", "1.2.3.4.5", "256.256.256.256",
		"0x100000000", "foo.123", "09", "1..2", ".1",
		// IPv6: bare, bracketed, mapped, zones, ports.
		"::1", "[::1]", "::ffff:127.0.0.1", "[fe80::1%25eth0]", "fe80::1%eth0", "[::1]:80", "[1.2.3.4]",
		// Junk: empty, spaces, controls, wildcards, percent, ports, invalid UTF-8.
		"", ".", "a..b", " ", "a b", "a\x00b", "*.example.com", "a%2eb", "example.com:80", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			var he *Error
			if !errors.As(err, &he) || he.Input != s || he.Msg == "" {
				t.Fatalf("Parse(%q) error %#v is not a complete *Error", s, err)
			}
			if h != (Host{}) {
				t.Fatalf("Parse(%q) returned %+v with an error", s, h)
			}
		} else {
			checkCanonical(t, s, h)
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			if h.Addr != a {
				t.Fatalf("Parse(%q) = %+v, %v; netip reads %v", s, h, err, a)
			}
		}
		if fast, msg := toASCII(s); msg == "" && isFastPathInput(s) {
			if slow, err := uts46ToASCII(s); err != nil || slow != fast {
				t.Fatalf("fast path maps %q to %q, IDNA to %q, %v", s, fast, slow, err)
			}
		}
	})
}

// isFastPathInput mirrors the condition under which toASCII skips IDNA.
func isFastPathInput(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return !hasACELabel(s)
}

// checkCanonical asserts that a successful Parse result is canonical and stable.
func checkCanonical(t *testing.T, in string, h Host) {
	t.Helper()
	switch {
	case h.Name != "" && h.Addr.IsValid(), h.Name == "" && !h.Addr.IsValid():
		t.Fatalf("Parse(%q) = %+v: want exactly one of Name and Addr", in, h)
	case h.Addr.IsValid():
		if h.Addr.Zone() != "" {
			t.Fatalf("Parse(%q) = %v: has a zone", in, h.Addr)
		}
		again, err := Parse(h.Addr.String())
		if err != nil || again != h {
			t.Fatalf("Parse(%q) = %v, but Parse(%q) = %+v, %v", in, h.Addr, h.Addr.String(), again, err)
		}
	default:
		for i := 0; i < len(h.Name); i++ {
			c := h.Name[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
				t.Fatalf("Parse(%q) = name %q with byte %q", in, h.Name, c)
			}
		}
		if len(h.Name) > maxNameLen || h.Name[len(h.Name)-1] == '.' {
			t.Fatalf("Parse(%q) = name %q: too long or ends in a dot", in, h.Name)
		}
		again, err := Parse(h.Name)
		if err != nil || again != h {
			t.Fatalf("Parse(%q) = %q, but Parse(%q) = %+v, %v (not idempotent)", in, h.Name, h.Name, again, err)
		}
	}
}

// FuzzParseTarget checks that ParseTarget never panics, that failures carry a known code, that
// a result's host is canonical, and that net/url never reads another host or port from a URL
// ParseTarget accepted (a missed ambiguity).
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		// URLs with odd hosts.
		"http://0x7f.1/", "http://[::ffff:127.0.0.1]:8080/", "https://ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ/", "http://%31%32%37.0.0.1/",
		"HTTP://Example.COM:80", "http://localhost.:80", "http://[fe80::1%25eth0]/", "http://1.2.3.4.5/",
		// Userinfo, fragments, last-@ rule.
		"http://user:pass@example.com@127.0.0.1/", "http://example.com#@127.0.0.1", "http://127.0.0.1%2f@evil/",
		// Backslashes and missing slashes: the ambiguity rule.
		`http://evil.com\@127.0.0.1/`, `http://127.0.0.1\@evil.com/`, `http:/\127.0.0.1`, `http:\\x`, "http:x",
		`http://a.com:80\@a.com:8080/`, `http://example.com\path`,
		// Ports.
		"http://x:0/", "http://x:65535/", "http://x:65536/", "http://x:/", "http://x:+80/", "http://x: 80/",
		// Schemes.
		"gopher://127.0.0.1:70/", "file:///etc/passwd", "javascript:alert(1)", "http:8080",
		// Without scheme.
		"localhost:3000", "example.com", "example.com/path", "[::1]:80", "::1", "user@host", "/etc/passwd",
		// Whitespace and encoded NUL.
		" \thttp://exa\nmple.com/ ", "http://a%00.b/", "",
	} {
		f.Add(s)
	}
	codes := map[string]bool{CodeInvalidTarget: true, CodeInvalidHost: true, CodeInvalidPort: true,
		CodeUnsupportedScheme: true, CodeAmbiguousURL: true}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			var te *TargetError
			if !errors.As(err, &te) || !codes[te.Code] || te.Input != s || te.Msg == "" {
				t.Fatalf("ParseTarget(%q) error %#v is not a complete *TargetError", s, err)
			}
			return
		}
		if tg.Raw != s || tg.Port == 0 {
			t.Fatalf("ParseTarget(%q) = %+v: Raw or Port wrong", s, tg)
		}
		if _, ok := defaultPorts[tg.Scheme]; !ok && tg.Scheme != "" {
			t.Fatalf("ParseTarget(%q) = scheme %q", s, tg.Scheme)
		}
		checkCanonical(t, s, tg.Host)
		checkAgainstNetURL(t, s)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"name", "api.github.com"},
		{"name_upper", "API.GitHub.com"},
		{"idn", "bücher.example.de"},
		{"ipv4", "127.0.0.1"},
		{"ipv4_odd", "0x7f.1"},
		{"ipv6", "[2001:db8::1]"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseTarget(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"url", "https://api.github.com/repos/x"},
		{"host_port", "localhost:3000"},
		{"url_backslash", `http:/\127.0.0.1/x`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseTarget(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
