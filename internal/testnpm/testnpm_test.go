package testnpm

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/airlock-sh/airlock/internal/testworld"
)

// recorder is a testing.TB whose Skip and Fatal record the message and end the goroutine, as
// the real ones do, without ending the test that runs it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) {
	r.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

// run calls Everything with a recorder on a goroutine of its own, and waits for it.
func run(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Everything(r)
	}()
	<-done
	return r
}

// TestWithoutNode: with no node on PATH, Everything skips with the reason, or fails under
// AIRLOCK_REQUIRE_PRIVILEGED=1. Nothing is installed.
func TestWithoutNode(t *testing.T) {
	for _, tc := range []struct {
		name, require string
		wantSkip      bool
	}{
		{"skips", "", true},
		{"skips unless 1", "yes", true},
		{"fails when required", "1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv(CacheEnv, t.TempDir())
			t.Setenv(testworld.RequireEnv, tc.require)
			r := run(t)
			got, other := r.failed, r.skipped
			if tc.wantSkip {
				got, other = r.skipped, r.failed
			}
			if !strings.Contains(got, "node is not installed") || !strings.Contains(got, testworld.RequireEnv) || other != "" {
				t.Errorf("skipped %q, failed %q; want to %s with why", r.skipped, r.failed, map[bool]string{true: "skip", false: "fail"}[tc.wantSkip])
			}
		})
	}
}

// TestEverything installs server-everything (or finds the cached install) twice and checks the
// paths it returns.
func TestEverything(t *testing.T) {
	node, entry := Everything(t)
	node2, entry2 := Everything(t)
	if node != node2 || entry != entry2 {
		t.Errorf("second call: %s %s, first: %s %s", node2, entry2, node, entry)
	}
	for _, p := range []string{node, entry} {
		if !filepath.IsAbs(p) {
			t.Errorf("%s is not an absolute path", p)
		}
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	if want := filepath.FromSlash("node_modules/" + EverythingPkg + "/"); !strings.Contains(entry, want) {
		t.Errorf("entry %s is not inside %s", entry, want)
	}
	if want := "server-everything@" + EverythingVersion; !strings.Contains(entry, want) {
		t.Errorf("entry %s is not in the install of %s", entry, want)
	}
}
