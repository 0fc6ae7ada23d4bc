//go:build !linux

package sandbox

import "context"

// HelperMain returns at once: there are no sandbox stages outside Linux.
func HelperMain() {}

// Run returns ErrUnsupported: the sandbox needs Linux namespaces.
func Run(ctx context.Context, spec Spec, serve func(Endpoints) error) (exitCode int, err error) {
	return -1, ErrUnsupported
}

// Preflight returns ErrUnsupported: the sandbox needs Linux namespaces.
func Preflight(ctx context.Context) error { return ErrUnsupported }
