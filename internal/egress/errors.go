package egress

import (
	"errors"
	"net"
	"strconv"

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
//	airlock: blocked 169.254.169.254:80 (metadata, rule: address:metadata): 169.254.169.254 is a cloud metadata address (...); airlock never allows it through a name; ...
func (e *BlockedError) Error() string {
	dest := e.Host
	switch {
	case e.Port != 0:
		dest = net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port)))
	case dest == "":
		dest = "request"
	}
	return "airlock: " + e.Decision.Message(dest)
}

// ErrResponseTooLarge is returned by a SafeFetch response body read that goes past the
// policy's max_response_size. The body is not silently truncated.
var ErrResponseTooLarge = errors.New("airlock: response body larger than max_response_size")

// ErrRequestTooLarge is returned when a SafeFetch request body is larger than the policy's
// max_request_size: before anything is sent when the length is known, or when the body being
// streamed goes past the limit.
var ErrRequestTooLarge = errors.New("airlock: request body larger than max_request_size")
