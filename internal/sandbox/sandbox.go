// Package sandbox runs a workload in its own user, network, mount and PID namespaces, where the
// only way out is a set of loopback endpoints that the caller serves from outside.
//
// The calling binary re-executes itself (/proc/self/exe) as an in-namespace helper. The helper
// brings up lo, mounts a fresh /proc and a generated resolv.conf, creates the endpoints inside the
// sandbox's network namespace and hands their descriptors to the supervisor (the caller) over a
// socketpair. It then drops every capability, sets no_new_privs and installs a seccomp filter on
// itself, and when the caller has started serving the endpoints it forks and execs the workload,
// which inherits all of that.
// The helper is PID 1 of the sandbox: when the supervisor dies, the helper dies, and the kernel
// kills everything else in the sandbox. Programs using the package must call HelperMain first
// thing in main (and in TestMain of any package whose tests call Run).
//
// Only Linux is supported; elsewhere Run and Preflight return ErrUnsupported.
package sandbox

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
)

// Spec describes the workload and the sandbox around it. The zero value of every optional field
// is documented with the field.
type Spec struct {
	// Path is the program to run. A path without a slash is looked up in the PATH of Env, the way
	// exec.LookPath does (so a relative PATH entry is refused with exec.ErrDot); a relative path
	// with a slash is relative to Dir. Required.
	Path string
	// Args is the command line including argv[0]. Empty means []string{Path}.
	Args []string
	// Env is the workload's environment, passed exactly. Nil or empty means an empty environment,
	// never the caller's: nothing reaches the sandbox that the caller did not put here.
	Env []string
	// Dir is the workload's working directory. Empty means the caller's.
	Dir string

	// Stdin, Stdout and Stderr become the workload's descriptors 0, 1 and 2 as they are: no
	// goroutine copies them, so byte streams such as MCP's stdio framing pass untouched. Nil
	// means /dev/null. The workload inherits no other descriptor.
	Stdin, Stdout, Stderr *os.File

	// ResolvConf is bind-mounted (read-only) over /etc/resolv.conf inside the sandbox, or over
	// the file it links to when it is a symbolic link. Nil means DefaultResolvConf. When the host
	// has no /etc/resolv.conf (or it is a dangling link), nothing is mounted: resolvers then use
	// 127.0.0.1 by default, which is the sandbox's DNS endpoint.
	ResolvConf []byte

	// AllowUnixSockets grants AF_UNIX sockets. Empty (the default) means socket(AF_UNIX, ...)
	// fails with EPERM. Non-empty allows socket(AF_UNIX, ...) for the whole workload: the
	// filter cannot see the path a socket connects to, so every unix socket the workload's uid
	// can reach in the filesystem becomes reachable, not only the paths listed. Paths must be
	// absolute. Abstract unix sockets belong to the network namespace and stay unreachable.
	AllowUnixSockets []string

	// Signals, when not nil, carries signals to deliver to the workload (the CLI forwards
	// SIGINT, SIGTERM, SIGHUP and SIGQUIT here). Signals that are not syscall.Signal values are
	// ignored; a signal sent before the workload started is delivered as soon as it runs. Note
	// that a signal the terminal sends to the whole foreground process group (Ctrl-C) already
	// reaches the workload, which shares the caller's process group.
	Signals <-chan os.Signal
}

// Endpoints are the sandbox's only way out: sockets created inside its network namespace and
// received by the supervisor, which serves them. Run closes them when it returns; goroutines
// serving them then see net.ErrClosed.
type Endpoints struct {
	HTTPProxy net.Listener   // 127.0.0.1:3128/tcp in the sandbox
	SOCKS     net.Listener   // 127.0.0.1:1080/tcp
	DNS       net.PacketConn // 127.0.0.1:53/udp
	DNSTCP    net.Listener   // 127.0.0.1:53/tcp
}

// Addresses of the endpoints as the workload sees them.
const (
	HTTPProxyAddr = "127.0.0.1:3128"
	SOCKSAddr     = "127.0.0.1:1080"
	DNSAddr       = "127.0.0.1:53"
)

// DefaultResolvConf is the resolv.conf the workload sees when Spec.ResolvConf is nil: the
// sandbox's own DNS endpoint.
var DefaultResolvConf = []byte("nameserver 127.0.0.1\noptions edns0\n")

// ErrUnsupported is returned by Run and Preflight on systems without Linux namespaces.
var ErrUnsupported = errors.New("airlock run needs Linux namespaces; not supported on " + runtime.GOOS)

// Error reports why the sandbox could not be set up. When Run returns an *Error the workload
// did not run.
type Error struct {
	// Step is what the sandbox was doing, e.g. "create namespaces", "bring up lo",
	// "mount /proc", "install seccomp filter", "find executable".
	Step string
	// Err is what went wrong; a syscall.Errno when the kernel refused.
	Err error
	// Cause explains why this host refuses, when it can be told (a sysctl, AppArmor, a
	// container); empty when unknown.
	Cause string
	// Fix says what to change, when known; empty otherwise.
	Fix string
}

func (e *Error) Error() string {
	s := "sandbox: " + e.Step + ": " + e.Err.Error()
	if e.Cause != "" {
		s += "; " + e.Cause
	}
	if e.Fix != "" {
		s += "; fix: " + e.Fix
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Compile-time check that the API is the same on every platform.
var (
	_ func(context.Context, Spec, func(Endpoints) error) (int, error) = Run
	_ func(context.Context) error                                     = Preflight
	_ func()                                                          = HelperMain
)
