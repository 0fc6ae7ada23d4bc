package policy

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/airlock-sh/airlock/internal/host"
)

// kind is the form of an entry's host part.
type kind uint8

const (
	kindAny    kind = iota // "*" or a bare ":ports" (deny lists only): every host
	kindExact              // "api.example.com": that name only
	kindDomain             // ".example.com": the domain and every subdomain
	kindSub                // "*.example.com": subdomains only
	kindPrefix             // an IP literal (a /32 or /128) or a CIDR
)

// portRange is an inclusive range of ports.
type portRange struct{ lo, hi uint16 }

// portSet is the ports an entry covers.
type portSet []portRange

var (
	defaultPorts = portSet{{80, 80}, {443, 443}}
	allPorts     = portSet{{1, 65535}}
)

func (s portSet) contains(p uint16) bool {
	for _, r := range s {
		if p >= r.lo && p <= r.hi {
			return true
		}
	}
	return false
}

// entry is one parsed allow or deny entry.
type entry struct {
	raw    string // as the user wrote it
	list   List
	kind   kind
	name   string       // canonical domain for kindExact, kindDomain, kindSub
	prefix netip.Prefix // for kindPrefix; IPv4-mapped prefixes are stored as IPv4
	ports  portSet
}

// single reports whether a prefix entry names exactly one address.
func (e *entry) single() bool {
	return e.kind == kindPrefix && e.prefix.Bits() == e.prefix.Addr().BitLen()
}

const (
	fixWildcard = `a wildcard may only be the whole first label; write "*.example.com" (subdomains only) or ".example.com" (the domain and its subdomains)`
	fixAllowAll = `an allow list cannot allow everything; name the destinations (api.example.com, .example.com:443), or set allow_public_internet: true for every public address`
)

// ParseEntry parses one entry of the given list. It returns an *EntryError (Index 0) when the
// entry is malformed or, in an allow list, too broad.
func ParseEntry(raw string, list List) (err error) {
	_, err = parseEntry(raw, list)
	return err
}

func parseEntry(raw string, list List) (*entry, error) {
	fail := func(msg, fix string) (*entry, error) {
		return nil, &EntryError{List: list, Entry: raw, Msg: msg, Fix: fix}
	}
	s := raw
	if s == "" {
		return fail("empty entry", "remove it, or write a host such as api.example.com")
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\r\n") {
		return fail("contains white space", "write one destination per entry, without spaces")
	}
	if strings.Contains(s, "://") {
		return fail("is a URL, not a host", "write only the host and optional port, e.g. api.example.com:443")
	}
	if strings.HasPrefix(s, "${") {
		return fail("is an unexpanded ${VAR} template", "templates are only expanded in a server's network section, from that server's env")
	}

	hostPart, portPart, hasPort, perr := splitHostPorts(s)
	if perr != "" {
		return fail(perr, "")
	}
	e := &entry{raw: raw, list: list, ports: defaultPorts}
	if hasPort {
		ports, msg := parsePorts(portPart)
		if msg != "" {
			return fail(msg, `ports are 1-65535: ":443", ":8000-8100", ":80,443" or ":*"`)
		}
		e.ports = ports
	}

	switch {
	case hostPart == "" || hostPart == "*":
		if hostPart == "" && !hasPort {
			return fail("empty host", "write a host such as api.example.com")
		}
		if list == AllowList {
			return fail("allows every host", fixAllowAll)
		}
		if hostPart == "*" && !hasPort {
			e.ports = allPorts // "*" in a deny list denies everything
		}
		e.kind = kindAny
		return e, nil

	case strings.Contains(hostPart, "/"):
		p, err := netip.ParsePrefix(strings.Trim(hostPart, "[]"))
		if err != nil {
			return fail("is not a valid CIDR block", `write it like "10.0.0.0/8" or "fd00::/8"`)
		}
		if p.Addr().Zone() != "" {
			return fail("has an IPv6 zone", "remove the %zone")
		}
		if p.Masked() != p {
			return fail("has host bits set", `write the network address: "`+p.Masked().String()+`"`)
		}
		p = unmapPrefix(p)
		if list == AllowList && p.Bits() == 0 {
			return fail("allows every address", fixAllowAll)
		}
		e.kind, e.prefix = kindPrefix, p
		return e, nil

	case strings.HasPrefix(hostPart, "*."):
		e.kind = kindSub
		hostPart = hostPart[2:]
	case strings.HasPrefix(hostPart, "."):
		e.kind = kindDomain
		hostPart = hostPart[1:]
	default:
		e.kind = kindExact
	}
	if strings.Contains(hostPart, "*") {
		return fail("has a wildcard inside the name", fixWildcard)
	}
	h, err := host.Parse(hostPart)
	if err != nil {
		var he *host.Error
		if errors.As(err, &he) {
			return fail("is not a valid host: "+he.Msg, "")
		}
		return fail("is not a valid host", "")
	}
	if h.IsIP() {
		if e.kind != kindExact {
			return fail("puts a wildcard before an IP address", `write the address alone, or a CIDR block such as "10.0.0.0/8"`)
		}
		a := h.Addr.Unmap()
		e.kind, e.prefix = kindPrefix, netip.PrefixFrom(a, a.BitLen())
		return e, nil
	}
	e.name = h.Name
	if list == AllowList {
		if msg, fix := tooBroad(e); msg != "" {
			return fail(msg, fix)
		}
	}
	return e, nil
}

// tooBroad rejects allow entries that cover a top-level domain or an ICANN public suffix, where
// every registrant's site under it would be allowed. Suffixes from the list's private section
// (github.io, githubusercontent.com) are accepted: each is run by one operator, and real profiles
// such as ToolHive's github server allow them.
func tooBroad(e *entry) (msg, fix string) {
	suffix, icann := publicsuffix.PublicSuffix(e.name)
	tld := !strings.Contains(e.name, ".")
	if suffix != e.name || !(icann || tld) {
		return "", ""
	}
	if e.kind == kindExact {
		if icann && tld {
			return "is a top-level domain", "name the host you need, e.g. api.example." + e.name
		}
		return "", ""
	}
	what := "a public suffix"
	if tld {
		what = "a top-level domain"
	}
	return "covers " + what + " (" + e.name + "): every site under it would be allowed",
		"name the sites you need, e.g. \".example." + e.name + "\""
}

// splitHostPorts splits "host", "host:ports", "[v6]", "[v6]:ports", "[v6/n]:ports", a bare
// IPv6 address or prefix (no port), ":ports" and "*:ports".
func splitHostPorts(s string) (hostPart, portPart string, hasPort bool, errMsg string) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false, "has an unclosed '['"
		}
		hostPart, rest := s[1:end], s[end+1:]
		if hostPart == "" {
			return "", "", false, "has empty brackets"
		}
		if rest == "" {
			return hostPart, "", false, ""
		}
		if rest[0] != ':' {
			return "", "", false, "has text after ']' that is not \":port\""
		}
		return hostPart, rest[1:], true, ""
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", false, ""
	case 1:
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:], true, ""
	default:
		// A bare IPv6 address or prefix: it has no port.
		return s, "", false, ""
	}
}

// parsePorts parses "443", "8000-8100", "80,443", "*".
func parsePorts(s string) (portSet, string) {
	if s == "*" {
		return allPorts, ""
	}
	if s == "" {
		return nil, "has an empty port after ':'"
	}
	var set portSet
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, msg := parsePort(lo)
		if msg != "" {
			return nil, msg
		}
		b := a
		if isRange {
			if b, msg = parsePort(hi); msg != "" {
				return nil, msg
			}
			if b < a {
				return nil, "has a port range " + part + " whose end is below its start"
			}
		}
		set = append(set, portRange{a, b})
	}
	return set, ""
}

func parsePort(s string) (uint16, string) {
	if s == "" {
		return 0, "has an empty port"
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, "has a port \"" + s + "\" that is not a number"
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > 65535 {
		return 0, "has port " + s + ", out of range 1-65535"
	}
	if n == 0 {
		return 0, "has port 0, which no connection uses"
	}
	return uint16(n), ""
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix of /96 or longer into the IPv4 prefix it covers.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}
