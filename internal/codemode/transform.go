package codemode

import (
	"regexp"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	"github.com/evanw/esbuild/pkg/api"
)

// The user's code runs as the body of an async arrow function, so that top-level await and
// return work. The prefix goes on the first line, so line numbers do not move; source maps
// take the prefix off the first line's columns.
const (
	wrapPrefix = "(async () => {"
	wrapSuffix = "\n})()"
)

// program is user code made ready for the worker.
type program struct {
	name   string // file name in positions (a safe form of the Source's name)
	code   string // JavaScript that goja runs; evaluates to the run's promise
	srcMap []byte // source map of code, positions in the user's source
}

// prepare turns src into a program. TypeScript is stripped, and features goja lacks are
// lowered, by esbuild; plain JavaScript that goja accepts as it is skips esbuild, whose every
// call costs a few hundred microseconds. A syntax error comes back as a *ScriptError positioned
// in the user's source.
func prepare(src Source) (*program, *ScriptError) {
	name := safeName(src.displayName())
	wrapped := wrapPrefix + src.Code + wrapSuffix
	firstLine, _, _ := strings.Cut(src.Code, "\n")
	if !maybeTypeScript(src.Code) && gojaAccepts(name, wrapped) {
		return &program{name: name, code: wrapped, srcMap: firstLineMap(name, len(wrapPrefix), len(firstLine))}, nil
	}
	return transform(src, name, wrapped)
}

// genericCall matches what may be a TypeScript call with type arguments (f<T>(x),
// new Map<string, number>(...)): plain JavaScript can parse it too, as comparisons, so such code
// always goes through esbuild, which knows TypeScript. It errs towards esbuild.
var genericCall = regexp.MustCompile(`<[^();]*>\s*\(`)

// maybeTypeScript reports whether code could mean something else as TypeScript than as
// JavaScript. Other TypeScript syntax (annotations, interfaces, enums, as, !) is not valid
// JavaScript, so goja refuses it and esbuild gets it anyway.
func maybeTypeScript(code string) bool { return genericCall.MatchString(code) }

// gojaAccepts reports whether goja compiles code as it is.
func gojaAccepts(name, code string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false // a parser bug on odd input: let esbuild have it
		}
	}()
	ast, err := goja.Parse(name, code, parser.WithDisableSourceMaps)
	if err != nil {
		return false
	}
	_, err = goja.CompileAST(ast, false)
	return err == nil
}

// esbuildSupported are the features goja lacks, which esbuild lowers to ones it has.
var esbuildSupported = map[string]bool{
	"async-generator": false,
	"for-await":       false,
}

// transform strips TypeScript with esbuild and maps its source map to the user's source.
func transform(src Source, name, wrapped string) (*program, *ScriptError) {
	res := api.Transform(wrapped, api.TransformOptions{
		Loader:         api.LoaderTS,
		Target:         api.ESNext,
		Supported:      esbuildSupported,
		Sourcemap:      api.SourceMapExternal,
		SourcesContent: api.SourcesContentExclude,
		Sourcefile:     name,
		LegalComments:  api.LegalCommentsNone,
		LogLevel:       api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		return nil, esbuildError(src, res.Errors[0])
	}
	m, err := fixEsbuildMap(res.Map, name, len(wrapPrefix))
	if err != nil {
		// esbuild's own output: a bug, not the user's. Run without positions rather than not.
		m = nil
	}
	return &program{name: name, code: string(res.Code), srcMap: m}, nil
}

// esbuildError turns esbuild's first error into a syntax error in the user's source.
func esbuildError(src Source, msg api.Message) *ScriptError {
	e := &ScriptError{File: src.displayName(), Message: "SyntaxError: " + msg.Text}
	if loc := msg.Location; loc != nil {
		if loc.Line > strings.Count(src.Code, "\n")+1 {
			// In the wrapper's closing "})()": the code ended inside something it opened.
			e.Message = "SyntaxError: Unexpected end of input"
		}
		e.Line, e.Column = userPosition(src.Code, loc.Line, loc.Column+1)
	}
	return e
}

// userPosition maps a 1-based line and column of the wrapped code to the user's source: the
// prefix comes off the first line, and a position in the suffix becomes the end of the last
// line.
func userPosition(code string, line, col int) (int, int) {
	lines := strings.Count(code, "\n") + 1
	switch {
	case line <= 0:
		return 0, 0
	case line == 1:
		col = max(col-len(wrapPrefix), 1)
	case line > lines:
		last := code[strings.LastIndexByte(code, '\n')+1:]
		line, col = lines, len(last)+1
	}
	return line, col
}

// safeName is name as goja may use it in positions: goja resolves the file names of source
// maps like relative URLs ("<stdin>" would come back as "%3Cstdin%3E"), so only a base name of
// plain characters survives unchanged; others are replaced by '_'. Errors show the Source's
// own name.
func safeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 && i < len(name)-1 {
		name = name[i+1:]
	}
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	if len(b) == 0 || len(b) > 128 || strings.Trim(string(b), ".") == "" {
		return "script.js"
	}
	return string(b)
}
