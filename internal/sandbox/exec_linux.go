package sandbox

import (
	"encoding/json"
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

// secureBits puts the exec stage in "pure capability" mode and locks it there: uid 0 gains no
// capabilities on exec, changing uids does not touch capabilities, ambient capabilities cannot be
// raised (SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP, SECBIT_NO_CAP_AMBIENT_RAISE and their locks,
// plus SECBIT_KEEP_CAPS_LOCKED).
const secureBits = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<5 | 1<<6 | 1<<7

// execMain is the exec stage: it runs in the helper's namespaces as the helper's child, drops
// every privilege, installs the seccomp filter, waits for the helper's "go" on fd 5 and replaces
// itself with the workload. It never returns. Its failures go to the status pipe (fd 4), which is
// close-on-exec: the helper reads EOF once the workload runs.
func execMain() {
	// Capabilities and no_new_privs belong to a thread: set them on the one that calls execve.
	runtime.LockOSThread()
	var st unix.Stat_t
	if err := unix.Fstat(4, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		fmt.Fprintln(os.Stderr, "airlock sandbox exec stage: no status pipe; it is started by sandbox.Run only")
		os.Exit(exitSetup)
	}
	status := os.NewFile(4, "status")
	fail := func(step string, setup bool, err error) {
		b, _ := json.Marshal(newStageError(step, setup, err))
		_, _ = status.Write(b)
		os.Exit(exitSetup)
	}
	var cfg execConfig
	if err := readJSONFd(3, &cfg); err != nil {
		fail("read configuration", true, err)
	}
	filter, err := buildFilter(runtime.GOARCH, filterOptions{allowUnix: cfg.AllowUnix})
	if err != nil {
		fail("build seccomp filter", true, err)
	}
	raw, err := bpf.Assemble(filter)
	if err != nil {
		fail("build seccomp filter", true, err)
	}
	// The workload inherits descriptors 0, 1 and 2 and nothing else, whatever the caller's
	// parent left open.
	if err := closeOnExecFrom(3); err != nil {
		fail("close inherited descriptors", true, err)
	}
	if err := dropCapabilities(); err != nil {
		fail("drop capabilities", true, err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("set no_new_privs", true, err)
	}
	// From here on, permission checks are the workload's.
	if cfg.Dir != "" {
		if err := os.Chdir(cfg.Dir); err != nil {
			fail("change directory", false, err)
		}
	}
	path := cfg.Path
	if !cfg.Preflight {
		// Resolve like exec.LookPath does, with the workload's PATH.
		setPath(cfg.Env)
		if path, err = exec.LookPath(cfg.Path); err != nil {
			fail("find executable", false, err)
		}
	}
	if err := installFilter(raw); err != nil {
		fail("install seccomp filter", true, err)
	}
	// Ready. The workload runs only once the supervisor has started serving its endpoints.
	if !waitForGo(5) {
		os.Exit(exitSetup) // the helper gave up; it reports why
	}
	if cfg.Preflight {
		os.Exit(0)
	}
	args := cfg.Args
	if len(args) == 0 {
		args = []string{cfg.Path}
	}
	env := cfg.Env
	if env == nil {
		env = []string{}
	}
	err = syscall.Exec(path, args, env)
	fail("exec", false, fmt.Errorf("exec %s: %w", path, err))
}

// waitForGo reads the helper's "go" byte from fd; EOF (the helper died) or anything else is a
// "no".
func waitForGo(fd int) bool {
	var b [1]byte
	for {
		n, err := unix.Read(fd, b[:])
		if err == unix.EINTR {
			continue
		}
		return err == nil && n == 1 && b[0] == msgGo
	}
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

// dropCapabilities empties every capability set of the calling thread, for good: securebits,
// then the bounding set (needs CAP_SETPCAP), the ambient set, and finally the effective,
// permitted and inheritable sets.
func dropCapabilities() error {
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, secureBits, 0, 0, 0); err != nil {
		return fmt.Errorf("set securebits: %w", err)
	}
	for c := 0; c < 64; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if err == unix.EINVAL {
			break // past CAP_LAST_CAP
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
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
