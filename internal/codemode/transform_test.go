package codemode

import (
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
	"github.com/go-sourcemap/sourcemap"
)

// runProgram compiles a prepared program the way the worker does (with its source map) and
// runs it in a bare goja runtime; it returns the value of the code's promise, or the position
// of the error it rejected with.
func runProgram(t *testing.T, p *program) (value goja.Value, line, col int, stack string) {
	t.Helper()
	code := p.code
	opts := []parser.Option{parser.WithDisableSourceMaps}
	if p.srcMap != nil {
		code += "\n//# sourceMappingURL=airlock.map"
		opts = []parser.Option{parser.WithSourceMapLoader(func(string) ([]byte, error) { return p.srcMap, nil })}
	}
	ast, err := goja.Parse(p.name, code, opts...)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, code)
	}
	prg, err := goja.CompileAST(ast, false)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	vm := goja.New()
	v, err := vm.RunProgram(prg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	prom := v.Export().(*goja.Promise)
	switch prom.State() {
	case goja.PromiseStateFulfilled:
		return prom.Result(), 0, 0, ""
	case goja.PromiseStateRejected:
		o := prom.Result().ToObject(vm)
		stack = cleanStack(o.Get("stack").String())
		line, col = firstFrame(stack, p.name)
		return nil, line, col, stack
	}
	t.Fatal("the promise is pending")
	return
}

func TestPreparePositions(t *testing.T) {
	cases := []struct {
		name      string
		code      string
		esbuild   bool // the code needs esbuild (TypeScript, or what goja lacks)
		line, col int
		value     string
	}{
		{name: "JS, line 1", code: "throw new Error('x')", line: 1, col: 7},
		{name: "JS, line 1 after code", code: "let a = 1; throw new Error('x')", line: 1, col: 18},
		{name: "JS, line 3", code: "// one\n\n  throw new Error('x')", line: 3, col: 9},
		{name: "JS, in a function", code: "function f() {\n  return new TypeError('t')\n}\nthrow f()", line: 2, col: 10},
		{name: "JS, after await", code: "await null\nawait 1\nthrow new RangeError('r')", line: 3, col: 7},
		{name: "JS, top-level return", code: "const x = await Promise.resolve(20)\nreturn x + 1", value: "21"},
		{name: "TS, line 1", code: "const a: number = 1; throw new Error('x')", esbuild: true, line: 1, col: 28},
		{name: "TS, line 3", code: "interface A { x: number }\nconst a: A = { x: 1 };\nthrow new Error('x' + a.x)", esbuild: true, line: 3, col: 7},
		{name: "TS, enum", code: "enum Color { Red, Green }\nconst c: Color = Color.Green\nif (c === Color.Green) {\n    throw new Error('green')\n}", esbuild: true, line: 4, col: 11},
		{name: "TS, generic call", code: "function id<T>(x: T): T { return x }\nreturn id<string>('a')", esbuild: true, value: "a"},
		{name: "TS, generic call that JS parses too", code: "function id(x) { return x }\nconst string = 1\nreturn id<string>(2)", esbuild: true, value: "2"},
		{name: "TS, class with types", code: "class K { private n: number = 2; double(): number { return this.n * 2 } }\nreturn new K().double()", esbuild: true, value: "4"},
		{name: "async generator (lowered)", code: "async function* g() { yield 1; yield 2 }\nlet s = 0\nfor await (const x of g()) s += x\nreturn s", esbuild: true, value: "3"},
		{name: "async generator, error line", code: "async function* g() { yield 1 }\nfor await (const x of g()) {}\nthrow new Error('after')", esbuild: true, line: 3, col: 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, serr := prepare(Source{Name: "script.ts", Code: c.code})
			if serr != nil {
				t.Fatal(serr)
			}
			if usedEsbuild := !strings.Contains(string(p.srcMap), `"sections"`); usedEsbuild != c.esbuild {
				t.Errorf("esbuild used: %v, want %v", usedEsbuild, c.esbuild)
			}
			v, line, col, stack := runProgram(t, p)
			if c.value != "" {
				if v == nil || v.String() != c.value {
					t.Fatalf("value %v, want %s (stack %s)", v, c.value, stack)
				}
				return
			}
			if line != c.line || col != c.col {
				t.Errorf("error at %d:%d, want %d:%d\nstack: %s\ncode:\n%s", line, col, c.line, c.col, stack, p.code)
			}
		})
	}
}

func TestPrepareSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, code string
		line, col  int
		msg        string
	}{
		{"JS, line 1", "let x = ;", 1, 9, "SyntaxError: Unexpected"},
		{"JS, line 2", "let a = 1\nlet b = a +* 2", 2, 12, "SyntaxError: Unexpected"},
		{"TS, line 3", "interface A { x: number }\nconst a: A = { x: 1 }\nconst b: = 2", 3, 10, "SyntaxError: Unexpected"},
		{"unclosed brace", "function f() {\n  return 1", 2, 11, "SyntaxError: Unexpected end of input"},
		{"import", "import fs from 'fs'", 1, 8, "SyntaxError:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, serr := prepare(Source{Name: "x.ts", Code: c.code})
			if serr == nil {
				t.Fatal("no syntax error")
			}
			if serr.Line != c.line || serr.Column != c.col || !strings.HasPrefix(serr.Message, c.msg) || serr.File != "x.ts" {
				t.Errorf("got %s (%d:%d), want %d:%d %q...", serr, serr.Line, serr.Column, c.line, c.col, c.msg)
			}
		})
	}
}

func TestUserPosition(t *testing.T) {
	code := "abc\ndefgh"
	cases := []struct{ line, col, wantLine, wantCol int }{
		{1, 15, 1, 1}, // the first character of the user's code, after the prefix
		{1, 17, 1, 3},
		{1, 3, 1, 1}, // inside the prefix
		{2, 4, 2, 4},
		{3, 1, 2, 6}, // the suffix: the end of the last line
		{0, 0, 0, 0},
	}
	for _, c := range cases {
		l, col := userPosition(code, c.line, c.col)
		if l != c.wantLine || col != c.wantCol {
			t.Errorf("userPosition(%d, %d) = %d:%d, want %d:%d", c.line, c.col, l, col, c.wantLine, c.wantCol)
		}
	}
}

func TestSafeName(t *testing.T) {
	cases := map[string]string{
		"script.ts":              "script.ts",
		"<stdin>":                "_stdin_",
		"..":                     "script.js",
		"/home/me/run.ts":        "run.ts",
		`C:\x\y.js`:              "y.js",
		"my script (1).ts":       "my_script__1_.ts",
		"":                       "script.js",
		"dir/":                   "dir_",
		strings.Repeat("a", 200): "script.js",
	}
	for in, want := range cases {
		got := safeName(in)
		if got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
		// goja resolves a source map's file name against the program's: a safe name must
		// come back as it is, or positions would not be recognised as the user's.
		if u := file.ResolveSourcemapURL(got, got); u == nil || u.String() != got {
			t.Errorf("goja resolves %q as %v", got, u)
		}
	}
}

func TestVLQRoundTrip(t *testing.T) {
	for _, m := range []string{
		"AAAA,MAAM,IAAY;AAClB,OAAO;",
		";;;;AAAA;AAAA,IAAK,IAAL,kBAAKA,OAAL",
		"A,C,E;;gBAAgB,2BAA2B",
		"",
	} {
		lines, err := decodeMappings(m)
		if err != nil {
			t.Fatalf("%q: %v", m, err)
		}
		if got := encodeMappings(lines); got != strings.TrimRight(m, ";")+strings.Repeat(";", strings.Count(m, ";")-strings.Count(strings.TrimRight(m, ";"), ";")) {
			t.Errorf("%q: round trip gave %q", m, got)
		}
	}
	for _, bad := range []string{"!", "AAAAAA", "AA", "gggggggggggA", "AAAg"} {
		if _, err := decodeMappings(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// TestFirstLineMap checks the identity map against the source-map library goja uses.
func TestFirstLineMap(t *testing.T) {
	m := firstLineMap("s.js", 14, 30)
	c, err := sourcemap.Parse("s.js", m)
	if err != nil {
		t.Fatal(err)
	}
	for col := 15; col <= 44; col++ {
		src, _, line, got, ok := c.Source(1, col)
		if !ok || src != "s.js" || line != 1 || got != col-14 {
			t.Errorf("column %d: %s %d:%d ok=%v, want s.js 1:%d", col, src, line, got, ok, col-14)
		}
	}
	if _, _, _, _, ok := c.Source(2, 5); ok {
		t.Error("line 2 is mapped; it must be reported as it is")
	}
}

// FuzzMappings: decoding never panics, and what decodes re-encodes to the same segments.
func FuzzMappings(f *testing.F) {
	for _, s := range []string{"AAAA,MAAM,IAAY;AAClB,OAAO;", ";;AAAA;CAAC,EAAE", "A", "gggggE", "AAAAA,C;;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines, err := decodeMappings(s)
		if err != nil {
			return
		}
		again, err := decodeMappings(encodeMappings(lines))
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", s, err)
		}
		if len(again) != len(lines) {
			t.Fatalf("%q: %d lines, then %d", s, len(lines), len(again))
		}
		for i := range lines {
			if len(lines[i]) != len(again[i]) {
				t.Fatalf("%q: line %d changed", s, i)
			}
			for j := range lines[i] {
				if lines[i][j] != again[i][j] {
					t.Fatalf("%q: segment %d:%d %+v became %+v", s, i, j, lines[i][j], again[i][j])
				}
			}
		}
	})
}
