package codemode

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// runTestRole plays a part in a test. "sockets": confine like a worker, then try to open
// sockets of every kind and report, on stderr, one line per attempt. "die": fail the way a
// worker that cannot confine itself does.
func runTestRole(role string) int {
	switch role {
	case "sockets":
	case "die":
		fmt.Fprintln(os.Stderr, "airlock code-mode worker: confine: pretend the kernel refused")
		return exitConfine
	default:
		fmt.Fprintln(os.Stderr, "unknown test role", role)
		return 2
	}
	if err := confineWorker(); err != nil {
		fmt.Fprintln(os.Stderr, "confine:", err)
		return 1
	}
	try := func(name string, err error) {
		if err == nil {
			fmt.Fprintf(os.Stderr, "%s: opened\n", name)
			return
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	for _, s := range []struct {
		name                  string
		domain, typ, protocol int
	}{
		{"AF_INET stream", unix.AF_INET, unix.SOCK_STREAM, 0},
		{"AF_INET dgram", unix.AF_INET, unix.SOCK_DGRAM, 0},
		{"AF_INET6 stream", unix.AF_INET6, unix.SOCK_STREAM, 0},
		{"AF_UNIX stream", unix.AF_UNIX, unix.SOCK_STREAM, 0},
		{"AF_NETLINK route", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE},
		{"AF_PACKET", unix.AF_PACKET, unix.SOCK_RAW, 0},
		{"AF_VSOCK", unix.AF_VSOCK, unix.SOCK_STREAM, 0},
	} {
		fd, err := unix.Socket(s.domain, s.typ, s.protocol)
		if err == nil {
			unix.Close(fd)
		}
		try("socket "+s.name, err)
	}
	_, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	try("socketpair AF_UNIX stream", err)
	return 0
}
