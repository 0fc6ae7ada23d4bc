package binding

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/airlock-sh/airlock/internal/host"
)

// urlTemplate is a parsed URL template. Its scheme, host and port come from the template's
// literal text or a credential only; parameters may appear in path segments and query values.
type urlTemplate struct {
	scheme string // "http" or "https"
	// host is a literal host in canonical form (IPv6 in brackets) or a credential reference.
	host part
	// port is a literal port ("" when the URL has none) or a credential reference.
	port part
	// path holds the segments after the first '/'; nil when the URL has no path.
	path  []tmpl
	query []queryPair
}

// queryPair is one key=value item of the query. The key is literal.
type queryPair struct {
	key   string
	eq    bool // the item has a '=' (a value, possibly empty)
	value tmpl
}

// parseURLTemplate checks the structure of a URL template: an http or https scheme, an
// authority that is a literal host or exactly {{credential.KEY}} with an optional port (digits
// or {{credential.KEY}}), no user info, no fragment; path segments and query items whose
// literal text is valid URL text. Which parameters may go where is checked by the caller.
func parseURLTemplate(raw string) (*urlTemplate, error) {
	t, err := parseTemplate(raw)
	if err != nil {
		return nil, err
	}
	u := &urlTemplate{}
	if len(t) == 0 || t[0].kind != literal {
		return nil, errors.New(`must start with http:// or https://; a parameter may never choose the scheme or host`)
	}
	scheme, rest, ok := strings.Cut(t[0].text, "://")
	switch {
	case !ok:
		return nil, errors.New(`must start with http:// or https://`)
	case scheme == "http" || scheme == "https":
	case strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https"):
		return nil, fmt.Errorf("write the scheme in lower case: %s://", strings.ToLower(scheme))
	default:
		return nil, fmt.Errorf("the scheme %q is not supported; bindings speak http:// and https:// only", scheme)
	}
	u.scheme = scheme
	t = tmpl{}.lit(rest).append(t[1:])
	if strings.Contains(t.literalText(), "#") {
		return nil, errors.New("has a fragment (#...), which is never sent to the server; remove it")
	}
	auth, delim, after := cutAny(t, "/?")
	if err := u.parseAuthority(auth); err != nil {
		return nil, err
	}
	var query tmpl
	hasQuery := false
	switch delim {
	case '/':
		var p tmpl
		p, delim, query = cutAny(after, "?")
		hasQuery = delim == '?'
		u.path = splitTmpl(p, '/')
		for _, seg := range u.path {
			if err := checkLiterals(seg, pathChars, "path"); err != nil {
				return nil, err
			}
			if seg.literalOnly() {
				if s, err := url.PathUnescape(seg.literalText()); err == nil && (s == "." || s == "..") {
					return nil, fmt.Errorf("has a %q path segment; write the path without dot segments", s)
				}
			}
		}
	case '?':
		query, hasQuery = after, true
	}
	if hasQuery {
		for _, item := range splitTmpl(query, '&') {
			key, d, value := cutAny(item, "=")
			if !key.literalOnly() {
				return nil, fmt.Errorf("a parameter may be a query value (?key={{name}}), never a query key; write the key out")
			}
			if err := checkLiterals(item, queryChars, "query"); err != nil {
				return nil, err
			}
			u.query = append(u.query, queryPair{key: key.literalText(), eq: d == '=', value: value})
		}
	}
	return u, nil
}

// parseAuthority reads host[:port]: a literal host or exactly {{credential.KEY}}, then
// optionally ':' and a literal port or exactly {{credential.KEY}}.
func (u *urlTemplate) parseAuthority(auth tmpl) error {
	const fix = "the host must be a literal name or address, or exactly {{credential.KEY}}, optionally followed by :PORT (http://{{credential.tvIP}}:3000/...)"
	for _, p := range auth {
		switch {
		case p.kind == paramRef:
			return fmt.Errorf("{{%s}} is in the host or port; a parameter may never choose where the request goes: put it in the path or the query; %s", p.text, fix)
		case p.kind == literal && strings.Contains(p.text, "@"):
			return errors.New("has user info (user@host); put credentials in a header (Authorization: Bearer {{credential.token}}), never in the URL")
		}
	}
	if len(auth) == 0 {
		return errors.New("has no host; " + fix)
	}
	var tail tmpl
	if auth[0].kind == credRef {
		u.host = auth[0]
		tail = auth[1:]
	} else {
		text := auth[0].text
		var hs string
		if strings.HasPrefix(text, "[") {
			end := strings.IndexByte(text, ']')
			if end < 0 {
				return errors.New("has an unclosed '[' in the host; write an IPv6 address as [fd00::1]")
			}
			hs, text = text[:end+1], text[end+1:]
		} else if i := strings.IndexByte(text, ':'); i >= 0 {
			hs, text = text[:i], text[i:]
		} else {
			hs, text = text, ""
		}
		if hs == "" {
			return errors.New("has no host; " + fix)
		}
		h, err := literalHost(hs)
		if err != nil {
			return err
		}
		u.host = part{kind: literal, text: h}
		tail = tmpl{}.lit(text)
		tail = append(tail, auth[1:]...)
	}
	if len(tail) == 0 {
		return nil
	}
	if tail[0].kind != literal || !strings.HasPrefix(tail[0].text, ":") {
		return errors.New("has text after the host; " + fix)
	}
	tail = tmpl{}.lit(tail[0].text[1:]).append(tail[1:])
	switch {
	case len(tail) == 1 && tail[0].kind == credRef:
		u.port = tail[0]
	case len(tail) == 1 && tail[0].kind == literal:
		if _, err := parsePort(tail[0].text); err != nil {
			return err
		}
		u.port = tail[0]
	default:
		return errors.New("has a port that is neither digits nor exactly {{credential.KEY}}; " + fix)
	}
	return nil
}

func (t tmpl) append(more tmpl) tmpl {
	for _, p := range more {
		if p.kind == literal {
			t = t.lit(p.text)
		} else {
			t = append(t, p)
		}
	}
	return t
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || s[0] == '+' {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

var hostChars = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// literalHost checks a host written in a URL template and returns its canonical form.
func literalHost(s string) (string, error) {
	if !strings.HasPrefix(s, "[") && !hostChars.MatchString(s) {
		return "", fmt.Errorf("the host %q may hold only letters, digits, '.', '-' and '_' (write an internationalised name in punycode, an IPv6 address in brackets)", s)
	}
	h, err := host.Parse(s)
	if err != nil {
		return "", fmt.Errorf("the host is not valid: %v", err)
	}
	return urlHost(h), nil
}

// urlHost is h as it goes in a URL: an IPv4-mapped address as IPv4, IPv6 in brackets.
func urlHost(h host.Host) string {
	if h.IsIP() {
		a := h.Addr.Unmap()
		if a.Is6() {
			return "[" + a.String() + "]"
		}
		return a.String()
	}
	return h.String()
}

// credentialHost checks a credential value used as a host and returns it as it goes in a URL.
// The error never includes the value.
func credentialHost(v string) (string, error) {
	if a, err := netip.ParseAddr(v); err == nil {
		if a.Zone() != "" {
			return "", errors.New("is an IPv6 address with a zone; write the address without %zone")
		}
		return urlHost(host.Host{Addr: a}), nil
	}
	if !hostChars.MatchString(v) {
		return "", errors.New("is not a host name or IP address (only letters, digits, '.', '-' and '_'; no scheme, port or path)")
	}
	h, err := host.Parse(v)
	if err != nil {
		return "", errors.New("is not a valid host name or IP address")
	}
	return urlHost(h), nil
}

// Characters a template's literal text may hold, besides percent-escapes (RFC 3986 pchar, and
// '/' and '?' in a query).
const (
	pathChars  = "-._~!$&'()*+,;=:@"
	queryChars = pathChars + "/?"
)

// checkLiterals checks the literal text of a path segment or query item.
func checkLiterals(t tmpl, extra, where string) error {
	for _, p := range t {
		if p.kind != literal {
			continue
		}
		s := p.text
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte(extra, c) >= 0:
			case c == '%':
				if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
					return fmt.Errorf("has a '%%' in the %s that is not a %%XX escape; write %%25 for a literal '%%'", where)
				}
				i += 2
			default:
				return fmt.Errorf("has %q in the %s, which is not valid URL text; percent-encode it (%%%02X)", rune(c), where, c)
			}
		}
	}
	return nil
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// literalText is the literal text of t, placeholders left out.
func (t tmpl) literalText() string {
	var b strings.Builder
	for _, p := range t {
		if p.kind == literal {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// cutAny splits t at the first byte of set in its literal text.
func cutAny(t tmpl, set string) (before tmpl, delim byte, after tmpl) {
	for i, p := range t {
		if p.kind != literal {
			continue
		}
		if j := strings.IndexAny(p.text, set); j >= 0 {
			before = append(tmpl{}, t[:i]...).lit(p.text[:j])
			after = tmpl{}.lit(p.text[j+1:]).append(t[i+1:])
			return before, p.text[j], after
		}
	}
	return t, 0, nil
}

// splitTmpl splits t at every sep in its literal text.
func splitTmpl(t tmpl, sep byte) []tmpl {
	var out []tmpl
	for {
		before, d, after := cutAny(t, string(sep))
		out = append(out, before)
		if d == 0 {
			return out
		}
		t = after
	}
}

// refs calls f for every placeholder of the URL with where it is: "host", "port", "path" or
// "query".
func (u *urlTemplate) refs(f func(p part, where string, seg tmpl)) {
	if u.host.kind != literal {
		f(u.host, "host", nil)
	}
	if u.port.kind != literal {
		f(u.port, "port", nil)
	}
	for _, seg := range u.path {
		for _, p := range seg {
			if p.kind != literal {
				f(p, "path", seg)
			}
		}
	}
	for _, q := range u.query {
		for _, p := range q.value {
			if p.kind != literal {
				f(p, "query", q.value)
			}
		}
	}
}
