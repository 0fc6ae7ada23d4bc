// Package testbin builds Go programs of this repository for tests that run them as processes
// (the airlock binary, probes), once per test process and package. Only tests may import it.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// AirlockPkg is the import path of the airlock command.
const AirlockPkg = "github.com/airlock-sh/airlock/cmd/airlock"

var (
	mu    sync.Mutex
	dir   string
	built = map[string]*build{}
)

type build struct {
	once sync.Once
	path string
	err  error
}

// Build builds pkg (an import path, or a directory relative to the test's package such as
// "./testdata/probe") with CGO_ENABLED=0 the first time it is asked for, and returns the
// binary's path. A build failure is returned, never a reason to skip: the caller decides.
// Binaries live in one temporary directory per process; Cleanup removes it.
func Build(pkg string) (string, error) {
	mu.Lock()
	if dir == "" {
		d, err := os.MkdirTemp("", "airlock-testbin-")
		if err != nil {
			mu.Unlock()
			return "", fmt.Errorf("testbin: %w", err)
		}
		dir = d
	}
	b := built[pkg]
	if b == nil {
		b = &build{}
		built[pkg] = b
	}
	out := dir
	mu.Unlock()

	b.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		name := strings.Trim(strings.NewReplacer("/", "_", ".", "_").Replace(pkg), "_")
		b.path = filepath.Join(out, name)
		cmd := exec.Command(goBin, "build", "-buildvcs=false", "-o", b.path, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
		}
	})
	return b.path, b.err
}

// Airlock builds cmd/airlock (once) and fails t if it cannot be built.
func Airlock(t testing.TB) string {
	t.Helper()
	p, err := Build(AirlockPkg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Cleanup removes every binary this process built. Call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
	}
}
