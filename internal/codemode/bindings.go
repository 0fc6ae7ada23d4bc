package codemode

import (
	"fmt"
	"regexp"
	"slices"
)

// identifier is the binding and method names accepted: plain ASCII JavaScript identifiers.
var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// reservedWords cannot be the name of a global a script can write.
var reservedWords = setOf(
	"await", "break", "case", "catch", "class", "const", "continue", "debugger", "default",
	"delete", "do", "else", "enum", "export", "extends", "false", "finally", "for", "function",
	"if", "implements", "import", "in", "instanceof", "interface", "let", "new", "null",
	"package", "private", "protected", "public", "return", "static", "super", "switch", "this",
	"throw", "true", "try", "typeof", "var", "void", "while", "with", "yield", "arguments",
	"eval", "async", "of",
)

// runtimeGlobals are the globals of the worker's runtime (ECMAScript's and the prelude's), and
// names scripts commonly test for: a binding may not take any of them. A test checks that the
// runtime defines no global missing here.
var runtimeGlobals = setOf(
	// ECMAScript, as goja provides it.
	"Object", "Function", "Array", "String", "Number", "BigInt", "RegExp", "Date", "Boolean",
	"Proxy", "Reflect", "Error", "AggregateError", "TypeError", "ReferenceError", "SyntaxError",
	"RangeError", "EvalError", "URIError", "Math", "JSON", "ArrayBuffer", "DataView",
	"Uint8Array", "Uint8ClampedArray", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array",
	"Int32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "Symbol",
	"WeakSet", "WeakMap", "Map", "Set", "Promise", "globalThis", "NaN", "undefined", "Infinity",
	"isNaN", "parseInt", "parseFloat", "isFinite", "decodeURI", "decodeURIComponent",
	"encodeURI", "encodeURIComponent", "escape", "unescape", "eval", "GoError",
	// The prelude's.
	"console", "fetch", "Response", "Headers", "URL", "URLSearchParams", "setTimeout",
	"setInterval", "clearTimeout", "clearInterval",
	// Other runtimes' globals that scripts test for.
	"require", "module", "exports", "process", "global", "window", "self", "Deno", "Bun",
	"Request", "FormData", "Blob", "TextEncoder", "TextDecoder", "AbortController",
	"AbortSignal", "WeakRef", "FinalizationRegistry", "SharedArrayBuffer", "Atomics",
	"Intl", "structuredClone", "queueMicrotask", "atob", "btoa", "crypto", "performance",
	"setImmediate", "clearImmediate", "Iterator",
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// offered is the bindings one run may call: binding -> method -> true.
type offered map[string]map[string]bool

// checkBindings validates what Bindings.Methods returned and returns it as offered, with each
// binding's methods sorted and without duplicates for the worker.
func checkBindings(methods map[string][]string) (offered, map[string][]string, error) {
	off := offered{}
	clean := map[string][]string{}
	for b, ms := range methods {
		switch {
		case !identifier.MatchString(b):
			return nil, nil, fmt.Errorf("codemode: binding name %q is not a JavaScript identifier; use letters, digits, _ and $ (not first a digit)", b)
		case reservedWords[b]:
			return nil, nil, fmt.Errorf("codemode: binding name %q is a JavaScript reserved word; rename the binding", b)
		case runtimeGlobals[b]:
			return nil, nil, fmt.Errorf("codemode: binding name %q is already a global of the code-mode runtime; rename the binding", b)
		}
		off[b] = map[string]bool{}
		for _, m := range ms {
			if !identifier.MatchString(m) {
				return nil, nil, fmt.Errorf("codemode: method %q of binding %s is not a JavaScript identifier; use letters, digits, _ and $ (not first a digit)", m, b)
			}
			off[b][m] = true
		}
		list := make([]string, 0, len(off[b]))
		for m := range off[b] {
			list = append(list, m)
		}
		slices.Sort(list)
		clean[b] = list
	}
	return off, clean, nil
}
