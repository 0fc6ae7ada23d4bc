package codemode

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// fakeNative is the runtime's outside for tests that need no worker: it records console
// output and refuses calls.
type fakeNative struct {
	lines []consoleMsg
	calls []*message
	rt    *jsRuntime
}

func (f *fakeNative) print(level, text string) { f.lines = append(f.lines, consoleMsg{level, text}) }

func (f *fakeNative) startCall(m *message) goja.Value {
	f.calls = append(f.calls, m)
	return f.rt.rejected(f.rt.newError(f.rt.errorCtor, "no host in this test"))
}

func (f *fakeNative) setTimer(goja.Callable, time.Duration, []goja.Value, bool) (int64, error) {
	return 1, nil
}
func (f *fakeNative) clearTimer(int64) {}

func newTestRuntime(t *testing.T) (*jsRuntime, *fakeNative) {
	t.Helper()
	f := &fakeNative{}
	rt, err := newRuntime(f)
	if err != nil {
		t.Fatal(err)
	}
	f.rt = rt
	return rt, f
}

// TestRuntimeGlobals: the runtime defines no global that binding names are not kept from, and
// none of the extensions goja or other runtimes have.
func TestRuntimeGlobals(t *testing.T) {
	rt, _ := newTestRuntime(t)
	for step := 0; step < preloadSteps; step++ {
		if err := rt.preload(step); err != nil {
			t.Fatal(err)
		}
	}
	v, err := rt.vm.RunString("Object.getOwnPropertyNames(globalThis)")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range v.Export().([]any) {
		names = append(names, n.(string))
		if !runtimeGlobals[n.(string)] {
			t.Errorf("global %q is not in runtimeGlobals: a binding could take its name", n)
		}
	}
	sort.Strings(names)
	for _, absent := range []string{"GoError", "require", "process", "module", "global", "print"} {
		if v, _ := rt.vm.RunString("typeof " + absent); v.String() != "undefined" {
			t.Errorf("%s is defined (%s)", absent, v)
		}
	}
	t.Logf("globals: %s", strings.Join(names, " "))
}

func TestConsoleFormat(t *testing.T) {
	cases := []struct {
		code string
		want string
	}{
		{`console.log("a", 1, true, null, undefined, -0, 2n)`, "a 1 true null undefined -0 2n"},
		{`console.log()`, ""},
		{`console.log({a: 1, b: 'x', c: [1, 2, {d: null}]})`, "{ a: 1, b: 'x', c: [ 1, 2, { d: null } ] }"},
		{`console.log([])`, "[]"},
		{`console.log({})`, "{}"},
		{`console.log('%s is %d years', 'Bob', 42.5, 'extra')`, "Bob is 42.5 years extra"},
		{`console.log('%i%%', 42.9)`, "42%"},
		{`console.log('%j', {a: [1]})`, `{"a":[1]}`},
		{`console.log('%o', 'x')`, "'x'"},
		{`console.log('100%')`, "100%"},
		{`console.log(new Map([['k', 1]]), new Set([1, 'a']))`, "Map(1) { 'k' => 1 } Set(2) { 1, 'a' }"},
		{`const o = {a: 1}; o.self = o; console.log(o)`, "{ a: 1, self: [Circular] }"},
		{`console.log({a: {b: {c: {d: 1}}}})`, "{ a: { b: { c: [Object] } } }"},
		{`console.log(function foo() {}, class Bar {}, () => 1)`, "[Function: foo] [class Bar] [Function: (anonymous)]"},
		{`console.log(Symbol('s'), [Symbol.iterator])`, "Symbol(s) [ Symbol(Symbol.iterator) ]"},
		{`console.log({'a-b': 1, [Symbol('k')]: 2})`, "{ 'a-b': 1, [Symbol(k)]: 2 }"},
		{`console.log(Object.create(null))`, "[Object: null prototype] {}"},
		{`class P { constructor() { this.x = 1 } }; console.log(new P())`, "P { x: 1 }"},
		{`console.log([1, , 3])`, "[ 1, <1 empty item>, 3 ]"},
		{`console.log(new Date(0))`, "1970-01-01T00:00:00.000Z"},
		{`console.log(/x+/g, new Uint8Array([1, 2]))`, "/x+/g Uint8Array(2) [ 1, 2 ]"},
		{`console.log({s: 'it\'s\n'})`, `{ s: 'it\'s\n' }`},
		{`console.log({get g() { return 1 }})`, "{ g: [Getter] }"},
		{`console.log(Array.from({length: 120}, (_, i) => i).length, [..."ab"])`, "120 [ 'a', 'b' ]"},
		{`console.log({[Symbol.for('nodejs.util.inspect.custom')]() { return 'custom!' }})`, "custom!"},
		{`console.log({ aaaaaaaaaa: 'aaaaaaaaaaaaaaaaaaaa', bbbbbbbbbb: 'bbbbbbbbbbbbbbbbbbbb', c: 1 })`,
			"{\n  aaaaaaaaaa: 'aaaaaaaaaaaaaaaaaaaa',\n  bbbbbbbbbb: 'bbbbbbbbbbbbbbbbbbbb',\n  c: 1\n}"},
		{`console.log(new Headers({'X-A': '1'}))`, "Headers { 'x-a': '1' }"},
		{`console.log(new URL('HTTP://Example.COM:80/a?b=1#c'))`, "URL { href: 'http://example.com/a?b=1#c' }"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			rt, f := newTestRuntime(t)
			if _, err := rt.vm.RunString(c.code); err != nil {
				t.Fatal(err)
			}
			if len(f.lines) != 1 || f.lines[0].Text != c.want || f.lines[0].Level != "log" {
				t.Errorf("got %q, want %q", f.lines, c.want)
			}
		})
	}
}

func TestConsoleLevels(t *testing.T) {
	rt, f := newTestRuntime(t)
	_, err := rt.vm.RunString(`console.info('i'); console.warn('w'); console.error('e'); console.debug('d');
		console.assert(true, 'no'); console.assert(false, 'yes %d', 1); console.dir({a: 1})`)
	if err != nil {
		t.Fatal(err)
	}
	want := []consoleMsg{{"info", "i"}, {"warn", "w"}, {"error", "e"}, {"debug", "d"}, {"error", "Assertion failed: yes 1"}, {"log", "{ a: 1 }"}}
	if len(f.lines) != len(want) {
		t.Fatalf("got %q", f.lines)
	}
	for i := range want {
		if f.lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, f.lines[i], want[i])
		}
	}
	if _, err := rt.vm.RunString(`console.log = 1`); err == nil {
		if v, _ := rt.vm.RunString(`typeof console.log`); v.String() != "function" {
			t.Error("console is not frozen")
		}
	}
}

func TestURLClasses(t *testing.T) {
	cases := []struct{ code, want string }{
		{`new URL('HTTP://User:pw@Example.COM:8080/a/../b?x=1&y=2#h').href`, "http://User:pw@example.com:8080/b?x=1&y=2#h"},
		{`const u = new URL('https://a.example:443/p'); [u.host, u.port, u.origin, u.pathname].join('|')`, "a.example||https://a.example|/p"},
		{`new URL('/x?y', 'https://b.example/a/b').href`, "https://b.example/x?y"},
		{`new URL('https://a.example').pathname`, "/"},
		{`new URL('http://[::1]:8000/').hostname`, "[::1]"},
		{`const u = new URL('https://a.example/?q=1'); u.searchParams.append('r', 'a b'); u.href`, "https://a.example/?q=1&r=a+b"},
		{`const u = new URL('https://a.example/'); u.pathname = 'x y'; u.search = '?k=v'; u.hash = 'frag'; u.href`, "https://a.example/x%20y?k=v#frag"},
		{`const u = new URL('https://a.example/'); u.port = '8443'; u.host`, "a.example:8443"},
		{`try { new URL('not a url'); 'no' } catch (e) { e.name + ': ' + e.message }`, "TypeError: Invalid URL: not a url"},
		{`URL.canParse('https://x/') + ' ' + URL.canParse('nope')`, "true false"},
		{`new URLSearchParams('?a=1&b=x+y&a=%20').getAll('a').join('|')`, "1| "},
		{`const p = new URLSearchParams({q: "a&b=c", n: 1}); p.set('z', '!'); p.toString()`, "q=a%26b%3Dc&n=1&z=%21"},
		{`[...new URLSearchParams([['b', '2'], ['a', '1']])].map(([k, v]) => k + v).join()`, "b2,a1"},
		{`JSON.stringify({u: new URL('https://x/')})`, `{"u":"https://x/"}`},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			v, err := rt.vm.RunString(c.code)
			if err != nil {
				t.Fatal(err)
			}
			if v.String() != c.want {
				t.Errorf("got %q, want %q", v, c.want)
			}
		})
	}
}

func TestHeadersAndResponse(t *testing.T) {
	cases := []struct{ code, want string }{
		{`const h = new Headers({'Content-Type': 'a', 'X-Y': '1'}); h.append('x-y', '2'); [h.get('content-type'), h.get('X-y'), h.has('nope'), h.get('nope')].join('|')`, "a|1, 2|false|"},
		{`const h = new Headers([['b', '1'], ['a', '2']]); [...h].map(([k, v]) => k + '=' + v).join('&')`, "a=2&b=1"},
		{`const h = new Headers({a: '1'}); h.set('A', '3'); h.delete('b'); h.get('a')`, "3"},
		{`try { new Headers({'bad name': '1'}); 'no' } catch (e) { e.name }`, "TypeError"},
		{`const r = new Response('{"a":1}', {status: 201, headers: {'content-type': 'application/json'}}); [r.status, r.ok, r.headers.get('content-type')].join('|')`, "201|true|application/json"},
		{`const r = Response.json({x: 1}); r.headers.get('content-type')`, "application/json"},
		{`try { new Response('', {status: 99}); 'no' } catch (e) { e.name }`, "RangeError"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			v, err := rt.vm.RunString(c.code)
			if err != nil {
				t.Fatal(err)
			}
			if v.String() != c.want {
				t.Errorf("got %q, want %q", v, c.want)
			}
		})
	}
}

// TestResponseBody reads bodies through promises, which goja settles when the call returns.
func TestResponseBody(t *testing.T) {
	rt, _ := newTestRuntime(t)
	v, err := rt.vm.RunString(`
		const out = [];
		const r = new Response('{"a":[1,"é"]}');
		r.json().then((j) => out.push(j.a[1]));
		r.text().catch((e) => out.push(e.name));
		new Response(new Uint8Array([104, 105])).text().then((s) => out.push(s));
		new Response(new Uint8Array([0xff])).text().then((s) => out.push(s.charCodeAt(0)));
		out`)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(v.String(), ",")
	sort.Strings(got)
	if strings.Join(got, ",") != "65533,TypeError,hi,é" {
		t.Errorf("got %s", got)
	}
}

func TestLazyGlobals(t *testing.T) {
	rt, _ := newTestRuntime(t)
	if rt.webLoaded {
		t.Fatal("web.js loaded before anything used it")
	}
	v, err := rt.vm.RunString(`fetch = 'mine'; typeof fetch + ' ' + fetch`)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != "string mine" || rt.webLoaded {
		t.Errorf("assigning fetch: %s (web loaded: %v)", v, rt.webLoaded)
	}
	v, err = rt.vm.RunString(`typeof Headers`)
	if err != nil || v.String() != "function" || !rt.webLoaded {
		t.Errorf("typeof Headers: %v %v (web loaded: %v)", v, err, rt.webLoaded)
	}
	if v, _ := rt.vm.RunString(`fetch`); v.String() != "mine" {
		t.Errorf("loading web.js replaced the script's fetch: %v", v)
	}
}

func TestFetchArguments(t *testing.T) {
	rt, f := newTestRuntime(t)
	_, err := rt.vm.RunString(`
		fetch('https://a.example/x', {method: 'post', headers: {'X-K': 'v'}, body: {a: 1}}).catch(() => {});
		fetch(new URL('https://b.example/'), {body: new URLSearchParams({q: 'a b'}), method: 'PUT'}).catch(() => {});
		fetch('https://c.example/', {method: 'PATCH', body: new Uint8Array([1, 2, 3])}).catch(() => {});
		fetch('https://d.example/').catch(() => {});`)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 4 {
		t.Fatalf("%d calls", len(f.calls))
	}
	type want struct {
		url, method, body, ctype string
	}
	for i, w := range []want{
		{"https://a.example/x", "POST", `{"a":1}`, "application/json"},
		{"https://b.example/", "PUT", "q=a+b", "application/x-www-form-urlencoded;charset=UTF-8"},
		{"https://c.example/", "PATCH", "\x01\x02\x03", ""},
		{"https://d.example/", "GET", "", ""},
	} {
		r := f.calls[i].Fetch
		ctype := ""
		for _, h := range r.Headers {
			if h[0] == "content-type" {
				ctype = h[1]
			}
		}
		if r.URL != w.url || r.Method != w.method || string(r.Body) != w.body || ctype != w.ctype || f.calls[i].Kind != callFetch {
			t.Errorf("call %d: %+v (content-type %q), want %+v", i, r, ctype, w)
		}
	}
	_, _ = rt.vm.RunString(`var e; fetch('https://x/', {body: 'b'}).catch((x) => { e = x.message })`)
	if v, _ := rt.vm.RunString(`e`); !strings.Contains(v.String(), "cannot have a body") {
		t.Errorf("a GET with a body: %v", v)
	}
}

func TestBindingArguments(t *testing.T) {
	rt, f := newTestRuntime(t)
	if err := rt.bind("tv", []string{"send"}); err != nil {
		t.Fatal(err)
	}
	_, err := rt.vm.RunString(`
		tv.send(1, 'two', {three: [3]}, undefined, null, () => 1).catch(() => {});
		const c = {}; c.c = c;
		var msg; tv.send(c).catch((e) => { msg = e.name + ': ' + e.message });
		var frozen = Object.isFrozen(tv) && Object.getPrototypeOf(tv) === null;
		try { tv = 1 } catch (e) {}`)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := rt.vm.RunString(`[msg, frozen, typeof tv.send, Object.keys(tv).join()].join('|')`)
	if !strings.HasPrefix(v.String(), "TypeError: tv.send: argument 1 cannot be sent as JSON") || !strings.HasSuffix(v.String(), "|true|function|send") {
		t.Errorf("got %s", v)
	}
	if len(f.calls) != 1 {
		t.Fatalf("%d calls", len(f.calls))
	}
	var args []string
	for _, a := range f.calls[0].Args {
		args = append(args, string(a))
	}
	if got := strings.Join(args, " "); got != `1 "two" {"three":[3]} null null null` {
		t.Errorf("arguments %s", got)
	}
}
