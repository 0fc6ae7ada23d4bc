package codemode

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestLimits stops runaway code with each limit, cleanly (the worker's own monitor) and through
// the backstops (the host's deadline, RLIMIT_CPU, RLIMIT_AS), and checks after each that the
// same Runner still runs code.
func TestLimits(t *testing.T) {
	requireWorkers(t)
	if testing.Short() {
		t.Skip("limits take seconds of CPU")
	}
	const (
		spin  = "while (true) {}"
		grow  = "let a = []; for (;;) a.push('x'.repeat(1e6))"
		sleep = "await lgRemote.wait()"
	)
	cases := []struct {
		name      string
		lim       Limits
		noMonitor bool
		code      string
		want      string
		msg       string
	}{
		{"wall", Limits{Wall: 300 * time.Millisecond}, false, spin, LimitWall, "wall-clock limit exceeded: the code ran for longer than 300ms"},
		{"wall while waiting for a binding", Limits{Wall: 300 * time.Millisecond}, false, sleep, LimitWall, "wall-clock limit exceeded"},
		{"cpu", Limits{CPU: 500 * time.Millisecond}, false, spin, LimitCPU, "CPU-time limit exceeded: the code used more than 500ms of CPU time"},
		{"memory", Limits{Memory: 64 << 20}, false, grow, LimitMemory, "memory limit exceeded: the code used more than 64 MiB"},
		{"one huge allocation", Limits{Memory: 64 << 20}, false, "const s = 'x'.repeat(2 ** 29); return s.length", LimitMemory, "memory limit exceeded"},
		{"wall backstop: the host's deadline", Limits{Wall: 300 * time.Millisecond}, true, spin, LimitWall, "wall-clock limit exceeded"},
		{"cpu backstop: RLIMIT_CPU", Limits{CPU: 500 * time.Millisecond}, true, spin, LimitCPU, "CPU-time limit exceeded"},
		{"memory backstop: RLIMIT_AS", Limits{Memory: 64 << 20}, true, grow, LimitMemory, "memory limit exceeded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == LimitMemory && raceEnabled {
				t.Skip("ThreadSanitizer's shadow memory counts towards RLIMIT_AS: memory limits are tested without -race")
			}
			ctx := context.Background()
			opts := Options{Limits: c.lim, Bindings: &tvBindings{release: make(chan struct{})}, hooks: &testHooks{noMonitor: c.noMonitor}}
			r, err := NewRunner(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			res, err := r.Run(ctx, Source{Name: "limit.js", Code: "console.log('started')\n" + c.code})
			if err != nil {
				t.Fatal(err)
			}
			if res.Error == nil || res.Error.Limit != c.want || !strings.HasPrefix(res.Error.Message, c.msg) {
				t.Fatalf("got %+v, want the %s limit", res.Error, c.want)
			}
			if len(res.Console) != 1 || res.Console[0].Text != "started" {
				t.Errorf("console before the limit: %q", res.Console)
			}
			res, err = r.Run(ctx, Source{Name: "after.js", Code: "return 'still here'"})
			if err != nil || res.Error != nil || string(res.Value) != `"still here"` {
				t.Errorf("the run after: %v %+v", err, res)
			}
		})
	}
}

func TestStackOverflow(t *testing.T) {
	requireWorkers(t)
	res := run(t, Options{}, "function f(n) { return f(n + 1) + 1 }\nreturn f(0)")
	if res.Error == nil || res.Error.Message != "RangeError: Maximum call stack size exceeded" || res.Error.Line != 1 {
		t.Errorf("got %+v", res.Error)
	}
}

// TestCancel: cancelling the context kills the worker; Run returns the context's error and
// the Runner goes on.
func TestCancel(t *testing.T) {
	requireWorkers(t)
	b := &tvBindings{blocked: make(chan struct{}), release: make(chan struct{})}
	r, err := NewRunner(context.Background(), Options{Bindings: b})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.blocked
		cancel()
	}()
	res, err := r.Run(ctx, Source{Code: "await lgRemote.wait()"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v %+v, want context.Canceled", err, res)
	}
	res, err = r.Run(context.Background(), Source{Code: "return 2"})
	if err != nil || string(res.Value) != "2" {
		t.Errorf("after the cancel: %v %+v", err, res)
	}
}

func TestOutputLimit(t *testing.T) {
	requireWorkers(t)
	res := run(t, Options{Limits: Limits{Output: 100}}, "for (let i = 0; i < 50; i++) console.log('0123456789')\nreturn 1")
	kept := 0
	for _, l := range res.Console {
		kept += len(l.Text) + 1
	}
	if value(t, res) != "1" || len(res.Console) != 9 || kept != 99 || res.Dropped != 41*10 {
		t.Errorf("%d lines, %d bytes kept, %d dropped", len(res.Console), kept, res.Dropped)
	}
	// A line longer than what is left is cut.
	res = run(t, Options{Limits: Limits{Output: 10}}, "console.log('abc'); console.warn('0123456789'); return 1")
	if len(res.Console) != 2 || res.Console[1] != (ConsoleLine{"warn", "01234"}) || res.Dropped != 5 {
		t.Errorf("got %q, %d dropped", res.Console, res.Dropped)
	}
}
