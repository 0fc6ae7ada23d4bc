//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package testnpm

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLockExcludes: while one holder has the lock, another open of the file cannot take it;
// after unlock it can. (flock locks belong to open files, so this holds within one process.)
func TestLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lock(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tryLock := func() error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) }
	if err := tryLock(); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("second lock while held: %v, want EWOULDBLOCK", err)
	}
	unlock()
	if err := tryLock(); err != nil {
		t.Fatalf("second lock after unlock: %v", err)
	}
}

func TestLockReportsOpenFailure(t *testing.T) {
	if _, err := lock(filepath.Join(t.TempDir(), "no", "such", "dir", "x.lock")); err == nil || errors.Is(err, errNoLock) {
		t.Fatalf("lock in a missing directory: %v, want an error that is not errNoLock", err)
	}
}
