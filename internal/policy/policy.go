// Package policy parses allow and deny entries and decides, per destination, whether airlock lets
// a connection through. It is pure: no I/O, no logging; a decision is a value.
package policy

import (
	"encoding/json"
	"net/netip"
	"time"

	"github.com/airlock-sh/airlock/internal/host"
)

// Spec is a network policy as written by a user (config file, flags, ToolHive profile), before
// it is compiled. The zero value denies everything. Its JSON form uses the config file's key
// names.
type Spec struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
	// AllowPrivateIPs grants RFC 1918, unique-local, CGNAT addresses and local-network names.
	AllowPrivateIPs bool `json:"allow_private_ips"`
	// AllowLocalhost grants loopback addresses, localhost names and this machine's own addresses.
	AllowLocalhost bool `json:"allow_localhost"`
	// AllowPublicInternet allows every destination on any port whose addresses are all globally
	// reachable (the code-mode default); the address rules and deny entries still apply.
	AllowPublicInternet bool   `json:"allow_public_internet"`
	Limits              Limits `json:"limits"`
}

// Limits bound what one connection or request may do. A zero field means "no limit set": the
// component enforcing it applies its own documented default.
type Limits struct {
	MaxRequestSize  int64         `json:"max_request_size"`  // bytes
	MaxResponseSize int64         `json:"max_response_size"` // bytes
	Timeout         time.Duration `json:"-"`                 // whole request or connection set-up
	MaxConnections  int           `json:"max_connections"`   // concurrent connections
}

// MarshalJSON writes the limits with the config file's key names; timeout as a duration
// string ("30s"), or "" when unset.
func (l Limits) MarshalJSON() ([]byte, error) {
	type plain Limits
	t := ""
	if l.Timeout > 0 {
		t = l.Timeout.String()
	}
	return json.Marshal(struct {
		plain
		Timeout string `json:"timeout"`
	}{plain(l), t})
}

// List says which list an entry belongs to.
type List uint8

const (
	AllowList List = iota
	DenyList
)

func (l List) String() string {
	if l == DenyList {
		return "deny"
	}
	return "allow"
}

// EntryError is an entry that cannot be used. Index is its position in its list (0-based), so a
// config loader can point at the line it came from.
type EntryError struct {
	List  List
	Index int
	Entry string
	Msg   string // what is wrong
	Fix   string // what to write instead; may be empty
}

func (e *EntryError) Error() string {
	s := e.List.String() + " entry \"" + e.Entry + "\": " + e.Msg
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// Reason is the stable snake_case name of why a decision went the way it did. The address
// reasons are netguard's names ("loopback", "private", "metadata", ...).
type Reason string

// Policy-level reasons.
const (
	ReasonAllowedByEntry    Reason = "allowed_by_entry"
	ReasonPublicInternet    Reason = "public_internet"
	ReasonDeniedByEntry     Reason = "denied_by_entry"
	ReasonNoMatchingAllow   Reason = "no_matching_allow"
	ReasonInvalidPort       Reason = "invalid_port"
	ReasonUnresolvable      Reason = "unresolvable"
	ReasonUnsupportedScheme Reason = "unsupported_scheme"
	ReasonInvalidTarget     Reason = "invalid_target"
)

// Decision is the verdict on one destination, with what decided it.
type Decision struct {
	Allow  bool
	Reason Reason
	// Rule is the entry that decided, as the user wrote it ("api.github.com:443",
	// ".example.com"), or the switch or address rule ("allow_public_internet",
	// "address:metadata", "default").
	Rule string
	// Addr is the address that decided, when an address rule or IP entry did.
	Addr netip.Addr
	// Detail adds what the user needs to understand or fix the decision (the registry block
	// that matched, the switch that would grant it).
	Detail string

	// Which policy's Decide made this decision, for which destination: DecideResolved trusts
	// a stage-1 decision only when they match.
	from *Policy
	host host.Host
	port uint16
}
