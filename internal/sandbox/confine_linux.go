package sandbox

import (
	"runtime"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ConfineOptions are the choices of Confine beyond what it always does.
type ConfineOptions struct {
	// NoSockets makes socket(2) and socketpair(2) fail with EPERM for every address family, for
	// a process that talks only over descriptors it inherited (the code-mode worker). False
	// keeps the workload's rules: see Run.
	NoSockets bool
}

// Confine restricts the calling process for good, with the same steps and the same seccomp
// filter as the workload of Run gets (README.md): it becomes non-dumpable, every descriptor
// from 3 up becomes close-on-exec, securebits are locked and every capability set is emptied,
// no_new_privs is set, and the seccomp filter is installed on every thread. It is meant for a
// process that is already in its own namespaces (the code-mode worker): it sets nothing up.
//
// Capabilities belong to a thread. Confine locks the calling goroutine to its OS thread (one
// runtime.LockOSThread; the caller may undo it): that thread certainly has no capability left,
// and code that must run without any should run on it. The other threads lose their
// effective, permitted, inheritable and ambient sets too when the runtime can change them
// (syscall.AllThreadsSyscall; not in a binary that links cgo), and keep their bounding set,
// which under locked securebits and no_new_privs grants nothing (see dropCapabilities): emptying
// it on every thread cost a code-mode worker 2 ms of its start. The filter and no_new_privs
// always cover every thread.
//
// Emptying the bounding set and locking securebits need CAP_SETPCAP: start the process with it
// (an ambient capability, or as root of its user namespace). A failure is an *Error; the
// process is then in an unknown state and must not run what it meant to confine.
func Confine(opts ConfineOptions) error {
	runtime.LockOSThread()
	filter, err := buildFilter(runtime.GOARCH, filterOptions{noSockets: opts.NoSockets})
	if err != nil {
		return &Error{Step: "build seccomp filter", Err: err}
	}
	raw, err := bpf.Assemble(filter)
	if err != nil {
		return &Error{Step: "build seccomp filter", Err: err}
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return &Error{Step: "make the process non-dumpable", Err: err}
	}
	if err := closeOnExecFrom(3); err != nil {
		return &Error{Step: "close inherited descriptors", Err: err}
	}
	if err := dropCapabilities(false); err != nil {
		return &Error{Step: "drop capabilities", Err: err}
	}
	if err := allThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1); err != nil {
		return &Error{Step: "set no_new_privs", Err: err}
	}
	if err := installFilter(raw); err != nil {
		return &Error{Step: "install seccomp filter", Err: err}
	}
	return nil
}

// CheckHost reports when this host's sysctls forbid the user namespaces that Run (and the
// code-mode worker) need, as an *Error naming the sysctl and the fix; nil when nothing forbids
// them outright. A nil result does not promise that namespaces can be created (AppArmor, a
// container's seccomp profile): only creating one tells.
func CheckHost() error {
	if e := readHostFacts().refuse(); e != nil {
		return e
	}
	return nil
}

// NamespaceError describes a failure of step (for example "create namespaces") as an *Error,
// with the cause and the fix filled in when what this host says about namespaces explains it
// (a sysctl, AppArmor, a container, a missing kernel feature).
func NamespaceError(step string, err error) *Error {
	e := &Error{Step: step, Err: err}
	readHostFacts().explain(e)
	return e
}
