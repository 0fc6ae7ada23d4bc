package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// helper is the helper stage: PID 1 of the sandbox's user, network, mount and PID namespaces.
type helper struct {
	conn *net.UnixConn // to the supervisor
}

// helperMain sets the namespaces up, hands the endpoints over, gives up its privileges, starts
// the workload once the supervisor says go, then reaps every process of the sandbox until the
// workload ends. It never returns.
func helperMain() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "airlock sandbox helper: not PID 1 of a new PID namespace; it is started by sandbox.Run only")
		os.Exit(exitSetup)
	}
	// Capabilities belong to a thread, and a child inherits those of the thread that forked it:
	// this thread drops them (restrict) and forks the workload (workload.start).
	runtime.LockOSThread()
	// Signals reaching PID 1 (the terminal's process group, or the workload itself) must not
	// kill the helper, and must not be ignored either (an ignored disposition would be inherited
	// by the workload). Catch them into a channel nobody reads: the runtime drops them.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP,
		syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)

	conn, err := packetConn(3)
	if err != nil {
		fmt.Fprintf(os.Stderr, "airlock sandbox helper: %v\n", err)
		os.Exit(exitSetup)
	}
	h := &helper{conn: conn}
	var cfg helperConfig
	if err := readJSONFd(4, &cfg); err != nil {
		h.fail("read configuration", false, err)
	}
	h.setup(&cfg)
	h.sendEndpoints()
	// While the supervisor starts serving, the helper gives up its privileges and installs the
	// seccomp filter: from here on it needs none, and its forking thread has exactly the
	// workload's (see restrict for the other threads). A failure is reported after "go", as
	// the supervisor reads reports only once it has served.
	w, failed := restrict(&cfg.Exec)
	if err := h.waitForGo(); err != nil {
		os.Exit(exitSetup) // the supervisor gave up (serve failed, or it died)
	}
	if failed != nil {
		h.report(*failed)
		os.Exit(exitSetup)
	}
	if w.preflight {
		h.send([]byte{msgExit, '0'})
		os.Exit(0)
	}
	pid, err := w.start()
	if err != nil {
		h.fail("exec", false, err)
	}
	h.send([]byte{msgStarted})
	go h.serveSupervisor(pid)
	h.reap(pid)
}

// setup isolates the namespaces.
func (h *helper) setup(cfg *helperConfig) {
	if err := loopbackUp(); err != nil {
		h.fail("bring up lo", true, err)
	}
	// Nothing mounted from here on may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		h.fail("make mounts private", true, fmt.Errorf("mount --make-rprivate /: %w", err))
	}
	if err := mountResolvConf(cfg.ResolvConfPath, cfg.ResolvConf); err != nil {
		h.fail("mount resolv.conf", true, err)
	}
	// A procfs of this PID namespace: the host's processes (their environ, their
	// /proc/PID/net/tcp) are not in it.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		h.fail("mount /proc", true, fmt.Errorf("mount proc on /proc: %w", err))
	}
}

// sendEndpoints creates the endpoints and sends them to the supervisor.
func (h *helper) sendEndpoints() {
	fds, err := createEndpoints()
	if err != nil {
		h.fail("create endpoints", true, err)
	}
	_, _, err = h.conn.WriteMsgUnix([]byte{msgEndpoints}, unix.UnixRights(fds...), nil)
	for _, fd := range fds {
		unix.Close(fd)
	}
	if err != nil {
		h.fail("send endpoints", true, err)
	}
}

// waitForGo waits for the supervisor's "go". An error means the supervisor is gone or gave up.
func (h *helper) waitForGo() error {
	buf := make([]byte, 16)
	n, err := h.conn.Read(buf)
	if err != nil || n == 0 {
		return errors.New("the supervisor closed the socketpair")
	}
	if buf[0] != msgGo {
		h.fail("wait for the supervisor", false, fmt.Errorf("unexpected message %q", buf[:n]))
	}
	return nil
}

// serveSupervisor delivers the supervisor's signals to the workload. When the supervisor goes
// away, the sandbox's network went with it: the helper exits, and as PID 1 takes every process
// of the sandbox with it.
func (h *helper) serveSupervisor(workload int) {
	buf := make([]byte, 16)
	for {
		n, err := h.conn.Read(buf)
		if err != nil || n == 0 {
			os.Exit(128 + int(syscall.SIGKILL))
		}
		if buf[0] == msgSignal && n == 2 {
			_ = unix.Kill(workload, syscall.Signal(buf[1]))
		}
	}
}

// reap waits for every process of the sandbox (orphans are re-parented to PID 1) and exits with
// the workload's status when it ends, the way a shell reports it.
func (h *helper) reap(workload int) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			h.fail("wait for workload", false, err)
		}
		if pid != workload {
			continue
		}
		code := ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		h.send(append([]byte{msgExit}, strconv.Itoa(code)...))
		os.Exit(code)
	}
}

func (h *helper) send(b []byte) {
	if _, err := h.conn.Write(b); err != nil {
		os.Exit(exitSetup) // the supervisor is gone
	}
}

func (h *helper) report(se stageError) {
	b, _ := json.Marshal(se)
	_, _ = h.conn.Write(append([]byte{msgError}, b...))
}

// fail reports a failed step to the supervisor and exits; the workload never runs.
func (h *helper) fail(step string, setup bool, err error) {
	h.report(newStageError(step, setup, err))
	os.Exit(exitSetup)
}

// loopbackUp sets IFF_UP on lo; the kernel then gives it 127.0.0.1/8 and ::1.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo up: %w", err)
	}
	return nil
}

// mountResolvConf bind-mounts content, read-only, over target or over the file target links to
// (e.g. /run/systemd/resolve/stub-resolv.conf). A missing target, or a dangling link, is left
// alone: glibc, musl and Go then use a name server on 127.0.0.1, the sandbox's DNS endpoint, and
// creating the file would mean hiding the directory that should hold it.
func mountResolvConf(target string, content []byte) error {
	real, err := filepath.EvalSymlinks(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("resolve %s: %w", target, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", real, fi.Mode().Type())
	}
	// The file lives in a private tmpfs, mounted for a moment over /proc: that directory exists
	// everywhere, and gets this namespace's own procfs right after. The bind mount keeps the
	// tmpfs alive once it is detached.
	const scratch = "/proc"
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("tmpfs", scratch, "tmpfs", flags, "size=64k,mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", scratch, err)
	}
	src := filepath.Join(scratch, "resolv.conf")
	if err := os.WriteFile(src, content, 0o644); err != nil {
		return err
	}
	if err := unix.Mount(src, real, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s over %s: %w", src, real, err)
	}
	if err := unix.Mount("", real, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", real, err)
	}
	if err := unix.Unmount(scratch, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount tmpfs from %s: %w", scratch, err)
	}
	return nil
}

// endpointPorts are the endpoints createEndpoints makes, in the order they are sent.
var endpointPorts = []struct {
	port int
	udp  bool
}{{3128, false}, {1080, false}, {53, true}, {53, false}}

// createEndpoints binds the endpoints on 127.0.0.1 in the sandbox's network namespace.
func createEndpoints() ([]int, error) {
	var fds []int
	for _, e := range endpointPorts {
		fd, err := bindLoopback(e.port, e.udp)
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			proto := "tcp"
			if e.udp {
				proto = "udp"
			}
			return nil, fmt.Errorf("listen 127.0.0.1:%d/%s: %w", e.port, proto, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

func bindLoopback(port int, udp bool) (int, error) {
	typ := unix.SOCK_STREAM
	if udp {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	}
	if err == nil && !udp {
		err = unix.Listen(fd, unix.SOMAXCONN)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
