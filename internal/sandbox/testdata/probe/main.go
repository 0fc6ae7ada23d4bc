// Command probe runs inside the sandbox for the sandbox package's tests: each subcommand tries
// one thing and prints what happened, "ok" or "err=N" (N the errno), on stdout.
//
// It uses the standard library only, so that the tests can build it without the module cache.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe COMMAND ARGS...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "exit":
		n, _ := strconv.Atoi(args[0])
		os.Exit(n)
	case "env":
		// The kernel's copy, NUL-terminated: os.Environ drops duplicate keys.
		b, err := os.ReadFile("/proc/self/environ")
		if err != nil {
			result(err)
			return
		}
		os.Stdout.Write(b)
	case "cat":
		b, err := os.ReadFile(args[0])
		if err != nil {
			result(err)
			return
		}
		os.Stdout.Write(b)
	case "read":
		_, err := os.ReadFile(args[0])
		result(err)
	case "ifaces":
		ifs, err := net.Interfaces()
		if err != nil {
			result(err)
			return
		}
		for _, ifc := range ifs {
			fmt.Printf("%s up=%v loopback=%v\n", ifc.Name, ifc.Flags&net.FlagUp != 0, ifc.Flags&net.FlagLoopback != 0)
		}
	case "procs":
		entries, err := os.ReadDir("/proc")
		if err != nil {
			result(err)
			return
		}
		var pids []int
		for _, e := range entries {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				pids = append(pids, n)
			}
		}
		sort.Ints(pids)
		fmt.Println(strings.Trim(fmt.Sprint(pids), "[]"), "self="+strconv.Itoa(os.Getpid()))
	case "status":
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			result(err)
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, p := range []string{"Cap", "NoNewPrivs", "Seccomp:", "Uid", "Gid"} {
				if strings.HasPrefix(line, p) {
					fmt.Println(strings.Join(strings.Fields(line), " "))
				}
			}
		}
	case "connect": // connect tcp|udp ADDR
		c, err := net.DialTimeout(args[0], args[1], 5*time.Second)
		if err == nil {
			c.Close()
		}
		result(err)
	case "echo": // echo tcp|udp ADDR: send a line, expect it back
		c, err := net.DialTimeout(args[0], args[1], 5*time.Second)
		if err != nil {
			result(err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := "hello " + args[1]
		if _, err := c.Write([]byte(msg)); err != nil {
			result(err)
			return
		}
		buf := make([]byte, 256)
		n, err := c.Read(buf)
		if err != nil {
			result(err)
			return
		}
		if string(buf[:n]) != msg {
			fmt.Printf("mismatch %q\n", buf[:n])
			return
		}
		fmt.Println("ok")
	case "socket": // socket DOMAIN TYPE PROTO (numbers)
		fd, err := syscall.Socket(atoi(args[0]), atoi(args[1]), atoi(args[2]))
		if err == nil {
			syscall.Close(fd)
		}
		result(err)
	case "socketpair": // socketpair DOMAIN TYPE
		fds, err := syscall.Socketpair(atoi(args[0]), atoi(args[1]), 0)
		if err == nil {
			syscall.Close(fds[0])
			syscall.Close(fds[1])
		}
		result(err)
	case "unix": // unix PATH: socket(AF_UNIX) and connect
		c, err := net.Dial("unix", args[0])
		if err == nil {
			c.Close()
		}
		result(err)
	case "syscall": // syscall NR ARGS...: only for calls that are harmless when they succeed
		var a [6]uintptr
		for i, s := range args[1:] {
			a[i] = uintptr(atoi(s))
		}
		_, _, errno := syscall.Syscall6(uintptr(atoi(args[0])), a[0], a[1], a[2], a[3], a[4], a[5])
		if errno != 0 {
			result(errno)
			return
		}
		result(nil)
	case "unshare": // unshare FLAGS
		result(syscall.Unshare(atoi(args[0])))
	case "clone-newuser": // start /bin/true in a new user namespace
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		result(cmd.Run())
	case "setns": // setns PATH
		f, err := os.Open(args[0])
		if err != nil {
			result(err)
			return
		}
		nr := map[string]uintptr{"amd64": 308, "arm64": 268}[runtime.GOARCH]
		_, _, errno := syscall.Syscall(nr, f.Fd(), 0, 0)
		if errno != 0 {
			result(errno)
			return
		}
		result(nil)
	case "kill": // kill PID (signal 0)
		result(syscall.Kill(atoi(args[0]), 0))
	case "fds": // "FD TARGET" for the open descriptors but the one reading the directory
		dfd, err := syscall.Open("/proc/self/fd", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			result(err)
			return
		}
		buf := make([]byte, 8192)
		var names []string
		for {
			n, err := syscall.ReadDirent(dfd, buf)
			if err != nil {
				result(err)
				return
			}
			if n == 0 {
				break
			}
			_, _, names = syscall.ParseDirent(buf[:n], -1, names)
		}
		var fds []int
		for _, n := range names {
			if fd, err := strconv.Atoi(n); err == nil && fd != dfd {
				fds = append(fds, fd)
			}
		}
		sort.Ints(fds)
		for _, fd := range fds {
			target, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			fmt.Println(fd, target)
		}
	case "uid":
		fmt.Println(os.Getuid(), os.Getgid())
	case "wait-signal":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		fmt.Println("ready")
		s := <-ch
		fmt.Println("got", s)
	case "lines": // echo stdin lines back, prefixed, until EOF
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println("line:", sc.Text())
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func atoi(s string) int {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return int(n)
}

// result prints "ok" or "err=N" with the errno behind err, or "err=other: MESSAGE".
func result(err error) {
	if err == nil {
		fmt.Println("ok")
		return
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		fmt.Printf("err=%d\n", int(errno))
		return
	}
	fmt.Printf("err=other: %v\n", err)
}
