//go:build unix

package proxy

import (
	"net"
	"syscall"
)

// probeIdle reports whether c, an idle connection, would block on a read: the upstream has
// neither closed it nor sent anything unasked. The read is one non-blocking read(2) on the
// socket, outside the runtime poller (whose deadline checks come before any read); bytes it
// takes do not matter, as a connection with unasked-for bytes is not reused.
func probeIdle(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var buf [1]byte
	var rerr error
	n := -1
	err = rc.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), buf[:])
		return true // never wait
	})
	return err == nil && n <= 0 && (rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK)
}
