// Package codemode runs agent-written JavaScript and TypeScript in a separate worker process (the
// airlock binary re-executed) that has an empty network namespace, no capabilities and no
// sockets, and reaches the world only through RPC to the host: fetch, executed here through the
// egress guard, and binding calls, executed here by a Bindings implementation.
//
// Programs using the package must call WorkerMain first thing in main (after
// sandbox.HelperMain), and in TestMain of any package whose tests run code. README.md describes
// the design, the protocol and the measured costs.
package codemode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
)

// Bindings is what the code sees as binding objects; internal/binding's Manager implements it.
type Bindings interface {
	// Methods returns binding name -> method names; each binding becomes a global object whose
	// methods are async functions. Names must be JavaScript identifiers; a binding name may not
	// be a name the runtime already defines (console, fetch, JSON, ...).
	Methods() map[string][]string
	// Call runs binding.method with the arguments exactly as the code passed them (each a JSON
	// value). The returned JSON becomes the promise's value; an error rejects it with a JS Error
	// whose message is err.Error(). Call must return soon after ctx is done.
	Call(ctx context.Context, binding, method string, args []json.RawMessage) (json.RawMessage, error)
}

// Limits bound one run. A zero field means its default.
type Limits struct {
	Wall   time.Duration // whole run; default 30s
	CPU    time.Duration // CPU time of the worker process; default 10s
	Memory int64         // bytes; default 256 MiB, at least 16 MiB
	Output int64         // bytes of console output kept; default 1 MiB (further output dropped, noted)
}

// Defaults of Limits.
const (
	DefaultWall   = 30 * time.Second
	DefaultCPU    = 10 * time.Second
	DefaultMemory = 256 << 20
	DefaultOutput = 1 << 20

	// MinMemory is the smallest memory limit a worker can run under.
	MinMemory = 16 << 20
)

// withDefaults fills zero fields and checks the rest.
func (l Limits) withDefaults() (Limits, error) {
	if l.Wall == 0 {
		l.Wall = DefaultWall
	}
	if l.CPU == 0 {
		l.CPU = DefaultCPU
	}
	if l.Memory == 0 {
		l.Memory = DefaultMemory
	}
	if l.Output == 0 {
		l.Output = DefaultOutput
	}
	switch {
	case l.Wall < 0 || l.CPU < 0 || l.Output < 0:
		return l, fmt.Errorf("codemode: negative limit (wall %v, cpu %v, output %d); give positive values, or zero for the defaults", l.Wall, l.CPU, l.Output)
	case l.Memory < MinMemory:
		return l, fmt.Errorf("codemode: memory limit of %d bytes is below the %d MiB a worker needs; raise it", l.Memory, MinMemory>>20)
	}
	return l, nil
}

// Options configure a Runner.
type Options struct {
	Guard    *egress.Guard // fetch() goes through egress.NewClient(Guard); nil: every fetch is refused
	Bindings Bindings      // nil: no bindings
	Limits   Limits
	Audit    audit.Sink // one "fetch" event per fetch (method, host, port, status, decision, duration_ms); nil: dropped

	// hooks are the package's test hooks; nil in production.
	hooks *testHooks
}

// testHooks let the package's tests watch and steer workers.
type testHooks struct {
	started   func(pid int) // a worker process started
	noMonitor bool          // the worker does not watch its own limits: the backstops must act
	env       []string      // added to the worker's environment (a test role)
}

// Source is one piece of code to run.
type Source struct {
	Name string // file name shown in errors ("script.ts", "-" = "<stdin>")
	Code string // JavaScript or TypeScript
}

// displayName is the name errors show.
func (s Source) displayName() string {
	switch s.Name {
	case "", "-":
		return "<stdin>"
	}
	return s.Name
}

// ConsoleLine is one call of console.log (or info, warn, error, debug).
type ConsoleLine struct {
	Level string // log, warn, error, info, debug
	Text  string
}

// Limit names, the values of ScriptError.Limit.
const (
	LimitWall   = "wall"
	LimitCPU    = "cpu"
	LimitMemory = "memory"
)

// ScriptError is a thrown error, a syntax error, or a limit that stopped the run.
type ScriptError struct {
	File         string // the Source's name ("<stdin>" for "-")
	Message      string // "TypeError: x is not a function"
	Line, Column int    // in the user's source (1-based), 0 when unknown
	Stack        string // the JavaScript stack, positions in the user's source; may be empty
	Limit        string // "", "wall", "cpu", "memory" when a limit stopped the run
}

// Error returns "script.ts:3:7: TypeError: x is not a function".
func (e *ScriptError) Error() string {
	s := e.File
	if s == "" {
		s = "<code>"
	}
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
		if e.Column > 0 {
			s += ":" + strconv.Itoa(e.Column)
		}
	}
	return s + ": " + e.Message
}

// Result is what a run produced.
type Result struct {
	Value   json.RawMessage // the value the code returned (JSON); "null" when undefined
	Console []ConsoleLine
	Error   *ScriptError // nil when the run succeeded
	Dropped int64        // console bytes dropped over Limits.Output
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("codemode: the runner is closed")
