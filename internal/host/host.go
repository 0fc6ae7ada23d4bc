// Package host turns the host part of a URL, an allow entry or a dial address into one canonical
// form: a lower-case ASCII DNS name, or an IP address however it was spelled.
package host

import (
	"net/netip"
)

// Host is a canonical host: exactly one of Name and Addr is set.
type Host struct {
	// Name is the canonical DNS name: lower case, IDNA (UTS #46) mapped to punycode, no trailing
	// dot. Empty when the host is an IP address.
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

// Error is a host that cannot be normalised. Input is the text as given.
type Error struct {
	Input string
	Msg   string
}

func (e *Error) Error() string { return "host " + quote(e.Input) + ": " + e.Msg }

func quote(s string) string { return `"` + s + `"` }

// Parse normalises a host as it appears in a URL authority or a policy entry, without a port:
// "Example.COM.", "ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "0x7f.1", "2130706433", "[::1]", "::1". It rejects empty
// hosts, zone IDs, ports, forbidden characters and names IDNA refuses.
func Parse(s string) (Host, error) {
	return Host{}, &Error{Input: s, Msg: "not implemented"}
}
