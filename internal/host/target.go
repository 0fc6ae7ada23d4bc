package host

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Target is a destination named on airlock's command line or handed to it by a client: a URL,
// "host[:port]" or an IP literal.
type Target struct {
	Raw    string // the input as given
	Scheme string // lower case; empty for "host[:port]" targets
	Host   Host
	// Port is the explicit port, or the scheme's default (80 for http and ws, 443 for https and
	// wss). A target without a scheme and without a port gets 443.
	Port uint16
	// PortExplicit is true when the input named the port.
	PortExplicit bool
	// Userinfo is true when the authority carried a user name or password ("user:pass@host").
	// It never changes the host; callers may refuse such URLs or strip the credentials.
	Userinfo bool
}

// Target error codes, stable for scripts that read `airlock check` output.
const (
	CodeInvalidTarget     = "invalid_target"     // empty, or not a URL, host or host:port at all
	CodeInvalidHost       = "invalid_host"       // the host part does not Parse
	CodeInvalidPort       = "invalid_port"       // not decimal, 0, or above 65535
	CodeUnsupportedScheme = "unsupported_scheme" // a scheme other than http, https, ws, wss
	CodeAmbiguousURL      = "ambiguous_url"      // URL parsers disagree on the host or port
)

// TargetError says why a target cannot be judged. Code is a stable snake_case name
// ("unsupported_scheme", "ambiguous_url", "invalid_port", "invalid_host", "invalid_target").
type TargetError struct {
	Input string
	Code  string
	Msg   string
}

func (e *TargetError) Error() string { return quote(e.Input) + ": " + e.Msg }

// defaultPorts holds the special schemes airlock judges, with their default ports.
var defaultPorts = map[string]uint16{"http": 80, "https": 443, "ws": 80, "wss": 443}

// defaultPortNoScheme is the port of a "host" target without scheme and port.
const defaultPortNoScheme = 443

// ParseTarget parses a URL (http, https, ws, wss), "host[:port]", "[v6]:port" or an IP literal.
// URL hosts are read the way the WHATWG URL standard (browsers, Node's fetch) reads them; when an
// RFC 3986 parser would read a different host from the same text, the target is refused as
// ambiguous, because a checker and a client that disagree are how SSRF filters are bypassed.
//
// Reading, step by step:
//   - Leading and trailing C0 controls and spaces are trimmed; tabs, CR and LF are removed
//     everywhere (as WHATWG does).
//   - A bare string with two or more colons and no brackets, slash, '@', '?' or '#' is an IPv6
//     literal without a port ("::1", "fe80::1" — zone IDs are refused).
//   - "name:" followed by a digit is "host:port", not a scheme ("localhost:8080"). Any other
//     scheme than http, https, ws and wss is refused as unsupported_scheme. A special scheme is
//     always a scheme, so "http:8080" is the URL http://8080/, whose host is the IPv4 address
//     0.0.31.144, as in a browser.
//   - After a special scheme every '/' and '\' is skipped; the authority ends at the first '/',
//     '\', '?' or '#'; the last '@' ends the userinfo; the host ends at the first ':' outside
//     brackets. A port is decimal digits, 1 to 65535; an empty port means the default.
//   - The host is percent-decoded (not inside brackets) and normalised with Parse. A decoded
//     ':', '[' or ']' is refused, and so is a percent-encoded NUL ("%00"), which C clients treat
//     as the end of the name (ambiguous_url).
//   - A target without scheme is read the same way, after checking that it does not start with
//     a slash and has no "://" before its path; its default port is 443.
//
// The ambiguity rule. The second reading is the one shared by RFC 3986 parsers (Go's net/url,
// curl, Python, Java, urllib3): backslash is an ordinary character, so the authority ends only at
// '/', '?' or '#'. Leading slashes and backslashes are skipped in both readings: curl accepts one
// to three slashes, a parser that insists on exactly "//" either sees the same authority or none
// (and then sends nothing), and a parser that keeps a leading backslash reads a host that begins
// with it, which resolves, if at all, to the same name or to nothing. If both readings cover the
// same authority text they agree by construction. Otherwise the second reading is parsed like
// the first (userinfo, port, percent-decoding, Parse); the target is ambiguous when it yields a
// different host or port, or when it yields no valid host at all: the input then has a
// backslash inside what RFC 3986 calls the authority, and a lenient client may hand the whole
// string to its resolver, where "\." is a DNS escape ("allowed.com\.evil.net" resolves under
// evil.net). So "http://evil.com\@127.0.0.1/" and "http://127.0.0.1\@evil.com/" are ambiguous,
// and so is "http://example.com\path"; "http:/\127.0.0.1" and "http://a@b@example.com" are not.
//
// Two more pairs of readings are compared the same way: a percent-encoded NUL in the host (C
// clients stop at it, others do not) is always ambiguous, and a non-ASCII name is also mapped
// with IDNA2003-compatible transitional processing (Python's "idna" codec, Java's IDN), which
// reads "faß.de" as fass.de where browsers read xn--fa-hia.de.
func ParseTarget(s string) (Target, error) {
	in := clean(s)
	if in == "" {
		return Target{}, targetError(s, CodeInvalidTarget, "empty target")
	}
	if strings.Count(in, ":") >= 2 && !strings.ContainsAny(in, "[]/\\@?#") {
		h, msg := parse(in)
		if msg != "" {
			return Target{}, targetError(s, CodeInvalidHost, "host "+quote(in)+": "+msg)
		}
		return Target{Raw: s, Host: h, Port: defaultPortNoScheme}, nil
	}
	if scheme, rest, ok := cutScheme(in); ok {
		lower := strings.ToLower(scheme)
		if def, special := defaultPorts[lower]; special {
			t, err := parseAuthority(s, strings.TrimLeft(rest, "/\\"), def)
			if err != nil {
				return Target{}, err
			}
			t.Scheme = lower
			return t, nil
		}
		if !portLike(rest) {
			return Target{}, targetError(s, CodeUnsupportedScheme, "unsupported scheme "+quote(lower)+
				": airlock judges only http, https, ws and wss URLs, host, host:port and IP literals")
		}
	}
	if in[0] == '/' || in[0] == '\\' {
		return Target{}, targetError(s, CodeInvalidTarget, "a path is not a target; give a URL, host, host:port or IP address")
	}
	if i := strings.Index(in, "://"); i >= 0 && !strings.ContainsAny(in[:i], "/?#") {
		// "ｈｔｔｐ://x", "1http://x": shaped like a URL, but without a scheme a URL parser accepts.
		return Target{}, targetError(s, CodeInvalidTarget, "not a URL: the text before \"://\" is not a scheme")
	}
	return parseAuthority(s, in, defaultPortNoScheme)
}

func targetError(input, code, msg string) *TargetError {
	return &TargetError{Input: input, Code: code, Msg: msg}
}

// clean trims leading and trailing C0 controls and spaces and removes ASCII tab, LF and CR
// anywhere, as the WHATWG URL parser does before reading a URL.
func clean(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
	}
	return s
}

// cutScheme splits "scheme:rest" when s starts with something shaped like a scheme
// ([A-Za-z][A-Za-z0-9+.-]*). Whether it is one is for the caller to decide.
func cutScheme(s string) (scheme, rest string, ok bool) {
	if s == "" || !('a' <= s[0]|0x20 && s[0]|0x20 <= 'z') {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c|0x20 && c|0x20 <= 'z', '0' <= c && c <= '9', c == '+', c == '-', c == '.':
		case c == ':':
			return s[:i], s[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// portLike reports whether what follows "name:" reads as a port rather than the rest of a URL:
// it starts with a digit ("localhost:8080", "example.com:443/x"), or with '+', '-' or a space,
// so that "example.com:+80" is reported as a bad port, not as a scheme.
func portLike(rest string) bool {
	if rest == "" {
		return false
	}
	c := rest[0]
	return '0' <= c && c <= '9' || c == '+' || c == '-' || c == ' '
}

// authority is one reading of a URL authority.
type authority struct {
	host     Host
	port     uint16
	explicit bool
	userinfo bool
	hostport string // the text after the userinfo, for messages (never the userinfo: it may hold a password)
}

// parseAuthority reads the authority at the start of rest (after the scheme and its slashes, or
// the whole schemeless target) in both readings and refuses the target when they disagree.
func parseAuthority(input, rest string, defPort uint16) (Target, error) {
	// The RFC 3986 authority ends at the first '/', '?' or '#'; the WHATWG one also at a backslash.
	rfcEnd, whatwgEnd := len(rest), -1
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == '/' || c == '?' || c == '#' {
			rfcEnd = i
			break
		} else if c == '\\' && whatwgEnd < 0 {
			whatwgEnd = i
		}
	}
	if whatwgEnd < 0 {
		whatwgEnd = rfcEnd
	}
	whatwg, rfc := rest[:whatwgEnd], rest[:rfcEnd]
	a, err := readAuthority(input, whatwg, defPort)
	if err != nil {
		return Target{}, err
	}
	if rfc != whatwg {
		b, err := readAuthority(input, rfc, defPort)
		if err != nil {
			return Target{}, targetError(input, CodeAmbiguousURL, "ambiguous URL: browsers and Node's fetch (WHATWG) read "+
				quote(hostPort(a.host, a.port))+", RFC 3986 parsers (curl, Go, Python) read "+quote(b.hostport)+
				", which is not a valid host and port, so some clients refuse it and others resolve it as it is"+
				"; airlock refuses URLs that clients read differently (remove the backslash or percent-encode it as %5C)")
		}
		if a.host != b.host || a.port != b.port {
			return Target{}, targetError(input, CodeAmbiguousURL, "ambiguous URL: browsers and Node's fetch (WHATWG) read "+
				quote(hostPort(a.host, a.port))+", RFC 3986 parsers (curl, Go, Python) read "+quote(hostPort(b.host, b.port))+
				"; airlock refuses URLs that clients read differently (remove the backslash or percent-encode it as %5C)")
		}
	}
	return Target{Raw: input, Host: a.host, Port: a.port, PortExplicit: a.explicit, Userinfo: a.userinfo}, nil
}

// hostPort formats a host and port for messages, with brackets around IPv6.
func hostPort(h Host, port uint16) string {
	p := strconv.Itoa(int(port))
	if h.Addr.Is6() {
		return "[" + h.String() + "]:" + p
	}
	return h.String() + ":" + p
}

// readAuthority reads "[userinfo@]host[:port]". The returned error is a *TargetError.
func readAuthority(input, auth string, defPort uint16) (authority, error) {
	var a authority
	hostport := auth
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		a.userinfo = true
		hostport = auth[at+1:]
	}
	a.hostport = hostport
	if hostport == "" {
		return a, targetError(input, CodeInvalidHost, "no host")
	}
	rawHost, portText, hasPort := hostport, "", false
	inBrackets := false
	for i := 0; i < len(hostport); i++ {
		switch hostport[i] {
		case '[':
			inBrackets = true
		case ']':
			inBrackets = false
		case ':':
			if !inBrackets {
				rawHost, portText, hasPort = hostport[:i], hostport[i+1:], true
				i = len(hostport)
			}
		}
	}
	if rawHost == "" {
		return a, targetError(input, CodeInvalidHost, "no host before the port (write an IPv6 address with a port as [addr]:port)")
	}
	a.port = defPort
	if hasPort && portText != "" {
		p, msg := parsePort(portText)
		if msg != "" {
			return a, targetError(input, CodeInvalidPort, msg)
		}
		a.port, a.explicit = p, true
	}
	h, code, msg := decodeHost(rawHost)
	if msg != "" {
		return a, targetError(input, code, msg)
	}
	a.host = h
	return a, nil
}

// parsePort parses a port: decimal digits only (leading zeros allowed, as WHATWG does), 1 to
// 65535. It returns a message when the port is invalid.
func parsePort(s string) (uint16, string) {
	if !allDigits(s) {
		return 0, "port " + quote(s) + " is not a decimal number"
	}
	var v uint32
	for i := 0; i < len(s); i++ {
		v = v*10 + uint32(s[i]-'0')
		if v > 65535 {
			return 0, "port " + quote(s) + " is out of range (1 to 65535)"
		}
	}
	if v == 0 {
		return 0, "port 0 is not a destination"
	}
	return uint16(v), ""
}

// decodeHost percent-decodes a URL host (not a bracketed one: WHATWG does not decode those) and
// runs it through Parse. It returns an error code and message on failure.
func decodeHost(raw string) (Host, string, string) {
	dec := raw
	if raw[0] != '[' {
		if strings.Contains(raw, "%00") {
			return Host{}, CodeAmbiguousURL, "the host contains a percent-encoded NUL (%00); C clients stop reading the name there, others do not"
		}
		dec = percentDecode(raw)
		if !utf8.ValidString(dec) {
			return Host{}, CodeInvalidHost, "host " + quote(raw) + " is not valid UTF-8 after percent-decoding"
		}
		if i := strings.IndexAny(dec, ":[]"); i >= 0 {
			return Host{}, CodeInvalidHost, "host " + quote(raw) + ": character " + strconv.QuoteRune(rune(dec[i])) + " is not allowed in a host"
		}
	}
	h, msg := parse(dec)
	if msg != "" {
		return Host{}, CodeInvalidHost, "host " + quote(dec) + ": " + msg
	}
	if h.Name != "" && !isASCII(dec) {
		// A second reading of the same name: IDNA2003 (transitional) clients map ß to "ss", ς
		// to σ and drop joiners, so "faß.de" is xn--fa-hia.de in a browser and fass.de in
		// Python's http.client. When the readings name different hosts, refuse.
		if alt, err := transitionalToASCII(dec); err == nil {
			if ah, msg := parseMapped(alt); msg == "" && ah != h {
				return Host{}, CodeAmbiguousURL, "ambiguous host " + quote(dec) + ": browsers and Node's fetch (UTS #46) read " +
					quote(h.String()) + ", IDNA2003 clients (Python's http.client, Java) read " + quote(ah.String())
			}
		}
	}
	return h, "", ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// percentDecode is WHATWG percent-decoding: "%" and two hex digits is a byte; any other "%" is
// kept as it is (and Parse then refuses it).
func percentDecode(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
