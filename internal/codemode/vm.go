package codemode

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// This file is the worker's JavaScript runtime: goja, without what is not ECMAScript, plus
// console, timers and bindings implemented here, and two chunks of JavaScript compiled when
// first needed: inspect.js (console output of objects) and web.js (fetch, Response, Headers,
// URL, URLSearchParams). goja compiles about 200 µs of source per KiB on a slow machine: a
// worker that compiled everything up front would start milliseconds later. Only the worker
// process runs this code.

var (
	//go:embed inspect.js
	inspectSource string
	//go:embed web.js
	webSource string
)

// webGlobals are the globals web.js defines; until it is loaded they are accessors that load it.
var webGlobals = []string{"fetch", "Response", "Headers", "URL", "URLSearchParams"}

// Bounds the runtime keeps.
const (
	maxCallStack   = 10000    // JavaScript frames, like Node's default
	maxTimers      = 10000    // timers alive at once
	maxLine        = 1 << 20  // bytes of one console line; the rest is dropped
	consoleBatch   = 64 << 10 // console bytes buffered before a frame goes out
	maxFetchBody   = 12 << 20 // bytes of a fetch request or response body (a frame is 16 MiB)
	maxResultBytes = 15 << 20 // bytes of the returned value's JSON
)

// jsRuntime is the worker's goja runtime with its globals.
type jsRuntime struct {
	vm *goja.Runtime
	n  nativeSide

	// ECMAScript's own, captured before any user code runs (scripts may replace the globals).
	stringify, parse, freeze          goja.Callable
	jsStringify, jsParse              goja.Value // the same, as values for web.js
	errorCtor, typeErrorCtor, rangeEr *goja.Object

	inspect, format goja.Callable // from inspect.js, once loaded
	webLoaded       bool
}

// nativeSide is what the runtime's functions do outside it: the worker.
type nativeSide interface {
	print(level, text string)
	// startCall sends a call to the host and returns the promise its reply settles.
	startCall(m *message) goja.Value
	setTimer(fn goja.Callable, d time.Duration, args []goja.Value, repeat bool) (int64, error)
	clearTimer(id int64)
}

// newRuntime prepares a runtime whose outside is n.
func newRuntime(n nativeSide) (*jsRuntime, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(maxCallStack)
	rt := &jsRuntime{vm: vm, n: n}
	g := vm.GlobalObject()
	// goja's own extension: a constructor for wrapped Go errors.
	if err := g.Delete("GoError"); err != nil {
		return nil, err
	}
	json := g.Get("JSON").ToObject(vm)
	object := g.Get("Object").ToObject(vm)
	var ok1, ok2, ok3 bool
	rt.jsStringify, rt.jsParse = json.Get("stringify"), json.Get("parse")
	rt.stringify, ok1 = goja.AssertFunction(rt.jsStringify)
	rt.parse, ok2 = goja.AssertFunction(rt.jsParse)
	rt.freeze, ok3 = goja.AssertFunction(object.Get("freeze"))
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New("JSON or Object lacks its functions")
	}
	rt.errorCtor = g.Get("Error").ToObject(vm)
	rt.typeErrorCtor = g.Get("TypeError").ToObject(vm)
	rt.rangeEr = g.Get("RangeError").ToObject(vm)

	define := func(name string, v any) error {
		return g.DefineDataProperty(name, vm.ToValue(v), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
	console, err := rt.console()
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]any{
		"console":       console,
		"setTimeout":    rt.timer(false),
		"setInterval":   rt.timer(true),
		"clearTimeout":  rt.clearTimer,
		"clearInterval": rt.clearTimer,
	} {
		if err := define(name, v); err != nil {
			return nil, err
		}
	}
	for _, name := range webGlobals {
		get := vm.ToValue(func(goja.FunctionCall) goja.Value {
			if err := rt.loadWeb(); err != nil {
				panic(rt.newError(rt.typeErrorCtor, err.Error()))
			}
			return g.Get(name)
		})
		set := vm.ToValue(func(c goja.FunctionCall) goja.Value {
			_ = g.DefineDataProperty(name, c.Argument(0), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
			return goja.Undefined()
		})
		if err := g.DefineAccessorProperty(name, get, set, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

// preload compiles the chunks a script may need, ahead of it: a warm worker does this while
// it waits for its run.
func (rt *jsRuntime) preload(step int) error {
	switch step {
	case 0:
		return rt.loadInspect()
	case 1:
		return rt.loadWeb()
	}
	return nil
}

const preloadSteps = 2

// chunk compiles and runs one of the embedded chunks, a function expression, and calls it with
// arg.
func (rt *jsRuntime) chunk(name, src string, arg goja.Value) (goja.Value, error) {
	prg, err := goja.Compile(name, src, true)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", name, err)
	}
	fv, err := rt.vm.RunProgram(prg)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	f, ok := goja.AssertFunction(fv)
	if !ok {
		return nil, fmt.Errorf("%s is not a function", name)
	}
	return f(goja.Undefined(), arg)
}

func (rt *jsRuntime) loadInspect() error {
	if rt.inspect != nil {
		return nil
	}
	v, err := rt.chunk("airlock-inspect.js", inspectSource, goja.Undefined())
	if err != nil {
		return err
	}
	o := v.ToObject(rt.vm)
	inspect, ok1 := goja.AssertFunction(o.Get("inspect"))
	format, ok2 := goja.AssertFunction(o.Get("format"))
	if !ok1 || !ok2 {
		return errors.New("airlock-inspect.js returned no inspect or format")
	}
	rt.inspect, rt.format = inspect, format
	return nil
}

func (rt *jsRuntime) loadWeb() error {
	if rt.webLoaded {
		return nil
	}
	rt.webLoaded = true
	_, err := rt.chunk("airlock-web.js", webSource, rt.webNative())
	return err
}

// console is the console object: log, info, warn, error and debug print their arguments as
// console.log does; dir inspects one value; trace adds the stack; assert prints when its first
// argument is falsy.
func (rt *jsRuntime) console() (*goja.Object, error) {
	vm := rt.vm
	c := vm.NewObject()
	set := func(name string, f func(goja.FunctionCall) goja.Value) error { return c.Set(name, f) }
	var err error
	for _, level := range []string{"log", "info", "warn", "error", "debug"} {
		err = errors.Join(err, set(level, func(call goja.FunctionCall) goja.Value {
			rt.n.print(level, rt.formatArgs(call.Arguments))
			return goja.Undefined()
		}))
	}
	err = errors.Join(err,
		set("dir", func(call goja.FunctionCall) goja.Value {
			rt.n.print("log", rt.describe(call.Argument(0)))
			return goja.Undefined()
		}),
		set("trace", func(call goja.FunctionCall) goja.Value {
			s := "Trace"
			if len(call.Arguments) > 0 {
				s += ": " + rt.formatArgs(call.Arguments)
			}
			for _, f := range vm.CaptureCallStack(20, nil) {
				var b bytes.Buffer
				f.Write(&b)
				s += "\n    at " + cleanStack(b.String())
			}
			rt.n.print("error", s)
			return goja.Undefined()
		}),
		set("assert", func(call goja.FunctionCall) goja.Value {
			if !call.Argument(0).ToBoolean() {
				s := "Assertion failed"
				if len(call.Arguments) > 1 {
					s += ": " + rt.formatArgs(call.Arguments[1:])
				}
				rt.n.print("error", s)
			}
			return goja.Undefined()
		}))
	if err != nil {
		return nil, err
	}
	if _, err := rt.freeze(goja.Undefined(), c); err != nil {
		return nil, err
	}
	return c, nil
}

// formatArgs is console.log's formatting. Arguments that are all primitives, without a format
// directive, are joined here; anything else goes through inspect.js's format.
func (rt *jsRuntime) formatArgs(args []goja.Value) string {
	var b strings.Builder
	for i, a := range args {
		s, ok := primitiveString(a)
		if !ok || (i == 0 && strings.Contains(s, "%") && goja.IsString(a)) {
			return rt.formatSlow(args)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// primitiveString is how console.log prints a primitive; false for objects and symbols.
func primitiveString(v goja.Value) (string, bool) {
	if v == nil {
		return "undefined", true
	}
	if _, isObj := v.(*goja.Object); isObj {
		return "", false
	}
	switch x := v.Export().(type) {
	case string:
		return x, true
	case float64:
		if x == 0 && math.Signbit(x) {
			return "-0", true
		}
		return v.String(), true
	case int64, bool, nil:
		return v.String(), true
	}
	if goja.IsBigInt(v) {
		return v.String() + "n", true
	}
	return "", false
}

func (rt *jsRuntime) formatSlow(args []goja.Value) string {
	if err := rt.loadInspect(); err != nil {
		return fmt.Sprint(args)
	}
	v, err := rt.format(goja.Undefined(), args...)
	if err != nil {
		panic(err) // an exception thrown by a getter or toString: the script's own
	}
	return v.String()
}

// describe is inspect(v); a plain rendering when inspect.js cannot run.
func (rt *jsRuntime) describe(v goja.Value) string {
	if err := rt.loadInspect(); err == nil {
		if s, err := rt.inspect(goja.Undefined(), v); err == nil {
			return s.String()
		}
	}
	if v == nil {
		return "undefined"
	}
	return v.String()
}

// timer is setTimeout (repeat false) or setInterval: a function, a delay in milliseconds
// (at least 1), and arguments for the function. Timers live as long as the run.
func (rt *jsRuntime) timer(repeat bool) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(c.Argument(0))
		if !ok {
			panic(rt.newError(rt.typeErrorCtor, "the callback must be a function"))
		}
		ms := c.Argument(1).ToFloat()
		if !(ms >= 1) { // NaN too
			ms = 1
		}
		ms = math.Min(ms, math.MaxInt32)
		var args []goja.Value
		if len(c.Arguments) > 2 {
			args = append(args, c.Arguments[2:]...)
		}
		id, err := rt.n.setTimer(fn, time.Duration(ms*float64(time.Millisecond)), args, repeat)
		if err != nil {
			panic(rt.newError(rt.rangeEr, err.Error()))
		}
		return rt.vm.ToValue(id)
	}
}

func (rt *jsRuntime) clearTimer(c goja.FunctionCall) goja.Value {
	if a := c.Argument(0); !goja.IsUndefined(a) && !goja.IsNull(a) {
		rt.n.clearTimer(a.ToInteger())
	}
	return goja.Undefined()
}

// bind makes a binding a global object (frozen, null prototype, not writable) whose methods
// send their arguments, each as JSON, to the host and return a promise of the result.
func (rt *jsRuntime) bind(name string, methods []string) error {
	vm := rt.vm
	obj := vm.CreateObject(nil)
	for _, m := range methods {
		if err := obj.Set(m, rt.method(name, m)); err != nil {
			return err
		}
	}
	if _, err := rt.freeze(goja.Undefined(), obj); err != nil {
		return err
	}
	return vm.GlobalObject().DefineDataProperty(name, obj, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
}

func (rt *jsRuntime) method(binding, method string) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		m := &message{Kind: callBinding, Binding: binding, Method: method, Args: make([]json.RawMessage, len(c.Arguments))}
		for i, a := range c.Arguments {
			s, err := rt.stringify(goja.Undefined(), a)
			if err != nil {
				msg := err.Error()
				var ex *goja.Exception
				if errors.As(err, &ex) {
					msg = valueString(ex.Value().ToObject(rt.vm).Get("message"))
				}
				return rt.rejected(rt.newError(rt.typeErrorCtor, fmt.Sprintf("%s.%s: argument %d cannot be sent as JSON: %s", binding, method, i+1, msg)))
			}
			if goja.IsUndefined(s) {
				m.Args[i] = json.RawMessage("null")
			} else {
				m.Args[i] = json.RawMessage(s.String())
			}
		}
		return rt.n.startCall(m)
	}
}

// result serialises the value the code returned: JSON, or "null" when JSON has no form for it
// (undefined, a function).
func (rt *jsRuntime) result(v goja.Value) (string, error) {
	s, err := rt.stringify(goja.Undefined(), v)
	if err != nil {
		return "", err
	}
	if goja.IsUndefined(s) {
		return "null", nil
	}
	return s.String(), nil
}

// webNative is web.js's argument: the functions it builds fetch and the URL classes on.
func (rt *jsRuntime) webNative() *goja.Object {
	vm := rt.vm
	o := vm.NewObject()
	set := func(name string, f any) { _ = o.Set(name, f) }
	set("stringify", rt.jsStringify)
	set("parse", rt.jsParse)
	set("fetch", func(c goja.FunctionCall) goja.Value {
		req := &fetchRequest{URL: c.Argument(0).String(), Method: c.Argument(1).String()}
		pairs, _ := c.Argument(2).Export().([]any)
		for _, p := range pairs {
			kv, ok := p.([]any)
			if !ok || len(kv) != 2 {
				panic(rt.newError(rt.typeErrorCtor, "fetch: bad header list"))
			}
			req.Headers = append(req.Headers, [2]string{fmt.Sprint(kv[0]), fmt.Sprint(kv[1])})
		}
		switch b := c.Argument(3).Export().(type) {
		case nil:
		case string:
			req.Body = []byte(b)
		case goja.ArrayBuffer:
			req.Body = b.Bytes()
		default:
			panic(rt.newError(rt.typeErrorCtor, "fetch: bad body"))
		}
		if len(req.Body) > maxFetchBody {
			return rt.rejected(rt.newError(rt.typeErrorCtor, fmt.Sprintf("fetch: the request body is %d bytes; code mode sends at most %d MiB", len(req.Body), maxFetchBody>>20)))
		}
		return rt.n.startCall(&message{Kind: callFetch, Fetch: req})
	})
	set("encodeUTF8", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(vm.NewArrayBuffer([]byte(c.Argument(0).String())))
	})
	set("decodeUTF8", func(c goja.FunctionCall) goja.Value {
		b, ok := c.Argument(0).Export().(goja.ArrayBuffer)
		if !ok {
			panic(rt.newError(rt.typeErrorCtor, "decodeUTF8: not an ArrayBuffer"))
		}
		return vm.ToValue(decodeUTF8(b.Bytes()))
	})
	set("parseURL", func(c goja.FunctionCall) goja.Value {
		var base *string
		if b := c.Argument(1); !goja.IsUndefined(b) {
			s := b.String()
			base = &s
		}
		p, err := parseURL(c.Argument(0).String(), base)
		if err != nil {
			panic(rt.newError(rt.typeErrorCtor, err.Error()))
		}
		return rt.urlObject(p)
	})
	set("setURL", func(c goja.FunctionCall) goja.Value {
		p, err := setURLField(c.Argument(0).String(), c.Argument(1).String(), c.Argument(2).String())
		if err != nil {
			panic(rt.newError(rt.typeErrorCtor, err.Error()))
		}
		return rt.urlObject(p)
	})
	return o
}

// decodeUTF8 decodes like TextDecoder: invalid sequences become U+FFFD.
func decodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func (rt *jsRuntime) urlObject(p urlParts) goja.Value {
	o := rt.vm.NewObject()
	for k, v := range p.fields() {
		_ = o.Set(k, v)
	}
	return o
}

// newError returns new ctor(msg).
func (rt *jsRuntime) newError(ctor *goja.Object, msg string) *goja.Object {
	o, err := rt.vm.New(ctor, rt.vm.ToValue(msg))
	if err != nil {
		return rt.vm.NewTypeError(msg)
	}
	return o
}

// rejected returns a promise rejected with reason.
func (rt *jsRuntime) rejected(reason goja.Value) goja.Value {
	p, _, reject := rt.vm.NewPromise()
	_ = reject(reason)
	return rt.vm.ToValue(p)
}

// fetchValue turns the host's fetch reply into the raw response web.js wraps.
func (rt *jsRuntime) fetchValue(r *fetchResponse) goja.Value {
	vm := rt.vm
	o := vm.NewObject()
	pairs := make([]any, len(r.Headers))
	for i, h := range r.Headers {
		pairs[i] = vm.NewArray(h[0], h[1])
	}
	_ = o.Set("status", r.Status)
	_ = o.Set("statusText", r.StatusText)
	_ = o.Set("url", r.URL)
	_ = o.Set("redirected", r.Redirected)
	_ = o.Set("headers", vm.NewArray(pairs...))
	_ = o.Set("body", vm.NewArrayBuffer(r.Body))
	return o
}
