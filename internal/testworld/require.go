package testworld

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// RequireEnv is the environment variable under which [Require] fails a test instead of skipping
// it: CI sets AIRLOCK_REQUIRE_PRIVILEGED=1, so a security test can never silently not run.
const RequireEnv = "AIRLOCK_REQUIRE_PRIVILEGED"

// Require skips t, with the reason, unless this process can build test worlds: Linux, running
// as root, iproute2's ip present, `ip netns add` working, and a child able to start in new user
// and network namespaces (what airlock's own sandbox needs). When AIRLOCK_REQUIRE_PRIVILEGED=1,
// it fails t instead of skipping. The namespace probe runs once per process. [New] calls it.
func Require(t testing.TB) {
	t.Helper()
	require(t, platform{
		goos:   runtime.GOOS,
		euid:   os.Geteuid(),
		getenv: os.Getenv,
		probe:  probeOnce,
	})
}

var probeOnce = sync.OnceValue(probeNamespaces)

// platform is what Require decides on; tests replace its parts.
type platform struct {
	goos   string
	euid   int
	getenv func(string) string
	probe  func() error // only called when everything else allows
}

// reason is why this platform cannot build test worlds, or "" when it can.
func (p platform) reason() string {
	switch {
	case p.goos != "linux":
		return fmt.Sprintf("test worlds need Linux network namespaces; this is %s", p.goos)
	case p.euid != 0:
		return fmt.Sprintf("test worlds need root to create network namespaces (euid is %d); run the tests as root", p.euid)
	}
	if err := p.probe(); err != nil {
		return "test worlds are unavailable: " + err.Error()
	}
	return ""
}

func require(t testing.TB, p platform) {
	t.Helper()
	why := p.reason()
	if why == "" {
		return
	}
	if strings.TrimSpace(p.getenv(RequireEnv)) == "1" {
		t.Fatalf("%s (%s=1: privileged tests must run, not skip)", why, RequireEnv)
		return
	}
	t.Skipf("%s (set %s=1 to fail instead of skipping)", why, RequireEnv)
}
