//go:build !linux

package sandbox

// ConfineOptions are the choices of Confine beyond what it always does.
type ConfineOptions struct {
	// NoSockets makes socket(2) and socketpair(2) fail for every address family.
	NoSockets bool
}

// Confine returns ErrUnsupported: confinement needs Linux (capabilities, seccomp).
func Confine(opts ConfineOptions) error { return ErrUnsupported }

// CheckHost returns ErrUnsupported: there are no user namespaces outside Linux.
func CheckHost() error { return ErrUnsupported }

// NamespaceError describes a failure of step as an *Error; outside Linux there is nothing to
// explain it with.
func NamespaceError(step string, err error) *Error { return &Error{Step: step, Err: err} }
