package binding

// Reasons of a failed call: the Reason of a *CallError and of its binding_call audit event.
const (
	ReasonUnknownBinding   = "unknown_binding"
	ReasonUnknownMethod    = "unknown_method"
	ReasonUnavailable      = "binding_unavailable" // the credential, policy or Go client could not be set up
	ReasonInvalidArguments = "invalid_arguments"
	ReasonBlocked          = "blocked" // the binding's policy refused the destination
	ReasonRequestFailed    = "request_failed"
	ReasonHTTPStatus       = "http_status" // the device answered with a status outside 2xx
	ReasonResponseTooLarge = "response_too_large"
	ReasonGoError          = "error" // a Go method returned an error
	ReasonClosed           = "closed"
)

// CallError is why a Call failed. Its text is safe to show to sandboxed code: it never holds a
// secret parameter's value, and credential values are redacted from it. The cause (Err) is
// kept for errors.Is and errors.As (an *egress.BlockedError when the policy refused); its own
// text is not redacted.
type CallError struct {
	Binding string
	Method  string
	// Msg says what went wrong and what to do.
	Msg    string
	Reason string
	Err    error
}

func (e *CallError) Error() string {
	prefix := e.Binding
	if e.Method != "" {
		prefix += "." + e.Method
	}
	if prefix == "" {
		return e.Msg
	}
	return prefix + ": " + e.Msg
}

func (e *CallError) Unwrap() error { return e.Err }
