package codemode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// session is the host's side of one run on one worker.
type session struct {
	r       *Runner
	p       *proc
	prog    *program
	src     Source
	offered offered
	lim     Limits

	res      Result
	kept     int64 // console bytes kept (each line counts its length plus a newline)
	dropped  int64
	inflight map[uint64]bool
}

// run sends the program, serves the worker's calls and collects its output until it reports
// done, a limit stops it, it dies, or ctx ends. The worker is killed when run returns. The
// error is airlock's own failure (the worker could not start) or ctx's.
func (s *session) run(ctx context.Context, methods map[string][]string) (*Result, error) {
	p := s.p
	defer p.close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the calls still running
	msg := &message{T: msgRun, Run: &runMsg{
		Name: s.prog.name, Code: s.prog.code, Map: json.RawMessage(s.prog.srcMap), Bindings: methods,
		WallMS: s.lim.Wall.Milliseconds(), CPUMS: s.lim.CPU.Milliseconds(), Memory: s.lim.Memory, Output: s.lim.Output,
		NoMonitor: s.r.opts.hooks != nil && s.r.opts.hooks.noMonitor,
	}}
	wall := time.NewTimer(s.lim.Wall)
	defer wall.Stop()
	if err := p.in.write(msg); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, fmt.Errorf("codemode: the code is too large to run (%d bytes after TypeScript was stripped); code mode runs scripts, not bundles", len(s.prog.code))
		}
		return s.died()
	}
	s.inflight = map[uint64]bool{}
	finished := make(chan uint64, maxInFlight)
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				return s.died()
			}
			if f.err != nil {
				return s.fail("the code-mode worker broke the protocol and was stopped: " + f.err.Error())
			}
			switch m := f.m; m.T {
			case msgConsole:
				s.console(m.Lines)
			case msgCall:
				if s.inflight[m.ID] {
					p.kill()
					return s.fail(fmt.Sprintf("the code-mode worker broke the protocol and was stopped: call id %d is already in flight", m.ID))
				}
				s.inflight[m.ID] = true
				s.r.wg.Add(1)
				go s.call(runCtx, m, len(s.inflight) > maxInFlight, finished)
			case msgDone:
				return s.done(m), nil
			}
		case id := <-finished:
			delete(s.inflight, id)
		case <-wall.C:
			p.kill()
			return s.fail(limitMessage(LimitWall, s.lim), LimitWall)
		case <-ctx.Done():
			p.kill()
			return nil, ctx.Err()
		}
	}
}

// died explains a worker that went away without a result.
func (s *session) died() (*Result, error) {
	if !s.p.isReady() {
		return nil, s.p.startError()
	}
	e := s.p.diagnose(s.lim)
	return s.fail(e.Message, e.Limit)
}

// fail ends the run with an error of the run (not of airlock): the worker misbehaved, died or
// hit a limit.
func (s *session) fail(msg string, limit ...string) (*Result, error) {
	s.res.Error = &ScriptError{File: s.src.displayName(), Message: msg}
	if len(limit) > 0 {
		s.res.Error.Limit = limit[0]
	}
	return s.result(), nil
}

func (s *session) result() *Result {
	if s.res.Value == nil {
		s.res.Value = json.RawMessage("null")
	}
	s.res.Dropped += s.dropped
	return &s.res
}

// done takes the worker's result.
func (s *session) done(m *message) *Result {
	s.dropped += min(m.Dropped, 1<<50)
	if m.Error != nil {
		s.res.Error = s.scriptError(m.Error)
	} else {
		s.res.Value = m.Value
	}
	return s.result()
}

// scriptError turns the worker's report into a ScriptError, bounded and in valid UTF-8.
func (s *session) scriptError(e *errorMsg) *ScriptError {
	name := s.src.displayName()
	se := &ScriptError{
		File:    name,
		Message: strings.ToValidUTF8(clip(e.Message, maxErrorText), "\uFFFD"),
		Stack:   strings.ToValidUTF8(clip(e.Stack, maxErrorText), "\uFFFD"),
		Line:    min(e.Line, 1<<24),
		Column:  min(e.Column, 1<<24),
		Limit:   e.Limit,
	}
	if se.Message == "" {
		se.Message = "Error"
	}
	if s.prog.name != name {
		se.Stack = strings.ReplaceAll(se.Stack, s.prog.name+":", name+":")
	}
	return se
}

// console keeps lines until the output limit; every line counts its length plus a newline, so
// that empty lines cannot grow the result without bound.
func (s *session) console(lines []consoleMsg) {
	for _, l := range lines {
		room := s.lim.Output - s.kept
		if need := int64(len(l.Text)) + 1; need > room {
			keep := ""
			if room > 1 {
				keep = truncateUTF8(l.Text, int(room-1))
			}
			s.dropped += int64(len(l.Text) - len(keep))
			if room < 1 || (keep == "" && l.Text != "") {
				continue
			}
			l.Text = keep
		}
		s.kept += int64(len(l.Text)) + 1
		s.res.Console = append(s.res.Console, ConsoleLine{Level: l.Level, Text: strings.ToValidUTF8(l.Text, "\uFFFD")})
	}
}

// call executes one call and writes its reply. A worker with too many calls in flight gets an
// error; a binding or method not offered to this run is refused.
func (s *session) call(ctx context.Context, m *message, tooMany bool, finished chan<- uint64) {
	defer s.r.wg.Done()
	reply := &message{T: msgReply, ID: m.ID}
	switch {
	case tooMany:
		reply.Error = &errorMsg{Name: "Error", Message: fmt.Sprintf("too many calls in flight (at most %d); await some before starting more", maxInFlight)}
	case m.Kind == callFetch:
		reply.Value, reply.Error = s.r.fetch(ctx, m.Fetch)
	default:
		reply.Value, reply.Error = s.bindingCall(ctx, m)
	}
	if err := s.p.in.write(reply); errors.Is(err, errTooLarge) {
		reply.Value, reply.Error = nil, &errorMsg{Name: "Error", Message: "the reply is larger than a message may be (16 MiB)"}
		_ = s.p.in.write(reply)
	}
	select {
	case finished <- m.ID:
	case <-ctx.Done():
	}
}

// bindingCall runs an offered binding method.
func (s *session) bindingCall(ctx context.Context, m *message) (json.RawMessage, *errorMsg) {
	if !s.offered[m.Binding][m.Method] {
		return nil, &errorMsg{Name: "TypeError", Message: fmt.Sprintf("binding %q has no method %q offered to this code", clip(m.Binding, 64), clip(m.Method, 64))}
	}
	v, err := s.r.opts.Bindings.Call(ctx, m.Binding, m.Method, m.Args)
	if err != nil {
		return nil, &errorMsg{Name: "Error", Message: err.Error()}
	}
	if len(v) == 0 {
		return json.RawMessage("null"), nil
	}
	if !json.Valid(v) {
		return nil, &errorMsg{Name: "Error", Message: fmt.Sprintf("binding %s.%s returned a value that is not JSON", m.Binding, m.Method)}
	}
	return v, nil
}
