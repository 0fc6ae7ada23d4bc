package codemode

import (
	"fmt"
	"strings"
	"testing"
)

func TestValues(t *testing.T) {
	requireWorkers(t)
	cases := []struct{ code, value, err string }{
		{"return 1", "1", ""},
		{"return 'a\"b'", `"a\"b"`, ""},
		{"return {a: [1, {b: null}], c: 'é'}", `{"a":[1,{"b":null}],"c":"é"}`, ""},
		{"return", "null", ""},
		{"const x = 1", "null", ""},
		{"return () => 1", "null", ""},
		{"return [undefined, () => 1, NaN]", "[null,null,null]", ""},
		{"return new Date(0)", `"1970-01-01T00:00:00.000Z"`, ""},
		{"return {toJSON() { return 'custom' }}", `"custom"`, ""},
		{"return 1n", "null", "the value the code returned cannot be serialised as JSON: TypeError"},
		{"const o = {}; o.o = o; return o", "null", "the value the code returned cannot be serialised as JSON: TypeError"},
		{"return await new Promise((r) => setTimeout(() => r('later'), 20))", `"later"`, ""},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			res := run(t, Options{}, c.code)
			if string(res.Value) != c.value {
				t.Errorf("value %s, want %s", res.Value, c.value)
			}
			switch {
			case c.err == "" && res.Error != nil:
				t.Errorf("error %v", res.Error)
			case c.err != "" && (res.Error == nil || !strings.HasPrefix(res.Error.Message, c.err)):
				t.Errorf("error %v, want %q...", res.Error, c.err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	requireWorkers(t)
	cases := []struct {
		name, file, code string
		want             string // ScriptError.Error()
	}{
		{"thrown Error", "script.ts", "const a = 1\nthrow new TypeError('x is not a function')", "script.ts:2:7: TypeError: x is not a function"},
		{"runtime TypeError", "script.js", "const x = undefined\nx()", "script.js:2:2: TypeError: Value is not an object: undefined"},
		// A value that is not an Error carries no stack, so no position.
		{"thrown string", "script.js", "throw 'plain'", "script.js: Uncaught 'plain'"},
		{"thrown object", "script.js", "throw {code: 7}", "script.js: Uncaught { code: 7 }"},
		{"error in a TS function", "t.ts", "interface P { n: number }\nfunction f(p: P): number {\n  if (p.n > 1) throw new RangeError('too big')\n  return p.n\n}\nreturn f({n: 2})", "t.ts:3:22: RangeError: too big"},
		{"stdin", "-", "let u\nu.x", "<stdin>:2:3: TypeError: Cannot read property 'x' of undefined"},
		{"stdin, line 1", "-", "throw new Error('x')", "<stdin>:1:7: Error: x"},
		{"odd name, line 1", "my file.ts", "throw new Error('x')", "my file.ts:1:7: Error: x"},
		{"syntax error", "s.ts", "let a = 1\nlet = = 2", "s.ts:2:7: SyntaxError: Unexpected \"=\""},
		{"never settles", "n.js", "await new Promise(() => {})", "n.js: the code is waiting for a promise that nothing can settle: no fetch, binding call or timer is pending"},
		{"uncaught in a timer", "tm.js", "setTimeout(() => {\n  throw new Error('late')\n}, 1)\nawait new Promise((r) => setTimeout(r, 200))", "tm.js:2:9: Error: late"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := RunOnce(t.Context(), Options{}, Source{Name: c.file, Code: c.code})
			if err != nil {
				t.Fatal(err)
			}
			if res.Error == nil {
				t.Fatalf("no error; value %s", res.Value)
			}
			if got := res.Error.Error(); got != c.want {
				t.Errorf("got  %s\nwant %s\nstack: %s", got, c.want, res.Error.Stack)
			}
			if res.Error.Stack != "" && !strings.Contains(res.Error.Stack, fmt.Sprintf("%s:%d:%d", res.Error.File, res.Error.Line, res.Error.Column)) {
				t.Errorf("the stack does not name %s: %s", res.Error.File, res.Error.Stack)
			}
		})
	}
}

func TestConsoleAndTimers(t *testing.T) {
	requireWorkers(t)
	res := run(t, Options{}, `
		const order = []
		setTimeout(() => order.push('b'), 30)
		setTimeout((x) => order.push(x), 5, 'a')
		const never = setTimeout(() => order.push('never'), 10)
		clearTimeout(never)
		let n = 0
		const iv = setInterval(() => { if (++n === 3) clearInterval(iv) }, 2)
		await new Promise((r) => setTimeout(r, 60))
		console.warn('order', order, n)
		setTimeout(() => console.log('after the end'), 10000)
		Promise.reject(new Error('nobody catches this'))
		return order.join('')`)
	if v := value(t, res); v != `"ab"` {
		t.Errorf("value %s", v)
	}
	if len(res.Console) != 2 || res.Console[0] != (ConsoleLine{"warn", "order [ 'a', 'b' ] 3"}) ||
		res.Console[1].Level != "error" || !strings.HasPrefix(res.Console[1].Text, "Uncaught (in promise) Error: nobody catches this") {
		t.Errorf("console %q", res.Console)
	}
}
