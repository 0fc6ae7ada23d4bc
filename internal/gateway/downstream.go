package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/airlock-sh/airlock/internal/isolate"
	"github.com/airlock-sh/airlock/internal/sandbox"
)

// Crash-loop guard: a server that exited crashLimit times within crashWindow of being started
// is not started again until crashPause has passed since its last exit.
const (
	crashLimit  = 3
	crashWindow = 10 * time.Second
	crashPause  = 30 * time.Second
	// stopGrace is how long a server has to exit after its stdin is closed.
	stopGrace = 3 * time.Second
	// progressLinger is how long a call's progress token is still forwarded after its result.
	progressLinger = 10 * time.Second
)

// downstream is one configured server: started on first use, restarted on the next use after
// it died, stopped by Gateway.Close.
type downstream struct {
	g   *Gateway
	cfg Server

	mu       sync.Mutex
	cs       *mcp.ClientSession // nil when not running
	proc     *process           // the running process, or nil
	tools    []*mcp.Tool        // as last listed; kept across restarts
	methods  []toolMethod       // tools as code-mode methods (toolMethods(tools)), sorted
	starting *startOp
	lastErr  error       // why the last start failed or the last process ended
	crashes  []time.Time // recent quick exits
	retryAt  time.Time   // after a failed start: no new attempt before this
	stopped  bool
	inflight []*asker // askers of the calls in flight, newest last
}

// process is one run of the server.
type process struct {
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time
	code    int
	err     error
}

type startOp struct {
	done chan struct{}
	cs   *mcp.ClientSession
	err  error
}

func newDownstream(g *Gateway, s Server) *downstream { return &downstream{g: g, cfg: s} }

// setTools records a new tool list and its code-mode methods. d.mu is held.
func (d *downstream) setTools(tools []*mcp.Tool) {
	d.tools, d.methods = tools, toolMethods(tools)
}

// codeMethods returns the tools as code-mode methods, sorted by method name.
func (d *downstream) codeMethods() []toolMethod {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.methods
}

// session returns the running server's client session, starting the server if it is not
// running.
func (d *downstream) session(ctx context.Context) (*mcp.ClientSession, error) {
	d.mu.Lock()
	switch {
	case d.stopped:
		d.mu.Unlock()
		return nil, errors.New("the gateway is shutting down")
	case d.cs != nil:
		cs := d.cs
		d.mu.Unlock()
		return cs, nil
	}
	op := d.starting
	if op == nil {
		if err := d.crashLooping(time.Now()); err != nil {
			d.mu.Unlock()
			return nil, err
		}
		op = &startOp{done: make(chan struct{})}
		d.starting = op
		d.mu.Unlock()
		go d.start(op)
	} else {
		d.mu.Unlock()
	}
	select {
	case <-op.done:
		return op.cs, op.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// crashLooping refuses a start while the server is in its crash pause, or soon after a start
// that failed. d.mu is held.
func (d *downstream) crashLooping(now time.Time) error {
	if now.Before(d.retryAt) {
		return fmt.Errorf("it failed to start (%v); airlock tries again after %s", d.lastErr, d.retryAt.Format(time.TimeOnly))
	}
	if len(d.crashes) < crashLimit {
		return nil
	}
	last := d.crashes[len(d.crashes)-1]
	if now.Sub(last) >= crashPause {
		d.crashes = nil
		return nil
	}
	return fmt.Errorf("it exited %d times within %v of starting (last: %v); airlock tries again after %s",
		len(d.crashes), crashWindow, d.lastErr, last.Add(crashPause).Format(time.TimeOnly))
}

// start runs the server and connects to it; it finishes op.
func (d *downstream) start(op *startOp) {
	cs, tools, err := d.launch()
	d.mu.Lock()
	d.starting = nil
	if err != nil {
		d.lastErr = err
		d.retryAt = time.Now().Add(crashPause)
	} else if d.stopped {
		err = errors.New("the gateway is shutting down")
		go cs.Close()
	} else {
		d.cs, d.lastErr = cs, nil
		d.setTools(tools)
	}
	d.mu.Unlock()
	op.cs, op.err = cs, err
	if err != nil {
		op.cs = nil
	} else {
		d.g.syncTools() // before anyone waiting lists the tools
	}
	close(op.done)
}

// launch starts the sandboxed process, initialises the MCP session and lists the tools.
func (d *downstream) launch() (*mcp.ClientSession, []*mcp.Tool, error) {
	inR, inW, err := os.Pipe() // the server's stdin
	if err != nil {
		return nil, nil, err
	}
	outR, outW, err := os.Pipe() // the server's stdout
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, nil, err
	}
	closeChildEnds := sync.OnceFunc(func() { inR.Close(); outW.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	p := &process{cancel: cancel, done: make(chan struct{}), started: time.Now()}
	d.mu.Lock()
	d.proc = p
	d.mu.Unlock()
	go func() {
		p.code, p.err = isolate.Run(ctx, isolate.Workload{
			Name:    d.cfg.Name,
			Policy:  d.cfg.Policy,
			Command: d.cfg.Command,
			Env:     d.cfg.Env,
			Stdin:   inR,
			Stdout:  outW,
			Stderr:  d.g.opts.Stderr,
			Audit:   d.g.opts.Audit,
			Logger:  d.g.log,
			Consult: d.g.approvals.consultFor(scopeServer(d.cfg.Name), d),
			Started: closeChildEnds, // the sandbox holds its own copies now
		})
		closeChildEnds()
		close(p.done)
		d.exited(p)
	}()

	client := mcp.NewClient(&mcp.Implementation{Name: "airlock-gateway", Version: d.g.opts.Version}, &mcp.ClientOptions{
		ProgressNotificationHandler: d.onProgress,
		ToolListChangedHandler:      d.onToolListChanged,
		ElicitationHandler:          d.onElicit,
		Capabilities:                &mcp.ClientCapabilities{},
	})
	cctx, ccancel := context.WithTimeout(context.Background(), d.g.opts.StartTimeout)
	defer ccancel()
	go func() { // the gateway closing ends a start in progress
		select {
		case <-d.g.closed:
			ccancel()
		case <-cctx.Done():
		}
	}()
	fail := func(step string, err error) (*mcp.ClientSession, []*mcp.Tool, error) {
		inW.Close()
		outR.Close()
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			cancel()
			<-p.done
		}
		cancel()
		return nil, nil, d.startError(step, err, p)
	}
	cs, err := client.Connect(cctx, &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		return fail("initialize", err)
	}
	var tools []*mcp.Tool
	for t, err := range cs.Tools(cctx, nil) {
		if err != nil {
			cs.Close()
			return fail("list tools", err)
		}
		tools = append(tools, t)
	}
	return cs, tools, nil
}

// startError explains why a start failed, preferring the sandbox's own diagnosis.
func (d *downstream) startError(step string, err error, p *process) error {
	var se *sandbox.Error
	select {
	case <-p.done:
		if errors.As(p.err, &se) {
			if se.Step == "find executable" {
				return fmt.Errorf("its command could not be found: %w", se.Err)
			}
			return fmt.Errorf("cannot isolate it, so it was not started: %w", p.err)
		}
		if p.err != nil {
			return fmt.Errorf("it could not be started: %w", p.err)
		}
		return fmt.Errorf("it exited with status %d before it answered (%s: %v); its standard error is in the gateway's", p.code, step, err)
	default:
	}
	return fmt.Errorf("%s: %w", step, err)
}

// exited records the end of process p.
func (d *downstream) exited(p *process) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != p {
		return
	}
	d.proc = nil
	if d.cs != nil {
		go d.cs.Close()
		d.cs = nil
	}
	if d.stopped {
		return
	}
	switch {
	case p.err != nil:
		d.lastErr = p.err
	default:
		d.lastErr = fmt.Errorf("exited with status %d", p.code)
	}
	now := time.Now()
	if now.Sub(p.started) < crashWindow {
		d.crashes = append(d.crashes, now)
	} else {
		d.crashes = nil
	}
	d.g.log.Warn("server exited; it is started again on its next use", "server", d.cfg.Name, "status", p.code)
}

// stop ends the server: its stdin is closed, and its sandbox killed after stopGrace.
func (d *downstream) stop() {
	d.mu.Lock()
	d.stopped = true
	cs, p, op := d.cs, d.proc, d.starting
	d.cs = nil
	d.mu.Unlock()
	if op != nil {
		<-op.done
		d.mu.Lock()
		p = d.proc
		d.mu.Unlock()
	}
	if cs != nil {
		// Closing stdin asks the server to exit; Close itself waits for calls in flight, which
		// end when the sandbox does.
		go cs.Close()
	}
	if p == nil {
		return
	}
	select {
	case <-p.done:
	case <-time.After(stopGrace):
	}
	p.cancel()
	<-p.done
}

// status describes the server for list_permissions.
func (d *downstream) status() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.cs != nil:
		return "running"
	case d.starting != nil:
		return "starting"
	case d.lastErr != nil:
		return "not running: " + d.lastErr.Error()
	}
	return "not started yet (servers start on first use)"
}

// call forwards one tool call. Failures of the server come back as tool errors.
func (d *downstream) call(ctx context.Context, tool string, args json.RawMessage, progressToken any, from *mcp.ServerSession) (*mcp.CallToolResult, error) {
	cs, err := d.session(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return toolError("%s is not available: %v", d.cfg.Name, err), nil
	}
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	if progressToken != nil && from != nil {
		tok := d.g.progress.add(from, progressToken)
		// The SDK hands notifications to their handler asynchronously: some of a call's may
		// arrive after its result. Keep the mapping a little longer.
		defer time.AfterFunc(progressLinger, func() { d.g.progress.remove(tok) })
		params.SetProgressToken(tok)
	}
	cctx, cancel := context.WithTimeout(ctx, d.g.opts.CallTimeout)
	defer cancel()
	res, err := cs.CallTool(cctx, params)
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err() // the client cancelled: the SDK told the server
	}
	if cctx.Err() != nil {
		return toolError("%s: %s did not answer within %v; the call was cancelled", d.cfg.Name, tool, d.g.opts.CallTimeout), nil
	}
	d.mu.Lock()
	gone := d.cs != cs
	last := d.lastErr
	d.mu.Unlock()
	if !gone {
		select {
		case <-d.procDone(cs):
			gone = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	if gone {
		d.mu.Lock()
		last = d.lastErr
		d.mu.Unlock()
		return toolError("%s stopped during the call to %s (%v); it is started again on the next call", d.cfg.Name, tool, last), nil
	}
	return toolError("%s: %s failed: %v", d.cfg.Name, tool, err), nil
}

// procDone returns a channel closed when the process behind cs has ended (or at once when cs
// is no longer the current session).
func (d *downstream) procDone(cs *mcp.ClientSession) <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cs == cs && d.proc != nil {
		return d.proc.done
	}
	c := make(chan struct{})
	close(c)
	return c
}

// addAsker and removeAsker track the calls in flight, whose clients may be asked about the
// server's refused destinations.
func (d *downstream) addAsker(a *asker) {
	d.mu.Lock()
	d.inflight = append(d.inflight, a)
	d.mu.Unlock()
}

func (d *downstream) removeAsker(a *asker) {
	d.mu.Lock()
	for i, x := range d.inflight {
		if x == a {
			d.inflight = append(d.inflight[:i], d.inflight[i+1:]...)
			break
		}
	}
	d.mu.Unlock()
}

// currentAsker is the newest call in flight that can ask its user, or nil.
func (d *downstream) currentAsker() *asker {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.inflight) - 1; i >= 0; i-- {
		if d.inflight[i].canAsk() {
			return d.inflight[i]
		}
	}
	return nil
}

func (d *downstream) onProgress(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
	t, ok := d.g.progress.get(req.Params.ProgressToken)
	if !ok {
		return
	}
	_ = t.session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
		ProgressToken: t.token,
		Progress:      req.Params.Progress,
		Total:         req.Params.Total,
		Message:       req.Params.Message,
	})
}

// onElicit passes a server's question to the user of the call in flight, with the server's
// name in front; without a call whose client can be asked, the question is declined.
func (d *downstream) onElicit(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	a := d.currentAsker()
	if a == nil {
		return &mcp.ElicitResult{Action: "decline"}, nil
	}
	p := *req.Params
	p.Message = "[" + d.cfg.Name + "] " + p.Message
	return a.elicit(ctx, &p)
}

func (d *downstream) onToolListChanged(context.Context, *mcp.ToolListChangedRequest) {
	go func() {
		d.mu.Lock()
		cs := d.cs
		d.mu.Unlock()
		if cs == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), d.g.opts.StartTimeout)
		defer cancel()
		var tools []*mcp.Tool
		for t, err := range cs.Tools(ctx, nil) {
			if err != nil {
				d.g.log.Warn("listing a server's tools again failed", "server", d.cfg.Name, "error", err.Error())
				return
			}
			tools = append(tools, t)
		}
		d.mu.Lock()
		if d.cs == cs {
			d.setTools(tools)
		}
		d.mu.Unlock()
		d.g.syncTools()
	}()
}

// toolError is a tool result that reports a failure to the model.
func toolError(format string, args ...any) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(format, args...)}}}
}

// progressMap maps the progress tokens the gateway gives downstream calls to the client's.
type progressMap struct {
	mu   sync.Mutex
	next uint64
	m    map[string]progressTarget
}

type progressTarget struct {
	session *mcp.ServerSession
	token   any
}

func (p *progressMap) add(ss *mcp.ServerSession, token any) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	tok := fmt.Sprintf("airlock-%d", p.next)
	p.m[tok] = progressTarget{ss, token}
	return tok
}

func (p *progressMap) get(tok any) (progressTarget, bool) {
	s, ok := tok.(string)
	if !ok {
		return progressTarget{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.m[s]
	return t, ok
}

func (p *progressMap) remove(tok string) {
	p.mu.Lock()
	delete(p.m, tok)
	p.mu.Unlock()
}
