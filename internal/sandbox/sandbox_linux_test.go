package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestPreflight(t *testing.T) {
	requireSandbox(t) // runs Preflight; a failure is a skip, or a failure when privileges are required
}

func TestExitCodes(t *testing.T) {
	requireSandbox(t)
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"true", []string{"/bin/true"}, 0},
		{"exit 3", []string{"/bin/sh", "-c", "exit 3"}, 3},
		{"SIGTERM", []string{"/bin/sh", "-c", "kill -TERM $$"}, 128 + int(syscall.SIGTERM)},
		{"SIGKILL", []string{"/bin/sh", "-c", "kill -KILL $$"}, 128 + int(syscall.SIGKILL)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := sandboxRun(t, Spec{Path: tc.args[0], Args: tc.args}, nil, runOptions{})
			if out.err != nil || out.code != tc.want {
				t.Fatalf("code %d, err %v; want %d, nil (stderr %q)", out.code, out.err, tc.want, out.stderr)
			}
		})
	}
}

// TestStdioByteForByte sends 10 MiB of random bytes (NULs included) through cat, on stdout and
// on stderr, with the caller's pipes as the workload's descriptors.
func TestStdioByteForByte(t *testing.T) {
	requireSandbox(t)
	data := make([]byte, 10<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	copy(data, "\x00\x00\r\n\x00Content-Length: 3\r\n\r\n\x00\xff")
	for _, tc := range []struct {
		name   string
		script string
		stderr bool
	}{
		{"stdout", "exec cat", false},
		{"stderr", "exec cat >&2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdinR, stdinW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdinR.Close()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer stdinW.Close()
				stdinW.Write(data)
			}()
			spec := Spec{Path: "/bin/sh", Args: []string{"sh", "-c", tc.script}, Env: []string{"PATH=/usr/bin:/bin"}, Stdin: stdinR}
			out := sandboxRun(t, spec, nil, runOptions{})
			wg.Wait()
			if out.err != nil || out.code != 0 {
				t.Fatalf("code %d, err %v", out.code, out.err)
			}
			got, other := out.stdout, out.stderr
			if tc.stderr {
				got, other = other, got
			}
			if !bytes.Equal(got, data) {
				t.Errorf("got %d bytes, want the %d sent (first difference at %d)", len(got), len(data), firstDiff(got, data))
			}
			if len(other) != 0 {
				t.Errorf("the other stream got %q", other)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestStdinLines is the MCP shape: request lines in, response lines out, through a pipe the
// caller keeps writing to while the workload runs.
func TestStdinLines(t *testing.T) {
	spec := probeSpec(t, "lines")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	spec.Stdin = r
	go func() {
		defer w.Close()
		for i := range 3 {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d}`+"\n", i)
		}
	}()
	got := runProbe(t, spec, nil)
	r.Close()
	want := "line: {\"jsonrpc\":\"2.0\",\"id\":0}\nline: {\"jsonrpc\":\"2.0\",\"id\":1}\nline: {\"jsonrpc\":\"2.0\",\"id\":2}\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEnvIsPassedExactly(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"nil means empty", nil},
		{"exact", []string{"A=1", "B=two words", "EMPTY=", "PATH=/nowhere", "A=again", "UNICODE=é\tx"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := probeSpec(t, "env")
			spec.Env = tc.env
			got := runProbe(t, spec, nil)
			want := ""
			for _, kv := range tc.env {
				want += kv + "\x00"
			}
			if got != want {
				t.Errorf("environment %q, want %q", got, want)
			}
		})
	}
}

func TestOnlyLoopbackInside(t *testing.T) {
	got := runProbe(t, probeSpec(t, "ifaces"), nil)
	if got != "lo up=true loopback=true\n" {
		t.Errorf("interfaces inside:\n%s\nwant only lo, up", got)
	}
}

func TestResolvConf(t *testing.T) {
	custom := []byte("nameserver 127.0.0.1\nsearch example.test\n")
	t.Run("default", func(t *testing.T) {
		if got := runProbe(t, probeSpec(t, "cat", "/etc/resolv.conf"), nil); got != string(DefaultResolvConf) {
			t.Errorf("/etc/resolv.conf inside is %q, want %q", got, DefaultResolvConf)
		}
	})
	t.Run("symlink to the real file", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
		os.MkdirAll(filepath.Join(dir, "run"), 0o755)
		stub := filepath.Join(dir, "run", "stub-resolv.conf")
		if err := os.WriteFile(stub, []byte("nameserver 127.0.0.53\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "etc", "resolv.conf")
		if err := os.Symlink("../run/stub-resolv.conf", link); err != nil {
			t.Fatal(err)
		}
		spec := probeSpec(t, "cat", link)
		spec.ResolvConf = custom
		out := sandboxRun(t, spec, nil, runOptions{resolvConfPath: link})
		if out.err != nil || string(out.stdout) != string(custom) {
			t.Errorf("inside, %s reads %q (err %v), want %q", link, out.stdout, out.err, custom)
		}
		if b, _ := os.ReadFile(stub); string(b) != "nameserver 127.0.0.53\n" {
			t.Errorf("the host's file changed: %q", b)
		}
	})
	t.Run("dangling symlink is left alone", func(t *testing.T) {
		dir := t.TempDir()
		link := filepath.Join(dir, "resolv.conf")
		if err := os.Symlink(filepath.Join(dir, "missing", "stub-resolv.conf"), link); err != nil {
			t.Fatal(err)
		}
		spec := probeSpec(t, "read", link)
		out := sandboxRun(t, spec, nil, runOptions{resolvConfPath: link})
		if out.err != nil || strings.TrimSpace(string(out.stdout)) != "err="+strconv.Itoa(int(syscall.ENOENT)) {
			t.Errorf("got %q, err %v; want ENOENT and no error", out.stdout, out.err)
		}
	})
}

func TestResolvConfCustomAndReadOnly(t *testing.T) {
	custom := []byte("nameserver 127.0.0.1\nsearch example.test\n")
	spec := probeSpec(t, "cat", "/etc/resolv.conf")
	spec.ResolvConf = custom
	if got := runProbe(t, spec, nil); got != string(custom) {
		t.Errorf("/etc/resolv.conf inside is %q, want %q", got, custom)
	}
	sh := Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "echo nameserver 10.0.0.1 > /etc/resolv.conf && echo wrote || echo refused"}}
	if got := runProbe(t, sh, nil); !strings.HasSuffix(got, "refused\n") {
		t.Errorf("writing /etc/resolv.conf inside: %q, want refused", got)
	}
}

func TestProcShowsOnlyTheSandbox(t *testing.T) {
	p := probePath(t)
	host := strconv.Itoa(os.Getpid())
	lines := probeLines(t, Spec{}, nil, [][]string{
		{"read", "/proc/" + host + "/environ"},
		{"read", "/proc/" + host + "/net/tcp"},
		// The helper's, same uid but not dumpable: not the workload's to read, nor to write.
		{"read", "/proc/1/environ"},
		{"read", "/proc/1/mem"},
		{"kill", host},
		{"kill", strconv.Itoa(os.Getppid())},
	})
	enoent, esrch := "err="+strconv.Itoa(int(syscall.ENOENT)), "err="+strconv.Itoa(int(syscall.ESRCH))
	eacces := "err=" + strconv.Itoa(int(syscall.EACCES))
	want := []string{enoent, enoent, eacces, eacces, esrch, esrch}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, lines[i], want[i])
		}
	}
	// The helper (PID 1) and the probe: nothing of the host. (The helper's threads took the
	// PIDs in between.)
	spec := Spec{Path: p, Args: []string{"probe", "procs"}}
	got := strings.Fields(runProbe(t, spec, nil))
	if len(got) != 3 || got[0] != "1" || "self="+got[1] != got[2] {
		t.Errorf("/proc inside lists %v, want the helper (1) and the probe only", got)
	}
	cmdline := runProbe(t, probeSpec(t, "cat", "/proc/1/cmdline"), nil)
	if cmdline != helperArgv0+"\x00" {
		t.Errorf("PID 1 is %q, want the helper", cmdline)
	}
}

// echoServe serves every endpoint as an echo server, in goroutines wg waits for.
func echoServe(wg *sync.WaitGroup, got *Endpoints) func(Endpoints) error {
	return func(eps Endpoints) error {
		*got = eps
		for _, l := range []net.Listener{eps.HTTPProxy, eps.SOCKS, eps.DNSTCP} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer c.Close()
						io.Copy(c, c)
					}()
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, addr, err := eps.DNS.ReadFrom(buf)
				if err != nil {
					return
				}
				eps.DNS.WriteTo(buf[:n], addr)
			}
		}()
		return nil
	}
}

func TestEndpointsAndNothingElse(t *testing.T) {
	var wg sync.WaitGroup
	var eps Endpoints
	errno := func(e syscall.Errno) string { return "err=" + strconv.Itoa(int(e)) }
	cases := []struct {
		cmd  []string
		want string
	}{
		{[]string{"echo", "tcp", HTTPProxyAddr}, "ok"},
		{[]string{"echo", "tcp", SOCKSAddr}, "ok"},
		{[]string{"echo", "tcp", DNSAddr}, "ok"},
		{[]string{"echo", "udp", DNSAddr}, "ok"},
		// A loopback port the supervisor did not hand over: nothing listens.
		{[]string{"connect", "tcp", "127.0.0.1:8080"}, errno(syscall.ECONNREFUSED)},
		{[]string{"connect", "tcp", "[::1]:3128"}, errno(syscall.ECONNREFUSED)},
		// Anything else has no route: the kernel refuses before sending a packet.
		{[]string{"connect", "tcp", "192.0.2.1:80"}, errno(syscall.ENETUNREACH)},
		{[]string{"connect", "tcp", "[2001:db8::1]:443"}, errno(syscall.ENETUNREACH)},
		{[]string{"connect", "udp", "192.0.2.1:53"}, errno(syscall.ENETUNREACH)},
	}
	var cmds [][]string
	for _, c := range cases {
		cmds = append(cmds, c.cmd)
	}
	lines := probeLines(t, Spec{}, echoServe(&wg, &eps), cmds)
	wg.Wait() // Run closed the endpoints: every serving goroutine is done
	for i, c := range cases {
		if lines[i] != c.want {
			t.Errorf("%v: %q, want %q", c.cmd, lines[i], c.want)
		}
	}
	for name, a := range map[string]net.Addr{
		HTTPProxyAddr: eps.HTTPProxy.Addr(), SOCKSAddr: eps.SOCKS.Addr(),
		DNSAddr: eps.DNSTCP.Addr(), "udp " + DNSAddr: eps.DNS.LocalAddr(),
	} {
		if want := strings.TrimPrefix(name, "udp "); a.String() != want {
			t.Errorf("endpoint %s has address %s", name, a)
		}
	}
	if _, err := eps.HTTPProxy.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("after Run, Accept returned %v, want net.ErrClosed", err)
	}
}

func TestSeccompInside(t *testing.T) {
	p := probePath(t)
	nr := seccompArches[runtime.GOARCH].nr
	n := func(name string) string { return strconv.Itoa(int(nr[name])) }
	errno := func(e syscall.Errno) string { return "err=" + strconv.Itoa(int(e)) }
	eperm, enosys := errno(syscall.EPERM), errno(syscall.ENOSYS)
	cases := []struct {
		name string
		cmd  []string
		want string
	}{
		{"AF_UNIX stream", []string{"socket", "1", "1", "0"}, eperm},
		{"AF_UNIX dgram|cloexec", []string{"socket", "1", "0x80002", "0"}, eperm},
		{"AF_PACKET", []string{"socket", "17", "3", "0"}, eperm},
		{"AF_INET raw", []string{"socket", "2", "3", "1"}, eperm},
		{"AF_INET raw|cloexec|nonblock", []string{"socket", "2", "0x80803", "1"}, eperm},
		{"AF_INET6 raw", []string{"socket", "10", "3", "58"}, eperm},
		{"AF_INET SOCK_PACKET", []string{"socket", "2", "10", "0"}, eperm},
		{"AF_VSOCK", []string{"socket", "40", "1", "0"}, errno(syscall.EAFNOSUPPORT)},
		{"AF_INET stream", []string{"socket", "2", "1", "0"}, "ok"},
		{"AF_INET6 dgram", []string{"socket", "10", "2", "0"}, "ok"},
		{"AF_NETLINK route", []string{"socket", "16", "3", "0"}, "ok"},
		{"socketpair dgram", []string{"socketpair", "1", "2"}, eperm},
		{"socketpair seqpacket", []string{"socketpair", "1", "5"}, eperm},
		{"socketpair raw (a dgram pair)", []string{"socketpair", "1", "3"}, eperm},
		{"socketpair stream", []string{"socketpair", "1", "1"}, "ok"},
		{"connect to a unix socket", []string{"unix", "/run/dbus/system_bus_socket"}, eperm},
		{"io_uring_setup", []string{"syscall", n("io_uring_setup"), "1", "0"}, enosys},
		{"clone3", []string{"syscall", n("clone3"), "0", "0"}, enosys},
		{"unshare -U", []string{"unshare", "0x10000000"}, eperm},
		{"clone CLONE_NEWUSER", []string{"clone-newuser"}, eperm},
		{"setns to a user namespace", []string{"setns", "/proc/self/ns/user"}, eperm},
		{"ptrace TRACEME", []string{"syscall", n("ptrace"), "0"}, eperm},
		{"keyctl", []string{"syscall", n("keyctl"), "0", "-3", "0"}, eperm},
		{"bpf", []string{"syscall", n("bpf"), "0", "0", "0"}, eperm},
		{"perf_event_open", []string{"syscall", n("perf_event_open"), "0", "0", "-1", "-1", "0"}, eperm},
		{"userfaultfd", []string{"syscall", n("userfaultfd"), "0"}, eperm},
		{"mount", []string{"syscall", n("mount"), "0", "0", "0", "0", "0"}, eperm},
		{"ioctl TIOCSTI", []string{"syscall", n("ioctl"), "0", "0x5412", "0"}, eperm},
		{"process_vm_readv", []string{"syscall", n("process_vm_readv"), "1", "0", "0", "0", "0", "0"}, eperm},
	}
	var cmds [][]string
	for _, c := range cases {
		cmds = append(cmds, c.cmd)
	}
	lines := probeLines(t, Spec{}, nil, cmds)
	for i, c := range cases {
		if lines[i] != c.want {
			t.Errorf("%s: %q, want %q", c.name, lines[i], c.want)
		}
	}

	if runtime.GOARCH == "amd64" {
		// An x32 system call (getpid | __X32_SYSCALL_BIT) kills the process with SIGSYS.
		out := sandboxRun(t, Spec{Path: p, Args: []string{"probe", "syscall", "0x40000027"}}, nil, runOptions{})
		if want := 128 + int(syscall.SIGSYS); out.err != nil || out.code != want {
			t.Errorf("x32 system call: code %d, err %v; want %d", out.code, out.err, want)
		}
	}
}

func TestAllowUnixSockets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "granted.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// An abstract socket of the host: abstract names belong to the network namespace.
	abstract := fmt.Sprintf("@airlock-sandbox-test-%d", os.Getpid())
	al, err := net.Listen("unix", abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	lines := probeLines(t, Spec{AllowUnixSockets: []string{path}}, nil, [][]string{
		{"unix", path},
		{"unix", abstract},
		{"socket", "1", "2", "0"},
		{"socketpair", "1", "2"}, // datagram pairs stay denied
	})
	want := []string{"ok", "err=" + strconv.Itoa(int(syscall.ECONNREFUSED)), "ok", "err=" + strconv.Itoa(int(syscall.EPERM))}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, lines[i], want[i])
		}
	}
	out := sandboxRun(t, Spec{Path: "/bin/true", AllowUnixSockets: []string{"relative.sock"}}, nil, runOptions{})
	if out.err == nil {
		t.Error("a relative unix socket path was accepted")
	}
}

func TestNoPrivilegesLeft(t *testing.T) {
	got := runProbe(t, probeSpec(t, "status"), nil)
	uid := strconv.Itoa(os.Getuid())
	for _, want := range []string{
		"CapInh: 0000000000000000", "CapPrm: 0000000000000000", "CapEff: 0000000000000000",
		"CapBnd: 0000000000000000", "CapAmb: 0000000000000000",
		"NoNewPrivs: 1", "Seccomp: 2",
		"Uid: " + uid + " " + uid + " " + uid + " " + uid,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("/proc/self/status inside lacks %q:\n%s", want, got)
		}
	}
}

// TestHelperGaveUpItsPrivileges looks at the helper (PID 1) from outside while the workload runs:
// every thread has no_new_privs and the seccomp filter, the thread that forked the workload has no
// capability left, and neither has any thread when the runtime can make a system call on all of
// them (a binary without cgo).
func TestHelperGaveUpItsPrivileges(t *testing.T) {
	requireSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var statuses map[string]string
	var readErr error
	_, err := run(ctx, Spec{Path: "/bin/sleep", Args: []string{"sleep", "60"}}, func(Endpoints) error { return nil },
		runOptions{started: func(helper int) {
			defer cancel()
			dir := fmt.Sprintf("/proc/%d/task", helper)
			tasks, err := os.ReadDir(dir)
			if err != nil {
				readErr = err
				return
			}
			statuses = map[string]string{}
			for _, task := range tasks {
				b, err := os.ReadFile(filepath.Join(dir, task.Name(), "status"))
				if err != nil {
					readErr = err
					return
				}
				statuses[task.Name()] = string(b)
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if readErr != nil {
		t.Fatal(readErr)
	}
	noCaps := "CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\n" +
		"CapBnd: 0000000000000000\nCapAmb: 0000000000000000\n"
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_GETPID, 0, 0, 0)
	allThreads := errno != syscall.ENOTSUP
	capless := 0
	for task, status := range statuses {
		status = strings.ReplaceAll(status, "\t", " ")
		for _, want := range []string{"NoNewPrivs: 1\n", "Seccomp: 2\n"} {
			if !strings.Contains(status, want) {
				t.Errorf("helper thread %s lacks %q", task, want)
			}
		}
		if strings.Contains(status, noCaps) {
			capless++
		} else if allThreads {
			t.Errorf("helper thread %s kept capabilities:\n%s", task, status)
		}
	}
	if capless == 0 {
		t.Errorf("every thread of the helper kept capabilities")
	}
	t.Logf("%d of the helper's %d threads without capabilities (system calls on all threads: %v)", capless, len(statuses), allThreads)
}

func TestOnlyStdioIsInherited(t *testing.T) {
	// A descriptor the caller leaves open without close-on-exec must not reach the workload.
	leak := filepath.Join(t.TempDir(), "leaked-descriptor")
	fd, err := syscall.Open(leak, syscall.O_RDWR|syscall.O_CREAT, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	got := runProbe(t, probeSpec(t, "fds"), nil)
	var fds []string
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		n, target, _ := strings.Cut(line, " ")
		// The probe's Go runtime keeps the cgroup CPU limit files open (close-on-exec, its own).
		if strings.HasPrefix(target, "/sys/fs/cgroup/") {
			continue
		}
		fds = append(fds, n)
		if target == leak {
			t.Errorf("the workload inherited descriptor %s to %s", n, leak)
		}
	}
	if strings.Join(fds, " ") != "0 1 2" {
		t.Errorf("descriptors inside:\n%s\nwant 0, 1 and 2 only", got)
	}
}

func TestSignalsAreForwarded(t *testing.T) {
	spec := probeSpec(t, "wait-signal")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sigs := make(chan os.Signal, 1)
	spec.Stdout, spec.Signals = w, sigs
	done := make(chan outcome, 1)
	go func() { done <- sandboxRun(t, spec, nil, runOptions{}) }()
	br := bufio.NewReader(r)
	if line, err := br.ReadString('\n'); line != "ready\n" {
		w.Close()
		t.Fatalf("probe said %q, %v", line, err)
	}
	sigs <- syscall.SIGTERM
	out := <-done
	w.Close()
	rest, _ := io.ReadAll(br)
	if out.err != nil || out.code != 0 || string(rest) != "got terminated\n" {
		t.Errorf("code %d, err %v, output %q; want the probe to report SIGTERM", out.code, out.err, rest)
	}
}

func TestServeErrorMeansNoWorkload(t *testing.T) {
	requireSandbox(t)
	marker := filepath.Join(t.TempDir(), "ran")
	boom := errors.New("boom")
	spec := Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "echo > " + shellQuote(marker)}}
	out := sandboxRun(t, spec, func(Endpoints) error { return boom }, runOptions{})
	if !errors.Is(out.err, boom) || out.code != -1 {
		t.Errorf("code %d, err %v; want -1 and the serve error", out.code, out.err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the workload ran although serve failed")
	}
}

func TestSetupFailuresAreReported(t *testing.T) {
	requireSandbox(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	spec := Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "echo > " + shellQuote(marker)}}
	t.Run("resolv.conf is a directory", func(t *testing.T) {
		out := sandboxRun(t, spec, nil, runOptions{resolvConfPath: dir})
		var e *Error
		if !errors.As(out.err, &e) || e.Step != "mount resolv.conf" {
			t.Fatalf("err %v, want an *Error at step mount resolv.conf", out.err)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Error("the workload ran although the sandbox was not set up")
		}
	})
	t.Run("not found", func(t *testing.T) {
		out := sandboxRun(t, Spec{Path: "no-such-program-airlock", Env: []string{"PATH=/usr/bin:/bin"}}, nil, runOptions{})
		var e *Error
		if !errors.Is(out.err, exec.ErrNotFound) || !errors.As(out.err, &e) || e.Step != "find executable" {
			t.Errorf("err %v, want exec.ErrNotFound at step find executable", out.err)
		}
	})
	t.Run("no PATH in Env", func(t *testing.T) {
		out := sandboxRun(t, Spec{Path: "true"}, nil, runOptions{})
		if !errors.Is(out.err, exec.ErrNotFound) {
			t.Errorf("err %v, want exec.ErrNotFound", out.err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		out := sandboxRun(t, Spec{Path: "/bin/true", Dir: filepath.Join(dir, "missing")}, nil, runOptions{})
		if !errors.Is(out.err, syscall.ENOENT) || !strings.Contains(out.err.Error(), "missing") {
			t.Errorf("err %v, want ENOENT naming the directory", out.err)
		}
	})
}

func TestContextCancelKillsTheSandbox(t *testing.T) {
	requireSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code, err := run(ctx, Spec{Path: "/bin/sleep", Args: []string{"sleep", "60"}}, func(Endpoints) error { return nil },
		runOptions{started: func(int) { cancel() }})
	if !errors.Is(err, context.Canceled) || code != 128+int(syscall.SIGKILL) {
		t.Errorf("code %d, err %v; want 137 and context.Canceled", code, err)
	}
}

// TestSupervisorDeathKillsTheSandbox runs a supervisor in another process, kills it with
// SIGKILL, and checks that the helper and the workload are gone: no sandbox outlives its network.
func TestSupervisorDeathKillsTheSandbox(t *testing.T) {
	requireSandbox(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), testRoleEnv+"=supervisor")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var helper int
	select {
	case line := <-lines:
		if _, err := fmt.Sscanf(line, "helper %d\n", &helper); err != nil {
			t.Fatalf("supervisor said %q (%v); stderr: %s", line, err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the supervisor did not start the sandbox")
	}
	workload := childOf(t, helper)
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", workload)); string(comm) != "sleep\n" {
		t.Fatalf("the helper's child is %q, want sleep", comm)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(helper) || !gone(workload) {
		if time.Now().After(deadline) {
			t.Fatalf("10s after the supervisor died: helper %d gone %v, workload %d gone %v",
				helper, gone(helper), workload, gone(workload))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childOf returns the PID of a child of parent, waiting for one to appear.
func childOf(t *testing.T, parent int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if _, ppid, ok := procStat(pid); ok && ppid == parent {
				return pid
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d has no child", parent)
	return 0
}

// procStat returns a process's state letter and parent PID.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, true
}

// gone reports whether a process has ended (a zombie waiting for its new parent has).
func gone(pid int) bool {
	state, _, ok := procStat(pid)
	return !ok || state == 'Z' || state == 'X'
}

// TestLeftoversDieWithTheWorkload checks that a process the workload leaves behind does not
// outlive it: the helper is PID 1, and its exit ends the PID namespace.
func TestLeftoversDieWithTheWorkload(t *testing.T) {
	requireSandbox(t)
	marker := fmt.Sprintf("3600.%d", os.Getpid()) // a sleep nobody else runs
	spec := Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep " + marker + " </dev/null >/dev/null 2>&1 & exit 0"}, Env: []string{"PATH=/usr/bin:/bin"}}
	if out := sandboxRun(t, spec, nil, runOptions{}); out.err != nil || out.code != 0 {
		t.Fatalf("code %d, err %v", out.code, out.err)
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte(marker)) && !gone(pid) {
			t.Errorf("process %d (%q) outlived the sandbox", pid, cmdline)
		}
	}
}
