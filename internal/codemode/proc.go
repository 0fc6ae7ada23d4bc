package codemode

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// proc is the host's handle on one worker process.
type proc struct {
	pid int
	in  *frameWriter // the worker's stdin

	frames chan frameResult // the worker's messages after ready; closed when its stdout ends
	ready  chan struct{}    // closed when the worker said ready
	exited chan struct{}    // closed once the process has been waited for
	stop   chan struct{}    // closed by close: nobody reads frames any more
	taken  chan struct{}    // closed when a run takes the worker from the pool

	state      *os.ProcessState // set before exited is closed
	stderr     capture          // what the worker wrote to stderr, complete once stderrDone is closed
	stderrDone chan struct{}

	killFn    func() error
	killed    atomic.Bool
	closeOnce sync.Once
	takeOnce  sync.Once
	stdin     io.Closer
}

// frameResult is one message from the worker, or the protocol error that ended the stream.
type frameResult struct {
	m   *message
	err error
}

func newProc() *proc {
	return &proc{
		frames:     make(chan frameResult, 16),
		ready:      make(chan struct{}),
		exited:     make(chan struct{}),
		stop:       make(chan struct{}),
		taken:      make(chan struct{}),
		stderrDone: make(chan struct{}),
	}
}

// readFrames reads the worker's stdout until it ends: the first message must be ready, which
// closes p.ready; every later one is checked and passed on. A message that breaks the protocol
// is passed on as an error, and the worker is killed.
func (p *proc) readFrames(r io.Reader) {
	defer close(p.frames)
	fr := newFrameReader(r, maxFrame)
	first := true
	for {
		b, err := fr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				p.fail(fmt.Errorf("%w: %v", errProtocol, err))
			}
			return
		}
		m, err := decodeMessage(b)
		if err == nil {
			err = checkFromWorker(m)
		}
		switch {
		case err != nil:
		case first && m.T != msgReady:
			err = fmt.Errorf("%w: the first message is %q, not ready", errProtocol, m.T)
		case !first && m.T == msgReady:
			err = fmt.Errorf("%w: a second ready message", errProtocol)
		}
		if err != nil {
			p.fail(err)
			return
		}
		if first {
			first = false
			close(p.ready)
			continue
		}
		select {
		case p.frames <- frameResult{m: m}:
		case <-p.stop:
			return
		}
	}
}

// fail passes err on and kills the worker; err is queued before the worker dies when there
// is room, so that whoever sees the death also sees why.
func (p *proc) fail(err error) {
	select {
	case p.frames <- frameResult{err: err}:
		p.kill()
		return
	default:
	}
	p.kill()
	select {
	case p.frames <- frameResult{err: err}:
	case <-p.stop:
	}
}

// readStderr keeps the start of what the worker writes to stderr (Go's fatal errors start
// with their reason) and discards the rest.
func (p *proc) readStderr(r io.Reader) {
	defer close(p.stderrDone)
	_, _ = io.Copy(&p.stderr, r)
}

// kill ends the worker (SIGKILL); safe to call more than once and after it exited.
func (p *proc) kill() {
	if p.killed.CompareAndSwap(false, true) {
		_ = p.killFn()
	}
}

// close kills the worker and stops passing its messages on.
func (p *proc) close() {
	p.closeOnce.Do(func() {
		p.kill()
		close(p.stop)
		if p.stdin != nil {
			p.stdin.Close()
		}
	})
}

// isReady reports whether the worker said ready.
func (p *proc) isReady() bool {
	select {
	case <-p.ready:
		return true
	default:
		return false
	}
}

// isDead reports whether the worker has exited.
func (p *proc) isDead() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// waitReady waits until the worker is ready, or returns why it will never be.
func (p *proc) waitReady(done <-chan struct{}, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		if p.isReady() {
			return nil
		}
		select {
		case r, ok := <-p.frames:
			if ok && r.err != nil {
				return fmt.Errorf("codemode: the worker did not start: %w", r.err)
			}
		default:
		}
		return p.startError()
	case r, ok := <-p.frames:
		if ok && r.err != nil {
			return fmt.Errorf("codemode: the worker did not start: %w", r.err)
		}
		return p.startError()
	case <-t.C:
		p.close()
		return fmt.Errorf("codemode: the worker did not start within %v", timeout)
	case <-done:
		p.close()
		return errors.New("codemode: cancelled while the worker started")
	}
}

// startError describes a worker that died before it was ready: it could not confine itself
// or prepare its runtime, and says why on stderr.
func (p *proc) startError() error {
	<-p.exited
	<-p.stderrDone
	return fmt.Errorf("codemode: the worker did not start (%s)%s", exitString(p.state), stderrTail(p.stderr.String()))
}

// diagnose explains a worker that died after it was ready without reporting a result: a
// limit that the kernel or the Go runtime enforced, or a crash.
func (p *proc) diagnose(lim Limits) *ScriptError {
	<-p.exited
	<-p.stderrDone
	text := p.stderr.String()
	e := &ScriptError{}
	for _, sign := range addressSpaceExhausted {
		if strings.Contains(text, sign) {
			e.Limit = LimitMemory
		}
	}
	if e.Limit == "" {
		var msg string
		e.Limit, msg = signalCause(p.state, p.killed.Load(), lim)
		if msg != "" {
			e.Message = msg
			return e
		}
	}
	if e.Limit != "" {
		e.Message = limitMessage(e.Limit, lim)
		return e
	}
	e.Message = "the code-mode worker died (" + exitString(p.state) + ")" + stderrTail(text)
	return e
}

// addressSpaceExhausted are what the Go runtime says when it dies because an allocation failed:
// in a worker, RLIMIT_AS (the memory backstop) was reached. A thread the runtime could not
// create (its stack is mapped too) is the same limit.
var addressSpaceExhausted = []string{
	"out of memory",
	"cannot allocate memory",
	"cannot map pages",
	"pthread_create failed",
}

// cpuUsed is the CPU time a dead process used.
func cpuUsed(st *os.ProcessState) time.Duration {
	if st == nil {
		return 0
	}
	return st.UserTime() + st.SystemTime()
}

func exitString(st *os.ProcessState) string {
	if st == nil {
		return "no exit status"
	}
	return st.String()
}

// stderrTail is the first lines of a worker's stderr, for a message: ": fatal error: ...".
func stderrTail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.SplitN(s, "\n", 4)
	if len(lines) > 3 {
		lines = lines[:3]
	}
	return ": " + strings.Join(lines, "; ")
}

// capture keeps the first captureMax bytes written to it.
type capture struct {
	mu  sync.Mutex
	buf []byte
}

const captureMax = 16 << 10

func (c *capture) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := captureMax - len(c.buf); room > 0 {
		c.buf = append(c.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.ToValidUTF8(string(c.buf), "\uFFFD")
}
