// Package host turns the host part of a URL, an allow entry or a dial address into one canonical
// form: a lower-case ASCII DNS name, or an IP address however it was spelled.
//
// The package is pure: it never resolves a name, reads a file or logs. Its job is to make sure
// that the host airlock judges is the host a client would contact, so it reads hosts the way
// the WHATWG URL standard does (browsers and Node's fetch; for IPv4 also inet_aton, so most C
// clients): UTS #46 mapping for names and the permissive IPv4 syntax ("0x7f.1", "2130706433",
// "127.1"). ParseTarget also reads URLs the way RFC 3986 parsers do and refuses the ones on
// which the two readings disagree.
package host

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Host is a canonical host: exactly one of Name and Addr is set. The zero Host is neither and is
// never returned by Parse without an error.
type Host struct {
	// Name is the canonical DNS name: lower case, IDNA (UTS #46) mapped to punycode, no trailing
	// dot. It contains only a-z, 0-9, '-', '_' and '.', and never ends in a number (such hosts
	// are IPv4 addresses). Empty when the host is an IP address.
	Name string
	// Addr is the address when the input spelled an IP address in any form (dotted, short,
	// octal, hex, decimal, bracketed IPv6). IPv4-mapped IPv6 stays as written; callers that
	// compare addresses unmap it. The zero value means the host is a name.
	Addr netip.Addr
}

// IsIP reports whether h is an IP address.
func (h Host) IsIP() bool { return h.Addr.IsValid() }

// String returns the name, or the address in its canonical text form (IPv6 without brackets).
func (h Host) String() string {
	if h.Addr.IsValid() {
		return h.Addr.String()
	}
	return h.Name
}

// Error is a host that cannot be normalised. Input is the text as given; Msg says what is wrong
// with it.
type Error struct {
	Input string
	Msg   string
}

func (e *Error) Error() string { return "host " + quote(e.Input) + ": " + e.Msg }

// quote quotes s for a message; control characters and invalid UTF-8 are escaped, so an error
// message never carries a raw newline or terminal escape from untrusted input.
func quote(s string) string { return strconv.Quote(s) }

func fail(msg string) (Host, string) { return Host{}, msg }

// Limits from RFC 1035 section 2.3.4, applied to the ASCII (punycode) form without the root dot.
const (
	maxNameLen  = 253
	maxLabelLen = 63
)

// Parse normalises a host as it appears in a URL authority or a policy entry, without a port:
// "Example.COM.", "ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "0x7f.1", "2130706433", "[::1]", "::1". It rejects empty
// hosts, zone IDs, ports, forbidden characters and names IDNA refuses.
//
// The rules, in order:
//   - "[...]" must hold an IPv6 address; a bare string with an ASCII colon must be one too
//     ("host:port" is refused with a message saying so). Zone IDs ("%eth0") are refused.
//   - Anything else is a name, mapped with UTS #46 as browsers do (case folding, full-width
//     and circled forms, IDN to punycode). Percent-encoding is not decoded here.
//   - After mapping, the WHATWG "ends in a number" rule decides between a name and an IPv4
//     address: if the last label (ignoring one trailing dot) is decimal digits, or "0x" followed
//     by hex digits, the whole host must be an IPv4 address in inet_aton syntax (1 to 4 parts,
//     each decimal, octal with a leading 0, or hex with 0x; the last part fills the remaining
//     bytes), or Parse fails. "foo.123" and "1.2.3.4.5" are errors, never names.
//   - A name may contain only a-z, 0-9, '-', '_' and '.' after mapping, has no empty labels,
//     labels of at most 63 bytes and at most 253 bytes in all. One trailing dot is removed.
//
// Every failure is an *Error.
func Parse(s string) (Host, error) {
	h, msg := parse(s)
	if msg != "" {
		return Host{}, &Error{Input: s, Msg: msg}
	}
	return h, nil
}

// parse is Parse returning the failure as a message, so ParseTarget can wrap it in its own
// error type without a type assertion.
func parse(s string) (Host, string) {
	if s == "" {
		return Host{}, "empty host"
	}
	if s[0] == '[' {
		return parseBracketed(s)
	}
	if strings.IndexByte(s, ':') >= 0 {
		return parseColon(s)
	}
	name, msg := toASCII(s)
	if msg != "" {
		return Host{}, msg
	}
	return parseMapped(name)
}

// parseBracketed parses "[v6]".
func parseBracketed(s string) (Host, string) {
	end := strings.IndexByte(s, ']')
	switch {
	case end < 0:
		return fail("'[' without a closing ']'")
	case end != len(s)-1:
		if s[end+1] == ':' {
			return fail("a host, not host:port; give the port separately")
		}
		return fail("text after the closing ']'")
	}
	inner := s[1:end]
	if strings.IndexByte(inner, '%') >= 0 {
		return fail("IPv6 zone IDs (\"%eth0\") are not allowed; a zone names an interface of one machine, not a destination")
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is6() {
		return fail("brackets must hold an IPv6 address")
	}
	return Host{Addr: a}, ""
}

// parseColon parses a host with an ASCII colon and no brackets: an IPv6 literal, or a mistake.
func parseColon(s string) (Host, string) {
	colons := strings.Count(s, ":")
	if colons == 1 {
		i := strings.IndexByte(s, ':')
		if allDigits(s[i+1:]) {
			return fail("a host, not host:port; give the port separately")
		}
		return fail("':' is not allowed in a host name")
	}
	if strings.IndexByte(s, '%') >= 0 {
		return fail("IPv6 zone IDs (\"%eth0\") are not allowed; a zone names an interface of one machine, not a destination")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return fail("not a valid IPv6 address (write an IPv6 address with a port as [addr]:port)")
	}
	return Host{Addr: a}, ""
}

// toASCII maps s with UTS #46 and returns the ASCII form, or a message saying why it cannot.
//
// Fast path: a host that is already ASCII letters, digits, '-', '_' and '.', with no label
// starting with "xn--", maps to itself lower-cased (UTS #46 maps nothing else in that set, and an
// all-ASCII name is never a bidi domain name, so no bidi or joiner rule can apply). That path
// allocates only to lower-case. TestFastPathMatchesIDNA and FuzzParse check the equivalence.
func toASCII(s string) (string, string) {
	upper := false
	fast := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		case 'A' <= c && c <= 'Z':
			upper = true
		default:
			fast = false
		}
		if !fast {
			break
		}
	}
	if fast && !hasACELabel(s) {
		if upper {
			return strings.ToLower(s), ""
		}
		return s, ""
	}
	// Messages for the common mistakes, before UTS #46 turns them into a generic error.
	if !utf8.ValidString(s) {
		return "", "not valid UTF-8"
	}
	// UTS #46 maps no ASCII character except A-Z, so an ASCII character that is forbidden now
	// is forbidden after mapping too.
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf && !('A' <= c && c <= 'Z') {
			if msg := forbiddenMsg(c); msg != "" {
				return "", msg
			}
		}
	}
	out, err := uts46ToASCII(s)
	if err == nil && out != s && hasACELabel(out) {
		// The result must be a fixed point: x/net/idna decides whether a name is a bidi domain
		// name from the code points before mapping, so "aℵb" (ℵ maps to Hebrew alef) passes
		// once and fails when its own punycode is validated, as browsers validate it at once.
		var again string
		if again, err = uts46ToASCII(out); err == nil && again != out {
			return "", "not a valid domain name under IDNA (UTS #46) rules: its mapping is not stable"
		}
	}
	if err != nil {
		return "", "not a valid domain name under IDNA (UTS #46) rules: " + strings.TrimPrefix(err.Error(), "idna: ")
	}
	return out, ""
}

// hasACELabel reports whether a label of s starts with "xn--" in any case. Such labels are
// punycode and must be decoded and validated by IDNA, so they never take the fast path.
func hasACELabel(s string) bool {
	for len(s) >= 4 {
		if (s[0]|0x20) == 'x' && (s[1]|0x20) == 'n' && s[2] == '-' && s[3] == '-' {
			return true
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return false
		}
		s = s[i+1:]
	}
	return false
}

// parseMapped finishes Parse on the ASCII form of a name: forbidden characters, the
// "ends in a number" rule, then labels and lengths.
func parseMapped(name string) (Host, string) {
	for i := 0; i < len(name); i++ {
		if msg := forbiddenMsg(name[i]); msg != "" {
			return fail(msg)
		}
	}
	trimmed := strings.TrimSuffix(name, ".")
	if endsInNumber(trimmed) {
		a, ok := parseIPv4(trimmed)
		if !ok {
			return fail("ends in a number, so it must be an IPv4 address, and it is not a valid one " +
				"(1 to 4 dot-separated decimal, 0-octal or 0x-hex parts, each within range)")
		}
		return Host{Addr: a}, ""
	}
	if trimmed == "" {
		return fail("empty host")
	}
	if len(trimmed) > maxNameLen {
		return fail("name longer than 253 bytes")
	}
	for rest := trimmed; ; {
		i := strings.IndexByte(rest, '.')
		label := rest
		if i >= 0 {
			label = rest[:i]
		}
		if label == "" {
			return fail("empty label (two dots in a row, or a leading dot)")
		}
		if len(label) > maxLabelLen {
			return fail("label longer than 63 bytes")
		}
		if i < 0 {
			break
		}
		rest = rest[i+1:]
	}
	return Host{Name: trimmed}, ""
}

// forbiddenMsg returns why byte c may not appear in a mapped name, or "" when it may. The allowed
// set is a-z, 0-9, '-', '_' and '.': stricter than WHATWG's forbidden domain code points, which
// still admit characters such as '!' or '$' that no resolvable name contains. Upper-case letters
// are reported too; they never survive mapping.
func forbiddenMsg(c byte) string {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		return ""
	case 'A' <= c && c <= 'Z':
		return "upper-case letters must be mapped first"
	case c < 0x20 || c == 0x7f:
		return "contains a control character"
	case c == ' ':
		return "contains whitespace"
	case c == '*':
		return "'*' is a wildcard, not a host (wildcard entries are a policy form)"
	case c == '%':
		return "'%' is not allowed in a host (percent-encoding is decoded only in URLs)"
	case c >= 0x80:
		return "contains a non-ASCII character after IDNA mapping"
	default:
		return "character " + strconv.QuoteRune(rune(c)) + " is not allowed in a host"
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// endsInNumber is the WHATWG "ends in a number checker" applied to a host whose one trailing
// dot has been removed: the last label is all decimal digits, or "0x"/"0X" followed by hex
// digits only (possibly none).
func endsInNumber(s string) bool {
	last := s[strings.LastIndexByte(s, '.')+1:]
	if last == "" {
		return false
	}
	if allDigits(last) {
		return true
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		for i := 2; i < len(last); i++ {
			if !isHex(last[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// tooBig stands for any number that cannot be part of an IPv4 address.
const tooBig = 1 << 32

// parseIPv4 is the WHATWG IPv4 parser (the inet_aton syntax) on a host without its trailing dot.
func parseIPv4(s string) (netip.Addr, bool) {
	var nums [4]uint64
	n := 0
	for rest := s; ; {
		i := strings.IndexByte(rest, '.')
		part := rest
		if i >= 0 {
			part = rest[:i]
		}
		if n == 4 {
			return netip.Addr{}, false
		}
		v, ok := parseIPv4Number(part)
		if !ok {
			return netip.Addr{}, false
		}
		nums[n] = v
		n++
		if i < 0 {
			break
		}
		rest = rest[i+1:]
	}
	for i := 0; i < n-1; i++ {
		if nums[i] > 255 {
			return netip.Addr{}, false
		}
	}
	last := nums[n-1]
	if last >= 1<<(8*(5-n)) {
		return netip.Addr{}, false
	}
	v := last
	for i := 0; i < n-1; i++ {
		v |= nums[i] << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseIPv4Number is the WHATWG IPv4 number parser: decimal, octal after a leading "0", hex after
// "0x" or "0X" ("0x" alone is 0). Values above 2^32 are reported as tooBig, never wrapped.
func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		s, base = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		if v < tooBig {
			v = v*base + d
			if v > tooBig {
				v = tooBig
			}
		}
	}
	return v, true
}
