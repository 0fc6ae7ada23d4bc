package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// The two processes of a sandbox, and the workload:
//
//	supervisor (Run, in the caller)
//	  └─ helper: /proc/self/exe with stageEnv=helper, PID 1 of the new namespaces.
//	       fd 3: SOCK_SEQPACKET socketpair to the supervisor; fd 4: memfd with helperConfig.
//	       Once the endpoints are sent it drops its privileges and installs the seccomp filter
//	       (restrict), waits for the supervisor's go, and forks and execs the workload.
//	       └─ workload: the helper's child, with its restrictions.
//
// Messages on the socketpair are one packet each, the first byte their kind:
//
//	helper → supervisor: msgEndpoints (with the four descriptors as SCM_RIGHTS), msgError
//	(JSON stageError; the helper then exits), msgStarted, msgExit (decimal exit code; the
//	helper then exits).
//	supervisor → helper: msgGo, msgSignal (one byte: the signal number).
//
// The supervisor closing its end (because it died) makes the helper exit, which kills the
// workload: there is no sandbox without its supervisor.
const (
	stageEnv    = "AIRLOCK_SANDBOX_STAGE"
	stageHelper = "helper"

	helperArgv0 = "airlock-sandbox-helper"

	msgEndpoints = 'F'
	msgError     = 'E'
	msgStarted   = 'S'
	msgExit      = 'X'
	msgGo        = 'G'
	msgSignal    = 'K'

	// exitSetup is the helper's exit code when it fails before the workload runs (the
	// supervisor learns why from msgError, not from the code).
	exitSetup = 125
)

// helperConfig is what the supervisor tells the helper.
type helperConfig struct {
	Exec           execConfig
	ResolvConf     []byte
	ResolvConfPath string // where to mount ResolvConf; resolvConfPath unless a test says otherwise
}

// execConfig is the workload the helper starts.
type execConfig struct {
	Path      string
	Args      []string
	Env       []string
	Dir       string
	AllowUnix bool
	// Preflight makes the helper exit 0 once the filter is installed and the supervisor said
	// go, instead of running a workload: Preflight's trial run.
	Preflight bool
}

const resolvConfPath = "/etc/resolv.conf"

// stageError is a failure reported by the helper.
type stageError struct {
	Step  string
	Errno int    // the errno when the kernel refused, else 0
	Msg   string // err.Error()
	Kind  string // "notfound" or "dot" for exec.LookPath's errors
	Setup bool   // an isolation step (as opposed to a problem with the workload itself)
}

func newStageError(step string, setup bool, err error) stageError {
	se := stageError{Step: step, Msg: err.Error(), Setup: setup}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		se.Errno = int(errno)
	}
	switch {
	case errors.Is(err, exec.ErrNotFound):
		se.Kind = "notfound"
	case errors.Is(err, exec.ErrDot):
		se.Kind = "dot"
	}
	return se
}

// err rebuilds an error the caller can test with errors.Is.
func (se stageError) err(path string) error {
	switch {
	case se.Kind == "notfound":
		return &exec.Error{Name: path, Err: exec.ErrNotFound}
	case se.Kind == "dot":
		return &exec.Error{Name: path, Err: exec.ErrDot}
	case se.Errno != 0:
		// Keep the errno for errors.Is and the detail of the message (a path, an address).
		detail := se.Msg
		if detail == syscall.Errno(se.Errno).Error() {
			return syscall.Errno(se.Errno)
		}
		return &detailedErrno{msg: detail, errno: syscall.Errno(se.Errno)}
	default:
		return errors.New(se.Msg)
	}
}

// detailedErrno is an errno that crossed a process boundary with its original message.
type detailedErrno struct {
	msg   string
	errno syscall.Errno
}

func (e *detailedErrno) Error() string { return e.msg }
func (e *detailedErrno) Unwrap() error { return e.errno }

// writeJSONMemfd returns a memfd holding v as JSON, positioned at 0, to pass to a child.
func writeJSONMemfd(name string, v any) (*os.File, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readJSONFd reads v from an inherited descriptor and closes it.
func readJSONFd(fd int, v any) error {
	f := os.NewFile(uintptr(fd), "config")
	if f == nil {
		return fmt.Errorf("descriptor %d is not open", fd)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// packetConn wraps an inherited SOCK_SEQPACKET descriptor; the original descriptor is closed
// (net.FileConn keeps a close-on-exec duplicate).
func packetConn(fd int) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), "socketpair")
	if f == nil {
		return nil, fmt.Errorf("descriptor %d is not open", fd)
	}
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("descriptor %d is a %T, not a unix socket", fd, c)
	}
	return uc, nil
}
