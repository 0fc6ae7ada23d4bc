package codemode

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/airlock-sh/airlock/internal/sandbox"
)

// workerCloneFlags are the worker's namespaces: its own user namespace (it is root of
// nothing real) and an empty network namespace (lo exists, down: no interface is usable).
// An IPC namespace costs little and keeps it away from the caller's System V IPC objects and
// POSIX message queues, which its uid could otherwise open.
const workerCloneFlags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC

// workerEnviron is a worker's whole environment: nothing of the host's. MALLOC_ARENA_MAX=1
// keeps glibc (the binary links cgo) from reserving a 64 MiB malloc arena for each new thread,
// which RLIMIT_AS, the worker's memory backstop, would count.
var workerEnviron = []string{workerEnv + "=1", "MALLOC_ARENA_MAX=1"}

// innerID is the uid (or gid) a worker has in its user namespace, mapped to the caller's own
// id outside: the caller's id, except that root becomes nobody (65534). Root of a user
// namespace gets every capability on execve, on every thread the Go runtime then starts;
// Confine could take them back only from the threads it can reach, which in a binary that
// links cgo is the calling one.
func innerID(id int) int {
	if id == 0 {
		return 65534
	}
	return id
}

// spawn starts a worker: /proc/self/exe with workerEnviron, stdin and stdout pipes for frames,
// stderr captured, in new user, network and IPC namespaces, under the memory limit memory. A
// worker for the pool (preload) compiles what scripts may need before it says ready. Its goroutines are added to wg. It never
// starts a worker without the namespaces: a failure to create them is an error that names the
// cause and the fix.
func spawn(wg *sync.WaitGroup, hooks *testHooks, preload bool, memory int64) (*proc, error) {
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err1 := pipe()
	outR, outW, err2 := pipe()
	errR, errW, err3 := pipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		closeAll()
		return nil, fmt.Errorf("codemode: start worker: %w", err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	env := slices.Clone(workerEnviron)
	if hooks != nil {
		env = append(env, hooks.env...)
	}
	args := workerArgs(preload, memory)
	cmd := &exec.Cmd{
		Path:   "/proc/self/exe",
		Args:   args,
		Env:    env,
		Dir:    "/",
		Stdin:  inR,
		Stdout: outW,
		Stderr: errW,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:                 workerCloneFlags,
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: innerID(uid), HostID: uid, Size: 1}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: innerID(gid), HostID: gid, Size: 1}},
			GidMappingsEnableSetgroups: false,
			// A worker is never root in its namespace, so its execve gives no thread any
			// capability but this one, which it keeps so that it can empty its bounding set
			// and lock its securebits (sandbox.Confine), and then drops with the rest.
			AmbientCaps: []uintptr{unix.CAP_SETPCAP},
			Pdeathsig:   syscall.SIGKILL,
		},
	}
	p := newProc()
	p.in = newFrameWriter(inW, maxFrame)
	p.stdin = inW
	p.killFn = func() error { return cmd.Process.Kill() }

	// The parent-death signal fires when the thread that started the worker exits, not the
	// process: the worker is started, and waited for, on a goroutine that keeps its thread.
	started := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		goruntime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	err := <-started
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		var errno syscall.Errno
		if errors.As(err, &errno) {
			err = errno
		}
		return nil, fmt.Errorf("codemode: start worker: %w", sandbox.NamespaceError("create namespaces", err))
	}
	p.pid = cmd.Process.Pid
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer outR.Close()
		p.readFrames(outR)
	}()
	go func() {
		defer wg.Done()
		defer errR.Close()
		p.readStderr(errR)
	}()
	if hooks != nil && hooks.started != nil {
		hooks.started(p.pid)
	}
	return p, nil
}

// signalCause explains a worker killed by a signal: SIGXCPU (RLIMIT_CPU's soft limit) or a
// SIGKILL the host did not send after the CPU limit was used up (its hard limit) is the CPU
// limit; SIGSYS is the seccomp filter.
func signalCause(st *os.ProcessState, killedByHost bool, lim Limits) (limit, msg string) {
	if st == nil {
		return "", ""
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return "", ""
	}
	switch ws.Signal() {
	case syscall.SIGXCPU:
		return LimitCPU, ""
	case syscall.SIGKILL:
		if !killedByHost && cpuUsed(st) >= lim.CPU {
			return LimitCPU, ""
		}
	case syscall.SIGSYS:
		return "", "the code-mode worker was killed for a forbidden system call (seccomp)"
	}
	return "", ""
}
