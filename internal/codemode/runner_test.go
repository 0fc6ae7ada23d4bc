package codemode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPoolReplacesADeadWarmWorker(t *testing.T) {
	requireWorkers(t)
	var mu sync.Mutex
	var pids []int
	hooks := &testHooks{started: func(pid int) { mu.Lock(); pids = append(pids, pid); mu.Unlock() }}
	r, err := NewRunner(context.Background(), Options{hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.mu.Lock()
	warm := r.warm
	r.mu.Unlock()
	victim, err := os.FindProcess(warm.pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := victim.Kill(); err != nil { // a worker this test started, by its PID
		t.Fatal(err)
	}
	<-warm.exited
	r.waitWarm(t)
	r.mu.Lock()
	replaced := r.warm != warm
	r.mu.Unlock()
	if !replaced {
		t.Fatal("the dead warm worker is still in the pool")
	}
	res, err := r.Run(context.Background(), Source{Code: "return 'ok'"})
	if err != nil || string(res.Value) != `"ok"` {
		t.Errorf("run: %v %+v", err, res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pids) < 2 {
		t.Errorf("workers started: %v", pids)
	}
}

func TestConcurrentRuns(t *testing.T) {
	requireWorkers(t)
	r, err := NewRunner(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Run(context.Background(), Source{Code: fmt.Sprintf("await null; return %d * 2", i)})
			switch {
			case err != nil:
				errs <- err
			case string(res.Value) != fmt.Sprint(i*2):
				errs <- fmt.Errorf("run %d: %s %v", i, res.Value, res.Error)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNoStateBetweenRuns: every run has a worker of its own.
func TestNoStateBetweenRuns(t *testing.T) {
	requireWorkers(t)
	r, err := NewRunner(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if _, err := r.Run(ctx, Source{Code: "globalThis.leak = 1; Object.prototype.polluted = true; JSON.stringify = () => 'x'"}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(ctx, Source{Code: "return [typeof leak, ({}).polluted === undefined, JSON.stringify([1])]"})
	if err != nil || string(res.Value) != `["undefined",true,"[1]"]` {
		t.Errorf("%v %s %v", err, res.Value, res.Error)
	}
}

func TestClose(t *testing.T) {
	requireWorkers(t)
	r, err := NewRunner(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	warm := r.warm
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !warm.isDead() {
		t.Error("Close left the warm worker running")
	}
	if _, err := r.Run(context.Background(), Source{Code: "return 1"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCloseDuringRun: Close kills a running worker and waits for its run to return.
func TestCloseDuringRun(t *testing.T) {
	requireWorkers(t)
	b := &tvBindings{blocked: make(chan struct{}), release: make(chan struct{})}
	r, err := NewRunner(context.Background(), Options{Bindings: b})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		res, err := r.Run(context.Background(), Source{Code: "await lgRemote.wait()"})
		if err == nil && res.Error == nil {
			err = errors.New("the run succeeded")
		}
		done <- err
	}()
	<-b.blocked
	r.Close()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not return after Close")
	}
}

func TestLimitsValidation(t *testing.T) {
	for _, lim := range []Limits{{Memory: 1 << 20}, {Wall: -1}, {CPU: -time.Second}, {Output: -1}} {
		if _, err := NewRunner(context.Background(), Options{Limits: lim}); err == nil {
			t.Errorf("%+v accepted", lim)
		}
	}
	l, err := Limits{}.withDefaults()
	if err != nil || l != (Limits{Wall: DefaultWall, CPU: DefaultCPU, Memory: DefaultMemory, Output: DefaultOutput}) {
		t.Errorf("defaults: %+v %v", l, err)
	}
}

// TestWorkerStartFailure: a worker that dies before it is ready (it could not confine itself)
// makes NewRunner and Run fail with what it said, as airlock's own error.
func TestWorkerStartFailure(t *testing.T) {
	requireWorkers(t)
	hooks := &testHooks{env: []string{testRoleEnv + "=die"}}
	_, err := NewRunner(context.Background(), Options{hooks: hooks})
	if err == nil || !strings.Contains(err.Error(), "did not start") || !strings.Contains(err.Error(), "pretend the kernel refused") {
		t.Errorf("NewRunner: %v", err)
	}
	res, err := RunOnce(context.Background(), Options{hooks: hooks}, Source{Code: "return 1"})
	if err == nil || !strings.Contains(err.Error(), "pretend the kernel refused") {
		t.Errorf("RunOnce: %v %+v", err, res)
	}
}
