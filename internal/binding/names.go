package binding

import (
	"fmt"
	"regexp"
	"slices"
)

// MaxNameLength bounds binding, method and parameter names.
const MaxNameLength = 64

var jsIdentifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// reservedWords are JavaScript's reserved words (strict mode, modules included) and the names a
// script cannot rebind: a binding called one of them could not be written as `name.method()`.
var reservedWords = []string{
	"arguments", "async", "await", "break", "case", "catch", "class", "const", "continue", "debugger",
	"default", "delete", "do", "else", "enum", "eval", "export", "extends", "false", "finally",
	"for", "function", "if", "implements", "import", "in", "Infinity", "instanceof", "interface",
	"let", "NaN", "new", "null", "of", "package", "private", "protected", "public", "return", "static",
	"super", "switch", "this", "throw", "true", "try", "typeof", "undefined", "var", "void",
	"while", "with", "yield",
}

// RuntimeGlobals are the globals code mode's JavaScript runtime defines or may define (the
// ECMAScript built-ins, console, fetch and the Fetch API types, timers, and the names Node and
// browsers use for the global object and modules). A binding may not take one of these names:
// it would shadow, or be shadowed by, the runtime's own.
var RuntimeGlobals = []string{
	// ECMAScript built-ins.
	"AggregateError", "Array", "ArrayBuffer", "Atomics", "BigInt", "BigInt64Array",
	"BigUint64Array", "Boolean", "DataView", "Date", "decodeURI", "decodeURIComponent",
	"encodeURI", "encodeURIComponent", "Error", "escape", "EvalError", "FinalizationRegistry",
	"Float16Array", "Float32Array", "Float64Array", "Function", "globalThis", "Int16Array",
	"Int32Array", "Int8Array", "Intl", "isFinite", "isNaN", "Iterator", "JSON", "Map", "Math",
	"Number", "Object", "parseFloat", "parseInt", "Promise", "Proxy", "RangeError",
	"ReferenceError", "Reflect", "RegExp", "Set", "SharedArrayBuffer", "String", "Symbol",
	"SyntaxError", "TypeError", "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray",
	"unescape", "URIError", "WeakMap", "WeakRef", "WeakSet",
	// goja's.
	"GoError",
	// What code mode adds, and what scripts expect of a host.
	"AbortController", "AbortSignal", "atob", "Blob", "btoa", "Buffer", "Bun", "clearImmediate",
	"clearInterval", "clearTimeout", "console", "crypto", "Deno", "exports", "fetch", "FormData",
	"global", "Headers", "module", "performance", "process", "queueMicrotask", "Request",
	"require", "Response", "self", "setImmediate", "setInterval", "setTimeout",
	"structuredClone", "TextDecoder", "TextEncoder", "URL", "URLSearchParams", "window",
}

// objectMembers are names a method or parameter may not take: members of Object.prototype, and
// "then", which would make a binding object look like a promise to `await`.
var objectMembers = []string{
	"__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__", "__proto__",
	"constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "prototype",
	"then", "toLocaleString", "toString", "valueOf",
}

// CheckName reports whether name can be a binding's name: a JavaScript identifier
// (^[A-Za-z_$][A-Za-z0-9_$]*$, at most MaxNameLength characters) that is not a reserved word
// nor one of RuntimeGlobals. The error says what to write instead.
func CheckName(name string) error {
	if err := checkIdentifier(name, "a binding"); err != nil {
		return err
	}
	switch {
	case slices.Contains(reservedWords, name):
		return fmt.Errorf("%q is a JavaScript reserved word; pick another name (lgRemote, philipsHue)", name)
	case slices.Contains(RuntimeGlobals, name):
		return fmt.Errorf("%q is a global of the code-mode runtime; pick another name (lgRemote, philipsHue)", name)
	case slices.Contains(objectMembers, name):
		return fmt.Errorf("%q is a member of every JavaScript object; pick another name", name)
	}
	return nil
}

// checkMemberName checks a method or parameter name: an identifier that is not a member of
// Object.prototype (nor "then").
func checkMemberName(name, what string) error {
	if err := checkIdentifier(name, what); err != nil {
		return err
	}
	if slices.Contains(objectMembers, name) {
		return fmt.Errorf("%q is a member of every JavaScript object; pick another name for %s", name, what)
	}
	return nil
}

func checkIdentifier(name, what string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name; %s needs a name that is a JavaScript identifier (letters, digits, _ and $, not starting with a digit)", what)
	case len(name) > MaxNameLength:
		return fmt.Errorf("the name of %s is longer than %d characters; shorten it", what, MaxNameLength)
	case !jsIdentifier.MatchString(name):
		return fmt.Errorf("%q is not a JavaScript identifier; the name of %s may hold letters, digits, _ and $ and may not start with a digit (setVolume, lgRemote)", name, what)
	}
	return nil
}

var (
	credentialName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	credentialKey  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)
)

// checkCredentialName checks the name of a credential in the store: letters, digits, '_', '.'
// and '-'.
func checkCredentialName(name string) error {
	if !credentialName.MatchString(name) {
		return fmt.Errorf("%q is not a credential name; use letters, digits, '_', '.' and '-' (lg-tv), at most 128 characters", name)
	}
	return nil
}
