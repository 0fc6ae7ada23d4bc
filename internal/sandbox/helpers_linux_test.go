package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/testbin"
)

// testRoleEnv makes the test binary play a part in a test instead of running tests: "supervisor"
// runs a sandbox and prints the helper's PID, for a test that kills it.
const testRoleEnv = "AIRLOCK_SANDBOX_TEST_ROLE"

func runTestRole(role string) int {
	switch role {
	case "supervisor":
		_, err := run(context.Background(), Spec{Path: "/bin/sleep", Args: []string{"sleep", "60"}},
			func(Endpoints) error { return nil },
			runOptions{started: func(pid int) { fmt.Printf("helper %d\n", pid) }})
		fmt.Fprintln(os.Stderr, "run returned:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "unknown test role", role)
	return 2
}

var (
	preflightOnce sync.Once
	preflightErr  error
)

func requirePrivileged() bool { return os.Getenv("AIRLOCK_REQUIRE_PRIVILEGED") == "1" }

// requireSandbox skips the test when this host cannot create sandboxes (the reason is
// Preflight's error), or fails it under AIRLOCK_REQUIRE_PRIVILEGED=1.
func requireSandbox(t testing.TB) {
	t.Helper()
	preflightOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		preflightErr = Preflight(ctx)
	})
	if preflightErr != nil {
		if requirePrivileged() {
			t.Fatalf("AIRLOCK_REQUIRE_PRIVILEGED=1 but this host cannot create sandboxes: %v", preflightErr)
		}
		t.Skipf("this host cannot create sandboxes: %v", preflightErr)
	}
}

// probePath builds testdata/probe once per test binary and returns its path.
func probePath(t testing.TB) string {
	t.Helper()
	requireSandbox(t)
	p, err := testbin.Build("./testdata/probe")
	if err != nil {
		if requirePrivileged() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return p
}

func cleanupTestFiles() { testbin.Cleanup() }

// outcome is what one sandboxed run produced.
type outcome struct {
	code           int
	err            error
	stdout, stderr []byte
}

// sandboxRun runs spec through run and captures stdout and stderr unless spec sets them.
func sandboxRun(t testing.TB, spec Spec, serve func(Endpoints) error, opts runOptions) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var out outcome
	capture := func(dst **os.File, buf *[]byte) (closeWriter func()) {
		if *dst != nil {
			return func() {}
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		*dst = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			*buf, _ = io.ReadAll(r)
			r.Close()
		}()
		return func() { w.Close() }
	}
	closeOut := capture(&spec.Stdout, &out.stdout)
	closeErr := capture(&spec.Stderr, &out.stderr)
	if serve == nil {
		serve = func(Endpoints) error { return nil }
	}
	out.code, out.err = run(ctx, spec, serve, opts)
	closeOut()
	closeErr()
	wg.Wait()
	return out
}

func probeSpec(t testing.TB, args ...string) Spec {
	return Spec{Path: probePath(t), Args: append([]string{"probe"}, args...), Env: []string{"PATH=/usr/bin:/bin"}}
}

// runProbe runs the probe once and returns its stdout; the run must succeed with exit code 0.
func runProbe(t testing.TB, spec Spec, serve func(Endpoints) error) string {
	t.Helper()
	out := sandboxRun(t, spec, serve, runOptions{})
	if out.err != nil || out.code != 0 {
		t.Fatalf("%v: code %d, err %v, stderr %q", spec.Args, out.code, out.err, out.stderr)
	}
	return string(out.stdout)
}

// probeLines runs several probe commands, each printing one line, in one sandbox (base gives
// everything but the command) and returns their lines.
func probeLines(t testing.TB, base Spec, serve func(Endpoints) error, cmds [][]string) []string {
	t.Helper()
	p := probePath(t)
	var script strings.Builder
	for _, c := range cmds {
		script.WriteString(shellQuote(p))
		for _, a := range c {
			script.WriteString(" " + shellQuote(a))
		}
		script.WriteString("\n")
	}
	base.Path, base.Args = "/bin/sh", []string{"sh", "-c", script.String()}
	if base.Env == nil {
		base.Env = []string{"PATH=/usr/bin:/bin"}
	}
	out := runProbe(t, base, serve)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(cmds) {
		t.Fatalf("%d commands printed %d lines:\n%s", len(cmds), len(lines), out)
	}
	return lines
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
