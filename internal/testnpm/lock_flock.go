//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package testnpm

import (
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive flock(2) on path, creating the file, and waits for it. The lock is
// the open file's: unlock (closing it) releases it, and so does the process's end.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock file for the npm cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
