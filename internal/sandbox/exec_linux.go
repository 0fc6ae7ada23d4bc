package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// secureBits puts the helper, and so the workload, in "pure capability" mode and locks it there:
// uid 0 gains no capabilities on exec, changing uids does not touch capabilities, ambient
// capabilities cannot be raised (SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP,
// SECBIT_NO_CAP_AMBIENT_RAISE and their locks, plus SECBIT_KEEP_CAPS_LOCKED).
const secureBits = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<5 | 1<<6 | 1<<7

// workload is the program the helper starts once the supervisor says go.
type workload struct {
	path      string
	args, env []string
	preflight bool // Preflight's trial run: nothing to start
}

// restrict gives up, for good, everything the helper had beyond what the workload may have, and
// prepares the workload's start. The helper needs no privilege after this: it only forwards
// signals, reaps and reports. In order:
//
//   - the helper becomes non-dumpable: the workload (same uid) cannot open its /proc/1/mem,
//     environ or namespaces, nor ptrace it (the filter denies ptrace anyway);
//   - every descriptor from 3 up becomes close-on-exec: the workload inherits 0, 1 and 2 only,
//     whatever the caller's parent left open;
//   - securebits locked, then the bounding, ambient, effective, permitted and inheritable
//     capability sets emptied, then no_new_privs: on every thread when the runtime can
//     (syscall.AllThreadsSyscall, i.e. without cgo), and always on the calling thread, which
//     must be locked (runtime.LockOSThread) and is the one that forks the workload: a child
//     inherits the credentials of the thread that forked it;
//   - the working directory and the executable are resolved with the workload's privileges;
//   - the seccomp filter is installed on every thread (TSYNC, which also sets no_new_privs on
//     every thread). The workload inherits it across fork and exec.
//
// A failure is returned, not reported: the helper reports it once the supervisor said go, as the
// workload's start would have (see helperMain). A failed restriction leaves the helper in an
// unknown state: it must then exit without starting anything.
func restrict(cfg *execConfig) (workload, *stageError) {
	fail := func(step string, setup bool, err error) (workload, *stageError) {
		se := newStageError(step, setup, err)
		return workload{}, &se
	}
	filter, err := buildFilter(runtime.GOARCH, filterOptions{allowUnix: cfg.AllowUnix})
	if err != nil {
		return fail("build seccomp filter", true, err)
	}
	raw, err := bpf.Assemble(filter)
	if err != nil {
		return fail("build seccomp filter", true, err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fail("make the helper non-dumpable", true, err)
	}
	if err := closeOnExecFrom(3); err != nil {
		return fail("close inherited descriptors", true, err)
	}
	if err := dropCapabilities(true); err != nil {
		return fail("drop capabilities", true, err)
	}
	if err := allThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1); err != nil {
		return fail("set no_new_privs", true, err)
	}
	// From here on, permission checks are the workload's.
	if cfg.Dir != "" {
		// The helper's working directory is the workload's: no other goroutine of the helper
		// uses relative paths.
		if err := os.Chdir(cfg.Dir); err != nil {
			return fail("change directory", false, err)
		}
	}
	w := workload{path: cfg.Path, args: cfg.Args, env: cfg.Env, preflight: cfg.Preflight}
	if !cfg.Preflight {
		// Resolve like exec.LookPath does, with the workload's PATH.
		setPath(cfg.Env)
		if w.path, err = exec.LookPath(cfg.Path); err != nil {
			return fail("find executable", false, err)
		}
	}
	if len(w.args) == 0 {
		w.args = []string{cfg.Path}
	}
	if w.env == nil {
		w.env = []string{}
	}
	if err := installFilter(raw); err != nil {
		return fail("install seccomp filter", true, err)
	}
	return w, nil
}

// start forks and execs the workload from the calling thread, which must be the locked thread
// restrict ran on, with descriptors 0, 1 and 2 (every other one is close-on-exec) and default
// signal handlers. It returns the workload's PID.
func (w workload) start() (int, error) {
	pid, err := syscall.ForkExec(w.path, w.args, &syscall.ProcAttr{Env: w.env, Files: []uintptr{0, 1, 2}})
	if err != nil {
		return 0, fmt.Errorf("exec %s: %w", w.path, err)
	}
	return pid, nil
}

func setPath(env []string) {
	os.Unsetenv("PATH")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			os.Setenv("PATH", v) // the first one, which is what getenv finds in the workload
			return
		}
	}
}

// dropCapabilities empties every capability set, for good: securebits, then the bounding set
// (needs CAP_SETPCAP), the ambient set, and finally the effective, permitted and inheritable
// sets. Capabilities belong to a thread: see allThreads for which threads lose them. The
// bounding set is emptied one capability per call; on every thread that costs a stop of the
// world per capability (about 2 ms in all), so with boundingEverywhere false it is emptied on
// the calling thread only. That gives nothing away: with securebits locked (no root fix-ups),
// no_new_privs and the other sets empty on every thread, an execve from any thread gains no
// capability, and the bounding set limits nothing else.
func dropCapabilities(boundingEverywhere bool) error {
	if err := allThreadsPrctl(unix.PR_SET_SECUREBITS, secureBits); err != nil {
		return fmt.Errorf("set securebits: %w", err)
	}
	for c := 0; c < 64; c++ {
		var err error
		if boundingEverywhere {
			err = allThreadsPrctl(unix.PR_CAPBSET_DROP, uintptr(c))
		} else if _, _, e := syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); e != 0 {
			err = e
		}
		if err == unix.EINVAL {
			break // past CAP_LAST_CAP
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := allThreadsPrctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// allThreads makes a system call on every thread of the process when the runtime can
// (syscall.AllThreadsSyscall; not in a binary that links cgo, whose C threads the runtime does
// not know), and otherwise on the calling thread only. The caller is locked to its thread.
// Arguments may be pointers converted to uintptr in the call (uintptrescapes keeps them alive).
//
//go:uintptrescapes
func allThreads(trap, a1, a2, a3 uintptr) error {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if errno == syscall.ENOTSUP {
		_, _, errno = syscall.RawSyscall(trap, a1, a2, a3)
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// allThreadsPrctl is prctl(option, arg2, 0, 0, 0) through allThreads.
func allThreadsPrctl(option int, arg2 uintptr) error {
	return allThreads(unix.SYS_PRCTL, uintptr(option), arg2, 0)
}

// installFilter installs the seccomp filter on every thread of the process (TSYNC).
func installFilter(raw []bpf.RawInstruction) error {
	sf := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		sf[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog := unix.SockFprog{Len: uint16(len(sf)), Filter: &sf[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(sf)
	if errno != 0 {
		return errno
	}
	if r != 0 {
		return fmt.Errorf("seccomp: thread %d could not take the filter", r)
	}
	return nil
}

// closeOnExecFrom marks every descriptor from first on close-on-exec.
func closeOnExecFrom(first int) error {
	if err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	// Kernels before 5.11: walk the descriptor table.
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd < first {
			continue
		}
		unix.CloseOnExec(fd) // the directory's own descriptor is already closed: EBADF is fine
	}
	return nil
}
