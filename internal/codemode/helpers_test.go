package codemode

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

var (
	preflightOnce sync.Once
	preflightErr  error
)

// requireWorkers skips the test when workers cannot start here (Preflight's error says why),
// or fails it under AIRLOCK_REQUIRE_PRIVILEGED=1.
func requireWorkers(t testing.TB) {
	t.Helper()
	preflightOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		preflightErr = Preflight(ctx)
	})
	if preflightErr != nil {
		if os.Getenv("AIRLOCK_REQUIRE_PRIVILEGED") == "1" {
			t.Fatalf("AIRLOCK_REQUIRE_PRIVILEGED=1 but code-mode workers cannot start here: %v", preflightErr)
		}
		t.Skipf("code-mode workers cannot start here: %v (set AIRLOCK_REQUIRE_PRIVILEGED=1 to fail instead)", preflightErr)
	}
}

// waitWarm waits until the pool holds a ready worker.
func (r *Runner) waitWarm(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		p := r.warm
		r.mu.Unlock()
		if p != nil && p.isReady() && !p.isDead() {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
	t.Fatal("no warm worker within a minute")
}
