package codemode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The messages, one per frame (frame.go). Host → worker: run (once, first), reply (to a call).
// Worker → host: ready (once, first, when it is confined and its runtime is prepared), console
// (lines of output), call (a fetch or a binding call, answered by a reply with the same id),
// done (once, last: the value or the error). The worker exits after done; the host kills it
// anyway.
const (
	msgRun     = "run"
	msgReply   = "reply"
	msgReady   = "ready"
	msgConsole = "console"
	msgCall    = "call"
	msgDone    = "done"

	callFetch   = "fetch"
	callBinding = "binding"
)

// message is the JSON of every frame; T says which fields apply.
type message struct {
	T string `json:"t"`

	Run *runMsg `json:"run,omitempty"` // run

	ID      uint64            `json:"id,omitempty"`      // call, reply
	Kind    string            `json:"kind,omitempty"`    // call: callFetch or callBinding
	Fetch   *fetchRequest     `json:"fetch,omitempty"`   // call of kind fetch
	Binding string            `json:"binding,omitempty"` // call of kind binding
	Method  string            `json:"method,omitempty"`  // call of kind binding
	Args    []json.RawMessage `json:"args,omitempty"`    // call of kind binding

	Value json.RawMessage `json:"value,omitempty"` // reply, done
	Error *errorMsg       `json:"error,omitempty"` // reply (rejects the call), done (the run failed)

	Lines   []consoleMsg `json:"lines,omitempty"`   // console
	Dropped int64        `json:"dropped,omitempty"` // done: console bytes the worker dropped
}

// runMsg is the code to run and the run's parameters.
type runMsg struct {
	Name     string              `json:"name"`
	Code     string              `json:"code"`
	Map      json.RawMessage     `json:"map,omitempty"`
	Bindings map[string][]string `json:"bindings,omitempty"`
	WallMS   int64               `json:"wall_ms"`
	CPUMS    int64               `json:"cpu_ms"`
	Memory   int64               `json:"memory"`
	Output   int64               `json:"output"`
	// NoMonitor turns the worker's own limit checks off, for tests of the backstops.
	NoMonitor bool `json:"no_monitor,omitempty"`
}

// errorMsg is an error: a rejected call (Name and Message) or a failed run (all fields).
type errorMsg struct {
	Name    string `json:"name,omitempty"` // reply: the JS error's constructor, "Error" or "TypeError"
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Limit   string `json:"limit,omitempty"`
}

type consoleMsg struct {
	Level string `json:"level"`
	Text  string `json:"text"`
}

// fetchRequest is a fetch() call, as the worker normalised it.
type fetchRequest struct {
	URL     string      `json:"url"`
	Method  string      `json:"method"`
	Headers [][2]string `json:"headers,omitempty"`
	Body    []byte      `json:"body,omitempty"` // base64 in JSON
}

// fetchResponse is the reply's value to a fetch call.
type fetchResponse struct {
	Status     int         `json:"status"`
	StatusText string      `json:"status_text"`
	URL        string      `json:"url"`
	Redirected bool        `json:"redirected,omitempty"`
	Headers    [][2]string `json:"headers,omitempty"`
	Body       []byte      `json:"body,omitempty"` // base64 in JSON
}

// decodeMessage parses a frame's body strictly: one JSON object, no unknown fields, nothing
// after it.
func decodeMessage(b []byte) (*message, error) {
	if m, ok := decodeFast(b); ok {
		return m, nil
	}
	return decodeSlow(b)
}

// decodeSlow is decodeMessage with encoding/json, for every message.
func decodeSlow(b []byte) (*message, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var m message
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("bad message: %w", err)
	}
	if d.More() {
		return nil, errors.New("bad message: data after the JSON object")
	}
	return &m, nil
}

// Bounds on what a worker may send, beyond the frame size.
const (
	maxInFlight   = 64       // calls of one run waiting for their reply
	maxErrorText  = 64 << 10 // bytes of an error message or stack kept
	maxNameLength = 256      // binding and method names
)

var validLevels = map[string]bool{"log": true, "info": true, "warn": true, "error": true, "debug": true}

var validLimits = map[string]bool{"": true, LimitWall: true, LimitCPU: true, LimitMemory: true}

// errProtocol marks a message that breaks the protocol: the host kills the worker.
var errProtocol = errors.New("protocol violation")

// checkFromWorker validates a message from the worker (other than the checks that need the
// run's state: call ids, offered bindings). Everything a worker sends is treated as hostile.
func checkFromWorker(m *message) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s message: %s", errProtocol, m.T, fmt.Sprintf(format, a...))
	}
	if m.Run != nil {
		return bad("carries a run")
	}
	switch m.T {
	case msgReady:
		if m.ID != 0 || m.Kind != "" || m.Value != nil || m.Error != nil || m.Lines != nil {
			return bad("unexpected fields")
		}
	case msgConsole:
		if len(m.Lines) == 0 {
			return bad("no lines")
		}
		for _, l := range m.Lines {
			if !validLevels[l.Level] {
				return bad("level %q", l.Level)
			}
		}
	case msgCall:
		if m.ID == 0 {
			return bad("id 0")
		}
		switch m.Kind {
		case callFetch:
			if m.Fetch == nil || m.Binding != "" || m.Method != "" || m.Args != nil {
				return bad("a fetch call needs fetch and nothing else")
			}
		case callBinding:
			if m.Fetch != nil {
				return bad("a binding call with a fetch")
			}
			if !utf8.ValidString(m.Binding) || !utf8.ValidString(m.Method) ||
				len(m.Binding) > maxNameLength || len(m.Method) > maxNameLength {
				return bad("binding or method name")
			}
		default:
			return bad("kind %q", m.Kind)
		}
	case msgDone:
		if m.Error != nil {
			if !validLimits[m.Error.Limit] {
				return bad("limit %q", m.Error.Limit)
			}
			if m.Error.Line < 0 || m.Error.Column < 0 {
				return bad("negative position")
			}
		} else if !json.Valid(m.Value) {
			return bad("value is not JSON")
		}
		if m.Dropped < 0 {
			return bad("negative dropped count")
		}
	default:
		return fmt.Errorf("%w: unknown message type %q", errProtocol, m.T)
	}
	return nil
}
