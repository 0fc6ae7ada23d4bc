// Package audit defines airlock's audit event and writes events as JSON lines.
package audit

import "time"

// Event is one audit record: a policy decision or a finished connection. Field names are the
// JSON keys of DESIGN.md's schema; never put a header value, body or credential in one.
type Event struct {
	Time     time.Time `json:"time"`
	Event    string    `json:"event"`    // egress_allowed, egress_blocked, connection_closed, fetch, binding_call, ...
	Decision string    `json:"decision"` // allow or deny
	Server   string    `json:"server,omitempty"`
	Binding  string    `json:"binding,omitempty"`
	Host     string    `json:"host"`
	Port     uint16    `json:"port"`
	Addr     string    `json:"addr,omitempty"`
	Rule     string    `json:"rule,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Call is the binding method of a binding_call event ("sendCommand"); Method and Status are
	// the HTTP method and response status of a fetch or binding request (0 when none came).
	Call       string `json:"call,omitempty"`
	Method     string `json:"method,omitempty"`
	Status     int    `json:"status,omitempty"`
	BytesUp    int64  `json:"bytes_up"`
	BytesDown  int64  `json:"bytes_down"`
	DurationMS int64  `json:"duration_ms"`
}

// Sink receives audit events. Implementations must be safe for concurrent use.
type Sink interface {
	Audit(Event)
}
