//go:build linux

package testworld

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on a locked OS thread switched into the network namespace at path, then
// switches the thread back. If it cannot switch back, the thread stays locked, so the runtime
// discards it when its goroutine exits, and inNetns reports the failure.
func inNetns(path string, fn func() error) (err error) {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open this thread's network namespace: %w", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter %s: %w", path, err)
	}
	// Deferred, so the thread is switched back even when fn panics or calls t.FailNow.
	defer func() {
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			err = errors.Join(err, fmt.Errorf("leave %s: %w (thread left locked, to be discarded)", path, rerr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// setSysctls, run inside a namespace, turns forwarding off (a world's namespaces never relay)
// and IPv6 duplicate address detection off (addresses are usable at once).
func setSysctls() error {
	for _, s := range []struct {
		path string
		v6   bool // absent when the kernel has no IPv6
	}{
		{"/proc/sys/net/ipv4/ip_forward", false},
		{"/proc/sys/net/ipv6/conf/all/forwarding", true},
		{"/proc/sys/net/ipv6/conf/default/forwarding", true},
		{"/proc/sys/net/ipv6/conf/all/accept_dad", true},
		{"/proc/sys/net/ipv6/conf/default/accept_dad", true},
	} {
		err := os.WriteFile(s.path, []byte("0\n"), 0)
		if err != nil && !(s.v6 && errors.Is(err, os.ErrNotExist)) {
			return fmt.Errorf("sysctl: %w", err)
		}
	}
	return nil
}

// sysProcAttr puts a world command in a process group of its own and kills it with the test
// process.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group p leads (a world command is started with Setpgid). It
// does nothing once p has been waited for, when its PID, and so the group ID, may be reused.
func killGroup(p *os.Process) error {
	if err := p.Signal(syscall.Signal(0)); err != nil {
		return err // os.ErrProcessDone: reaped
	}
	return unix.Kill(-p.Pid, unix.SIGKILL)
}

// probeNamespaces checks that this process can create what a world and airlock's sandbox need:
// named network namespaces with `ip netns`, and new user and network namespaces for a child.
func probeNamespaces() error {
	ip, err := exec.LookPath("ip")
	if err != nil {
		return fmt.Errorf("iproute2's ip is not installed (%w); install iproute2", err)
	}
	name := "aw-probe-" + randomHex(4)
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("`ip netns add` failed (%v: %s); network namespaces are unavailable here (a container without CAP_SYS_ADMIN?)", err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command(ip, "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("`ip netns del %s` failed: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	tru, err := exec.LookPath("true")
	if err != nil {
		return fmt.Errorf("no `true` to probe user namespaces with: %w", err)
	}
	cmd := exec.Command(tru)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("a child in new user+network namespaces failed (%v); user namespaces are unavailable (user.max_user_namespaces=0, or a seccomp profile that blocks clone(CLONE_NEWUSER))", err)
	}
	return nil
}

// reapGroup kills what is left of process group pgid and waits until none of its members is
// running (a member whose parent has died is reaped by init, not by us; a zombie counts as
// gone). It gives up, with an error, after patience.
func reapGroup(pgid int, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		live := liveMembers(pgid)
		if len(live) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process group %d: %v still running after SIGKILL", pgid, live)
		}
		for _, pid := range live {
			unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveMembers lists the processes of group pgid that are not zombies.
func liveMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var live []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, pgrp, ok := procStat(pid)
		if ok && pgrp == pgid && state != 'Z' && state != 'X' {
			live = append(live, pid)
		}
	}
	return live
}

// procStat reads a process's state and process group from /proc/PID/stat.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(f[2])
	return f[0][0], pgrp, err == nil
}
