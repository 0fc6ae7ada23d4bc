package egress

import (
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/airlock-sh/airlock/internal/policy"
)

// BlockedError is returned when the policy refuses a destination. It survives the wrapping of
// *http.Client (url.Error) and of callers, so check it with errors.As:
//
//	var blocked *egress.BlockedError
//	if errors.As(err, &blocked) { ... blocked.Decision.Reason ... }
type BlockedError struct {
	// Host is the canonical host (a name or an address), or the host as given when it could
	// not be parsed.
	Host string
	// Port is the destination port; 0 when it could not be parsed.
	Port     uint16
	Decision policy.Decision
}

// Error says what was blocked, why, which rule decided, and what would change the verdict:
//
//	airlock: blocked 169.254.169.254:80: a cloud metadata address (rule: address:metadata); ...
func (e *BlockedError) Error() string {
	var b strings.Builder
	b.WriteString("airlock: blocked ")
	switch {
	case e.Port != 0:
		b.WriteString(net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))))
	case e.Host != "":
		b.WriteString(e.Host)
	default:
		b.WriteString("request")
	}
	b.WriteString(": ")
	b.WriteString(e.why())
	if e.Decision.Rule != "" {
		b.WriteString(" (rule: ")
		b.WriteString(e.Decision.Rule)
		b.WriteString(")")
	}
	// The policy's Detail is written for this decision and says what would change it; the
	// generic hint stands in when there is none, and follows decisions made here (not by the
	// policy), whose Detail is only the underlying error.
	detail := e.Decision.Detail
	if detail != "" {
		b.WriteString("; ")
		b.WriteString(detail)
	}
	if hint := fixFor(e.Decision.Reason); hint != "" && (detail == "" || e.Decision.Rule == ruleDNS || e.Decision.Rule == ruleTarget || e.Decision.Rule == ruleScheme) {
		b.WriteString("; ")
		b.WriteString(hint)
	}
	return b.String()
}

// why is the reason as a phrase. For a name refused by an address rule it names the address
// the name resolved to, since that is what the user did not expect.
func (e *BlockedError) why() string {
	r := e.Decision.Reason
	switch r {
	case policy.ReasonNoMatchingAllow:
		return "no allow entry matches it"
	case policy.ReasonDeniedByEntry:
		return "a deny entry matches it"
	case policy.ReasonUnresolvable:
		return "the name did not resolve to any address"
	case policy.ReasonInvalidTarget:
		return "not a valid host"
	case policy.ReasonInvalidPort:
		return "not a valid port"
	case policy.ReasonUnsupportedScheme:
		return "unsupported URL scheme"
	case "":
		return "denied"
	}
	phrase, ok := addressPhrases[string(r)]
	if !ok {
		phrase = "a " + strings.ReplaceAll(string(r), "_", " ") + " destination"
	}
	// The policy's Detail names the address itself; without it, say what the name resolved to.
	if a := e.Decision.Addr; a.IsValid() && a.String() != e.Host && e.Decision.Detail == "" {
		return "resolves to " + a.String() + ", " + phrase
	}
	return phrase
}

// addressPhrases names netguard's reasons for a user.
var addressPhrases = map[string]string{
	"unspecified":     `an unspecified ("this network") address`,
	"loopback":        "a loopback address",
	"private":         "a private network address",
	"cgnat":           "a carrier-grade NAT (shared) address",
	"link_local":      "a link-local address",
	"metadata":        "a cloud metadata address",
	"multicast":       "a multicast address",
	"broadcast":       "the broadcast address",
	"documentation":   "a documentation-only address",
	"benchmarking":    "a benchmarking address",
	"reserved":        "a reserved address",
	"special_purpose": "a special-purpose address that is not globally reachable",
	"own_address":     "one of this machine's own addresses",
	"special_name":    "a special-use name that is never resolved",
}

// fixFor says what would change a verdict, when the policy gave no detail of its own.
func fixFor(r policy.Reason) string {
	switch r {
	case policy.ReasonNoMatchingAllow:
		return `add "host:port" to the allow list to permit it`
	case policy.ReasonDeniedByEntry:
		return "deny entries win over allow entries; remove the deny entry to permit it"
	case policy.ReasonUnresolvable:
		return "check the name, or pin its address"
	case policy.ReasonInvalidTarget:
		return "use a DNS name or an IP address"
	case policy.ReasonInvalidPort:
		return "use a port from 1 to 65535"
	case policy.ReasonUnsupportedScheme:
		return "airlock fetches only http:// and https:// URLs"
	case "loopback", "own_address":
		return "set allow_localhost, or allow the exact IP address, to permit it"
	case "private", "cgnat":
		return "set allow_private_ips, or allow the exact IP address or CIDR, to permit it"
	case "metadata":
		return "airlock never allows it through a name; only an explicit IP allow entry grants it"
	}
	return ""
}

// ErrResponseTooLarge is returned by a SafeFetch response body read that goes past the
// policy's max_response_size. The body is not silently truncated.
var ErrResponseTooLarge = errors.New("airlock: response body larger than max_response_size")

// ErrRequestTooLarge is returned when a SafeFetch request body is larger than the policy's
// max_request_size: before anything is sent when the length is known, or when the body being
// streamed goes past the limit.
var ErrRequestTooLarge = errors.New("airlock: request body larger than max_request_size")
