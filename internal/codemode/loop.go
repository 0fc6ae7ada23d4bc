package codemode

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// readReplies passes the host's replies to the loop. The host closing the pipe ends the
// worker: nobody is left to report to.
func (w *worker) readReplies() {
	for {
		b, err := w.in.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(os.Stderr, "airlock code-mode worker: read from the host: %v\n", err)
			}
			os.Exit(exitProtocol)
		}
		m, err := decodeMessage(b)
		if err != nil || m.T != msgReply || m.ID == 0 {
			fmt.Fprintf(os.Stderr, "airlock code-mode worker: bad message from the host: %v\n", err)
			os.Exit(exitProtocol)
		}
		w.events <- event{reply: m}
	}
}

// execute compiles and runs the code, then runs its event loop until the code's promise
// settles or a limit stops it.
func (w *worker) execute() int {
	if err := w.bindAll(); err != nil {
		return w.finishError(&errorMsg{Message: "install bindings: " + err.Error()})
	}
	prg, err := w.compile()
	if err != nil {
		return w.finishError(w.errorOf(err))
	}
	v, err := w.rt.vm.RunProgram(prg)
	if err != nil {
		return w.finishError(w.errorOf(err))
	}
	p, ok := v.Export().(*goja.Promise)
	if !ok {
		return w.finishValue(v) // code that closed the wrapper itself: its last value
	}
	w.main = p
	for {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			return w.finishValue(p.Result())
		case goja.PromiseStateRejected:
			return w.finishError(w.scriptError(p.Result(), nil))
		}
		if len(w.pending) == 0 && len(w.queue) == 0 && len(w.timers) == 0 {
			return w.finishError(&errorMsg{Message: "the code is waiting for a promise that nothing can settle: no fetch, binding call or timer is pending"})
		}
		w.flush()
		if err := w.handle(<-w.events); err != nil {
			return w.finishError(w.errorOf(err))
		}
	}
}

// bindAll makes every binding of the run a global object.
func (w *worker) bindAll() error {
	for name, methods := range w.run.Bindings {
		if err := w.rt.bind(name, methods); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// compile parses the code with its source map (never read from anywhere else: the loader
// ignores the path it is given).
func (w *worker) compile() (*goja.Program, error) {
	code := w.run.Code
	opts := []parser.Option{parser.WithDisableSourceMaps}
	if len(w.run.Map) > 0 {
		code += "\n//# sourceMappingURL=airlock.map"
		srcMap := []byte(w.run.Map)
		opts = []parser.Option{parser.WithSourceMapLoader(func(string) ([]byte, error) { return srcMap, nil })}
	}
	ast, err := goja.Parse(w.run.Name, code, opts...)
	if err != nil {
		return nil, err
	}
	return goja.CompileAST(ast, false)
}

// handle runs what an event asks for; an error is uncatchable (a limit, a stack overflow) or
// an exception thrown by a timer's callback, and ends the run.
func (w *worker) handle(ev event) error {
	switch {
	case ev.limit != "":
		return &limitHit{kind: ev.limit}
	case ev.reply != nil:
		return w.settle(ev.reply)
	default:
		return w.fire(ev.timer)
	}
}

// settle resolves or rejects the promise of a call with the host's reply.
func (w *worker) settle(m *message) error {
	c, ok := w.pending[m.ID]
	if !ok {
		return nil // an id the host made up: ignore
	}
	delete(w.pending, m.ID)
	if err := w.sendQueued(); err != nil {
		return err
	}
	rt := w.rt
	if m.Error != nil {
		ctor := rt.errorCtor
		if m.Error.Name == "TypeError" {
			ctor = rt.typeErrorCtor
		}
		e := rt.newError(ctor, m.Error.Message)
		if pos := c.site.Position(); c.hasSite && pos.Line > 0 {
			// The error is made here, outside any script frame: its stack points at the call,
			// as Node's async stack traces do.
			site := fmt.Sprintf("%s:%d:%d", pos.Filename, pos.Line, pos.Column)
			_ = e.Set("stack", valueString(e.Get("name"))+": "+m.Error.Message+"\n\tat async "+site)
		}
		return c.reject(e)
	}
	if c.kind == callFetch {
		var r fetchResponse
		if err := json.Unmarshal(m.Value, &r); err != nil {
			return c.reject(rt.newError(rt.typeErrorCtor, "fetch failed: unreadable reply from airlock"))
		}
		return c.resolve(rt.fetchValue(&r))
	}
	text := string(m.Value)
	if text == "" {
		text = "null"
	}
	v, err := rt.parse(goja.Undefined(), rt.vm.ToValue(text))
	if err != nil {
		return c.reject(rt.newError(rt.errorCtor, "the binding's result is not JSON"))
	}
	return c.resolve(v)
}

// startCall implements nativeSide: it queues or sends the call and returns its promise.
func (w *worker) startCall(m *message) goja.Value {
	p, resolve, reject := w.rt.vm.NewPromise()
	w.nextID++
	m.T, m.ID = msgCall, w.nextID
	c := &pendingCall{kind: m.Kind, resolve: resolve, reject: reject}
	c.site, c.hasSite = w.callSite()
	w.pending[m.ID] = c
	w.queue = append(w.queue, m)
	// Rejecting a promise from inside a native function runs no JavaScript: no error to see.
	_ = w.sendQueued()
	return w.rt.vm.ToValue(p)
}

// callSite is the frame of the user's code that called the running native function (the
// innermost frame that is not native). Positions are computed only when needed.
func (w *worker) callSite() (goja.StackFrame, bool) {
	w.stackBuf = w.rt.vm.CaptureCallStack(4, w.stackBuf[:0])
	for _, f := range w.stackBuf {
		if f.SrcName() == w.run.Name {
			return f, true
		}
	}
	return goja.StackFrame{}, false
}

// sendQueued sends queued calls while fewer than maxInFlight are waiting for their reply.
func (w *worker) sendQueued() error {
	for len(w.queue) > 0 && len(w.pending)-len(w.queue) < maxInFlight {
		m := w.queue[0]
		w.queue = w.queue[1:]
		w.flush()
		if err := w.out.write(m); err != nil {
			if errors.Is(err, errTooLarge) {
				c := w.pending[m.ID]
				delete(w.pending, m.ID)
				return c.reject(w.rt.newError(w.rt.typeErrorCtor, "the call's arguments are larger than a message may be (16 MiB)"))
			}
			os.Exit(exitProtocol) // the host is gone
		}
	}
	return nil
}

// setTimer implements nativeSide.
func (w *worker) setTimer(fn goja.Callable, d time.Duration, args []goja.Value, repeat bool) (int64, error) {
	if len(w.timers) >= maxTimers {
		return 0, fmt.Errorf("more than %d timers at once", maxTimers)
	}
	w.nextTmr++
	id := w.nextTmr
	t := &jsTimer{fn: fn, args: args, repeat: repeat, every: d}
	t.t = time.AfterFunc(d, func() { w.events <- event{timer: id} })
	w.timers[id] = t
	return id, nil
}

// clearTimer implements nativeSide.
func (w *worker) clearTimer(id int64) {
	if t, ok := w.timers[id]; ok {
		t.t.Stop()
		delete(w.timers, id)
	}
}

// fire runs a timer's callback. An exception it throws ends the run, as an uncaught exception
// ends a Node process.
func (w *worker) fire(id int64) error {
	t, ok := w.timers[id]
	if !ok {
		return nil // cleared after it fired
	}
	if t.repeat {
		t.t.Reset(t.every)
	} else {
		delete(w.timers, id)
	}
	_, err := t.fn(goja.Undefined(), t.args...)
	return err
}
