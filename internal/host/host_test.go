package host

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func TestParseIPv4Spellings(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Canonical and short forms: the last part fills the remaining bytes.
		{"dotted decimal", "127.0.0.1", "127.0.0.1"},
		{"two parts", "127.1", "127.0.0.1"},
		{"three parts", "127.0.1", "127.0.0.1"},
		{"one decimal part", "2130706433", "127.0.0.1"},
		{"one part zero", "0", "0.0.0.0"},
		{"one part small", "123", "0.0.0.123"},
		{"max one part", "4294967295", "255.255.255.255"},
		{"two parts full last", "1.16777215", "1.255.255.255"},
		{"three parts full last", "1.2.65535", "1.2.255.255"},
		{"metadata decimal", "2852039166", "169.254.169.254"},
		// Hex.
		{"hex first part", "0x7f.1", "127.0.0.1"},
		{"hex one part", "0x7f000001", "127.0.0.1"},
		{"hex upper prefix", "0X7F000001", "127.0.0.1"},
		{"hex upper part", "0x7F.0.0.1", "127.0.0.1"},
		{"hex metadata", "0xa9fea9fe", "169.254.169.254"},
		{"hex every part", "0x7f.0x0.0x0.0x1", "127.0.0.1"},
		{"hex prefix alone is zero", "0x", "0.0.0.0"},
		{"hex prefix alone in parts", "0x7f.0x.0x.1", "127.0.0.1"},
		{"hex max", "0xffffffff", "255.255.255.255"},
		// Octal.
		{"octal first part", "0177.0.0.1", "127.0.0.1"},
		{"octal one part", "017700000001", "127.0.0.1"},
		{"octal padded parts", "127.000.000.001", "127.0.0.1"},
		{"octal metadata", "0251.0376.0251.0376", "169.254.169.254"},
		{"octal max", "037777777777", "255.255.255.255"},
		{"octal long zeros", "0000000000000000000000000000000000000177.1", "127.0.0.1"},
		{"double zero", "00", "0.0.0.0"},
		// Mixed.
		{"mixed hex octal decimal", "0x7f.00.0.1", "127.0.0.1"},
		{"mixed octal hex", "0177.0x0.1", "127.0.0.1"},
		{"mixed short hex last", "127.0xffffff", "127.255.255.255"},
		// Trailing dot.
		{"trailing dot", "127.0.0.1.", "127.0.0.1"},
		{"trailing dot short", "0x7f.1.", "127.0.0.1"},
		{"trailing dot one part", "2130706433.", "127.0.0.1"},
		// UTS #46 maps these to ASCII before the IPv4 parser sees them.
		{"fullwidth digits and dots", "１２７．０．０．１", "127.0.0.1"},
		{"ideographic full stops", "127。0。0。1", "127.0.0.1"},
		{"halfwidth ideographic full stop", "127｡0｡0｡1", "127.0.0.1"},
		{"circled digits", "①②⑦.⓪.⓪.①", "127.0.0.1"},
		{"fullwidth hex", "０ｘ７ｆ．１", "127.0.0.1"},
		{"fullwidth upper hex", "０Ｘ７Ｆ．１", "127.0.0.1"},
		{"mathematical digits", "𝟏𝟐𝟕.𝟎.𝟎.𝟏", "127.0.0.1"},
		{"fullwidth with soft hyphen", "127\u00ad.0.0.1", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			want := netip.MustParseAddr(tt.want)
			if h.Addr != want || h.Name != "" {
				t.Errorf("Parse(%q) = %+v, want addr %v", tt.in, h, want)
			}
			if !h.IsIP() || h.String() != tt.want {
				t.Errorf("Parse(%q): IsIP %v, String %q", tt.in, h.IsIP(), h.String())
			}
		})
	}
}

func TestParseIPv6(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"loopback bare", "::1", "::1"},
		{"loopback bracketed", "[::1]", "::1"},
		{"upper case", "[2001:DB8::1]", "2001:db8::1"},
		{"uncompressed", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
		{"mapped stays v6", "::ffff:127.0.0.1", "::ffff:127.0.0.1"},
		{"mapped hex stays v6", "[::ffff:7f00:1]", "::ffff:127.0.0.1"},
		{"nat64", "[64:ff9b::127.0.0.1]", "64:ff9b::7f00:1"},
		{"unspecified", "::", "::"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if want := netip.MustParseAddr(tt.want); h.Addr != want || !h.Addr.Is6() {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, h.Addr, want)
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	name253 := strings.Repeat(long63+".", 3) + strings.Repeat("b", 61) // 3*64 + 61 = 253
	tests := []struct {
		name, in, want string
	}{
		{"plain", "example.com", "example.com"},
		{"single label", "localhost", "localhost"},
		{"upper case", "EXAMPLE.com", "example.com"},
		{"upper case trailing dot", "EXAMPLE.com.", "example.com"},
		{"trailing dot", "example.com.", "example.com"},
		{"underscore", "_dmarc.example.com", "_dmarc.example.com"},
		{"hyphens anywhere", "r3---sn-apo3qvuoxuxbt-j5pe.googlevideo.com", "r3---sn-apo3qvuoxuxbt-j5pe.googlevideo.com"},
		{"leading hyphen", "-a.example", "-a.example"},
		{"digits then letters", "123abc.com", "123abc.com"},
		{"last label hex-like but not hex", "foo.0x1g", "foo.0x1g"},
		{"last label digits and letters", "foo.1e5", "foo.1e5"},
		{"negative looking", "1.2.3.-4", "1.2.3.-4"},
		{"circled letters", "ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "example.com"},
		{"fullwidth letters", "ＥＸＡＭＰＬＥ．ｃｏｍ", "example.com"},
		{"ideographic full stop", "example。com", "example.com"},
		{"ideographic full stop as trailing dot", "example.com。", "example.com"},
		{"idn", "bücher.de", "xn--bcher-kva.de"},
		{"idn upper", "BÜCHER.DE", "xn--bcher-kva.de"},
		{"idn punycode", "xn--bcher-kva.de", "xn--bcher-kva.de"},
		{"idn punycode upper", "XN--BCHER-KVA.DE", "xn--bcher-kva.de"},
		{"idn nontransitional sharp s", "faß.de", "xn--fa-hia.de"},
		{"idn emoji", "💩.la", "xn--ls8h.la"},
		{"soft hyphen ignored", "exa\u00admple.com", "example.com"},
		{"zero width space ignored", "exa\u200bmple.com", "example.com"},
		{"label of 63", long63 + ".com", long63 + ".com"},
		{"name of 253", name253, name253},
		{"name of 253 and root dot", name253 + ".", name253},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if h.Name != tt.want || h.IsIP() || h.String() != tt.want {
				t.Errorf("Parse(%q) = %+v, want name %q", tt.in, h, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long64 := strings.Repeat("a", 64)
	name254 := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 62)
	tests := []struct {
		name, in, msg string // msg is a substring of Error.Msg
	}{
		{"empty", "", "empty host"},
		{"only a dot", ".", "empty"},
		{"leading dot", ".example.com", "empty label"},
		{"two trailing dots", "example.com..", "empty label"},
		{"empty label", "a..b", "empty label"},
		{"maps to empty", "\u00ad", "empty host"},
		{"space", "exa mple.com", "whitespace"},
		{"leading space", " example.com", "whitespace"},
		{"trailing space", "example.com ", "whitespace"},
		{"ideographic space", "exa\u3000mple.com", "whitespace"},
		{"no-break space", "exa\u00a0mple.com", "whitespace"},
		{"tab", "example.com\t", "control"},
		{"newline", "exa\nmple.com", "control"},
		{"nul", "a\x00b", "control"},
		{"del", "a\x7fb", "control"},
		{"c1 control", "a\u0085b", "IDNA"},
		{"invalid utf-8", "a\xffb", "UTF-8"},
		{"wildcard", "*.example.com", "wildcard"},
		{"lone wildcard", "*", "wildcard"},
		{"percent", "a%2eb", "'%'"},
		{"slash", "a/b", "'/'"},
		{"backslash", `a\b`, `'\\'`},
		{"question mark", "a?b", "'?'"},
		{"hash", "a#b", "'#'"},
		{"at", "user@host", "'@'"},
		{"pipe", "a|b", "'|'"},
		{"caret", "a^b", "'^'"},
		{"angle", "a<b", "'<'"},
		{"exclamation", "a!b", "'!'"},
		{"stray bracket", "a]b", "']'"},
		{"fullwidth solidus maps to slash", "ａ／ｂ", "'/'"},
		{"account of maps to slash", "℀.com", "'/'"},
		{"fullwidth percent", "a％b", "'%'"},
		{"fullwidth colon", "example.com：80", "':'"},
		{"invalid punycode", "xn--a", "IDNA"},
		{"punycode of ascii", "xn--abc-.com", "IDNA"},
		{"bare ace prefix", "xn--.com", ""},
		{"joiner", "a\u200db.com", "IDNA"},
		{"bidi digit first", "١.com", "IDNA"},
		{"maps into a bidi label", "aℵb.com", "IDNA"},
		{"label of 64", long64 + ".com", "63"},
		{"long idn label", strings.Repeat("ü", 60) + ".de", "63"},
		{"name of 254", name254, "253"},
		// The WHATWG "ends in a number" rule: these are IPv4 or nothing.
		{"five parts", "1.2.3.4.5", "IPv4"},
		{"part overflow", "256.256.256.256", "IPv4"},
		{"first part overflow", "256.0.0.1", "IPv4"},
		{"middle part overflow", "1.256.0.1", "IPv4"},
		{"last part overflow", "1.2.3.256", "IPv4"},
		{"two parts overflow", "1.16777216", "IPv4"},
		{"three parts overflow", "1.2.65536", "IPv4"},
		{"one part overflow", "4294967296", "IPv4"},
		{"hex overflow", "0x100000000", "IPv4"},
		{"huge decimal", "99999999999999999999999999", "IPv4"},
		{"huge hex", "0xffffffffffffffffffffffffffff", "IPv4"},
		{"name ending in number", "foo.123", "IPv4"},
		{"name ending in hex", "foo.0x1f", "IPv4"},
		{"name ending in hex prefix", "foo.0x", "IPv4"},
		{"bad octal", "09", "IPv4"},
		{"bad octal part", "08.0.0.1", "IPv4"},
		{"bad hex part", "0x7g.1", "IPv4"},
		{"empty part", "1..2", "IPv4"},
		{"leading dot number", ".1", "IPv4"},
		{"fullwidth five parts", "１．２．３．４．５", "IPv4"},
		{"circled overflow", "②⑤⑥.0.0.1", "IPv4"},
		{"ends in number after two dots", "1.2.3.4..", "empty label"},
		// Ports, brackets, zones.
		{"host and port", "example.com:80", "host:port"},
		{"ipv4 and port", "127.0.0.1:80", "host:port"},
		{"bracketed and port", "[::1]:80", "host:port"},
		{"colon not port", "a:b", "':'"},
		{"unclosed bracket", "[::1", "'['"},
		{"text after bracket", "[::1]x", "after"},
		{"ipv4 in brackets", "[127.0.0.1]", "IPv6"},
		{"name in brackets", "[example.com]", "IPv6"},
		{"empty brackets", "[]", "IPv6"},
		{"bad ipv6", "1::2::3", "IPv6"},
		{"zone", "fe80::1%eth0", "zone"},
		{"zone bracketed", "[fe80::1%eth0]", "zone"},
		{"zone encoded bracketed", "[fe80::1%25eth0]", "zone"},
		{"zone encoded", "fe80::1%25eth0", "zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error containing %q", tt.in, h, tt.msg)
			}
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("Parse(%q) error %T, want *Error", tt.in, err)
			}
			if he.Input != tt.in || !strings.Contains(he.Msg, tt.msg) {
				t.Errorf("Parse(%q) = %#v, want Input %q and Msg containing %q", tt.in, he, tt.in, tt.msg)
			}
			if h != (Host{}) {
				t.Errorf("Parse(%q) returned %+v with an error", tt.in, h)
			}
			if strings.ContainsAny(err.Error(), "\x00\n\t\x7f") {
				t.Errorf("error message carries a raw control character: %q", err.Error())
			}
		})
	}
}

// TestParseEquivalence checks that spellings of one host normalise to the same Host.
func TestParseEquivalence(t *testing.T) {
	groups := [][]string{
		{"example.com", "EXAMPLE.COM", "Example.Com.", "ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "ＥＸＡＭＰＬＥ。ｃｏｍ", "exa\u00admple.com"},
		{"127.0.0.1", "127.1", "0x7f.1", "2130706433", "017700000001", "0x7f000001", "127.000.000.001",
			"0177.0.0.1", "127.0.0.1.", "１２７．０．０．１", "①②⑦.⓪.⓪.①"},
		{"xn--bcher-kva.de", "bücher.de", "BÜCHER.de.", "XN--BCHER-KVA.DE"},
		{"::1", "[::1]", "0:0:0:0:0:0:0:1", "[0::1]"},
	}
	for _, g := range groups {
		t.Run(g[0], func(t *testing.T) {
			want, err := Parse(g[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range g[1:] {
				if got, err := Parse(s); err != nil || got != want {
					t.Errorf("Parse(%q) = %+v, %v; want %+v", s, got, err, want)
				}
			}
		})
	}
}

// TestFastPathMatchesIDNA checks the claim toASCII's fast path rests on: for ASCII letters,
// digits, '-', '_' and '.', without "xn--" labels, UTS #46 (as configured) only lower-cases.
func TestFastPathMatchesIDNA(t *testing.T) {
	const alphabet = "abcxnzABCXNZ0189-_."
	r := rand.New(rand.NewPCG(1, 2))
	inputs := []string{"example.com", "EXAMPLE.COM", "a--b", "-", "_", "a.-b-.c", "x-n--a", "xn-a", "a.b_c"}
	for range 20000 {
		b := make([]byte, 1+r.IntN(24))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		if hasACELabel(s) {
			continue
		}
		fast, msg := toASCII(s)
		if msg != "" {
			t.Fatalf("toASCII(%q) failed on the fast path: %s", s, msg)
		}
		slow, err := uts46ToASCII(s)
		if err != nil || slow != fast {
			t.Fatalf("toASCII(%q) = %q, IDNA gives %q, %v", s, fast, slow, err)
		}
	}
}

// TestParseAllocs keeps the plain-name path allocation free.
func TestParseAllocs(t *testing.T) {
	for _, s := range []string{"api.github.com", "127.0.0.1", "0x7f.1"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = Parse(s) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times, want 0", s, n)
		}
	}
}

func TestHostString(t *testing.T) {
	if got := (Host{Name: "example.com"}).String(); got != "example.com" {
		t.Errorf("String = %q", got)
	}
	if got := (Host{Addr: netip.MustParseAddr("::1")}).String(); got != "::1" {
		t.Errorf("String = %q", got)
	}
	if (Host{}).IsIP() {
		t.Error("zero Host IsIP")
	}
	err := &Error{Input: "a\nb", Msg: "contains a control character"}
	if got, want := err.Error(), `host "a\nb": contains a control character`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
