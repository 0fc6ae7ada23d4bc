package codemode

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// finishValue reports the value the code returned, as JSON.
func (w *worker) finishValue(v goja.Value) int {
	out, err := w.rt.result(v)
	if err != nil {
		var ex *goja.Exception
		if errors.As(err, &ex) {
			e := w.scriptError(ex.Value(), nil)
			e.Message = "the value the code returned cannot be serialised as JSON: " + e.Message
			e.Line, e.Column, e.Stack = 0, 0, ""
			return w.finishError(e)
		}
		return w.finishError(w.errorOf(err))
	}
	if len(out) > maxResultBytes {
		return w.finishError(&errorMsg{Message: fmt.Sprintf("the value the code returned is %d bytes of JSON; code mode returns at most %d MiB", len(out), maxResultBytes>>20)})
	}
	return w.finish(&message{T: msgDone, Value: json.RawMessage(out)})
}

// finishError reports a failed run.
func (w *worker) finishError(e *errorMsg) int {
	return w.finish(&message{T: msgDone, Error: e})
}

// finish reports unhandled rejections, flushes the console and writes the done message. Only
// the first caller (the loop, or the monitor forcing an end) writes it; a later one waits for
// the process to exit.
func (w *worker) finish(m *message) int {
	if w.rt != nil && w.main != nil {
		for p := range w.rejections {
			if p != w.main {
				w.print("error", "Uncaught (in promise) "+w.describe(p.Result()))
			}
		}
	}
	w.flush()
	if !w.finished.CompareAndSwap(false, true) {
		select {} // the monitor is ending the process
	}
	m.Dropped = w.dropped.Load()
	if err := w.out.write(m); err != nil {
		return exitProtocol
	}
	return 0
}

// forceDone ends a run whose loop did not come back from a limit (it is stuck in a native
// function, or the kernel's CPU limit signal came): it reports the limit and exits.
func (w *worker) forceDone(kind string) {
	if !w.finished.CompareAndSwap(false, true) {
		return
	}
	var lim Limits
	if l := w.limits.Load(); l != nil {
		lim = *l
	}
	_ = w.out.write(&message{T: msgDone, Error: &errorMsg{Message: limitMessage(kind, lim), Limit: kind}, Dropped: w.dropped.Load()})
	os.Exit(0)
}

// describe is inspect(v), or a plain rendering if inspect throws.
func (w *worker) describe(v goja.Value) string { return w.rt.describe(v) }

// limitHit is the value the VM is interrupted with when a limit is exceeded.
type limitHit struct{ kind string }

func (l *limitHit) Error() string { return l.kind + " limit" }

// errorOf describes an error the runtime returned.
func (w *worker) errorOf(err error) *errorMsg {
	var (
		lh  *limitHit
		ie  *goja.InterruptedError
		so  *goja.StackOverflowError
		ex  *goja.Exception
		ce  *goja.CompilerSyntaxError
		pel parser.ErrorList
		pe  *parser.Error
	)
	switch {
	case errors.As(err, &ie):
		e := &errorMsg{Message: fmt.Sprint(ie.Value())}
		if l, ok := ie.Value().(*limitHit); ok {
			e.Message, e.Limit = limitMessage(l.kind, w.lim), l.kind
		}
		w.position(e, ie.Stack())
		return e
	case errors.As(err, &lh):
		return &errorMsg{Message: limitMessage(lh.kind, w.lim), Limit: lh.kind}
	case errors.As(err, &so):
		e := &errorMsg{Message: "RangeError: Maximum call stack size exceeded"}
		w.position(e, so.Stack())
		return e
	case errors.As(err, &ex):
		return w.scriptError(ex.Value(), ex.Stack())
	case errors.As(err, &ce):
		e := &errorMsg{Message: "SyntaxError: " + ce.Message}
		if ce.File != nil {
			p := ce.File.Position(ce.Offset)
			e.Line, e.Column = p.Line, p.Column
		}
		return e
	case errors.As(err, &pel) && len(pel) > 0:
		return &errorMsg{Message: "SyntaxError: " + pel[0].Message, Line: pel[0].Position.Line, Column: pel[0].Position.Column}
	case errors.As(err, &pe):
		return &errorMsg{Message: "SyntaxError: " + pe.Message, Line: pe.Position.Line, Column: pe.Position.Column}
	}
	return &errorMsg{Message: err.Error()}
}

// scriptError describes a thrown value: an Error by its name, message and stack (whose first
// frame in the user's code gives the position), anything else as Node prints it.
func (w *worker) scriptError(v goja.Value, stack []goja.StackFrame) *errorMsg {
	e := &errorMsg{}
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Error" {
		name, msg := valueString(o.Get("name")), valueString(o.Get("message"))
		switch {
		case name == "":
			e.Message = msg
		case msg == "":
			e.Message = name
		default:
			e.Message = name + ": " + msg
		}
		e.Stack = cleanStack(valueString(o.Get("stack")))
		e.Line, e.Column = firstFrame(e.Stack, w.run.Name)
		if e.Line == 0 {
			w.position(e, stack)
		}
		return e
	}
	e.Message = "Uncaught " + w.describe(v)
	w.position(e, stack)
	return e
}

// position sets e's position from the first frame of stack in the user's code.
func (w *worker) position(e *errorMsg, stack []goja.StackFrame) {
	for _, f := range stack {
		if p := f.Position(); p.Filename == w.run.Name && p.Line > 0 {
			e.Line, e.Column = p.Line, p.Column
			return
		}
	}
}

func valueString(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return ""
	}
	return v.String()
}

// pcSuffix is goja's program counter after a position in a stack: "script.ts:3:7(12)".
var pcSuffix = regexp.MustCompile(`(:\d+:\d+)\(\d+\)`)

func cleanStack(s string) string { return pcSuffix.ReplaceAllString(s, "$1") }

// firstFrame returns the line and column of the first stack frame in file.
func firstFrame(stack, file string) (int, int) {
	for _, l := range strings.Split(stack, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "at ") {
			continue
		}
		l = strings.TrimSuffix(l, ")")
		i := strings.LastIndex(l, file+":")
		if i < 0 || (i > 0 && l[i-1] != ' ' && l[i-1] != '(') {
			continue
		}
		lc := strings.SplitN(l[i+len(file)+1:], ":", 2)
		if len(lc) != 2 {
			continue
		}
		line, err1 := strconv.Atoi(lc[0])
		col, err2 := strconv.Atoi(lc[1])
		if err1 == nil && err2 == nil && line > 0 {
			return line, col
		}
	}
	return 0, 0
}

// limitMessage says which limit stopped the run.
func limitMessage(kind string, lim Limits) string {
	switch kind {
	case LimitWall:
		return fmt.Sprintf("wall-clock limit exceeded: the code ran for longer than %v", lim.Wall)
	case LimitCPU:
		return fmt.Sprintf("CPU-time limit exceeded: the code used more than %v of CPU time", lim.CPU)
	case LimitMemory:
		return fmt.Sprintf("memory limit exceeded: the code used more than %s", formatBytes(lim.Memory))
	}
	return kind + " limit exceeded"
}

// formatBytes writes n as MiB or KiB when it is a whole number of them.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
