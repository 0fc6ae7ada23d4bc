package codemode

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// workerEnv marks a process as a code-mode worker (see workerEnviron for the whole of its
// environment).
const workerEnv = "AIRLOCK_CODEMODE_WORKER"

// workerArgv0 is the worker's argv[0], for ps; preloadArg asks a worker for the pool to
// compile what scripts may need before it says ready (a cold worker compiles it only if its
// script uses it); memoryArg gives the memory limit.
const (
	workerArgv0 = "airlock-codemode-worker"
	preloadArg  = "--preload"
	memoryArg   = "--memory="
)

// Exit codes of a worker that could not do its job; the host reads the reason from stderr.
const (
	exitConfine  = 125 // confinement or runtime set-up failed: it never ran code
	exitProtocol = 124 // the host broke the protocol
)

// WorkerMain must be the first thing main does (after sandbox.HelperMain), and TestMain of any
// package whose tests run code. When this process is a code-mode worker it does the worker's
// job and exits; otherwise it returns at once.
func WorkerMain() {
	if os.Getenv(workerEnv) == "" {
		return
	}
	os.Exit(workerMain())
}

// event is what wakes the worker's loop.
type event struct {
	reply *message // the host's reply to a call
	timer int64    // a timer fired
	limit string   // the monitor saw a limit exceeded
}

// pendingCall is a call sent to the host and not yet answered.
type pendingCall struct {
	kind            string
	resolve, reject func(any) error
	site            goja.StackFrame // the user's frame that made the call; its position is computed if the call fails
	hasSite         bool
}

// jsTimer is a setTimeout or setInterval.
type jsTimer struct {
	fn     goja.Callable
	args   []goja.Value
	every  time.Duration // 0 for a timeout
	t      *time.Timer
	repeat bool
}

// worker runs one run: it owns the runtime, on one goroutine (the loop); the frame reader
// and the limit monitor talk to it through events.
type worker struct {
	in  *frameReader
	out *frameWriter
	rt  *jsRuntime

	events chan event
	run    *runMsg
	lim    Limits

	pending map[uint64]*pendingCall
	queue   []*message // calls waiting while maxInFlight are pending
	nextID  uint64
	timers  map[int64]*jsTimer
	nextTmr int64

	consoleMu sync.Mutex // lines, lineBytes, lastFlush: the loop adds, the flusher sends
	lines     []consoleMsg
	lineBytes int
	lastFlush time.Time
	sent      int64        // console bytes sent to the host
	dropped   atomic.Int64 // console bytes dropped (over the output limit, or a line over maxLine)

	stackBuf   []goja.StackFrame // reused by callSite
	main       *goja.Promise
	rejections map[*goja.Promise]struct{} // rejected with no handler (yet)
	finished   atomic.Bool                // the done message is written (or being written)
	noMonitor  atomic.Bool                // the run turned the worker's own limit checks off (tests)
	limits     atomic.Pointer[Limits]     // lim, for the goroutines that end a run from outside the loop
}

func newWorker(in io.Reader, out io.Writer) (*worker, error) {
	w := &worker{
		in:         newFrameReader(in, maxFrame),
		out:        newFrameWriter(out, maxFrame),
		events:     make(chan event, 256),
		pending:    map[uint64]*pendingCall{},
		timers:     map[int64]*jsTimer{},
		rejections: map[*goja.Promise]struct{}{},
	}
	rt, err := newRuntime(w)
	if err != nil {
		return nil, err
	}
	w.rt = rt
	rt.vm.SetPromiseRejectionTracker(func(p *goja.Promise, op goja.PromiseRejectionOperation) {
		if op == goja.PromiseRejectionReject {
			w.rejections[p] = struct{}{}
		} else {
			delete(w.rejections, p)
		}
	})
	return w, nil
}

// serve sets the memory limits, prepares the runtime fully when asked to (a worker for the
// pool), says ready, reads the run and does it. It returns the process's exit code.
func (w *worker) serve(platform workerPlatform, cfg workerConfig) int {
	if err := platform.prepare(w, cfg.memory); err != nil {
		fmt.Fprintf(os.Stderr, "airlock code-mode worker: set limits: %v\n", err)
		return exitConfine
	}
	if cfg.preload {
		if err := w.preload(); err != nil {
			fmt.Fprintf(os.Stderr, "airlock code-mode worker: prepare the runtime: %v\n", err)
			return exitConfine
		}
	}
	if err := w.out.write(&message{T: msgReady}); err != nil {
		return exitProtocol
	}
	b, err := w.in.next()
	if err != nil {
		return 0 // the host went away before giving work: nothing to do
	}
	m, err := decodeMessage(b)
	if err != nil || m.T != msgRun || m.Run == nil {
		fmt.Fprintf(os.Stderr, "airlock code-mode worker: expected a run message (%v)\n", err)
		return exitProtocol
	}
	w.run = m.Run
	w.lim = Limits{
		Wall:   time.Duration(m.Run.WallMS) * time.Millisecond,
		CPU:    time.Duration(m.Run.CPUMS) * time.Millisecond,
		Memory: m.Run.Memory,
		Output: m.Run.Output,
	}
	lim := w.lim
	w.limits.Store(&lim)
	if w.lim.Memory != cfg.memory {
		fmt.Fprintf(os.Stderr, "airlock code-mode worker: the run's memory limit (%d) is not the worker's (%d)\n", w.lim.Memory, cfg.memory)
		return exitProtocol
	}
	if err := platform.start(w); err != nil {
		fmt.Fprintf(os.Stderr, "airlock code-mode worker: set limits: %v\n", err)
		return exitConfine
	}
	go w.readReplies()
	go w.flusher()
	return w.execute()
}

// workerConfig is what a worker learns from its command line: whether to preload (a worker
// for the pool) and the memory limit, whose set-up costs too much to do when the run comes.
type workerConfig struct {
	preload bool
	memory  int64
}

// workerArgs is a worker's command line; parseWorkerArgs reads it back.
func workerArgs(preload bool, memory int64) []string {
	args := []string{workerArgv0}
	if preload {
		args = append(args, preloadArg)
	}
	return append(args, memoryArg+strconv.FormatInt(memory, 10))
}

func parseWorkerArgs(args []string) (workerConfig, error) {
	cfg := workerConfig{memory: DefaultMemory}
	for _, a := range args[min(len(args), 1):] {
		switch {
		case a == preloadArg:
			cfg.preload = true
		case strings.HasPrefix(a, memoryArg):
			n, err := strconv.ParseInt(strings.TrimPrefix(a, memoryArg), 10, 64)
			if err != nil || n < MinMemory {
				return cfg, fmt.Errorf("bad argument %q", a)
			}
			cfg.memory = n
		default:
			return cfg, fmt.Errorf("unknown argument %q", a)
		}
	}
	return cfg, nil
}

// workerPlatform applies the limits to the process and watches them: prepare before the worker
// says ready, start when its run comes.
type workerPlatform interface {
	prepare(w *worker, memory int64) error
	start(w *worker) error
}

// preload compiles what a script may need and warms the code paths of a run (encoding/json's
// type caches, goja's compiler, the source-map reader) with a run of nothing, so that the
// run that comes next does not pay for first use.
func (w *worker) preload() error {
	for step := 0; step < preloadSteps; step++ {
		if err := w.rt.preload(step); err != nil {
			return err
		}
	}
	if _, err := decodeSlow([]byte(`{"t":"run","run":{"name":"warm.js","code":"","map":{},"bindings":{"a":["b"]},"wall_ms":1,"cpu_ms":1,"memory":1,"output":1}}`)); err != nil {
		return err
	}
	p, _ := prepare(Source{Name: "warm.js", Code: "return 1"})
	saved := w.run
	w.run = &runMsg{Name: p.name, Code: p.code, Map: p.srcMap}
	defer func() { w.run = saved }()
	prg, err := w.compile()
	if err != nil {
		return err
	}
	_, err = w.rt.vm.RunProgram(prg)
	return err
}
