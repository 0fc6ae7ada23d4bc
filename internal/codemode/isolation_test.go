//go:build linux

package codemode

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWorkerCannotOpenSockets: a process confined as a worker is (in the worker's namespaces,
// with the same function) gets EPERM from every socket and socketpair call.
func TestWorkerCannotOpenSockets(t *testing.T) {
	requireWorkers(t)
	var wg sync.WaitGroup
	p, err := spawn(&wg, &testHooks{env: []string{testRoleEnv + "=sockets"}}, false, DefaultMemory)
	if err != nil {
		t.Fatal(err)
	}
	<-p.exited
	p.close()
	wg.Wait()
	out := strings.TrimSpace(p.stderr.String())
	lines := strings.Split(out, "\n")
	if len(lines) != 8 {
		t.Fatalf("the role reported:\n%s", out)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, ": operation not permitted") {
			t.Errorf("%s (want EPERM)", l)
		}
	}
}

// TestWorkerIsolation looks at a real worker while it waits for a binding call: its own
// network namespace, where no interface is up; no capabilities, no_new_privs, a seccomp
// filter; nothing in its environment but the marker.
func TestWorkerIsolation(t *testing.T) {
	requireWorkers(t)
	b := &tvBindings{blocked: make(chan struct{}), release: make(chan struct{})}
	var pid int
	var mu sync.Mutex
	hooks := &testHooks{started: func(p int) { mu.Lock(); pid = p; mu.Unlock() }}
	opts := Options{Bindings: b, hooks: hooks}
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := RunOnce(context.Background(), opts, Source{Name: "iso.js", Code: "return await lgRemote.wait()"})
		done <- outcome{res, err}
	}()
	select {
	case <-b.blocked:
	case o := <-done:
		t.Fatalf("the run ended before the binding call: %v %+v", o.err, o.res)
	}
	mu.Lock()
	proc := "/proc/" + strconv.Itoa(pid)
	mu.Unlock()

	status := readFile(t, proc+"/status")
	for _, want := range []string{"NoNewPrivs:\t1", "Seccomp:\t2", "CapInh:\t0000000000000000", "CapPrm:\t0000000000000000",
		"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000"} {
		if !strings.Contains(status, want+"\n") {
			t.Errorf("%s/status lacks %q:\n%s", proc, want, status)
		}
	}
	// Every thread: no_new_privs, the filter, and no capability but CAP_SETPCAP (the main
	// thread dropped that one too; the runtime's other threads may keep it in a binary that
	// links cgo, see innerID).
	tasks, err := os.ReadDir(proc + "/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		st := readFile(t, proc+"/task/"+task.Name()+"/status")
		for _, want := range []string{"NoNewPrivs:\t1\n", "Seccomp:\t2\n"} {
			if !strings.Contains(st, want) {
				t.Errorf("thread %s lacks %q", task.Name(), want)
			}
		}
		for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
			i := strings.Index(st, set+":\t")
			v, err := strconv.ParseUint(strings.TrimSpace(st[i+len(set)+2:i+len(set)+2+16]), 16, 64)
			if err != nil || v&^(1<<unix.CAP_SETPCAP) != 0 {
				t.Errorf("thread %s: %s %x", task.Name(), set, v)
			}
		}
	}
	for _, ns := range []string{"net", "user", "ipc"} {
		mine, _ := os.Readlink("/proc/self/ns/" + ns)
		its, err := os.Readlink(proc + "/ns/" + ns)
		if err != nil || mine == its {
			t.Errorf("the worker shares the %s namespace (%s, %v)", ns, its, err)
		}
	}
	// /proc/PID/net shows the worker's network namespace: lo alone, with no address (an
	// interface that is down has no IPv6 address) and no route.
	dev := readFile(t, proc+"/net/dev")
	var ifaces []string
	for _, l := range strings.Split(dev, "\n")[2:] {
		if name, _, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			ifaces = append(ifaces, name)
		}
	}
	if strings.Join(ifaces, ",") != "lo" {
		t.Errorf("interfaces %v, want lo only", ifaces)
	}
	if s := strings.TrimSpace(readFile(t, proc+"/net/if_inet6")); s != "" {
		t.Errorf("IPv6 addresses: %s", s)
	}
	if routes := strings.Split(strings.TrimSpace(readFile(t, proc+"/net/route")), "\n"); len(routes) != 1 {
		t.Errorf("IPv4 routes: %q", routes)
	}
	if env, err := os.ReadFile(proc + "/environ"); err == nil && string(env) != strings.Join(workerEnviron, "\x00")+"\x00" {
		t.Errorf("environment %q", env)
	}
	if os.Geteuid() == 0 {
		if up, err := loopbackUpIn(proc + "/ns/net"); err != nil {
			t.Errorf("look at lo in the worker's namespace: %v", err)
		} else if up {
			t.Error("lo is up in the worker's network namespace")
		}
	}
	close(b.release)
	o := <-done
	if o.err != nil || value(t, o.res) != `"released"` {
		t.Errorf("run: %v %+v", o.err, o.res)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loopbackUpIn enters the network namespace nsPath on a thread of its own (which is then
// discarded) and reports whether lo is up there.
func loopbackUpIn(nsPath string) (bool, error) {
	type result struct {
		up  bool
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread, in another namespace, ends with the goroutine
		r := func() result {
			fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return result{err: err}
			}
			defer unix.Close(fd)
			if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
				return result{err: err}
			}
			s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return result{err: err}
			}
			defer unix.Close(s)
			ifr, err := unix.NewIfreq("lo")
			if err != nil {
				return result{err: err}
			}
			if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
				return result{err: err}
			}
			return result{up: ifr.Uint16()&unix.IFF_UP != 0}
		}()
		ch <- r
	}()
	select {
	case r := <-ch:
		return r.up, r.err
	case <-time.After(10 * time.Second):
		return false, context.DeadlineExceeded
	}
}
