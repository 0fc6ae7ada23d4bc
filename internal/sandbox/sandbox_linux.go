package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// HelperMain must be the first thing main (and the TestMain of any package whose tests call
// Run) does. When this process is the sandbox's helper it does the helper's work and never
// returns; otherwise it returns at once.
func HelperMain() {
	switch os.Getenv(stageEnv) {
	case "":
		return
	case stageHelper:
		helperMain()
	default:
		fmt.Fprintf(os.Stderr, "airlock sandbox: unknown %s=%q\n", stageEnv, os.Getenv(stageEnv))
	}
	os.Exit(exitSetup)
}

// Run starts the workload in new user, network, mount and PID namespaces. Before the workload
// starts, serve is called with the endpoints; it must start serving them (in goroutines it owns)
// and return. If serve returns an error, the workload never starts and Run returns that error.
// Run returns when the workload ends, with its exit code (128+n if signal n killed it, like a
// shell). When err is not nil the exit code is -1, except when ctx was cancelled: the sandbox is
// then killed and Run returns 128+SIGKILL and ctx.Err().
//
// The workload runs as the caller's uid and gid (mapped to themselves in the new user
// namespace), with no capabilities, no_new_privs, a seccomp filter (no AF_UNIX sockets unless
// granted, no raw or packet sockets, no datagram socketpairs, no io_uring, no new user
// namespaces; README.md has the list), its own /proc and resolv.conf, and a network namespace
// whose only interface is lo. If anything of that cannot be set up, Run returns an *Error and
// the workload does not run. When the workload ends, whatever it left running in the sandbox is
// killed; when the caller dies, the whole sandbox is.
func Run(ctx context.Context, spec Spec, serve func(Endpoints) error) (exitCode int, err error) {
	return run(ctx, spec, serve, runOptions{})
}

// Preflight checks that Run can isolate a workload on this host: it reads the sysctls that
// disable user namespaces, then sets a sandbox up for real (without running anything in it). Its
// error, an *Error, names the cause and the fix.
func Preflight(ctx context.Context) error {
	if _, err := buildFilter(runtime.GOARCH, filterOptions{}); err != nil {
		return &Error{Step: "build seccomp filter", Err: err}
	}
	facts := readHostFacts()
	if err := facts.refuse(); err != nil {
		return err
	}
	_, err := run(ctx, Spec{Path: "preflight"}, func(Endpoints) error { return nil }, runOptions{preflight: true})
	return err
}

// runOptions are knobs for Preflight and the package's tests.
type runOptions struct {
	preflight bool
	// resolvConfPath replaces /etc/resolv.conf as the file ResolvConf is mounted over.
	resolvConfPath string
	// started, if set, is called with the helper's PID (in the caller's PID namespace) once the
	// workload runs.
	started func(helperPID int)
}

// message is one packet from the helper.
type message struct {
	kind byte
	body []byte
	fds  []int
}

func run(ctx context.Context, spec Spec, serve func(Endpoints) error, opts runOptions) (int, error) {
	if spec.Path == "" {
		return -1, errors.New("sandbox: Spec.Path is empty")
	}
	for _, p := range spec.AllowUnixSockets {
		if !filepath.IsAbs(p) {
			return -1, fmt.Errorf("sandbox: unix socket %q: not an absolute path", p)
		}
	}
	if _, err := buildFilter(runtime.GOARCH, filterOptions{}); err != nil {
		return -1, &Error{Step: "build seccomp filter", Err: err}
	}
	cfg := helperConfig{
		Exec: execConfig{
			Path: spec.Path, Args: spec.Args, Env: spec.Env, Dir: spec.Dir,
			AllowUnix: len(spec.AllowUnixSockets) > 0, Preflight: opts.preflight,
		},
		ResolvConf:     spec.ResolvConf,
		ResolvConfPath: opts.resolvConfPath,
	}
	if cfg.ResolvConf == nil {
		cfg.ResolvConf = DefaultResolvConf
	}
	if cfg.ResolvConfPath == "" {
		cfg.ResolvConfPath = resolvConfPath
	}

	s, err := startHelper(spec, &cfg)
	if err != nil {
		return -1, err
	}
	code, err := s.supervise(ctx, spec, serve, opts)
	s.finish()
	return code, err
}

// supervisor is Run's side of one sandbox.
type supervisor struct {
	cmd    *exec.Cmd
	conn   *net.UnixConn
	msgs   chan message // closed when the helper's end of the socketpair is closed
	exited chan error   // cmd.Wait's result
}

// startHelper starts the helper in its new namespaces. It is started, and waited for, from a
// goroutine that keeps its thread locked: the helper's parent-death signal fires when the thread
// that created it exits, not when the process does.
func startHelper(spec Spec, cfg *helperConfig) (*supervisor, error) {
	conf, err := writeJSONMemfd("airlock-helper-config", cfg)
	if err != nil {
		return nil, &Error{Step: "start helper", Err: err}
	}
	defer conf.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Step: "start helper", Err: fmt.Errorf("socketpair: %w", err)}
	}
	conn, err := packetConn(pair[0])
	if err != nil {
		unix.Close(pair[1])
		return nil, &Error{Step: "start helper", Err: err}
	}
	child := os.NewFile(uintptr(pair[1]), "socketpair")
	defer child.Close()

	uid, gid := os.Getuid(), os.Getgid()
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{helperArgv0},
		Env:        []string{stageEnv + "=" + stageHelper},
		ExtraFiles: []*os.File{child, conf}, // fds 3 and 4
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
			// The caller's uid and gid map to themselves: the workload sees who it runs as.
			// The helper keeps, across its execve, the capabilities it needs as ambient ones
			// (a non-root uid would lose them); it drops them all before the workload starts.
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
			GidMappingsEnableSetgroups: false,
			AmbientCaps:                []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_NET_BIND_SERVICE, unix.CAP_SETPCAP},
			Pdeathsig:                  syscall.SIGKILL,
		},
	}
	if spec.Stdin != nil {
		cmd.Stdin = spec.Stdin
	}
	if spec.Stdout != nil {
		cmd.Stdout = spec.Stdout
	}
	if spec.Stderr != nil {
		cmd.Stderr = spec.Stderr
	}
	s := &supervisor{cmd: cmd, conn: conn, msgs: make(chan message, 4), exited: make(chan error, 1)}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		conn.Close()
		e := &Error{Step: "create namespaces", Err: unwrapExecError(err)}
		readHostFacts().explain(e)
		return nil, e
	}
	go s.read()
	return s, nil
}

// unwrapExecError digs the errno out of exec's "fork/exec /proc/self/exe: ..." wrapping.
func unwrapExecError(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// read delivers the helper's packets until its end of the socketpair closes.
func (s *supervisor) read() {
	defer close(s.msgs)
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*len(endpointPorts)))
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return
		}
		m := message{kind: buf[0], body: append([]byte(nil), buf[1:n]...)}
		if oobn > 0 {
			if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, c := range cmsgs {
					if fds, err := unix.ParseUnixRights(&c); err == nil {
						m.fds = append(m.fds, fds...)
					}
				}
			}
		}
		s.msgs <- m
	}
}

// finish waits for the helper and the reader, after supervise decided the sandbox is over.
func (s *supervisor) finish() {
	<-s.exited
	s.conn.Close()
	for m := range s.msgs {
		closeFds(m.fds)
	}
}

func (s *supervisor) kill() { _ = s.cmd.Process.Kill() }

func (s *supervisor) send(b []byte) error {
	_, err := s.conn.Write(b)
	return err
}

// supervise runs the protocol with the helper; when it returns, the helper has exited or been
// killed.
func (s *supervisor) supervise(ctx context.Context, spec Spec, serve func(Endpoints) error, opts runOptions) (int, error) {
	// 1. The endpoints, or why there are none.
	var m message
	select {
	case m = <-s.msgs:
	case <-ctx.Done():
		s.kill()
		return 128 + int(syscall.SIGKILL), ctx.Err()
	}
	switch m.kind {
	case msgEndpoints:
	case msgError:
		return -1, s.helperError(spec, m)
	case 0:
		return -1, s.helperDied("set up the sandbox")
	default:
		closeFds(m.fds)
		s.kill()
		return -1, &Error{Step: "set up the sandbox", Err: fmt.Errorf("unexpected message %q from the helper", m.kind)}
	}
	eps, err := endpoints(m.fds)
	if err != nil {
		s.kill()
		return -1, &Error{Step: "receive endpoints", Err: err}
	}
	defer eps.close()

	// 2. The caller serves them; then the workload may start.
	if err := serve(eps.Endpoints); err != nil {
		s.kill()
		return -1, fmt.Errorf("sandbox: serve endpoints: %w", err)
	}
	if err := s.send([]byte{msgGo}); err != nil {
		s.kill()
		return -1, s.helperDied("start the workload")
	}

	// 3. Until the helper exits: forward signals once the workload runs, collect its status.
	var sigs <-chan os.Signal // nil until the workload runs
	started := false
	code := -1
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				if code >= 0 {
					return code, nil
				}
				if !started {
					return -1, s.helperDied("start the workload")
				}
				return -1, s.helperDied("wait for the workload")
			}
			switch m.kind {
			case msgStarted:
				started = true
				sigs = spec.Signals
				if opts.started != nil {
					opts.started(s.cmd.Process.Pid)
				}
			case msgError:
				return -1, s.helperError(spec, m)
			case msgExit:
				if c, err := strconv.Atoi(string(m.body)); err == nil {
					code = c
				}
			}
			closeFds(m.fds)
		case sig, ok := <-sigs:
			if !ok {
				sigs = nil
				continue
			}
			if n, isSys := sig.(syscall.Signal); isSys && n > 0 && n < 256 {
				_ = s.send([]byte{msgSignal, byte(n)})
			}
		case <-ctx.Done():
			s.kill()
			return 128 + int(syscall.SIGKILL), ctx.Err()
		}
	}
}

// helperError turns the helper's report into an *Error. The helper exits after sending it; it
// is killed anyway, so that nothing waits for a helper that would not.
func (s *supervisor) helperError(spec Spec, m message) error {
	s.kill()
	closeFds(m.fds)
	var se stageError
	if err := json.Unmarshal(m.body, &se); err != nil {
		se = stageError{Step: "set up the sandbox", Msg: fmt.Sprintf("unreadable report %q", m.body), Setup: true}
	}
	e := &Error{Step: se.Step, Err: se.err(spec.Path)}
	if se.Setup {
		readHostFacts().explain(e)
	}
	return e
}

// helperDied describes a helper that went away without saying why (killed, crashed).
func (s *supervisor) helperDied(doing string) error {
	err := <-s.exited
	s.exited <- err // finish waits again
	if err == nil {
		err = errors.New("exited without reporting")
	}
	return &Error{Step: doing, Err: fmt.Errorf("sandbox helper: %w", err)}
}

// endpointSet owns the received endpoints.
type endpointSet struct{ Endpoints }

func endpoints(fds []int) (endpointSet, error) {
	var eps endpointSet
	if len(fds) != len(endpointPorts) {
		closeFds(fds)
		return eps, fmt.Errorf("got %d descriptors, want %d", len(fds), len(endpointPorts))
	}
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "endpoint")
	}
	defer func() {
		for _, f := range files {
			f.Close() // net.File* keep their own duplicates
		}
	}()
	var err error
	listen := func(f *os.File) net.Listener {
		if err != nil {
			return nil
		}
		var l net.Listener
		l, err = net.FileListener(f)
		return l
	}
	eps.HTTPProxy = listen(files[0])
	eps.SOCKS = listen(files[1])
	if err == nil {
		eps.DNS, err = net.FilePacketConn(files[2])
	}
	eps.DNSTCP = listen(files[3])
	if err != nil {
		eps.close()
	}
	return eps, err
}

func (e endpointSet) close() {
	for _, c := range []interface{ Close() error }{e.HTTPProxy, e.SOCKS, e.DNS, e.DNSTCP} {
		if c != nil {
			c.Close()
		}
	}
}

func closeFds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
