//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package testnpm

import (
	"fmt"
	"runtime"
)

// lock reports that this platform has no flock(2), which the shared cache relies on.
func lock(path string) (unlock func(), err error) {
	return nil, fmt.Errorf("lock %s: %w on %s", path, errNoLock, runtime.GOOS)
}
