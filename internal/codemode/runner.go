package codemode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/sandbox"
)

// startTimeout bounds how long a worker may take to become ready when NewRunner and
// Preflight wait for one.
const startTimeout = 30 * time.Second

// errUnsupported is the error outside Linux: a worker is isolated with Linux namespaces, and
// never runs without them.
var errUnsupported = errors.New("codemode: code mode needs Linux namespaces to isolate its worker; not supported on " + runtime.GOOS)

// Runner runs code in workers. It keeps one worker started and ready (confined, its runtime
// prepared), so that a run does not wait for a process to start; each run takes it and a
// replacement starts in the background. A worker serves one run and exits. A Runner is safe
// for concurrent use; concurrent runs beyond the one warm worker start their own.
type Runner struct {
	opts   Options
	lim    Limits
	client *http.Client // SafeFetch on opts.Guard; nil when there is no Guard
	pool   bool         // keep a warm worker

	wg       sync.WaitGroup // every goroutine the Runner starts
	sessions sync.WaitGroup // runs in progress
	closing  chan struct{}

	mu        sync.Mutex
	closed    bool
	warm      *proc
	refilling bool
	procs     map[*proc]struct{} // every worker started, for Close (pruned as they exit)
}

func newRunner(opts Options, pool bool) (*Runner, error) {
	lim, err := opts.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Bindings != nil {
		if _, _, err := checkBindings(opts.Bindings.Methods()); err != nil {
			return nil, err
		}
	}
	r := &Runner{opts: opts, lim: lim, pool: pool, closing: make(chan struct{}), procs: map[*proc]struct{}{}}
	if opts.Guard != nil {
		r.client = egress.NewClient(opts.Guard)
	}
	return r, nil
}

// NewRunner checks opts and starts one warm worker, waiting until it is ready: an error means
// workers cannot start here (it names the cause and the fix), or opts are wrong.
func NewRunner(ctx context.Context, opts Options) (*Runner, error) {
	r, err := newRunner(opts, true)
	if err != nil {
		return nil, err
	}
	p, err := r.spawn(true)
	if err == nil {
		err = p.waitReady(ctx.Done(), startTimeout)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	r.mu.Lock()
	r.warm = p
	r.mu.Unlock()
	r.watch(p)
	return r, nil
}

// RunOnce runs src in a fresh worker, without a pool: for one-off runs (airlock exec).
func RunOnce(ctx context.Context, opts Options, src Source) (*Result, error) {
	r, err := newRunner(opts, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Run(ctx, src)
}

// Run runs src in a worker and returns what it produced. A thrown error, a syntax error or a
// limit is reported in Result.Error; the error is airlock's own failure (a worker could not
// start, the bindings are misnamed, the runner is closed) or ctx's. Cancelling ctx kills the
// worker.
func (r *Runner) Run(ctx context.Context, src Source) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var off offered
	var methods map[string][]string
	if r.opts.Bindings != nil {
		var err error
		if off, methods, err = checkBindings(r.opts.Bindings.Methods()); err != nil {
			return nil, err
		}
	}
	if !r.begin() {
		return nil, ErrClosed
	}
	defer r.sessions.Done()
	// The worker first: a cold one starts while the code is prepared.
	p, err := r.take()
	if err != nil {
		return nil, err
	}
	if r.pool {
		ran := make(chan struct{})
		defer close(ran)
		r.refillAfter(ran)
	}
	prog, serr := prepare(src)
	if serr != nil {
		r.giveBack(p)
		return &Result{Value: json.RawMessage("null"), Error: serr}, nil
	}
	s := &session{r: r, p: p, prog: prog, src: src, offered: off, lim: r.lim}
	return s.run(ctx, methods)
}

// begin counts a run in, unless the Runner is closed.
func (r *Runner) begin() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.sessions.Add(1)
	return true
}

// take returns the warm worker or, when there is none alive, a new one.
func (r *Runner) take() (*proc, error) {
	r.mu.Lock()
	p := r.warm
	r.warm = nil
	r.mu.Unlock()
	if p != nil {
		p.takeOnce.Do(func() { close(p.taken) })
	}
	if p != nil && !p.isDead() {
		return p, nil
	}
	if p != nil {
		p.close()
	}
	return r.spawn(false)
}

// giveBack returns an unused worker to the pool, or ends it.
func (r *Runner) giveBack(p *proc) {
	r.mu.Lock()
	keep := r.pool && !r.closed && r.warm == nil && !p.isDead()
	if keep {
		r.warm = p
	}
	r.mu.Unlock()
	if !keep {
		p.close()
	}
}

// spawn starts a worker (for the pool: preload) and registers it for Close.
func (r *Runner) spawn(preload bool) (*proc, error) {
	p, err := spawn(&r.wg, r.opts.hooks, preload, r.lim.Memory)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for q := range r.procs {
		if q.isDead() {
			delete(r.procs, q)
		}
	}
	if r.closed {
		p.close()
		return nil, ErrClosed
	}
	r.procs[p] = struct{}{}
	return p, nil
}

// refillDelay is how long a run may keep the machine to itself before its replacement
// worker starts: starting a worker (an execve and Go's start-up) takes milliseconds of CPU, and
// on a small machine a replacement started with the run would slow the run down.
const refillDelay = 5 * time.Millisecond

// refillAfter starts the replacement of a taken worker when its run ends (ran is closed) or
// after refillDelay, whichever comes first.
func (r *Runner) refillAfter(ran <-chan struct{}) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTimer(refillDelay)
		defer t.Stop()
		select {
		case <-ran:
		case <-t.C:
		case <-r.closing:
			return
		}
		r.refill()
	}()
}

// refill starts a warm worker in the background, unless one is there or starting.
func (r *Runner) refill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.refilling || r.warm != nil {
		return
	}
	r.refilling = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		p, err := r.spawn(true)
		r.mu.Lock()
		r.refilling = false
		if err != nil || r.closed || r.warm != nil {
			r.mu.Unlock()
			if p != nil {
				p.close()
			}
			return
		}
		r.warm = p
		r.mu.Unlock()
		r.watch(p)
	}()
}

// watch replaces the warm worker p if it dies before a run takes it. A worker that dies
// before it was ready is not replaced: the next run starts one and reports why it fails.
func (r *Runner) watch(p *proc) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case <-p.exited:
		case <-p.taken:
			return
		case <-r.closing:
			return
		}
		r.mu.Lock()
		wasWarm := r.warm == p
		if wasWarm {
			r.warm = nil
		}
		r.mu.Unlock()
		if wasWarm && p.isReady() {
			r.refill()
		}
	}()
}

// Close kills every worker, waits for the runs in progress to return and for every goroutine
// of the Runner to end. Run returns ErrClosed afterwards.
func (r *Runner) Close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.closing)
	}
	procs := make([]*proc, 0, len(r.procs))
	for p := range r.procs {
		procs = append(procs, p)
	}
	r.warm = nil
	r.mu.Unlock()
	for _, p := range procs {
		p.close()
	}
	r.sessions.Wait()
	r.wg.Wait()
	if r.client != nil {
		r.client.CloseIdleConnections()
	}
	return nil
}

// Preflight checks that a worker can start isolated here: the sysctls that forbid user
// namespaces, then a real worker in new user and network namespaces that confines itself and
// prepares its runtime. Its error names the cause and the fix.
func Preflight(ctx context.Context) error {
	if runtime.GOOS != "linux" {
		return errUnsupported
	}
	if err := sandbox.CheckHost(); err != nil {
		return fmt.Errorf("codemode: workers cannot start: %w", err)
	}
	var wg sync.WaitGroup
	p, err := spawn(&wg, nil, false, DefaultMemory)
	if err != nil {
		return err
	}
	err = p.waitReady(ctx.Done(), startTimeout)
	p.close()
	wg.Wait()
	return err
}
